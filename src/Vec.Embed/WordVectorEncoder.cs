using System.Numerics.Tensors;
using Vec.Embed.Internals;

namespace Vec.Embed;

/// <summary>
/// Encodes a text as the mean of the static vectors (GloVe, word2vec) of its known words, optionally idf-weighted,
/// then (by default) L2-normalised.
/// </summary>
/// <remarks>
/// <para>Words are found with the tokeniser of <see cref="HashingTextEncoder"/>: maximal runs of Unicode letters and
/// digits, lower-cased unless <see cref="WordVectorEncoderOptions.LowerCase"/> is off. Every occurrence of a known word
/// counts (a word twice in a text weighs twice); unknown words are ignored.</para>
/// <para>Unfitted, the row is <c>Σ v(w) / N</c> over the <c>N</c> known word occurrences. Fitted (<see cref="Fit"/>),
/// each occurrence weighs the word's smooth idf, <c>ln((1 + n) / (1 + df(w))) + 1</c>, and the row is
/// <c>Σ idf(w) v(w) / Σ idf(w)</c>.</para>
/// <para>A text with no known word gives the zero row (also when normalising), never NaN.</para>
/// <para>Instances are immutable; concurrent encoding is safe.</para>
/// </remarks>
public sealed class WordVectorEncoder : TextEncoder
{
    private readonly float[]? _idf;

    /// <summary>Creates an unfitted encoder over <paramref name="vectors"/>.</summary>
    /// <param name="vectors">The word vectors.</param>
    /// <param name="options">Options; null for the defaults (lower-cased words, normalised rows).</param>
    /// <exception cref="ArgumentNullException"><paramref name="vectors"/> is null.</exception>
    public WordVectorEncoder(WordVectors vectors, WordVectorEncoderOptions? options = null)
        : this(vectors ?? throw new ArgumentNullException(nameof(vectors)), options ?? new WordVectorEncoderOptions(), null, 0)
    {
    }

    private WordVectorEncoder(WordVectors vectors, WordVectorEncoderOptions options, float[]? idf, long documentCount)
    {
        Vectors = vectors;
        Options = options;
        _idf = idf;
        DocumentCount = documentCount;
    }

    /// <summary>Loads a word-vector file (see <see cref="WordVectors.Load"/>) and creates an encoder over it.</summary>
    /// <param name="path">A GloVe / word2vec text file, or a word2vec binary file ending in <c>.bin</c>.</param>
    /// <param name="options">Options; null for the defaults.</param>
    /// <param name="maxWords">Keep only the first this many words; null for all.</param>
    /// <returns>The encoder, whose <see cref="ModelId"/> is the file name.</returns>
    /// <exception cref="ArgumentException"><paramref name="path"/> is null, empty or malformed.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxWords"/> is below 1.</exception>
    /// <exception cref="InvalidDataException">The file is malformed.</exception>
    public static WordVectorEncoder Load(string path, WordVectorEncoderOptions? options = null, int? maxWords = null) =>
        new(WordVectors.Load(path, maxWords), options);

    /// <summary>The word vectors.</summary>
    public WordVectors Vectors { get; }

    /// <summary>The options.</summary>
    public WordVectorEncoderOptions Options { get; }

    /// <summary>Whether idf weights were fitted on a corpus.</summary>
    public bool IsFitted => _idf is not null;

    /// <summary>Number of corpus texts the idf was fitted on; 0 when not fitted.</summary>
    public long DocumentCount { get; }

    /// <inheritdoc />
    public override int Dimension => Vectors.Dimension;

    /// <summary>The word-vector table's name (the file name for loaded tables).</summary>
    public override string ModelId => Vectors.Name;

    /// <inheritdoc />
    public override bool Normalized => Options.Normalize;

    /// <summary>
    /// Fits smooth idf weights of the vocabulary's words on <paramref name="corpus"/> (a word's document frequency
    /// counts the texts it occurs in) and returns a new encoder using them; this encoder is unchanged.
    /// </summary>
    /// <param name="corpus">The texts (at least one; none null). Enumerated once.</param>
    /// <param name="cancellationToken">Checked every 256 texts.</param>
    /// <returns>The fitted encoder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="corpus"/> or one of its texts is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="corpus"/> is empty.</exception>
    public WordVectorEncoder Fit(IEnumerable<string> corpus, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        ThrowIfDisposed();
        var df = new long[Vectors.Count];
        var stamp = new long[Vectors.Count];
        var tokens = new TokenBuffer();
        long n = 0;
        foreach (string text in corpus)
        {
            if (text is null)
            {
                throw new ArgumentNullException(nameof(corpus), $"Text {n} of the corpus is null.");
            }

            if ((n & 255) == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }

            n++;
            Tokenize(text, tokens);
            for (int t = 0; t < tokens.Count; t++)
            {
                if (Vectors.TryGetIndex(tokens[t], out int index) && stamp[index] != n)
                {
                    stamp[index] = n;
                    df[index]++;
                }
            }
        }

        if (n == 0)
        {
            throw new ArgumentException("The corpus is empty; idf needs at least one text.", nameof(corpus));
        }

        var idf = new float[df.Length];
        for (int w = 0; w < idf.Length; w++)
        {
            idf[w] = (float)(Math.Log((1.0 + n) / (1.0 + df[w])) + 1.0);
        }

        return new WordVectorEncoder(Vectors, Options, idf, n);
    }

    /// <summary>The idf weight of the word at <paramref name="index"/> in <see cref="Vectors"/> (1 when not fitted).</summary>
    /// <param name="index">A word index.</param>
    /// <returns>The weight.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is out of range.</exception>
    public float GetIdf(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Vectors.Count);
        return _idf is null ? 1f : _idf[index];
    }

    /// <inheritdoc />
    protected override void EncodeCore(IReadOnlyList<string> texts, Span<float> destination, CancellationToken cancellationToken)
    {
        int dimension = Dimension;
        float[]? idf = _idf;
        for (int i = 0; i < texts.Count; i++)
        {
            if ((i & 63) == 63)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }

            string text = texts[i];
            Span<float> row = destination.Slice(i * dimension, dimension);
            row.Clear();
            TokenBuffer tokens = TokenScratch.Rent();
            Tokenize(text, tokens);
            double weightSum = 0;
            for (int t = 0; t < tokens.Count; t++)
            {
                if (Vectors.TryGetIndex(tokens[t], out int index))
                {
                    ReadOnlySpan<float> vector = Vectors.GetVector(index);
                    if (idf is null)
                    {
                        TensorPrimitives.Add(row, vector, row);
                        weightSum += 1;
                    }
                    else
                    {
                        TensorPrimitives.MultiplyAdd(vector, idf[index], row, row);
                        weightSum += idf[index];
                    }
                }
            }

            TokenScratch.Return(tokens);
            if (weightSum == 0)
            {
                continue;
            }

            TensorPrimitives.Multiply(row, (float)(1.0 / weightSum), row);
            if (!TensorPrimitives.IsFiniteAll<float>(row) || (Options.Normalize && !float.IsFinite(TensorPrimitives.Norm(row))))
            {
                // Only with vectors near float.MaxValue: redo the sum in double rather than emit infinities or NaN.
                AccumulateInDouble(text, row, weightSum);
            }

            if (Options.Normalize)
            {
                float norm = TensorPrimitives.Norm(row);
                if (norm > 0f)
                {
                    TensorPrimitives.Multiply(row, 1f / norm, row);
                }
            }
        }
    }

    private void AccumulateInDouble(string text, Span<float> row, double weightSum)
    {
        var sum = new double[row.Length];
        var tokens = new TokenBuffer();
        Tokenize(text, tokens);
        for (int t = 0; t < tokens.Count; t++)
        {
            if (Vectors.TryGetIndex(tokens[t], out int index))
            {
                ReadOnlySpan<float> vector = Vectors.GetVector(index);
                double weight = _idf is null ? 1.0 : _idf[index];
                for (int j = 0; j < sum.Length; j++)
                {
                    sum[j] += weight * vector[j];
                }
            }
        }

        double scale = 1.0 / weightSum;
        if (Options.Normalize)
        {
            // Normalise in double: the mean itself may not fit in float, its direction always does.
            double largest = 0;
            for (int j = 0; j < sum.Length; j++)
            {
                largest = Math.Max(largest, Math.Abs(sum[j]));
            }

            double squares = 0;
            for (int j = 0; j < sum.Length; j++)
            {
                double v = sum[j] / largest;
                squares += v * v;
            }

            scale = 1.0 / (largest * Math.Sqrt(squares));
        }

        for (int j = 0; j < sum.Length; j++)
        {
            row[j] = (float)(sum[j] * scale);
        }
    }

    private void Tokenize(string text, TokenBuffer tokens) =>
        WordTokenizer.Tokenize(text, Options.LowerCase, Options.RemoveEnglishStopWords ? EnglishStopWords.Set : null, tokens);

    /// <summary>Per-thread token buffer; large ones are dropped after use.</summary>
    private static class TokenScratch
    {
        [ThreadStatic]
        private static TokenBuffer? t_cached;

        public static TokenBuffer Rent()
        {
            TokenBuffer? tokens = t_cached;
            t_cached = null;
            return tokens ?? new TokenBuffer();
        }

        public static void Return(TokenBuffer tokens)
        {
            if (!tokens.IsLarge)
            {
                t_cached = tokens;
            }
        }
    }
}

using System.Buffers.Binary;
using System.IO.Hashing;
using System.Numerics.Tensors;
using System.Text;
using Vec.Embed.Internals;

namespace Vec.Embed;

/// <summary>
/// A model-free TF-IDF text encoder: word n-grams hashed with signs into a fixed number of buckets (the "hashing
/// trick", as scikit-learn's <c>HashingVectorizer(alternate_sign=True)</c> followed by <c>TfidfTransformer</c>), then
/// L2-normalised. The default encoder when no neural model is present, and the recommenders' lexical baseline.
/// </summary>
/// <remarks>
/// <para><b>Tokens.</b> A word is a maximal run of Unicode letters and digits (combining marks continue a word, so
/// accents are kept); everything else separates words. Words are lower-cased (invariant, per code point) unless
/// <see cref="HashingTextEncoderOptions.LowerCase"/> is off, and scikit-learn's English stop words are dropped when
/// <see cref="HashingTextEncoderOptions.RemoveEnglishStopWords"/> is on. The terms of a text are its word n-grams for
/// n = 1 to <see cref="HashingTextEncoderOptions.MaxNGram"/>, an n-gram being its words joined by single spaces.</para>
/// <para><b>Hashing</b> (stable across processes, machines and versions of .NET): <c>h</c> = XxHash3 (64-bit) of the
/// term's UTF-8 bytes with seed <see cref="HashSeed"/>; the bucket is <c>floor(low32(h) * Dimension / 2^32)</c> and
/// the sign is -1 when bit 63 of <c>h</c> is set, +1 otherwise.</para>
/// <para><b>Weights.</b> A term occurring <c>tf</c> times in a text weighs <c>1 + ln(tf)</c> (or <c>tf</c> with
/// <see cref="HashingTextEncoderOptions.SublinearTf"/> off); bucket <c>b</c> of the row is
/// <c>idf[b] * Σ sign(t) * weight(t)</c> over the distinct terms <c>t</c> hashed to <c>b</c>. The row is then
/// L2-normalised. An encoder that is not fitted uses <c>idf = 1</c> in every bucket (plain sublinear tf);
/// <see cref="Fit"/> computes scikit-learn's smooth idf, <c>ln((1 + n) / (1 + df[b])) + 1</c>, where <c>n</c> is the
/// number of corpus texts and <c>df[b]</c> the number of those texts with at least one term in bucket <c>b</c>.</para>
/// <para><b>Empty texts.</b> A text without words (empty, whitespace, punctuation or emoji only), or whose terms cancel
/// out exactly, gives the zero row, never NaN.</para>
/// <para>Instances are immutable; <see cref="Fit"/> returns a new encoder. Concurrent encoding is safe.</para>
/// </remarks>
public sealed class HashingTextEncoder : TextEncoder
{
    /// <summary>The seed of the XxHash3 term hash.</summary>
    public const long HashSeed = 0x5645_4352_4543_4854; // "VECRECHT"

    private const uint FormatVersion = 1;
    private const int HeaderBytes = 8 + 4 + 4 + 4 + 4 + 8;
    private const uint FlagLowerCase = 1;
    private const uint FlagStopWords = 2;
    private const uint FlagSublinear = 4;
    private const uint KnownFlags = FlagLowerCase | FlagStopWords | FlagSublinear;

    private static ReadOnlySpan<byte> Magic => "VRHASHTF"u8;

    private readonly float[]? _idf;

    /// <summary>Creates an unfitted encoder (idf = 1 in every bucket).</summary>
    /// <param name="options">Options; null for the defaults (1024 buckets, uni- and bi-grams, lower-cased, sublinear tf).</param>
    public HashingTextEncoder(HashingTextEncoderOptions? options = null)
        : this(options ?? new HashingTextEncoderOptions(), null, 0)
    {
    }

    private HashingTextEncoder(HashingTextEncoderOptions options, float[]? idf, long documentCount)
    {
        Options = options;
        _idf = idf;
        DocumentCount = documentCount;
        ModelId = $"hashing-tfidf-d{options.Dimension}-ng{options.MaxNGram}"
            + (options.RemoveEnglishStopWords ? "-stop" : string.Empty)
            + (options.LowerCase ? string.Empty : "-cased")
            + (options.SublinearTf ? string.Empty : "-rawtf");
    }

    /// <summary>The options.</summary>
    public HashingTextEncoderOptions Options { get; }

    /// <summary>Whether idf weights were fitted on a corpus (by <see cref="Fit"/> or loaded from a fitted file).</summary>
    public bool IsFitted => _idf is not null;

    /// <summary>Number of corpus texts the idf was fitted on; 0 when not fitted.</summary>
    public long DocumentCount { get; }

    /// <inheritdoc />
    public override int Dimension => Options.Dimension;

    /// <summary>
    /// <c>hashing-tfidf-d{Dimension}-ng{MaxNGram}</c>, followed by <c>-stop</c> when stop words are removed,
    /// <c>-cased</c> when words are not lower-cased and <c>-rawtf</c> when tf is not sublinear.
    /// </summary>
    public override string ModelId { get; }

    /// <summary>Always true: rows are L2-normalised (texts without terms give the zero row).</summary>
    public override bool Normalized => true;

    /// <summary>A copy of the idf weight of every bucket (all 1 when not fitted).</summary>
    /// <returns><see cref="Dimension"/> weights.</returns>
    public float[] GetIdf()
    {
        if (_idf is not null)
        {
            return (float[])_idf.Clone();
        }

        var ones = new float[Dimension];
        Array.Fill(ones, 1f);
        return ones;
    }

    /// <summary>
    /// Fits smooth idf weights on <paramref name="corpus"/> and returns a new encoder with these options and weights;
    /// this encoder is unchanged (any weights it had are ignored).
    /// </summary>
    /// <param name="corpus">The texts (at least one; none null). Enumerated once.</param>
    /// <param name="cancellationToken">Checked every 256 texts.</param>
    /// <returns>The fitted encoder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="corpus"/> or one of its texts is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="corpus"/> is empty.</exception>
    public HashingTextEncoder Fit(IEnumerable<string> corpus, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        ThrowIfDisposed();
        int dimension = Dimension;
        var df = new long[dimension];
        // stamp[b] = 1 + index of the last text that counted bucket b, so each text counts a bucket once.
        var stamp = new long[dimension];
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
            Scratch scratch = Scratch.Rent();
            int terms = ExtractTerms(text, scratch);
            ReadOnlySpan<ulong> hashes = scratch.Hashes.AsSpan(0, terms);
            for (int t = 0; t < hashes.Length; t++)
            {
                int bucket = Bucket(hashes[t], dimension);
                if (stamp[bucket] != n)
                {
                    stamp[bucket] = n;
                    df[bucket]++;
                }
            }

            scratch.Return();
        }

        if (n == 0)
        {
            throw new ArgumentException("The corpus is empty; idf needs at least one text.", nameof(corpus));
        }

        var idf = new float[dimension];
        for (int b = 0; b < dimension; b++)
        {
            idf[b] = (float)(Math.Log((1.0 + n) / (1.0 + df[b])) + 1.0);
        }

        return new HashingTextEncoder(Options, idf, n);
    }

    /// <inheritdoc />
    protected override void EncodeCore(IReadOnlyList<string> texts, Span<float> destination, CancellationToken cancellationToken)
    {
        int dimension = Dimension;
        bool sublinear = Options.SublinearTf;
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
            Scratch scratch = Scratch.Rent();
            int terms = ExtractTerms(text, scratch);
            ReadOnlySpan<ulong> hashes = scratch.Hashes.AsSpan(0, terms);
            ReadOnlySpan<int> counts = scratch.Counts.AsSpan(0, terms);
            for (int t = 0; t < hashes.Length; t++)
            {
                ulong h = hashes[t];
                float weight = sublinear ? 1f + MathF.Log(counts[t]) : counts[t];
                row[Bucket(h, dimension)] += (long)h < 0 ? -weight : weight;
            }

            scratch.Return();
            if (terms == 0)
            {
                continue;
            }

            if (idf is not null)
            {
                TensorPrimitives.Multiply(row, idf, row);
            }

            // Weights are bounded (tf <= 2^31, idf <= ln(1 + n) + 1), so the norm is finite.
            float norm = TensorPrimitives.Norm(row);
            if (norm > 0f)
            {
                TensorPrimitives.Multiply(row, 1f / norm, row);
            }
        }
    }

    /// <summary>
    /// Saves the options and idf weights atomically (a temporary file renamed over <paramref name="path"/>).
    /// </summary>
    /// <param name="path">Destination file.</param>
    /// <exception cref="ArgumentException"><paramref name="path"/> is null, empty, malformed or a directory.</exception>
    /// <remarks>
    /// Format (little-endian): magic <c>VRHASHTF</c>, uint32 version 1, int32 dimension, int32 max n-gram, uint32 flags
    /// (1 lower-case, 2 stop words, 4 sublinear tf), int64 document count (0 = not fitted), dimension float32 idf
    /// weights, uint64 XxHash64 of all preceding bytes.
    /// </remarks>
    public void Save(string path)
    {
        ThrowIfDisposed();
        int dimension = Dimension;
        var bytes = new byte[HeaderBytes + (4L * dimension) + 8];
        Span<byte> span = bytes;
        Magic.CopyTo(span);
        BinaryPrimitives.WriteUInt32LittleEndian(span[8..], FormatVersion);
        BinaryPrimitives.WriteInt32LittleEndian(span[12..], dimension);
        BinaryPrimitives.WriteInt32LittleEndian(span[16..], Options.MaxNGram);
        uint flags = (Options.LowerCase ? FlagLowerCase : 0) | (Options.RemoveEnglishStopWords ? FlagStopWords : 0) | (Options.SublinearTf ? FlagSublinear : 0);
        BinaryPrimitives.WriteUInt32LittleEndian(span[20..], flags);
        BinaryPrimitives.WriteInt64LittleEndian(span[24..], DocumentCount);
        for (int b = 0; b < dimension; b++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(span[(HeaderBytes + (4 * b))..], _idf is null ? 1f : _idf[b]);
        }

        int body = bytes.Length - 8;
        BinaryPrimitives.WriteUInt64LittleEndian(span[body..], XxHash64.HashToUInt64(span[..body]));
        EncoderFile.WriteAtomically(path, stream => stream.Write(bytes), nameof(path));
    }

    /// <summary>Loads an encoder saved by <see cref="Save"/>, validating everything.</summary>
    /// <param name="path">The file.</param>
    /// <returns>The encoder, fitted if the saved one was.</returns>
    /// <exception cref="ArgumentException"><paramref name="path"/> is null, empty or malformed.</exception>
    /// <exception cref="InvalidDataException">The file is not a valid hashing-encoder file (the message names it).</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static HashingTextEncoder Load(string path)
    {
        string fullPath = EncoderFile.FullPath(path, nameof(path));
        byte[] bytes;
        using (FileStream stream = EncoderFile.OpenRead(fullPath))
        {
            long length = stream.Length;
            if (length < HeaderBytes + 8)
            {
                throw Invalid(path, $"it is {length} bytes long, shorter than the {HeaderBytes + 8}-byte header and checksum (truncated or not a hashing-encoder file)");
            }

            Span<byte> header = stackalloc byte[HeaderBytes];
            stream.ReadExactly(header);
            if (!header[..8].SequenceEqual(Magic))
            {
                throw Invalid(path, "it does not start with the magic bytes 'VRHASHTF' (not a hashing-encoder file)");
            }

            uint version = BinaryPrimitives.ReadUInt32LittleEndian(header[8..]);
            if (version != FormatVersion)
            {
                throw Invalid(path, $"format version {version} is not supported (this library reads version {FormatVersion})");
            }

            int dimension = BinaryPrimitives.ReadInt32LittleEndian(header[12..]);
            if (dimension < 1 || dimension > HashingTextEncoderOptions.MaxDimension)
            {
                throw Invalid(path, $"dimension {dimension} is outside 1 to {HashingTextEncoderOptions.MaxDimension}");
            }

            long expected = HeaderBytes + (4L * dimension) + 8;
            if (length != expected)
            {
                throw Invalid(path, $"it is {length} bytes long but dimension {dimension} needs exactly {expected} bytes ({(length < expected ? "truncated" : "trailing data")})");
            }

            bytes = new byte[expected];
            header.CopyTo(bytes);
            stream.ReadExactly(bytes.AsSpan(HeaderBytes));
        }

        ReadOnlySpan<byte> span = bytes;
        int body = bytes.Length - 8;
        if (XxHash64.HashToUInt64(span[..body]) != BinaryPrimitives.ReadUInt64LittleEndian(span[body..]))
        {
            throw Invalid(path, "the checksum does not match (the file is corrupted)");
        }

        int dim = BinaryPrimitives.ReadInt32LittleEndian(span[12..]);
        int maxNGram = BinaryPrimitives.ReadInt32LittleEndian(span[16..]);
        if (maxNGram < 1 || maxNGram > HashingTextEncoderOptions.MaxNGramLimit)
        {
            throw Invalid(path, $"max n-gram {maxNGram} is outside 1 to {HashingTextEncoderOptions.MaxNGramLimit}");
        }

        uint flags = BinaryPrimitives.ReadUInt32LittleEndian(span[20..]);
        if ((flags & ~KnownFlags) != 0)
        {
            throw Invalid(path, $"flags 0x{flags:X} have unknown bits");
        }

        long documents = BinaryPrimitives.ReadInt64LittleEndian(span[24..]);
        if (documents < 0)
        {
            throw Invalid(path, $"document count {documents} is negative");
        }

        var idf = new float[dim];
        // Smooth idf lies in [1, ln(1 + n) + 1]; a little slack covers float rounding.
        double ceiling = documents == 0 ? 1.0 : Math.Log(1.0 + documents) + 1.0 + 1e-5;
        for (int b = 0; b < dim; b++)
        {
            float value = BinaryPrimitives.ReadSingleLittleEndian(span[(HeaderBytes + (4 * b))..]);
            if (!float.IsFinite(value) || value < 1f || value > ceiling)
            {
                throw Invalid(path, documents == 0
                    ? $"idf of bucket {b} is {value} but an unfitted encoder has idf 1 everywhere"
                    : $"idf of bucket {b} is {value}, outside the smooth-idf range [1, {ceiling:G6}] for {documents} documents");
            }

            idf[b] = value;
        }

        var options = new HashingTextEncoderOptions
        {
            Dimension = dim,
            MaxNGram = maxNGram,
            LowerCase = (flags & FlagLowerCase) != 0,
            RemoveEnglishStopWords = (flags & FlagStopWords) != 0,
            SublinearTf = (flags & FlagSublinear) != 0,
        };
        return documents == 0 ? new HashingTextEncoder(options, null, 0) : new HashingTextEncoder(options, idf, documents);
    }

    private static InvalidDataException Invalid(string path, string reason) =>
        new($"Hashing-encoder file '{path}' is invalid: {reason}.");

    /// <summary>The bucket of a term hash: <c>floor(low32(h) * dimension / 2^32)</c>.</summary>
    internal static int Bucket(ulong hash, int dimension) => (int)(((ulong)(uint)hash * (uint)dimension) >> 32);

    /// <summary>
    /// Tokenises <paramref name="text"/> and leaves its distinct term hashes in <c>scratch.Hashes</c> (sorted) with
    /// their counts in <c>scratch.Counts</c>; returns the number of distinct terms.
    /// </summary>
    private int ExtractTerms(string text, Scratch scratch)
    {
        HashingTextEncoderOptions options = Options;
        TokenBuffer tokens = scratch.Tokens;
        WordTokenizer.Tokenize(text, options.LowerCase, options.RemoveEnglishStopWords ? EnglishStopWords.Set : null, tokens);
        int n = tokens.Count;
        if (n == 0)
        {
            return 0;
        }

        // Words as UTF-8, each followed by one space, so an n-gram is the contiguous range from its first word's start
        // to its last word's end: exactly its words joined by single spaces.
        int charCount = 0;
        for (int t = 0; t < n; t++)
        {
            charCount += tokens.Lengths[t];
        }

        scratch.EnsureUtf8(checked((charCount * 3) + n), n);
        byte[] utf8 = scratch.Utf8;
        int[] starts = scratch.WordStarts;
        int[] ends = scratch.WordEnds;
        int position = 0;
        for (int t = 0; t < n; t++)
        {
            starts[t] = position;
            position += Encoding.UTF8.GetBytes(tokens[t], utf8.AsSpan(position));
            ends[t] = position;
            utf8[position++] = (byte)' ';
        }

        int maxN = Math.Min(options.MaxNGram, n);
        int total = 0;
        for (int g = 1; g <= maxN; g++)
        {
            total += n - g + 1;
        }

        scratch.EnsureHashes(total);
        Span<ulong> hashes = scratch.Hashes.AsSpan(0, total);
        int k = 0;
        for (int g = 1; g <= maxN; g++)
        {
            for (int t = 0; t + g <= n; t++)
            {
                int start = starts[t];
                hashes[k++] = XxHash3.HashToUInt64(utf8.AsSpan(start, ends[t + g - 1] - start), HashSeed);
            }
        }

        hashes.Sort();
        Span<int> counts = scratch.Counts.AsSpan(0, total);
        int distinct = 0;
        for (int i = 0; i < total;)
        {
            ulong h = hashes[i];
            int j = i + 1;
            while (j < total && hashes[j] == h)
            {
                j++;
            }

            hashes[distinct] = h;
            counts[distinct] = j - i;
            distinct++;
            i = j;
        }

        return distinct;
    }

    /// <summary>Per-thread buffers of the term extraction; large ones are dropped after use rather than kept.</summary>
    private sealed class Scratch
    {
        [ThreadStatic]
        private static Scratch? t_cached;

        public readonly TokenBuffer Tokens = new();
        public byte[] Utf8 = new byte[1024];
        public int[] WordStarts = new int[64];
        public int[] WordEnds = new int[64];
        public ulong[] Hashes = new ulong[128];
        public int[] Counts = new int[128];

        public static Scratch Rent()
        {
            Scratch? scratch = t_cached;
            if (scratch is null)
            {
                return new Scratch();
            }

            t_cached = null;
            return scratch;
        }

        public void Return()
        {
            if (!Tokens.IsLarge && Utf8.Length <= TokenBuffer.KeepLimit * 3 && Hashes.Length <= TokenBuffer.KeepLimit)
            {
                t_cached = this;
            }
        }

        public void EnsureUtf8(int bytes, int words)
        {
            if (Utf8.Length < bytes)
            {
                Utf8 = new byte[Math.Max(bytes, Utf8.Length * 2)];
            }

            if (WordStarts.Length < words)
            {
                int size = Math.Max(words, WordStarts.Length * 2);
                WordStarts = new int[size];
                WordEnds = new int[size];
            }
        }

        public void EnsureHashes(int count)
        {
            if (Hashes.Length < count)
            {
                int size = Math.Max(count, Hashes.Length * 2);
                Hashes = new ulong[size];
                Counts = new int[size];
            }
        }
    }
}

namespace Vec.Embed;

/// <summary>Options of <see cref="HashingTextEncoder"/>. Every setter validates its value.</summary>
public sealed record HashingTextEncoderOptions
{
    /// <summary>Largest allowed <see cref="Dimension"/> (2^24).</summary>
    public const int MaxDimension = 1 << 24;

    /// <summary>Largest allowed <see cref="MaxNGram"/>.</summary>
    public const int MaxNGramLimit = 3;

    private readonly int _dimension = 1024;
    private readonly int _maxNGram = 2;

    /// <summary>
    /// Number of hash buckets, i.e. the length of every output row: 1 to <see cref="MaxDimension"/>, default 1024.
    /// </summary>
    /// <remarks>
    /// Distinct n-grams that hash to the same bucket are indistinguishable (a collision). With <c>V</c> distinct
    /// n-grams in a corpus, about <c>V^2 / (2 * Dimension)</c> pairs collide, so a small dimension makes rows compact
    /// and fast to search but blurs unrelated terms together; a large one keeps terms apart at the cost of memory and
    /// search time in an index. Signed hashing makes colliding terms cancel on average rather than add up, so inner
    /// products stay unbiased, but their variance grows as the dimension shrinks. 1024 suits short texts (titles,
    /// tags) with a few thousand distinct terms; use 2^14 to 2^18 for long documents or large vocabularies.
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException">The value is below 1 or above <see cref="MaxDimension"/>.</exception>
    public int Dimension
    {
        get => _dimension;
        init
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1, nameof(Dimension));
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, MaxDimension, nameof(Dimension));
            _dimension = value;
        }
    }

    /// <summary>Longest word n-gram hashed: 1 (words only), 2 (words and bi-grams, the default) or 3.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is outside 1 to <see cref="MaxNGramLimit"/>.</exception>
    public int MaxNGram
    {
        get => _maxNGram;
        init
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1, nameof(MaxNGram));
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, MaxNGramLimit, nameof(MaxNGram));
            _maxNGram = value;
        }
    }

    /// <summary>
    /// Whether words are lower-cased (invariant culture, per code point) before hashing. Default true.
    /// </summary>
    public bool LowerCase { get; init; } = true;

    /// <summary>
    /// Whether scikit-learn's English stop-word list (318 words, matched case-insensitively) is removed before the
    /// n-grams are formed. Default false.
    /// </summary>
    public bool RemoveEnglishStopWords { get; init; }

    /// <summary>
    /// Whether term frequencies are dampened to <c>1 + ln(tf)</c> (sublinear tf) rather than used raw. Default true.
    /// </summary>
    public bool SublinearTf { get; init; } = true;
}

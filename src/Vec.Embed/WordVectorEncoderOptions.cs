namespace Vec.Embed;

/// <summary>Options of <see cref="WordVectorEncoder"/>.</summary>
public sealed record WordVectorEncoderOptions
{
    /// <summary>
    /// Whether words are lower-cased (invariant, per code point) before the look-up. Default true, since GloVe and
    /// most published vocabularies are lower-cased; turn it off for cased ones (GloVe 840B, GoogleNews word2vec).
    /// </summary>
    public bool LowerCase { get; init; } = true;

    /// <summary>Whether output rows are L2-normalised. Default true.</summary>
    public bool Normalize { get; init; } = true;

    /// <summary>Whether scikit-learn's English stop words (matched case-insensitively) are ignored. Default false.</summary>
    public bool RemoveEnglishStopWords { get; init; }
}

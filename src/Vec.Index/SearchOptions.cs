namespace Vec.Index;

/// <summary>
/// Per-call search settings, in the spirit of FAISS's <c>SearchParameters</c>: they travel with each call, so one index
/// serves concurrent queries with different settings. Immutable; share instances freely.
/// </summary>
public sealed record SearchOptions
{
    /// <summary>The defaults: nprobe 1 (IVF), no filter, no refine.</summary>
    public static SearchOptions Default { get; } = new();

    private readonly int _nProbe = 1;
    private readonly int _refineFactor;

    /// <summary>
    /// Number of inverted lists an IVF index scans per query (clamped to the number of lists). Ignored by exact
    /// indexes. Default 1, as in FAISS.
    /// </summary>
    public int NProbe
    {
        get => _nProbe;
        init
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(value, nameof(NProbe));
            _nProbe = value;
        }
    }

    /// <summary>Restricts results to the ids the filter allows; <see langword="null"/> allows every id.</summary>
    public IdFilter? Filter { get; init; }

    /// <summary>
    /// Refine factor R: when at least 1, the index collects the best <c>k x R</c> candidates by its approximate
    /// scores and re-ranks them with the stored full-precision (or float16) vectors, returning exact scores.
    /// 0 (the default) returns approximate scores. An IVF-PQ index built without refine vectors rejects R &gt; 0; a flat
    /// index uses R as the re-scoring factor of compressed (float16/int8) storage and ignores it for float32 storage,
    /// which is exact already.
    /// </summary>
    public int RefineFactor
    {
        get => _refineFactor;
        init
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value, nameof(RefineFactor));
            _refineFactor = value;
        }
    }
}

namespace Vec.Index;

/// <summary>Which full-precision copy of each vector an IVF-PQ index keeps for refine (re-ranking).</summary>
public enum RefineStorage
{
    /// <summary>No copy: smallest index; <see cref="SearchOptions.RefineFactor"/> must be 0.</summary>
    None = 0,

    /// <summary>float32 copies (4 bytes per dimension): refine returns exact scores.</summary>
    Float32 = 1,

    /// <summary>float16 copies (2 bytes per dimension): refine scores within float16 rounding.</summary>
    Float16 = 2,
}

/// <summary>Settings of an <see cref="IvfPqIndex"/> fixed at construction (per-call settings are in <see cref="SearchOptions"/>).</summary>
public sealed record IvfPqOptions
{
    /// <summary>Number of inverted lists (coarse centroids), nlist. Default 1024; about 4·sqrt(n) to 16·sqrt(n) is typical.</summary>
    public int Lists { get; init; } = 1024;

    /// <summary>Number of PQ sub-quantisers M; the dimension must be a multiple of it. Default 16.</summary>
    public int SubQuantizers { get; init; } = 16;

    /// <summary>Bits per PQ code (8 standard; 4..7 smaller and coarser). Default 8. With 4 bits the index uses the fast
    /// scan (see <see cref="FastScan"/>).</summary>
    public int Bits { get; init; } = 8;

    /// <summary>
    /// With <see cref="Bits"/> = 4: store the codes packed two per byte in blocks of 32 vectors and scan them with
    /// in-register 16-entry lookup tables quantised to 8 bits (FAISS's <c>IndexIVFPQFastScan</c>, "IVFx,PQMx4fs"):
    /// half the code memory and many times the scan speed of the generic path, at the cost of approximate scores
    /// within the 8-bit table rounding (use <see cref="SearchOptions.RefineFactor"/> to re-rank exactly). Needs
    /// <see cref="SubQuantizers"/> &lt;= 256. Default <see langword="true"/>; <see langword="false"/> keeps the generic
    /// one-code-per-byte float-table scan. Ignored for other bit widths.
    /// </summary>
    public bool FastScan { get; init; } = true;

    /// <summary>Learn an OPQ rotation before quantising (better codes for correlated dimensions, slower training).</summary>
    public bool UseOpq { get; init; }

    /// <summary>Full-precision copies kept for refine. Default <see cref="RefineStorage.None"/>.</summary>
    public RefineStorage Refine { get; init; } = RefineStorage.None;

    /// <summary>Most threads a training, add or batch search uses (FAISS's <c>omp_set_num_threads</c>). Default: all cores.</summary>
    public int MaxThreads { get; init; } = Environment.ProcessorCount;

    /// <summary>k-means settings of the coarse quantiser; default 10 iterations from a random initialisation, as FAISS's
    /// <c>Level1Quantizer</c> (k-means++ seeding makes a pass over the data per centroid: about a tenth of training 1,024
    /// lists on 100k x 384 vectors). Set <see cref="KMeansInit.KMeansPlusPlus"/> to seed that way.</summary>
    public KMeansOptions CoarseKMeans { get; init; } = new() { Iterations = 10, Init = KMeansInit.Random };

    /// <summary>k-means settings of the PQ codebooks; default 25 iterations, as FAISS's <c>ProductQuantizer</c>.</summary>
    public KMeansOptions CodebookKMeans { get; init; } = new() { Iterations = 25, Init = KMeansInit.Random };
}

namespace Vec.Kernels;

/// <summary>
/// How a <see cref="VectorDatabase"/> stores its rows for single-query scans, chosen at
/// <see cref="IVectorKernels.CreateDatabase"/>. Compressed storage scans fewer bytes per row (single-query search is
/// bound by memory bandwidth) and then re-scores the best candidates exactly from float32 rows, so returned scores
/// are always exact; only the recall of the candidate stage is approximate.
/// </summary>
public enum VectorStorage
{
    /// <summary>Exact float32 rows (4 bytes per element); search is exact.</summary>
    Float32 = 0,

    /// <summary>IEEE half-precision rows (2 bytes per element) for the candidate scan, plus float32 rows for exact re-scoring.</summary>
    Float16 = 1,

    /// <summary>Per-dimension affine 8-bit codes, <c>x_j ≈ min_j + step_j·c_j</c> (1 byte per element), for the candidate scan,
    /// plus float32 rows for exact re-scoring.</summary>
    Int8 = 2,
}

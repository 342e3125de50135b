using Vec.Kernels;

namespace Vec.Index;

/// <summary>
/// Inverted-file index with residual product quantisation (FAISS's <c>IndexIVFPQ</c>): a k-means coarse quantiser
/// splits the space into <see cref="IvfPqOptions.Lists"/> cells; each vector is stored in its cell's list as the PQ code
/// of its residual. A search scans the <see cref="SearchOptions.NProbe"/> nearest lists with per-query lookup tables and,
/// optionally, re-ranks the best <c>k x R</c> candidates with stored full-precision vectors.
/// </summary>
public sealed class IvfPqIndex : IVectorIndex
{
    /// <summary>Creates an untrained index.</summary>
    /// <param name="dimension">Vector dimension; a multiple of <see cref="IvfPqOptions.SubQuantizers"/>.</param>
    /// <param name="metric">Metric to rank by.</param>
    /// <param name="options">Construction settings; <see langword="null"/> for the defaults.</param>
    /// <param name="kernels">Kernel backend for training, coarse assignment and refine; <see langword="null"/> for
    /// <see cref="KernelBackends.CreateDefault"/> (then owned by the index).</param>
    public IvfPqIndex(int dimension, Metric metric, IvfPqOptions? options = null, IVectorKernels? kernels = null)
        => throw new NotImplementedException();

    /// <inheritdoc />
    public int Dimension { get; }

    /// <inheritdoc />
    public Metric Metric { get; }

    /// <summary>Construction settings.</summary>
    public IvfPqOptions Options { get; } = new();

    /// <summary>The kernel backend.</summary>
    public IVectorKernels Kernels { get; } = null!;

    /// <inheritdoc />
    public long Count => throw new NotImplementedException();

    /// <inheritdoc />
    public bool IsTrained => throw new NotImplementedException();

    /// <summary>Bytes held per stored vector: code, id and refine copy, plus list overhead spread over the vectors.</summary>
    public double BytesPerVector => throw new NotImplementedException();

    /// <summary>Warning from training (too few points per centroid), or <see langword="null"/>.</summary>
    public string? TrainingWarning => throw new NotImplementedException();

    /// <inheritdoc />
    public void Train(ReadOnlySpan<float> vectors, int count) => throw new NotImplementedException();

    /// <inheritdoc />
    public void Add(ReadOnlySpan<long> ids, ReadOnlySpan<float> vectors) => throw new NotImplementedException();

    /// <inheritdoc />
    public void Search(ReadOnlySpan<float> queries, int queryCount, int k, Span<long> ids, Span<float> scores, SearchOptions? options = null)
        => throw new NotImplementedException();

    /// <inheritdoc />
    public int Remove(ReadOnlySpan<long> ids) => throw new NotImplementedException();

    /// <inheritdoc />
    public bool Contains(long id) => throw new NotImplementedException();

    /// <inheritdoc />
    public void Save(string path) => throw new NotImplementedException();

    /// <inheritdoc />
    public void Dispose() => throw new NotImplementedException();
}

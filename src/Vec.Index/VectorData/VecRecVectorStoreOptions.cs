using Microsoft.Extensions.AI;
using Vec.Kernels;

namespace Vec.Index.VectorData;

/// <summary>Settings of a <see cref="VecRecVectorStore"/>.</summary>
public sealed class VecRecVectorStoreOptions
{
    /// <summary>
    /// Creates the index behind one vector property of a collection, when the collection is created. <see langword="null"/>
    /// (the default) creates an exact <see cref="FlatIndex"/> on the store's kernels, whatever the property's
    /// <c>IndexKind</c>. A factory may return any <see cref="IVectorIndex"/> of the requested dimension and metric that
    /// is ready for <see cref="IVectorIndex.Add"/> (an <see cref="IvfPqIndex"/> must already be trained); the
    /// collection owns and disposes it.
    /// </summary>
    public Func<VecRecIndexRequest, IVectorIndex>? IndexFactory { get; init; }

    /// <summary>
    /// Kernel backend shared by the default flat indexes; <see langword="null"/> for
    /// <see cref="KernelBackends.CreateDefault"/> (then owned and disposed by the store).
    /// </summary>
    public IVectorKernels? Kernels { get; init; }

    /// <summary>
    /// Per-search index settings (for example <see cref="SearchOptions.NProbe"/> or <see cref="SearchOptions.RefineFactor"/>
    /// for IVF-PQ indexes); the collection adds its own filter. <see langword="null"/> for <see cref="SearchOptions.Default"/>.
    /// </summary>
    public SearchOptions? SearchOptions { get; init; }

    /// <summary>
    /// Default embedding generator for collections whose definition and options name none; used to embed search
    /// inputs that are not vectors (for example text).
    /// </summary>
    public IEmbeddingGenerator? EmbeddingGenerator { get; init; }
}

/// <summary>What <see cref="VecRecVectorStoreOptions.IndexFactory"/> is asked to build.</summary>
/// <param name="CollectionName">Name of the collection.</param>
/// <param name="VectorPropertyName">Model name of the vector property the index serves.</param>
/// <param name="Dimension">Vector dimension (the property's <c>Dimensions</c>).</param>
/// <param name="Metric">Metric derived from the property's <c>DistanceFunction</c>.</param>
/// <param name="IndexKind">The property's <c>IndexKind</c>, or <see langword="null"/> when not set.</param>
/// <param name="Kernels">The store's kernel backend.</param>
public sealed record VecRecIndexRequest(string CollectionName, string VectorPropertyName, int Dimension, Metric Metric, string? IndexKind, IVectorKernels Kernels);

using Vec.Kernels;

namespace Vec.Index;

/// <summary>How k-means picks its initial centroids.</summary>
public enum KMeansInit
{
    /// <summary>k distinct training points drawn uniformly (FAISS's default).</summary>
    Random = 0,

    /// <summary>k-means++ seeding (Arthur and Vassilvitskii): slower to start, fewer iterations to a good optimum.</summary>
    KMeansPlusPlus = 1,
}

/// <summary>Settings of a k-means run. Defaults follow FAISS's <c>ClusteringParameters</c>.</summary>
public sealed record KMeansOptions
{
    /// <summary>Lloyd iterations. Default 25.</summary>
    public int Iterations { get; init; } = 25;

    /// <summary>Initialisation. Default <see cref="KMeansInit.KMeansPlusPlus"/>.</summary>
    public KMeansInit Init { get; init; } = KMeansInit.KMeansPlusPlus;

    /// <summary>Seed: the same data, options and seed give the same centroids. Default 1234.</summary>
    public int Seed { get; init; } = 1234;

    /// <summary>At most this many training points per centroid are used (a seeded sample). Default 256.</summary>
    public int MaxPointsPerCentroid { get; init; } = 256;

    /// <summary>Below this many points per centroid the result carries a warning. Default 39.</summary>
    public int MinPointsPerCentroid { get; init; } = 39;

    /// <summary>Normalise centroids to unit length after each iteration (spherical k-means). Default false.</summary>
    public bool Spherical { get; init; }
}

/// <summary>Centroids found by <see cref="KMeans.Train"/>.</summary>
/// <param name="Centroids">Row-major <paramref name="K"/> x <paramref name="Dimension"/> centroids.</param>
/// <param name="K">Number of centroids.</param>
/// <param name="Dimension">Dimension.</param>
/// <param name="Objective">Sum of squared distances of the (sampled) training points to their centroids after the last iteration.</param>
/// <param name="Iterations">Iterations run.</param>
/// <param name="Warning">Set when the training set was small for <paramref name="K"/> (fewer than
/// <see cref="KMeansOptions.MinPointsPerCentroid"/> points per centroid); otherwise <see langword="null"/>.</param>
public sealed record KMeansResult(float[] Centroids, int K, int Dimension, double Objective, int Iterations, string? Warning);

/// <summary>
/// Seeded, deterministic k-means (Lloyd iterations) whose assignment step runs through the kernels' fused search
/// (matrix product + argmin), so it is as fast as the backend's GEMM.
/// </summary>
public static class KMeans
{
    /// <summary>Clusters <paramref name="count"/> vectors into <paramref name="k"/> centroids (squared L2).</summary>
    /// <param name="vectors">Row-major training vectors.</param>
    /// <param name="count">Number of training vectors (at least <paramref name="k"/>).</param>
    /// <param name="dimension">Dimension.</param>
    /// <param name="k">Number of centroids.</param>
    /// <param name="options">Settings; <see langword="null"/> for the defaults.</param>
    /// <param name="kernels">Kernel backend; <see langword="null"/> for the default.</param>
    public static KMeansResult Train(ReadOnlySpan<float> vectors, int count, int dimension, int k, KMeansOptions? options = null, IVectorKernels? kernels = null)
        => throw new NotImplementedException();

    /// <summary>Assigns each vector to its nearest centroid by squared L2 distance (ties to the lower centroid).</summary>
    /// <param name="vectors">Row-major vectors.</param>
    /// <param name="count">Number of vectors.</param>
    /// <param name="dimension">Dimension.</param>
    /// <param name="centroids">Row-major centroids.</param>
    /// <param name="k">Number of centroids.</param>
    /// <param name="labels">Receives <paramref name="count"/> centroid indices.</param>
    /// <param name="distances">Receives <paramref name="count"/> squared distances; may be empty.</param>
    /// <param name="kernels">Kernel backend; <see langword="null"/> for the default.</param>
    public static void Assign(ReadOnlySpan<float> vectors, int count, int dimension, ReadOnlySpan<float> centroids, int k,
        Span<int> labels, Span<float> distances, IVectorKernels? kernels = null)
        => throw new NotImplementedException();
}

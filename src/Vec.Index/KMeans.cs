using Vec.Index.Internals;
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

    /// <summary>Most threads k-means' own loops use (centroid update, seeding, norms; FAISS's <c>omp_set_num_threads</c>).
    /// The assignment step runs in the kernel backend, whose <c>KernelOptions.MaxThreads</c> bounds it. Default: all cores.</summary>
    public int MaxThreads { get; init; } = Environment.ProcessorCount;
}

/// <summary>Centroids found by <see cref="KMeans.Train"/>.</summary>
/// <param name="Centroids">Row-major <paramref name="K"/> x <paramref name="Dimension"/> centroids.</param>
/// <param name="K">Number of centroids.</param>
/// <param name="Dimension">Dimension.</param>
/// <param name="Objective">Sum of squared distances of the (sampled) training points to their centroids after the last iteration.</param>
/// <param name="Iterations">Iterations run.</param>
/// <param name="Warning">Set when the training set was small for <paramref name="K"/> (fewer than
/// <see cref="KMeansOptions.MinPointsPerCentroid"/> points per centroid); otherwise <see langword="null"/>.</param>
public sealed record KMeansResult(float[] Centroids, int K, int Dimension, double Objective, int Iterations, string? Warning)
{
    /// <summary>Objective after each iteration (the last equals <see cref="Objective"/>); non-increasing for plain
    /// (non-spherical) k-means unless an empty cluster was split.</summary>
    public IReadOnlyList<double> ObjectiveHistory { get; init; } = [];
}

/// <summary>
/// Seeded, deterministic k-means (Lloyd iterations) whose assignment step runs through the kernels' fused search
/// (matrix product + argmin), so it is as fast as the backend's GEMM.
/// </summary>
/// <remarks>
/// Like FAISS: at most <see cref="KMeansOptions.MaxPointsPerCentroid"/> x k points (a seeded sample) are used; empty
/// clusters take half of the largest cluster (its centroid copied with a small symmetric perturbation). The centroid
/// update sums each cluster's points in index order in double precision, so a seed gives the same centroids whatever the
/// thread count (on one kernel backend: backends may round differently).
/// </remarks>
public static class KMeans
{
    /// <summary>Points per chunk of the assignment step are capped so that a chunk holds about this many floats.</summary>
    private const int ChunkFloats = 1 << 22;

    /// <summary>Clusters <paramref name="count"/> vectors into <paramref name="k"/> centroids (squared L2).</summary>
    /// <param name="vectors">Row-major training vectors.</param>
    /// <param name="count">Number of training vectors (at least <paramref name="k"/>).</param>
    /// <param name="dimension">Dimension.</param>
    /// <param name="k">Number of centroids.</param>
    /// <param name="options">Settings; <see langword="null"/> for the defaults.</param>
    /// <param name="kernels">Kernel backend; <see langword="null"/> for the default.</param>
    /// <exception cref="ArgumentException">A bad shape, a non-finite value in <paramref name="vectors"/>, fewer than
    /// <paramref name="k"/> vectors (<paramref name="count"/>) or invalid <paramref name="options"/>.</exception>
    public static unsafe KMeansResult Train(ReadOnlySpan<float> vectors, int count, int dimension, int k, KMeansOptions? options = null, IVectorKernels? kernels = null)
    {
        options ??= new KMeansOptions();
        Validation.Dimension(dimension);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(k);
        CheckOptions(options);
        Validation.Matrix(vectors, count, dimension, nameof(vectors), nameof(count));
        if (count < k)
            throw new ArgumentException($"k-means needs at least k = {k} training vectors, got {count}.", nameof(count));

        string? warning = WarningFor(count, k, options);
        int maxPoints = (int)Math.Min(int.MaxValue, (long)options.MaxPointsPerCentroid * k);
        float[]? sample = null;
        int n = count;
        if (count > maxPoints)
        {
            sample = KMeansCore.Gather(vectors, dimension, KMeansCore.SampleIndices(count, maxPoints, new Random(options.Seed)));
            n = maxPoints;
        }

        IVectorKernels backend = kernels ?? KernelBackends.CreateDefault();
        try
        {
            KMeansRun run;
            fixed (float* pv = vectors, ps = sample)
                run = KMeansCore.Run(sample is null ? pv : ps, n, dimension, k, options, new KernelAssigner(backend, options.MaxThreads), options.MaxThreads);
            return new KMeansResult(run.Centroids, k, dimension, run.Objective, run.Iterations, warning) { ObjectiveHistory = run.History };
        }
        finally
        {
            if (kernels is null) backend.Dispose();
        }
    }

    /// <summary>Assigns each vector to its nearest centroid by squared L2 distance (ties to the lower centroid).</summary>
    /// <param name="vectors">Row-major vectors.</param>
    /// <param name="count">Number of vectors.</param>
    /// <param name="dimension">Dimension.</param>
    /// <param name="centroids">Row-major centroids.</param>
    /// <param name="k">Number of centroids.</param>
    /// <param name="labels">Receives <paramref name="count"/> centroid indices.</param>
    /// <param name="distances">Receives <paramref name="count"/> squared distances; may be empty.</param>
    /// <param name="kernels">Kernel backend; <see langword="null"/> for the default.</param>
    public static unsafe void Assign(ReadOnlySpan<float> vectors, int count, int dimension, ReadOnlySpan<float> centroids, int k,
        Span<int> labels, Span<float> distances, IVectorKernels? kernels = null)
    {
        Validation.Dimension(dimension);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(k);
        Validation.Matrix(vectors, count, dimension, nameof(vectors), nameof(count));
        Validation.Matrix(centroids, k, dimension, nameof(centroids), nameof(k));
        if (labels.Length < count)
            throw new ArgumentException($"Needs room for {count} labels, has {labels.Length}.", nameof(labels));
        if (!distances.IsEmpty && distances.Length < count)
            throw new ArgumentException($"Needs room for {count} distances (or be empty), has {distances.Length}.", nameof(distances));
        if (count == 0) return;

        IVectorKernels backend = kernels ?? KernelBackends.CreateDefault();
        try
        {
            using var db = backend.CreateDatabase(centroids, k, dimension);
            fixed (float* pv = vectors)
            fixed (int* pl = labels)
            fixed (float* pd = distances)
                AssignChunks(backend, db, pv, count, dimension, pl, distances.IsEmpty ? null : pd, Environment.ProcessorCount);
        }
        finally
        {
            if (kernels is null) backend.Dispose();
        }
    }

    /// <summary>The warning text for a small training set, or null.</summary>
    internal static string? WarningFor(int count, int k, KMeansOptions options)
    {
        long recommended = (long)options.MinPointsPerCentroid * k;
        return count < recommended
            ? $"Too few training points: {count} for k = {k} centroids (recommended at least {options.MinPointsPerCentroid} per centroid, {recommended} in all); the centroids may be poor."
            : null;
    }

    /// <summary>Checks a <see cref="KMeansOptions"/> (exceptions name <c>options</c>).</summary>
    internal static void CheckOptions(KMeansOptions options, string name = "options")
    {
        if (options.Iterations < 1) throw new ArgumentOutOfRangeException(name, options.Iterations, "Iterations must be at least 1.");
        if (!Enum.IsDefined(options.Init)) throw new ArgumentOutOfRangeException(name, options.Init, "Unknown k-means initialisation.");
        if (options.MaxPointsPerCentroid < 1) throw new ArgumentOutOfRangeException(name, options.MaxPointsPerCentroid, "MaxPointsPerCentroid must be at least 1.");
        if (options.MinPointsPerCentroid < 0) throw new ArgumentOutOfRangeException(name, options.MinPointsPerCentroid, "MinPointsPerCentroid must not be negative.");
        if (options.MaxThreads < 1) throw new ArgumentOutOfRangeException(name, options.MaxThreads, "MaxThreads must be at least 1.");
    }

    /// <summary>
    /// Nearest centroid of every row through the kernels' fused search (k = 1, squared L2), in chunks that bound the
    /// memory of a call; up to <paramref name="threads"/> chunks run at once (the result of a row never depends on its
    /// chunk). The backend also spreads each call over its own threads (<c>KernelOptions.MaxThreads</c>); the two levels
    /// let one call's serial steps (packing, merging) overlap another's products.
    /// </summary>
    private static unsafe void AssignChunks(IVectorKernels kernels, VectorDatabase db, float* vectors, int count, int d, int* labels, float* distances, int threads)
    {
        int chunk = Math.Max(256, ChunkFloats / d);
        int chunks = (count + chunk - 1) / chunk;
        nint pv = (nint)vectors, pl = (nint)labels, pd = (nint)distances;
        void Run(int b)
        {
            int start = b * chunk, rows = Math.Min(chunk, count - start);
            var queries = new ReadOnlySpan<float>((float*)pv + (long)start * d, rows * d);
            var idx = new Span<int>((int*)pl + start, rows);
            float[]? scratch = pd == 0 ? System.Buffers.ArrayPool<float>.Shared.Rent(rows) : null;
            var dist = pd == 0 ? scratch.AsSpan(0, rows) : new Span<float>((float*)pd + start, rows);
            kernels.Search(db, queries, rows, 1, Metric.L2, idx, dist);
            if (scratch is not null) System.Buffers.ArrayPool<float>.Shared.Return(scratch);
        }
        if (chunks == 1 || threads == 1) for (int b = 0; b < chunks; b++) Run(b);
        else Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = threads }, Run);
    }

    /// <summary>The k-means assignment step through the kernels.</summary>
    private sealed unsafe class KernelAssigner(IVectorKernels kernels, int threads) : IKMeansAssigner
    {
        public void Assign(float* data, int n, int d, float[] centroids, int k, int[] labels)
        {
            using var db = kernels.CreateDatabase(centroids, k, d);
            fixed (int* pl = labels)
                AssignChunks(kernels, db, data, n, d, pl, null, threads);
        }
    }
}

using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Vec.Index.Internals;

/// <summary>The assignment step of a Lloyd iteration: nearest centroid (squared L2, ties to the lower index) per point.</summary>
internal unsafe interface IKMeansAssigner
{
    /// <summary>Writes the nearest of <paramref name="k"/> centroids for each of <paramref name="n"/> rows of <paramref name="data"/>.</summary>
    void Assign(float* data, int n, int d, float[] centroids, int k, int[] labels);
}

/// <summary>Result of <see cref="KMeansCore.Run"/>.</summary>
internal readonly record struct KMeansRun(float[] Centroids, double Objective, int Iterations, double[] History);

/// <summary>
/// Lloyd's k-means shared by <see cref="KMeans"/> (assignment through the kernels) and the product quantiser
/// (assignment by its small-dimension SIMD routine). Deterministic for a seed whatever the thread count: every
/// reduction runs in a fixed order (per cluster, points in index order, double accumulation).
/// </summary>
internal static unsafe class KMeansCore
{
    /// <summary>Relative perturbation applied when an empty cluster takes half of the largest one (FAISS's EPS).</summary>
    private const float SplitEpsilon = 1f / 1024f;

    /// <summary>k-means++ runs on at most this many points per centroid (a seeded sample of the training set).</summary>
    internal const int PlusPlusPointsPerCentroid = 8;

    /// <summary>
    /// Picks <paramref name="sampleCount"/> distinct indices of [0, <paramref name="count"/>) with <paramref name="rng"/>
    /// (a partial Fisher-Yates shuffle), sorted ascending for memory locality.
    /// </summary>
    public static int[] SampleIndices(int count, int sampleCount, Random rng)
    {
        var perm = new int[count];
        for (int i = 0; i < count; i++) perm[i] = i;
        for (int i = 0; i < sampleCount; i++)
        {
            int j = i + rng.Next(count - i);
            (perm[i], perm[j]) = (perm[j], perm[i]);
        }
        var chosen = perm.AsSpan(0, sampleCount).ToArray();
        Array.Sort(chosen);
        return chosen;
    }

    /// <summary>Copies the rows <paramref name="indices"/> of a row-major matrix.</summary>
    public static float[] Gather(ReadOnlySpan<float> vectors, int dimension, int[] indices)
    {
        var result = GC.AllocateUninitializedArray<float>(indices.Length * dimension);
        for (int i = 0; i < indices.Length; i++)
            vectors.Slice(indices[i] * dimension, dimension).CopyTo(result.AsSpan(i * dimension, dimension));
        return result;
    }

    /// <summary>
    /// Runs k-means on <paramref name="n"/> rows (already sampled). <paramref name="initial"/> (k x d) hot-starts the
    /// centroids; otherwise they are seeded per <see cref="KMeansOptions.Init"/>. The run's own loops use at most
    /// <paramref name="threads"/> threads; with 1 everything runs on the calling thread (callers that parallelise over
    /// independent runs).
    /// </summary>
    public static KMeansRun Run(float* data, int n, int d, int k, KMeansOptions options, IKMeansAssigner assigner, int threads, float[]? initial = null)
    {
        var rng = new Random(options.Seed);
        double[] norms = SquaredNormsDouble(data, n, d, threads);
        float[] centroids;
        if (initial is not null) centroids = (float[])initial.Clone();
        else if (options.Init == KMeansInit.Random) centroids = RandomInit(data, n, d, k, rng);
        else centroids = PlusPlusInit(data, n, d, k, rng, threads);
        if (options.Spherical) NormalizeRows(centroids, k, d);

        var labels = new int[n];
        var counts = new int[k];
        var offsets = new int[k + 1];
        var order = new int[n];
        var clusterObjective = new double[k];
        var history = new double[options.Iterations];
        double objective = 0;
        for (int iter = 0; iter < options.Iterations; iter++)
        {
            assigner.Assign(data, n, d, centroids, k, labels);

            // Counting sort of the points by label (stable: index order within a cluster).
            Array.Clear(counts);
            for (int i = 0; i < n; i++) counts[labels[i]]++;
            offsets[0] = 0;
            for (int c = 0; c < k; c++) offsets[c + 1] = offsets[c] + counts[c];
            var fill = (int[])offsets.Clone();
            for (int i = 0; i < n; i++) order[fill[labels[i]]++] = i;

            var update = new UpdateState(data, d, centroids, offsets, order, norms, clusterObjective, options.Spherical);
            if (threads > 1 && (long)n * d >= 1 << 16)
            {
                Parallel.ForEach(Partitioner.Create(0, k, Math.Max(1, k / (4 * threads))), new ParallelOptions { MaxDegreeOfParallelism = threads }, range =>
                {
                    var sum = new double[d];
                    for (int c = range.Item1; c < range.Item2; c++) update.Cluster(c, sum);
                });
            }
            else
            {
                var sum = new double[d];
                for (int c = 0; c < k; c++) update.Cluster(c, sum);
            }
            objective = 0;
            for (int c = 0; c < k; c++) objective += clusterObjective[c];
            history[iter] = objective;

            SplitEmptyClusters(centroids, counts, k, d, options.Spherical);
        }
        return new KMeansRun(centroids, objective, options.Iterations, history);
    }

    /// <summary>Per-cluster centroid update; reads only its own cluster's points, so clusters run in any order.</summary>
    private readonly struct UpdateState(float* data, int d, float[] centroids, int[] offsets, int[] order, double[] norms, double[] clusterObjective, bool spherical)
    {
        public void Cluster(int c, double[] sum)
        {
            int start = offsets[c], end = offsets[c + 1];
            if (start == end)
            {
                clusterObjective[c] = 0;
                return;
            }
            Array.Clear(sum);
            double q = 0;
            for (int p = start; p < end; p++)
            {
                int i = order[p];
                AddWidened(sum, new ReadOnlySpan<float>(data + (long)i * d, d));
                q += norms[i];
            }
            int count = end - start;
            var centroid = centroids.AsSpan(c * d, d);
            double inv = 1.0 / count;
            for (int j = 0; j < d; j++) centroid[j] = (float)(sum[j] * inv);
            if (spherical) NormalizeRow(centroid);
            // Sum over the cluster of |x - c|^2 = sum |x|^2 - 2 c.S + count |c|^2 (exact identity, in double).
            double cs = 0, cc = 0;
            for (int j = 0; j < d; j++)
            {
                double cj = centroid[j];
                cs += cj * sum[j];
                cc += cj * cj;
            }
            clusterObjective[c] = Math.Max(0, q - 2 * cs + count * cc);
        }
    }

    /// <summary>
    /// Gives every empty cluster half of the currently largest cluster (ties to the lower index): a copy of its centroid
    /// with a small symmetric perturbation, as FAISS does.
    /// </summary>
    internal static void SplitEmptyClusters(float[] centroids, int[] counts, int k, int d, bool spherical)
    {
        for (int ci = 0; ci < k; ci++)
        {
            if (counts[ci] != 0) continue;
            int cj = 0;
            for (int c = 1; c < k; c++)
                if (counts[c] > counts[cj]) cj = c;
            if (counts[cj] < 2) break;
            var a = centroids.AsSpan(ci * d, d);
            var b = centroids.AsSpan(cj * d, d);
            b.CopyTo(a);
            for (int j = 0; j < d; j++)
            {
                if ((j & 1) == 0) { a[j] *= 1 + SplitEpsilon; b[j] *= 1 - SplitEpsilon; }
                else { a[j] *= 1 - SplitEpsilon; b[j] *= 1 + SplitEpsilon; }
            }
            if (spherical) { NormalizeRow(a); NormalizeRow(b); }
            counts[ci] = counts[cj] / 2;
            counts[cj] -= counts[ci];
        }
    }

    private static float[] RandomInit(float* data, int n, int d, int k, Random rng)
    {
        // k distinct points, drawn by a partial Fisher-Yates shuffle (in draw order, like FAISS's permutation).
        var perm = new int[n];
        for (int i = 0; i < n; i++) perm[i] = i;
        var centroids = new float[k * d];
        for (int c = 0; c < k; c++)
        {
            int j = c + rng.Next(n - c);
            (perm[c], perm[j]) = (perm[j], perm[c]);
            new ReadOnlySpan<float>(data + (long)perm[c] * d, d).CopyTo(centroids.AsSpan(c * d, d));
        }
        return centroids;
    }

    /// <summary>
    /// k-means++ seeding on a seeded sample of at most <see cref="PlusPlusPointsPerCentroid"/> x k points, keeping each
    /// sample point's squared distance to its nearest chosen centroid and updating it (SIMD, in parallel) per new centroid.
    /// </summary>
    private static float[] PlusPlusInit(float* data, int n, int d, int k, Random rng, int threads)
    {
        int s = (int)Math.Min(n, Math.Max((long)PlusPlusPointsPerCentroid * k, 1024));
        int[] rows = s == n ? Enumerable.Range(0, n).ToArray() : SampleIndices(n, s, rng);
        var centroids = new float[k * d];
        var minDist = new float[s];
        minDist.AsSpan().Fill(float.PositiveInfinity);
        int first = rows[rng.Next(s)];
        new ReadOnlySpan<float>(data + (long)first * d, d).CopyTo(centroids.AsSpan(0, d));
        bool useParallel = threads > 1 && (long)s * d >= 1 << 17;
        int chunk = Math.Max(256, s / (4 * threads));
        var parallelOptions = new ParallelOptions { MaxDegreeOfParallelism = threads };
        for (int c = 0; ; c++)
        {
            // Update the sample's distances to the newest centroid c.
            var update = new PlusPlusUpdate(data, d, rows, minDist, centroids, c);
            if (useParallel)
                Parallel.For(0, (s + chunk - 1) / chunk, parallelOptions, b => update.Run(b * chunk, Math.Min(s, (b + 1) * chunk)));
            else update.Run(0, s);
            if (c + 1 == k) break;

            double total = 0;
            for (int i = 0; i < s; i++) total += minDist[i];
            int pick;
            if (!(total > 0)) pick = rng.Next(s);
            else
            {
                double r = rng.NextDouble() * total, acc = 0;
                pick = s - 1;
                for (int i = 0; i < s; i++)
                {
                    acc += minDist[i];
                    if (acc > r && minDist[i] > 0) { pick = i; break; }
                }
                // Rounding at the end of the scan: take the last point with a positive weight.
                if (acc <= r) while (pick > 0 && minDist[pick] <= 0) pick--;
            }
            new ReadOnlySpan<float>(data + (long)rows[pick] * d, d).CopyTo(centroids.AsSpan((c + 1) * d, d));
        }
        return centroids;
    }

    private readonly struct PlusPlusUpdate(float* data, int d, int[] rows, float[] minDist, float[] centroids, int c)
    {
        public void Run(int start, int end)
        {
            var centroid = new ReadOnlySpan<float>(centroids, c * d, d);
            for (int i = start; i < end; i++)
            {
                float dist = SquaredDistance(new ReadOnlySpan<float>(data + (long)rows[i] * d, d), centroid);
                if (dist < minDist[i]) minDist[i] = dist;
            }
        }
    }

    /// <summary>Squared L2 distance, SIMD (the same value on every thread; not necessarily across instruction sets).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float SquaredDistance(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        int n = x.Length, j = 0;
        ref float px = ref MemoryMarshal.GetReference(x);
        ref float py = ref MemoryMarshal.GetReference(y);
        float sum = 0;
        if (Vector512.IsHardwareAccelerated && n >= 16)
        {
            var acc = Vector512<float>.Zero;
            for (; j + 16 <= n; j += 16)
            {
                var diff = Vector512.LoadUnsafe(ref px, (nuint)j) - Vector512.LoadUnsafe(ref py, (nuint)j);
                acc = Vector512.FusedMultiplyAdd(diff, diff, acc);
            }
            sum = Vector512.Sum(acc);
        }
        else if (Vector256.IsHardwareAccelerated && n >= 8)
        {
            var acc = Vector256<float>.Zero;
            for (; j + 8 <= n; j += 8)
            {
                var diff = Vector256.LoadUnsafe(ref px, (nuint)j) - Vector256.LoadUnsafe(ref py, (nuint)j);
                acc = Vector256.FusedMultiplyAdd(diff, diff, acc);
            }
            sum = Vector256.Sum(acc);
        }
        for (; j < n; j++)
        {
            float diff = Unsafe.Add(ref px, j) - Unsafe.Add(ref py, j);
            sum += diff * diff;
        }
        return sum;
    }

    /// <summary><c>sum[j] += x[j]</c> with x widened to double.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddWidened(double[] sum, ReadOnlySpan<float> x)
    {
        int n = x.Length, j = 0;
        ref float px = ref MemoryMarshal.GetReference(x);
        ref double ps = ref MemoryMarshal.GetArrayDataReference(sum);
        if (Vector256.IsHardwareAccelerated)
        {
            for (; j + 8 <= n; j += 8)
            {
                var (lo, hi) = Vector256.Widen(Vector256.LoadUnsafe(ref px, (nuint)j));
                (Vector256.LoadUnsafe(ref ps, (nuint)j) + lo).StoreUnsafe(ref ps, (nuint)j);
                (Vector256.LoadUnsafe(ref ps, (nuint)(j + 4)) + hi).StoreUnsafe(ref ps, (nuint)(j + 4));
            }
        }
        for (; j < n; j++) Unsafe.Add(ref ps, j) += Unsafe.Add(ref px, j);
    }

    private static double[] SquaredNormsDouble(float* data, int n, int d, int threads)
    {
        var norms = new double[n];
        nint addr = (nint)data;
        void Rows(int start, int end)
        {
            for (int i = start; i < end; i++)
            {
                var row = new ReadOnlySpan<float>((float*)addr + (long)i * d, d);
                double s = 0;
                foreach (float v in row) s += (double)v * v;
                norms[i] = s;
            }
        }
        if (threads > 1 && (long)n * d >= 1 << 18)
        {
            int chunk = Math.Max(1024, n / (4 * threads));
            Parallel.For(0, (n + chunk - 1) / chunk, new ParallelOptions { MaxDegreeOfParallelism = threads },
                b => Rows(b * chunk, Math.Min(n, (b + 1) * chunk)));
        }
        else Rows(0, n);
        return norms;
    }

    internal static void NormalizeRows(float[] rows, int count, int d)
    {
        for (int i = 0; i < count; i++) NormalizeRow(rows.AsSpan(i * d, d));
    }

    private static void NormalizeRow(Span<float> row)
    {
        double s = 0;
        foreach (float v in row) s += (double)v * v;
        if (s <= 0) return;
        float inv = (float)(1 / Math.Sqrt(s));
        for (int j = 0; j < row.Length; j++) row[j] *= inv;
    }
}

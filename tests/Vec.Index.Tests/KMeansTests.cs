using FsCheck.Xunit;
using Vec.Index.Internals;
using Vec.Kernels;
using Xunit;

namespace Vec.Index.Tests;

public sealed class KMeansTests
{
    /// <summary>Well-separated Gaussian blobs: returns the points and the true centres.</summary>
    private static (float[] Points, float[] Centres) Blobs(int blobs, int perBlob, int d, int seed, float spread = 0.1f)
    {
        var rng = new Random(seed);
        var centres = new float[blobs * d];
        for (int i = 0; i < centres.Length; i++) centres[i] = (float)(rng.NextDouble() * 40 - 20);
        var points = new float[blobs * perBlob * d];
        for (int b = 0; b < blobs; b++)
            for (int p = 0; p < perBlob; p++)
                for (int j = 0; j < d; j++)
                    points[((p * blobs) + b) * d + j] = centres[b * d + j] + spread * TestData.Normal(rng);
        return (points, centres);
    }

    private static double Dist2(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double s = 0;
        for (int j = 0; j < a.Length; j++) { double diff = (double)a[j] - b[j]; s += diff * diff; }
        return s;
    }

    [Fact]
    public void Finds_the_centres_of_well_separated_blobs()
    {
        const int blobs = 8, d = 16;
        var (points, centres) = Blobs(blobs, 100, d, 3);
        using var kernels = KernelBackends.Create("simd");
        // k-means++ seeds one centroid in every blob with overwhelming probability (random init may merge two blobs).
        var result = KMeans.Train(points, blobs * 100, d, blobs, new KMeansOptions { Iterations = 20, Seed = 5 }, kernels);
        Assert.Equal(blobs, result.K);
        Assert.Null(result.Warning);
        for (int b = 0; b < blobs; b++)
        {
            double best = double.MaxValue;
            for (int c = 0; c < blobs; c++) best = Math.Min(best, Dist2(centres.AsSpan(b * d, d), result.Centroids.AsSpan(c * d, d)));
            Assert.True(best < 0.05, $"blob {b}: nearest centroid at squared distance {best}");
        }
        // Objective ~ n * d * spread^2.
        Assert.InRange(result.Objective, 0.5 * 800 * d * 0.01, 1.5 * 800 * d * 0.01);
    }

    [Theory]
    [InlineData(KMeansInit.KMeansPlusPlus)]
    [InlineData(KMeansInit.Random)]
    public void Is_deterministic_for_a_seed_whatever_the_thread_count(KMeansInit init)
    {
        const int n = 3000, d = 24, k = 40;
        float[] x = TestData.LowIntrinsic(n, d, 6, 21);
        var options = new KMeansOptions { Init = init, Iterations = 6, Seed = 77, MaxPointsPerCentroid = 50 };
        using var many = KernelBackends.Create("simd");
        using var one = KernelBackends.Create("simd", new KernelOptions { MaxThreads = 1 });
        var a = KMeans.Train(x, n, d, k, options, many);
        var b = KMeans.Train(x, n, d, k, options, many);
        var c = KMeans.Train(x, n, d, k, options with { MaxThreads = 1 }, one);
        Assert.Equal(a.Centroids, b.Centroids);
        Assert.Equal(a.Centroids, c.Centroids);
        Assert.Equal(a.Objective, c.Objective);
        var other = KMeans.Train(x, n, d, k, options with { Seed = 78 }, many);
        Assert.NotEqual(a.Centroids, other.Centroids);
    }

    [Fact]
    public void Objective_does_not_increase_and_matches_the_final_centroids()
    {
        const int n = 4000, d = 32, k = 25;
        float[] x = TestData.LowIntrinsic(n, d, 8, 4);
        using var kernels = KernelBackends.Create("simd");
        var result = KMeans.Train(x, n, d, k, new KMeansOptions { Iterations = 12, Init = KMeansInit.Random }, kernels);
        Assert.Equal(12, result.ObjectiveHistory.Count);
        Assert.Equal(result.Objective, result.ObjectiveHistory[^1]);
        for (int i = 1; i < result.ObjectiveHistory.Count; i++)
            Assert.True(result.ObjectiveHistory[i] <= result.ObjectiveHistory[i - 1] * (1 + 1e-9), $"iteration {i}: {result.ObjectiveHistory[i]} > {result.ObjectiveHistory[i - 1]}");
        Assert.True(result.ObjectiveHistory[^1] < result.ObjectiveHistory[0]);
        // Reassigning to the final centroids can only lower the objective, and by little after 12 iterations.
        var labels = new int[n];
        KMeans.Assign(x, n, d, result.Centroids, k, labels, [], kernels);
        double reassigned = 0;
        for (int i = 0; i < n; i++) reassigned += Dist2(x.AsSpan(i * d, d), result.Centroids.AsSpan(labels[i] * d, d));
        Assert.InRange(reassigned, 0.95 * result.Objective, result.Objective * (1 + 1e-6));
    }

    [Theory]
    [InlineData("scalar")]
    [InlineData("simd")]
    public void Assign_equals_brute_force(string backend)
    {
        const int n = 500, d = 19, k = 37;
        float[] x = TestData.Gaussian(n, d, 8);
        float[] c = TestData.Gaussian(k, d, 9);
        using var kernels = KernelBackends.Create(backend);
        var labels = new int[n];
        var distances = new float[n];
        KMeans.Assign(x, n, d, c, k, labels, distances, kernels);
        for (int i = 0; i < n; i++)
        {
            double best = double.MaxValue;
            for (int j = 0; j < k; j++) best = Math.Min(best, Dist2(x.AsSpan(i * d, d), c.AsSpan(j * d, d)));
            double chosen = Dist2(x.AsSpan(i * d, d), c.AsSpan(labels[i] * d, d));
            Assert.True(chosen <= best + 1e-4 * (1 + best), $"row {i}: label {labels[i]} at {chosen}, best {best}");
            Assert.True(Math.Abs(distances[i] - chosen) <= 1e-3 * (1 + chosen), $"row {i}: distance {distances[i]} vs {chosen}");
        }
    }

    [Property(MaxTest = 30)]
    public void Assign_picks_a_nearest_centroid_for_random_shapes(int seed, byte nRaw, byte dRaw, byte kRaw)
    {
        int n = 1 + nRaw % 60, d = 1 + dRaw % 20, k = 1 + kRaw % 30;
        var rng = new Random(seed);
        // Small integer coordinates force many exact ties, which must go to the lower index.
        var x = new float[n * d];
        var c = new float[k * d];
        for (int i = 0; i < x.Length; i++) x[i] = rng.Next(-2, 3);
        for (int i = 0; i < c.Length; i++) c[i] = rng.Next(-2, 3);
        using var kernels = KernelBackends.Create("simd");
        var labels = new int[n];
        KMeans.Assign(x, n, d, c, k, labels, [], kernels);
        for (int i = 0; i < n; i++)
        {
            int expected = 0;
            double best = double.MaxValue;
            for (int j = 0; j < k; j++)
            {
                double dist = Dist2(x.AsSpan(i * d, d), c.AsSpan(j * d, d));
                if (dist < best) { best = dist; expected = j; }
            }
            Assert.True(expected == labels[i], $"seed {seed}, n {n}, d {d}, k {k}, row {i}: label {labels[i]}, expected {expected}");
        }
    }

    [Fact]
    public void Warns_when_there_are_few_points_per_centroid()
    {
        const int d = 4, k = 10;
        float[] few = TestData.Gaussian(200, d, 1);
        using var kernels = KernelBackends.Create("simd");
        var small = KMeans.Train(few, 200, d, k, new KMeansOptions { Iterations = 2 }, kernels);
        Assert.NotNull(small.Warning);
        Assert.Contains("200", small.Warning);
        Assert.Contains("39", small.Warning);
        float[] enough = TestData.Gaussian(390, d, 1);
        Assert.Null(KMeans.Train(enough, 390, d, k, new KMeansOptions { Iterations = 2 }, kernels).Warning);
    }

    [Fact]
    public void Subsamples_to_max_points_per_centroid()
    {
        const int n = 2000, d = 8, k = 4;
        float[] x = TestData.Gaussian(n, d, 2);
        using var kernels = KernelBackends.Create("simd");
        var options = new KMeansOptions { MaxPointsPerCentroid = 10, MinPointsPerCentroid = 5, Iterations = 50 };
        var r = KMeans.Train(x, n, d, k, options, kernels);
        // The objective is summed over the 40 sampled points only: far below that of all 2000.
        var full = KMeans.Train(x, n, d, k, options with { MaxPointsPerCentroid = 1000 }, kernels);
        Assert.True(r.Objective < full.Objective / 10, $"{r.Objective} vs {full.Objective}");
        Assert.Equal(r.Centroids, KMeans.Train(x, n, d, k, options, kernels).Centroids);
    }

    [Fact]
    public void Empty_clusters_take_half_of_the_largest()
    {
        const int d = 4;
        float[] centroids = [9, 9, 9, 9, 1, 2, 3, 4, 5, 6, 7, 8];
        int[] counts = [0, 10, 4];
        KMeansCore.SplitEmptyClusters(centroids, counts, 3, d, spherical: false);
        Assert.Equal(new[] { 5, 5, 4 }, counts);
        const float e = 1f / 1024;
        Assert.Equal(new[] { 1 * (1 + e), 2 * (1 - e), 3 * (1 + e), 4 * (1 - e) }, centroids[..4]);
        Assert.Equal(new[] { 1 * (1 - e), 2 * (1 + e), 3 * (1 - e), 4 * (1 + e) }, centroids[4..8]);
        Assert.Equal(new float[] { 5, 6, 7, 8 }, centroids[8..]);
    }

    [Fact]
    public void Recovers_from_duplicate_points_with_empty_clusters()
    {
        // 300 copies of 3 points and k = 6: the initial centroids collide and clusters fall empty.
        const int d = 3;
        var x = new float[300 * d];
        for (int i = 0; i < 300; i++) { x[i * d] = i % 3; x[i * d + 1] = 10 * (i % 3); x[i * d + 2] = 1; }
        using var kernels = KernelBackends.Create("simd");
        var r = KMeans.Train(x, 300, d, 6, new KMeansOptions { Iterations = 10, Init = KMeansInit.Random }, kernels);
        Assert.All(r.Centroids, v => Assert.True(float.IsFinite(v)));
        Assert.True(r.Objective < 1e-3, $"objective {r.Objective}");
    }

    [Fact]
    public void Spherical_centroids_have_unit_norm()
    {
        const int n = 1000, d = 12, k = 7;
        float[] x = TestData.Gaussian(n, d, 5);
        using var kernels = KernelBackends.Create("simd");
        var r = KMeans.Train(x, n, d, k, new KMeansOptions { Spherical = true, Iterations = 5 }, kernels);
        for (int c = 0; c < k; c++)
            Assert.Equal(1.0, Math.Sqrt(Dist2(r.Centroids.AsSpan(c * d, d), new float[d])), 4);
    }

    [Fact]
    public void Bad_arguments_name_the_parameter()
    {
        using var kernels = KernelBackends.Create("simd");
        float[] x = TestData.Gaussian(20, 4, 1);
        Assert.Equal("count", Assert.ThrowsAny<ArgumentException>(() => KMeans.Train(x, 20, 4, 21, null, kernels)).ParamName);
        Assert.Equal("k", Assert.ThrowsAny<ArgumentException>(() => KMeans.Train(x, 20, 4, 0, null, kernels)).ParamName);
        Assert.Equal("dimension", Assert.ThrowsAny<ArgumentException>(() => KMeans.Train(x, 20, 0, 2, null, kernels)).ParamName);
        Assert.Equal("vectors", Assert.ThrowsAny<ArgumentException>(() => KMeans.Train(x, 19, 4, 2, null, kernels)).ParamName);
        Assert.Equal("count", Assert.ThrowsAny<ArgumentException>(() => KMeans.Train(x, -1, 4, 2, null, kernels)).ParamName);
        Assert.Equal("options", Assert.ThrowsAny<ArgumentException>(() => KMeans.Train(x, 20, 4, 2, new KMeansOptions { Iterations = 0 }, kernels)).ParamName);
        Assert.Equal("options", Assert.ThrowsAny<ArgumentException>(() => KMeans.Train(x, 20, 4, 2, new KMeansOptions { MaxPointsPerCentroid = 0 }, kernels)).ParamName);
        Assert.Equal("options", Assert.ThrowsAny<ArgumentException>(() => KMeans.Train(x, 20, 4, 2, new KMeansOptions { Init = (KMeansInit)7 }, kernels)).ParamName);
        Assert.Equal("options", Assert.ThrowsAny<ArgumentException>(() => KMeans.Train(x, 20, 4, 2, new KMeansOptions { MaxThreads = 0 }, kernels)).ParamName);
        float[] nan = (float[])x.Clone();
        nan[13] = float.NaN;
        Assert.Equal("vectors", Assert.ThrowsAny<ArgumentException>(() => KMeans.Train(nan, 20, 4, 2, null, kernels)).ParamName);

        float[] c = TestData.Gaussian(3, 4, 2);
        Assert.Equal("labels", Assert.ThrowsAny<ArgumentException>(() => KMeans.Assign(x, 20, 4, c, 3, new int[19], [], kernels)).ParamName);
        Assert.Equal("distances", Assert.ThrowsAny<ArgumentException>(() => KMeans.Assign(x, 20, 4, c, 3, new int[20], new float[5], kernels)).ParamName);
        Assert.Equal("centroids", Assert.ThrowsAny<ArgumentException>(() => KMeans.Assign(x, 20, 4, c, 2, new int[20], [], kernels)).ParamName);
        Assert.Equal("vectors", Assert.ThrowsAny<ArgumentException>(() => KMeans.Assign(nan, 20, 4, c, 3, new int[20], [], kernels)).ParamName);
        Assert.Equal("k", Assert.ThrowsAny<ArgumentException>(() => KMeans.Assign(x, 20, 4, c, 0, new int[20], [], kernels)).ParamName);
    }
}

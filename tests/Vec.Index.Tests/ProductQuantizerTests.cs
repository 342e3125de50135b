using System.Runtime.Intrinsics;
using FsCheck.Xunit;
using Xunit;

namespace Vec.Index.Tests;

public sealed class ProductQuantizerTests
{
    private static readonly KMeansOptions Quick = new() { Iterations = 8 };

    private static ProductQuantizer Trained(int d, int m, int bits, int n = 1500, int seed = 3)
    {
        var pq = new ProductQuantizer(d, m, bits);
        pq.Train(TestData.LowIntrinsic(n, d, Math.Min(d, 6), seed), n, Quick);
        return pq;
    }

    private static double Dist2(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double s = 0;
        for (int j = 0; j < a.Length; j++) { double diff = (double)a[j] - b[j]; s += diff * diff; }
        return s;
    }

    public static TheoryData<int, int, int> Shapes() => new()
    {
        { 16, 4, 8 },
        { 16, 4, 4 },
        { 15, 5, 8 },   // odd sub-dimension 3
        { 15, 5, 4 },
        { 24, 2, 6 },   // sub-dimension 12
        { 8, 8, 1 },    // sub-dimension 1, 2 centroids (padding lanes)
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Encode_picks_the_nearest_centroid(int d, int m, int bits)
    {
        var pq = Trained(d, m, bits);
        const int n = 300;
        float[] x = TestData.Gaussian(n, d, 17);
        var codes = new byte[n * m];
        pq.Encode(x, n, codes);
        int ksub = pq.CentroidsPerSubQuantizer, dsub = pq.SubDimension;
        var c = pq.Centroids.ToArray();
        for (int i = 0; i < n; i++)
        {
            for (int s = 0; s < m; s++)
            {
                var sub = x.AsSpan(i * d + s * dsub, dsub);
                double best = double.MaxValue;
                for (int j = 0; j < ksub; j++) best = Math.Min(best, Dist2(sub, c.AsSpan((s * ksub + j) * dsub, dsub)));
                int code = codes[i * m + s];
                Assert.InRange(code, 0, ksub - 1);
                double chosen = Dist2(sub, c.AsSpan((s * ksub + code) * dsub, dsub));
                Assert.True(chosen <= best + 1e-5 * (1 + best), $"vector {i}, sub {s}: code {code} at {chosen}, best {best}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Simd_paths_equal_the_scalar_path(int d, int m, int bits)
    {
        var pq = Trained(d, m, bits);
        const int n = 203; // not a multiple of any block
        float[] x = TestData.Gaussian(n, d, 5);
        var widths = new List<int> { 0 };
        if (Vector256.IsHardwareAccelerated) widths.Add(256);
        if (Vector512.IsHardwareAccelerated) widths.Add(512);
        byte[]? reference = null;
        float[]? refTable = null, refIp = null;
        int tableSize = m * pq.CentroidsPerSubQuantizer;
        foreach (int width in widths)
        {
            pq.SimdWidth = width;
            var codes = new byte[n * m];
            pq.Encode(x, n, codes);
            var table = new float[tableSize];
            var ip = new float[tableSize];
            pq.ComputeDistanceTable(x.AsSpan(0, d), table);
            pq.ComputeInnerProductTable(x.AsSpan(0, d), ip);
            if (reference is null) { reference = codes; refTable = table; refIp = ip; continue; }
            Assert.True(reference.SequenceEqual(codes), $"codes differ at width {width}");
            Assert.Equal(refTable!, table);
            Assert.Equal(refIp!, ip);
        }
    }

    [Theory]
    [InlineData(16, 4, 4)]
    [InlineData(15, 5, 8)]
    public void Codes_do_not_depend_on_the_thread_count(int d, int m, int bits)
    {
        var pq = Trained(d, m, bits);
        const int n = 1111; // several chunks of 256 and a ragged last one
        float[] x = TestData.Gaussian(n, d, 12);
        byte[] all = new byte[n * m], one = new byte[n * m], two = new byte[n * m];
        pq.Encode(x, n, all);
        pq.Encode(x, n, one, maxThreads: 1);
        pq.Encode(x, n, two, maxThreads: 2);
        Assert.Equal(all, one);
        Assert.Equal(all, two);
        Assert.Equal("maxThreads", Assert.ThrowsAny<ArgumentException>(() => pq.Encode(x, n, one, maxThreads: 0)).ParamName);
    }

    [Theory]
    [InlineData(8, 2, 4)]
    [InlineData(16, 2, 8)]
    [InlineData(9, 3, 5)]
    public void Exact_ties_go_to_the_lower_index_on_every_path(int d, int m, int bits)
    {
        // Small integer coordinates and duplicated centroids: the distances are exact integers with many ties.
        var rng = new Random(d * 100 + bits);
        int ksub = 1 << bits, dsub = d / m;
        var centroids = new float[m * ksub * dsub];
        for (int i = 0; i < centroids.Length; i++) centroids[i] = rng.Next(-1, 2);
        var pq = ProductQuantizer.FromCentroids(d, m, bits, centroids);
        const int n = 203;
        var x = new float[n * d];
        for (int i = 0; i < x.Length; i++) x[i] = rng.Next(-1, 2);
        var widths = new List<int> { 0 };
        if (Vector256.IsHardwareAccelerated) widths.Add(256);
        if (Vector512.IsHardwareAccelerated) widths.Add(512);
        foreach (int width in widths)
        {
            pq.SimdWidth = width;
            var codes = new byte[n * m];
            pq.Encode(x, n, codes);
            for (int i = 0; i < n; i++)
            {
                for (int s = 0; s < m; s++)
                {
                    int expected = 0;
                    double best = double.MaxValue;
                    for (int j = 0; j < ksub; j++)
                    {
                        double dist = Dist2(x.AsSpan(i * d + s * dsub, dsub), centroids.AsSpan((s * ksub + j) * dsub, dsub));
                        if (dist < best) { best = dist; expected = j; }
                    }
                    Assert.True(expected == codes[i * m + s], $"width {width}, vector {i}, sub {s}: code {codes[i * m + s]}, expected {expected}");
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Tables_sum_to_the_distance_to_the_decoded_vector(int d, int m, int bits)
    {
        var pq = Trained(d, m, bits);
        int ksub = pq.CentroidsPerSubQuantizer;
        var rng = new Random(9);
        float[] queries = TestData.Gaussian(10, d, 10);
        var table = new float[m * ksub];
        var ip = new float[m * ksub];
        var code = new byte[m];
        var decoded = new float[d];
        for (int q = 0; q < 10; q++)
        {
            var query = queries.AsSpan(q * d, d);
            pq.ComputeDistanceTable(query, table);
            pq.ComputeInnerProductTable(query, ip);
            for (int trial = 0; trial < 20; trial++)
            {
                for (int s = 0; s < m; s++) code[s] = (byte)rng.Next(ksub);
                pq.Decode(code, 1, decoded);
                double l2 = 0, dot = 0;
                for (int s = 0; s < m; s++) { l2 += table[s * ksub + code[s]]; dot += ip[s * ksub + code[s]]; }
                double expectedL2 = Dist2(query, decoded);
                double expectedDot = 0;
                for (int j = 0; j < d; j++) expectedDot += (double)query[j] * decoded[j];
                Assert.True(Math.Abs(l2 - expectedL2) <= 1e-4 * (1 + expectedL2), $"L2 {l2} vs {expectedL2}");
                Assert.True(Math.Abs(dot - expectedDot) <= 1e-4 * (1 + Math.Abs(expectedDot)), $"IP {dot} vs {expectedDot}");
            }
        }
    }

    [Property(MaxTest = 20)]
    public void Decode_then_encode_reproduces_the_reconstruction(int seed, byte shape)
    {
        var shapes = new (int D, int M, int Bits)[] { (16, 4, 8), (15, 5, 4), (12, 3, 2), (10, 10, 3) };
        var (d, m, bits) = shapes[shape % shapes.Length];
        var pq = Trained(d, m, bits, n: 600, seed: 1 + (seed & 7));
        var rng = new Random(seed);
        const int n = 40;
        var codes = new byte[n * m];
        for (int i = 0; i < codes.Length; i++) codes[i] = (byte)rng.Next(pq.CentroidsPerSubQuantizer);
        var decoded = new float[n * d];
        pq.Decode(codes, n, decoded);
        var again = new byte[n * m];
        pq.Encode(decoded, n, again);
        var redecoded = new float[n * d];
        pq.Decode(again, n, redecoded);
        // Codes may differ only between identical centroids; the reconstruction must be the same.
        Assert.True(decoded.SequenceEqual(redecoded), $"seed {seed}, shape {d}/{m}/{bits}: reconstruction changed");
    }

    [Fact]
    public void Training_fits_the_data_and_is_deterministic()
    {
        const int n = 3000, d = 32, m = 8;
        float[] x = TestData.LowIntrinsic(n, d, 8, 12);
        var pq = new ProductQuantizer(d, m, 6);
        pq.Train(x, n, new KMeansOptions { Iterations = 10, Seed = 4 });
        var codes = new byte[n * m];
        pq.Encode(x, n, codes);
        var recon = new float[n * d];
        pq.Decode(codes, n, recon);
        double err = Dist2(x, recon), total = 0;
        var mean = new double[d];
        for (int i = 0; i < n; i++) for (int j = 0; j < d; j++) mean[j] += x[i * d + j] / (double)n;
        for (int i = 0; i < n; i++) for (int j = 0; j < d; j++) total += Math.Pow(x[i * d + j] - mean[j], 2);
        Assert.True(err < 0.2 * total, $"PQ error {err} vs total variance {total}");
        // The training objective is the error on the training set (all 3000 points are used: 64 x 256 > 3000).
        Assert.Equal(err, pq.TrainingObjective, 0.01 * err);
        Assert.Null(pq.TrainingWarning);

        var again = new ProductQuantizer(d, m, 6);
        again.Train(x, n, new KMeansOptions { Iterations = 10, Seed = 4 });
        Assert.True(pq.Centroids.SequenceEqual(again.Centroids));
    }

    [Fact]
    public void From_centroids_rebuilds_the_quantizer_and_validates()
    {
        var pq = Trained(15, 5, 4);
        var copy = ProductQuantizer.FromCentroids(15, 5, 4, pq.Centroids.ToArray());
        Assert.True(copy.IsTrained);
        float[] x = TestData.Gaussian(50, 15, 3);
        var a = new byte[250];
        var b = new byte[250];
        pq.Encode(x, 50, a);
        copy.Encode(x, 50, b);
        Assert.Equal(a, b);
        Assert.Throws<InvalidDataException>(() => ProductQuantizer.FromCentroids(15, 5, 4, new float[10]));
        Assert.Throws<InvalidDataException>(() => ProductQuantizer.FromCentroids(15, 4, 4, pq.Centroids.ToArray()));
        var bad = pq.Centroids.ToArray();
        bad[7] = float.PositiveInfinity;
        Assert.Throws<InvalidDataException>(() => ProductQuantizer.FromCentroids(15, 5, 4, bad));
    }

    [Fact]
    public void Bad_arguments_name_the_parameter()
    {
        Assert.Equal("subQuantizers", Assert.ThrowsAny<ArgumentException>(() => new ProductQuantizer(15, 4)).ParamName);
        Assert.Equal("subQuantizers", Assert.ThrowsAny<ArgumentException>(() => new ProductQuantizer(16, 0)).ParamName);
        Assert.Equal("dimension", Assert.ThrowsAny<ArgumentException>(() => new ProductQuantizer(0, 4)).ParamName);
        Assert.Equal("bits", Assert.ThrowsAny<ArgumentException>(() => new ProductQuantizer(16, 4, 0)).ParamName);
        Assert.Equal("bits", Assert.ThrowsAny<ArgumentException>(() => new ProductQuantizer(16, 4, 9)).ParamName);

        var untrained = new ProductQuantizer(8, 2, 4);
        Assert.Throws<InvalidOperationException>(() => untrained.Encode(new float[8], 1, new byte[2]));
        Assert.Throws<InvalidOperationException>(() => untrained.ComputeDistanceTable(new float[8], new float[32]));
        Assert.Equal("count", Assert.ThrowsAny<ArgumentException>(() => untrained.Train(new float[8 * 15], 15)).ParamName);
        float[] nan = TestData.Gaussian(40, 8, 1);
        nan[5] = float.NaN;
        Assert.Equal("vectors", Assert.ThrowsAny<ArgumentException>(() => untrained.Train(nan, 40)).ParamName);
        Assert.Equal("options", Assert.ThrowsAny<ArgumentException>(() => untrained.Train(TestData.Gaussian(40, 8, 1), 40, new KMeansOptions { Iterations = -1 })).ParamName);

        var pq = Trained(8, 2, 4, n: 200);
        Assert.Equal("codes", Assert.ThrowsAny<ArgumentException>(() => pq.Encode(new float[16], 2, new byte[3])).ParamName);
        Assert.Equal("vectors", Assert.ThrowsAny<ArgumentException>(() => pq.Encode(new float[15], 2, new byte[4])).ParamName);
        Assert.Equal("codes", Assert.ThrowsAny<ArgumentException>(() => pq.Decode(new byte[] { 1, 16 }, 1, new float[8])).ParamName);
        Assert.Equal("codes", Assert.ThrowsAny<ArgumentException>(() => pq.Decode(new byte[3], 1, new float[8])).ParamName);
        Assert.Equal("vectors", Assert.ThrowsAny<ArgumentException>(() => pq.Decode(new byte[2], 1, new float[7])).ParamName);
        Assert.Equal("query", Assert.ThrowsAny<ArgumentException>(() => pq.ComputeDistanceTable(new float[7], new float[32])).ParamName);
        Assert.Equal("table", Assert.ThrowsAny<ArgumentException>(() => pq.ComputeInnerProductTable(new float[8], new float[31])).ParamName);
    }
}

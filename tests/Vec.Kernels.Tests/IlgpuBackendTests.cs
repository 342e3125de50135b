using Vec.Kernels;
using Xunit;

namespace Vec.Kernels.Tests;

/// <summary>One ILGPU CPU-simulator backend shared by the tests of <see cref="IlgpuBackendTests"/> (kernels load once).</summary>
public sealed class IlgpuCpuFixture : IDisposable
{
    public IVectorKernels Gpu { get; } = KernelBackends.Create("ilgpu-cpu");

    public IVectorKernels Reference { get; } = KernelBackends.Create("scalar");

    public void Dispose()
    {
        Gpu.Dispose();
        Reference.Dispose();
    }
}

/// <summary>
/// The ILGPU kernels on ILGPU's CPU simulator, compared with the scalar reference on tiny, odd shapes. The simulator is
/// about 10^5 x slower than C#, so every input here is small.
/// </summary>
public class IlgpuBackendTests(IlgpuCpuFixture fixture) : IClassFixture<IlgpuCpuFixture>
{
    private readonly IVectorKernels _gpu = fixture.Gpu;
    private readonly IVectorKernels _ref = fixture.Reference;

    private static float[] Random(int length, int seed, float scale = 1f)
    {
        var rng = new Random(seed);
        var x = new float[length];
        for (int i = 0; i < length; i++) x[i] = (float)(rng.NextDouble() * 2 - 1) * scale;
        return x;
    }

    private static void Close(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, float tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance * Math.Max(1f, Math.Abs(expected[i])),
                $"element {i}: expected {expected[i]}, got {actual[i]}");
    }

    /// <summary>Missing scores (infinities) must match exactly, real ones within float rounding.</summary>
    private static void AssertScores(float[] expected, float[] actual)
    {
        for (int i = 0; i < expected.Length; i++)
        {
            if (float.IsInfinity(expected[i])) Assert.Equal(expected[i], actual[i]);
            else Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-4f * Math.Max(1f, Math.Abs(expected[i])), $"slot {i}: {expected[i]} vs {actual[i]}");
        }
    }

    [Fact]
    public void RegistrationAndProbes()
    {
        Assert.Contains(KernelBackends.Available, b => b.Name == "ilgpu-cpu");
        Assert.Contains(KernelBackends.All, b => b.Name == "ilgpu-cuda"); // its probe answers (false here) without throwing
        Assert.Equal(4096, _gpu.MaxK);
        Assert.Equal("ilgpu-cpu", _gpu.Name);
    }

    [Theory]
    [InlineData(3, 5, 7)]
    [InlineData(2, 1, 33)]
    [InlineData(1, 4, 0)]
    public void PoolingMatchesReferenceAndZeroMaskGivesZeroRow(int batch, int seq, int dim)
    {
        float[] tokens = Random(batch * seq * dim, 1, 3f);
        var mask = new long[batch * seq];
        for (int b = 0; b < batch; b++)
            for (int t = 0; t < seq; t++)
                mask[b * seq + t] = b == 0 ? 0 : (t * 7 + b) % 3 == 0 ? 0 : 1; // row 0 fully masked
        if (batch > 1) mask[seq] = 1;
        foreach (bool max in new[] { false, true })
        {
            var expected = new float[batch * dim];
            var actual = Enumerable.Repeat(float.NaN, batch * dim).ToArray();
            if (max) { _ref.MaxPool(tokens, mask, batch, seq, dim, expected); _gpu.MaxPool(tokens, mask, batch, seq, dim, actual); }
            else { _ref.MeanPool(tokens, mask, batch, seq, dim, expected); _gpu.MeanPool(tokens, mask, batch, seq, dim, actual); }
            Close(expected, actual, 1e-5f);
            for (int j = 0; j < dim; j++) Assert.Equal(0f, actual[j]);
        }
    }

    [Fact]
    public void NormalizeInPlaceAndToDestinationKeepsZeroRows()
    {
        int count = 5, dim = 37;
        float[] x = Random(count * dim, 2, 5f);
        Array.Clear(x, 2 * dim, dim); // a zero row
        for (int j = 0; j < dim; j++) x[3 * dim + j] *= 1e-30f; // tiny row: squares underflow in float
        var expected = new float[x.Length];
        _ref.L2Normalize(x, expected, count, dim);
        var dst = new float[x.Length];
        _gpu.L2Normalize(x, dst, count, dim);
        Close(expected, dst, 1e-5f);
        _gpu.L2Normalize(x, count, dim);
        Close(expected, x, 1e-5f);
        Assert.All(x.AsSpan(2 * dim, dim).ToArray(), v => Assert.Equal(0f, v));
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(7, 13, 40)]
    [InlineData(20, 3, 17)]
    [InlineData(65, 66, 5)] // more than one 64 x 64 tile in both directions
    [InlineData(4, 6, 0)]
    [InlineData(0, 5, 3)]
    public void ProductsMatchReference(int m, int n, int d)
    {
        float[] a = Random(m * d, 3), b = Random(n * d, 4);
        if (m > 1) Array.Clear(a, 0, d); // a zero row: cosine 0
        var expected = new float[m * n];
        var actual = new float[m * n];

        _ref.InnerProducts(a, m, b, n, d, expected);
        _gpu.InnerProducts(a, m, b, n, d, actual);
        Close(expected, actual, 1e-4f);

        _ref.CosineSimilarities(a, m, b, n, d, expected);
        _gpu.CosineSimilarities(a, m, b, n, d, actual);
        Close(expected, actual, 1e-4f);

        _ref.SquaredL2Distances(a, m, b, n, d, expected);
        _gpu.SquaredL2Distances(a, m, b, n, d, actual);
        Close(expected, actual, 1e-4f);
        Assert.All(actual, v => Assert.True(v >= 0));
    }

    [Fact]
    public void SquaredL2OfIdenticalRowsIsClampedAtZero()
    {
        float[] a = Random(3 * 9, 5);
        var actual = new float[9];
        _gpu.SquaredL2Distances(a, 3, a, 3, 9, actual);
        for (int i = 0; i < 3; i++) Assert.InRange(actual[i * 3 + i], 0f, 1e-5f);
    }

    [Theory]
    [InlineData(3, 17, 5, TopKOrder.Largest)]
    [InlineData(2, 9, 12, TopKOrder.Smallest)] // k > columns pads with -1
    [InlineData(1, 300, 300, TopKOrder.Largest)]
    [InlineData(2, 0, 3, TopKOrder.Smallest)]
    public void TopKMatchesReferenceWithTies(int rows, int columns, int k, TopKOrder order)
    {
        var rng = new Random(6);
        // Few distinct values (ties everywhere), negatives, and both zeros.
        float[] scores = Enumerable.Range(0, rows * columns).Select(_ => (float)(rng.Next(-4, 5) * 0.5)).ToArray();
        if (scores.Length > 2) { scores[0] = -0f; scores[1] = 0f; }
        AssertTopKEqual(scores, rows, columns, k, order);
    }

    [Fact]
    public void TopKOfAllEqualScoresTakesTheLowestIndices()
    {
        // Every key byte ties, so the radix passes must go on into the index bytes.
        float[] scores = Enumerable.Repeat(-2.5f, 2 * 300).ToArray();
        scores[300 + 299] = -1f; // row 1: one better score, at the end
        var ids = new int[2 * 7];
        var vals = new float[2 * 7];
        _gpu.TopK(scores, 2, 300, 7, TopKOrder.Largest, ids, vals);
        Assert.Equal([0, 1, 2, 3, 4, 5, 6, 299, 0, 1, 2, 3, 4, 5], ids);
        Assert.Equal(-1f, vals[7]);
        Assert.All(vals.Where((_, i) => i != 7), v => Assert.Equal(-2.5f, v));
    }

    [Fact]
    public void RejectsKAboveMaxKAndProbesCudaWithoutThrowing()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => _gpu.TopK(new float[4], 1, 4, 4097, TopKOrder.Largest, new int[4097], new float[4097]));
        bool exists = Vec.Kernels.Ilgpu.IlgpuBackend.CudaDeviceExists();
        Assert.Equal(exists, KernelBackends.All.Single(b => b.Name == "ilgpu-cuda").IsAvailable);
    }

    [Fact]
    public void TopKOf4096From5000()
    {
        int columns = 5000, k = 4096;
        var rng = new Random(7);
        float[] scores = Enumerable.Range(0, columns).Select(_ => (float)rng.Next(-1000, 1000) / 7f).ToArray();
        AssertTopKEqual(scores, 1, columns, k, TopKOrder.Largest);
    }

    private void AssertTopKEqual(float[] scores, int rows, int columns, int k, TopKOrder order)
    {
        var ei = new int[rows * k];
        var ev = new float[rows * k];
        var ai = new int[rows * k];
        var av = new float[rows * k];
        _ref.TopK(scores, rows, columns, k, order, ei, ev);
        _gpu.TopK(scores, rows, columns, k, order, ai, av);
        Assert.Equal(ei, ai);
        Assert.Equal(ev, av);
    }

    [Theory]
    [InlineData(Metric.InnerProduct)]
    [InlineData(Metric.Cosine)]
    [InlineData(Metric.L2)]
    public void SearchMatchesReference(Metric metric)
    {
        int n = 19, d = 11, m = 4;
        float[] data = Random(n * d, 8);
        Array.Clear(data, 5 * d, d); // a zero row
        data.AsSpan(3 * d, d).CopyTo(data.AsSpan(9 * d, d)); // duplicate rows tie: the lower id first
        float[] queries = Random(m * d, 9);
        using var gdb = _gpu.CreateDatabase(data, n, d);
        using var rdb = _ref.CreateDatabase(data, n, d);
        foreach (int k in new[] { 1, 6, 25 })
        {
            foreach (var filter in new RowFilter?[] { null, RowFilter.Deny([0, 2, 4, 9, 18], n), RowFilter.Allow([7], n) })
            {
                var ei = new int[m * k];
                var ev = new float[m * k];
                var ai = new int[m * k];
                var av = new float[m * k];
                _ref.Search(rdb, queries, m, k, metric, ei, ev, filter);
                _gpu.Search(gdb, queries, m, k, metric, ai, av, filter);
                Assert.Equal(ei, ai);
                AssertScores(ev, av);
            }
        }
    }

    [Theory]
    [InlineData(Metric.InnerProduct, 5, 3)]
    [InlineData(Metric.Cosine, 4, 1)]
    [InlineData(Metric.L2, 7, 2)]
    public void ChunkedSearchMergesRunningTopKOnTheDevice(Metric metric, int chunkRows, int queryBatch)
    {
        var backend = (Vec.Kernels.Ilgpu.IlgpuBackend)_gpu;
        int n = 23, d = 6, m = 4;
        float[] data = Random(n * d, 11);
        data.AsSpan(2 * d, d).CopyTo(data.AsSpan(17 * d, d)); // ties across chunks
        float[] queries = Random(m * d, 12);
        using var gdb = _gpu.CreateDatabase(data, n, d);
        using var rdb = _ref.CreateDatabase(data, n, d);
        try
        {
            backend.SearchChunkRows = chunkRows;
            backend.SearchQueryBatch = queryBatch;
            var filter = RowFilter.Deny([1, 2, 10, 11, 12, 13, 14], n);
            foreach ((int k, RowFilter? f) in new[] { (3, (RowFilter?)null), (30, filter) })
            {
                var ei = new int[m * k];
                var ev = new float[m * k];
                var ai = new int[m * k];
                var av = new float[m * k];
                _ref.Search(rdb, queries, m, k, metric, ei, ev, f);
                _gpu.Search(gdb, queries, m, k, metric, ai, av, f);
                Assert.Equal(ei, ai);
                AssertScores(ev, av);
            }
        }
        finally
        {
            backend.SearchChunkRows = Vec.Kernels.Ilgpu.IlgpuBackend.DefaultSearchChunkRows;
            backend.SearchQueryBatch = Vec.Kernels.Ilgpu.IlgpuBackend.DefaultSearchQueryBatch;
        }
    }

    [Fact]
    public void SearchOfEmptyAndZeroDimensionDatabases()
    {
        var ids = new int[2 * 3];
        var vals = new float[2 * 3];
        using (var empty = _gpu.CreateDatabase([], 0, 4))
        {
            _gpu.Search(empty, new float[8], 2, 3, Metric.L2, ids, vals);
            Assert.All(ids, i => Assert.Equal(-1, i));
            Assert.All(vals, v => Assert.Equal(float.PositiveInfinity, v));
        }
        using var flat = _gpu.CreateDatabase([], 2, 0); // two rows of dimension 0: every score is 0, ties to the lower id
        _gpu.Search(flat, [], 2, 3, Metric.InnerProduct, ids, vals);
        Assert.Equal([0, 1, -1, 0, 1, -1], ids);
        Assert.Equal([0f, 0f, float.NegativeInfinity, 0f, 0f, float.NegativeInfinity], vals);
    }

    [Theory]
    [InlineData(true, 1 << 24, 4)]   // shared-memory table, one chunk
    [InlineData(false, 1 << 24, 8)]  // global-memory table
    [InlineData(true, 7, 8)]         // chunks of one or a few queries
    [InlineData(false, 1, 4)]        // global table, one query per chunk
    public void CodeScanPathsAndChunksEqualScalar(bool sharedTable, int candidateBudget, int bits)
    {
        var backend = (Vec.Kernels.Ilgpu.IlgpuBackend)_gpu;
        var random = new Random(bits * 31 + candidateBudget);
        try
        {
            backend.ScanSharedTableLimit = sharedTable ? Vec.Kernels.Ilgpu.DeviceKernels.MaxSharedTable : 0;
            backend.ScanCandidateBudget = candidateBudget;
            backend.SearchQueryBatch = 3; // also caps queries per scan chunk
            for (int trial = 0; trial < 2; trial++)
            {
                var p = CodeScanProblem.Random(random, 5, 29, 3, [bits]);
                foreach (int k in new[] { 2, 40 })
                {
                    var (rows, scores) = p.Run(_gpu, k);
                    var (refRows, refScores) = p.Run(_ref, k);
                    Assert.Equal(refRows, rows);
                    Assert.Equal(refScores, scores);
                }
            }
        }
        finally
        {
            backend.ScanSharedTableLimit = Vec.Kernels.Ilgpu.DeviceKernels.MaxSharedTable;
            backend.ScanCandidateBudget = Vec.Kernels.Ilgpu.IlgpuBackend.DefaultScanCandidateBudget;
            backend.SearchQueryBatch = Vec.Kernels.Ilgpu.IlgpuBackend.DefaultSearchQueryBatch;
        }
    }

    [Fact]
    public void CodeScanWithATableTooLargeForSharedMemory()
    {
        // 49 x 256 floats = 49 KB: the backend picks the global-memory kernel on its own.
        var p = CodeScanProblem.Random(new Random(9), 2, 6, 49, [8]);
        var (rows, scores) = p.Run(_gpu, 5);
        var (refRows, refScores) = p.Run(_ref, 5);
        Assert.Equal(refRows, rows);
        Assert.Equal(refScores, scores);
    }

    [Fact]
    public void DisposedDatabaseIsRejected()
    {
        var db = _gpu.CreateDatabase(Random(6, 10), 2, 3);
        db.Dispose();
        Assert.Throws<ObjectDisposedException>(() => _gpu.Search(db, new float[3], 1, 1, Metric.Cosine, new int[1], new float[1]));
    }
}

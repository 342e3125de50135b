using Vec.Kernels;
using Xunit;
using Xunit.Abstractions;

namespace Vec.Index.Tests;

public sealed class IvfPqIndexTests(ITestOutputHelper output)
{
    private const int D = 32;

    private static IvfPqIndex Build(Metric metric, int n, out float[] x, out long[] ids, RefineStorage refine = RefineStorage.Float32,
        int lists = 32, int m = 8, int bits = 8, string backend = "simd", bool opq = false, int seed = 21)
    {
        x = TestData.LowIntrinsic(n, D, 8, seed);
        ids = TestData.Range(10_000, n);
        var index = new IvfPqIndex(D, metric, new IvfPqOptions { Lists = lists, SubQuantizers = m, Bits = bits, Refine = refine, UseOpq = opq },
            KernelBackends.Create(backend));
        index.Train(x, n);
        index.Add(ids, x);
        return index;
    }

    public static TheoryData<Metric> Metrics() => new() { Metric.L2, Metric.Cosine, Metric.InnerProduct };

    [Theory]
    [MemberData(nameof(Metrics))]
    public void Recall_against_flat_is_above_thresholds(Metric metric)
    {
        const int n = 4000, k = 10;
        using IvfPqIndex index = Build(metric, n, out float[] x, out long[] ids);
        float[] queries = TestData.LowIntrinsic(100, D, 8, 22);
        long[][] truth = TestData.BruteForce(queries, 100, ids, x, D, k, metric);
        double Recall(int nprobe, int refine) => TestData.Recall(index.Search(queries, k, new SearchOptions { NProbe = nprobe, RefineFactor = refine }), truth, k);
        double r1 = Recall(1, 0), r8 = Recall(8, 0), r8refine = Recall(8, 10);
        output.WriteLine($"{metric}: nprobe 1 {r1:F3}, nprobe 8 {r8:F3}, nprobe 8 + refine 10 {r8refine:F3}");
        Assert.True(r8 >= r1, "more probes must not lose recall");
        Assert.True(r8 >= 0.55, $"10-recall@10 at nprobe 8 was {r8:F3}");
        Assert.True(r8refine >= 0.95, $"10-recall@10 at nprobe 8 with refine 10 was {r8refine:F3}");
    }

    [Theory]
    [MemberData(nameof(Metrics))]
    public void All_lists_with_full_refine_equals_exact_search(Metric metric)
    {
        const int n = 600, k = 7;
        using IvfPqIndex index = Build(metric, n, out float[] x, out long[] ids, lists: 16);
        float[] queries = TestData.Gaussian(20, D, 5);
        SearchResult result = index.Search(queries, k, new SearchOptions { NProbe = 16, RefineFactor = n });
        TestData.AssertEqualsExactSearch(result, queries, 20, ids, x, D, k, metric);
    }

    [Fact]
    public void Float16_refine_ranks_like_float32_refine()
    {
        const int n = 1500;
        using IvfPqIndex f32 = Build(Metric.L2, n, out float[] x, out _, RefineStorage.Float32);
        using IvfPqIndex f16 = Build(Metric.L2, n, out _, out _, RefineStorage.Float16);
        float[] queries = TestData.LowIntrinsic(30, D, 8, 23);
        var options = new SearchOptions { NProbe = 32, RefineFactor = 20 };
        SearchResult a = f32.Search(queries, 5, options), b = f16.Search(queries, 5, options);
        int same = a.Ids.Zip(b.Ids).Count(p => p.First == p.Second);
        Assert.True(same >= a.Ids.Length * 0.9, $"only {same} of {a.Ids.Length} positions agree");
        Assert.True(f16.BytesPerVector < f32.BytesPerVector - D);
    }

    [Fact]
    public void Removed_ids_never_come_back_and_filters_hold()
    {
        const int n = 1200, k = 20;
        using IvfPqIndex index = Build(Metric.L2, n, out float[] x, out long[] ids);
        var rng = new Random(3);
        long[] victims = ids.Where(_ => rng.NextDouble() < 0.3).ToArray();
        Assert.Equal(victims.Length, index.Remove(victims));
        Assert.Equal(0, index.Remove(victims));
        Assert.Equal(n - victims.Length, index.Count);
        var removed = victims.ToHashSet();
        var all = new SearchOptions { NProbe = 32 };
        SearchResult r = index.Search(x, k, all);
        Assert.DoesNotContain(r.Ids, removed.Contains);
        Assert.All(victims, v => Assert.False(index.Contains(v)));

        long[] allowed = ids.Where(id => !removed.Contains(id)).Take(5).Append(victims[0]).ToArray();
        SearchResult f = index.Search(x.AsSpan(0, 10 * D), k, all with { Filter = IdFilter.Allow(allowed) });
        for (int q = 0; q < 10; q++)
        {
            long[] got = f.IdsOf(q).ToArray();
            Assert.Equal(allowed.Take(5).Order(), got.Take(5).Order());
            Assert.All(got.Skip(5), id => Assert.Equal(-1, id));
        }
        SearchResult deny = index.Search(x.AsSpan(0, 10 * D), k, all with { Filter = IdFilter.Where(id => id % 3 != 0) });
        Assert.All(deny.Ids, id => Assert.True(id == -1 || id % 3 != 0));
        Assert.All(deny.Ids, id => Assert.NotEqual(-1, id));
    }

    [Fact]
    public void Incremental_adds_equal_one_bulk_add()
    {
        const int n = 900;
        using IvfPqIndex bulk = Build(Metric.L2, n, out float[] x, out long[] ids);
        using var inc = new IvfPqIndex(D, Metric.L2, new IvfPqOptions { Lists = 32, SubQuantizers = 8, Refine = RefineStorage.Float32 }, KernelBackends.Create("simd"));
        inc.Train(x, n);
        for (int i = 0; i < n; i += 37)
        {
            int len = Math.Min(37, n - i);
            inc.Add(ids.AsSpan(i, len), x.AsSpan(i * D, len * D));
        }
        float[] queries = TestData.Gaussian(15, D, 8);
        var o = new SearchOptions { NProbe = 6 };
        SearchResult a = bulk.Search(queries, 10, o), b = inc.Search(queries, 10, o);
        Assert.Equal(a.Ids, b.Ids);
        Assert.Equal(a.Scores, b.Scores);
    }

    [Fact]
    public void Scalar_backend_gives_the_same_neighbours_as_simd()
    {
        const int n = 500;
        using IvfPqIndex simd = Build(Metric.L2, n, out _, out _, lists: 8, m: 4);
        using IvfPqIndex scalar = Build(Metric.L2, n, out _, out _, lists: 8, m: 4, backend: "scalar");
        float[] queries = TestData.Gaussian(10, D, 9);
        var o = new SearchOptions { NProbe = 8, RefineFactor = 4 };
        SearchResult a = simd.Search(queries, 5, o), b = scalar.Search(queries, 5, o);
        int same = a.Ids.Zip(b.Ids).Count(p => p.First == p.Second);
        Assert.True(same >= a.Ids.Length * 0.9, $"only {same} of {a.Ids.Length} agree");
    }

    [Theory]
    [InlineData(Metric.L2, 4)]
    [InlineData(Metric.Cosine, 4)]
    [InlineData(Metric.L2, 8)]
    public void One_thread_builds_the_same_index_as_many_and_large_adds_equal_small_ones(Metric metric, int bits)
    {
        // More rows than one encoding step (8,192), so the add pipeline runs several steps; on one thread and on two
        // (index and kernels alike) every code, list and search result must be the same, and so must small adds.
        const int n = 9000, d = 16;
        float[] x = TestData.LowIntrinsic(n, d, 6, 31);
        long[] ids = TestData.Range(1, n);
        IvfPqIndex Make(int threads)
        {
            var index = new IvfPqIndex(d, metric, new IvfPqOptions { Lists = 24, SubQuantizers = 8, Bits = bits, Refine = RefineStorage.Float32, MaxThreads = threads },
                KernelBackends.Create("simd", new KernelOptions { MaxThreads = threads }));
            index.Train(x, n);
            return index;
        }
        using IvfPqIndex one = Make(1), two = Make(2), small = Make(2);
        one.Add(ids, x);
        two.Add(ids, x);
        for (int i = 0; i < n; i += 1000)
        {
            int len = Math.Min(1000, n - i);
            small.Add(ids.AsSpan(i, len), x.AsSpan(i * d, len * d));
        }
        Assert.Equal(one.ListSizes(), two.ListSizes());
        Assert.Equal(one.ListSizes(), small.ListSizes());
        float[] queries = TestData.Gaussian(40, d, 32);
        foreach (var o in new[] { new SearchOptions { NProbe = 3 }, new SearchOptions { NProbe = 5, RefineFactor = 3 } })
        {
            SearchResult a = one.Search(queries, 10, o), b = two.Search(queries, 10, o), c = small.Search(queries, 10, o);
            Assert.Equal(a.Ids, b.Ids);
            Assert.Equal(a.Scores, b.Scores);
            Assert.Equal(a.Ids, c.Ids);
            Assert.Equal(a.Scores, c.Scores);
        }
    }

    [Fact]
    public void Same_seed_same_index()
    {
        using IvfPqIndex a = Build(Metric.L2, 800, out _, out _);
        using IvfPqIndex b = Build(Metric.L2, 800, out _, out _);
        float[] queries = TestData.Gaussian(10, D, 10);
        SearchResult ra = a.Search(queries, 10, new SearchOptions { NProbe = 4 }), rb = b.Search(queries, 10, new SearchOptions { NProbe = 4 });
        Assert.Equal(ra.Ids, rb.Ids);
        Assert.Equal(ra.Scores, rb.Scores);
    }

    [Fact]
    public void Opq_and_4_bit_codes_work()
    {
        const int n = 2000;
        float[] queries = TestData.LowIntrinsic(50, D, 8, 24);
        foreach ((bool opq, int bits) in new[] { (true, 8), (false, 4) })
        {
            using IvfPqIndex index = Build(Metric.L2, n, out float[] x, out long[] ids, opq: opq, bits: bits);
            long[][] truth = TestData.BruteForce(queries, 50, ids, x, D, 10, Metric.L2);
            double recall = TestData.Recall(index.Search(queries, 10, new SearchOptions { NProbe = 8, RefineFactor = 10 }), truth, 10);
            output.WriteLine($"opq {opq} bits {bits}: {recall:F3}");
            Assert.True(recall >= 0.9, $"opq {opq} bits {bits}: recall {recall:F3}");
        }
    }

    [Fact]
    public void Bad_input_gets_clear_exceptions()
    {
        Assert.Equal("options", Assert.Throws<ArgumentException>(() => new IvfPqIndex(30, Metric.L2, new IvfPqOptions { SubQuantizers = 8 })).ParamName);
        Assert.Equal("options", Assert.Throws<ArgumentOutOfRangeException>(() => new IvfPqIndex(32, Metric.L2, new IvfPqOptions { Bits = 9 })).ParamName);
        Assert.Equal("options", Assert.Throws<ArgumentOutOfRangeException>(() => new IvfPqIndex(32, Metric.L2, new IvfPqOptions { Lists = 0 })).ParamName);
        using var index = new IvfPqIndex(D, Metric.L2, new IvfPqOptions { Lists = 4, SubQuantizers = 4 }, KernelBackends.Create("simd"));
        float[] x = TestData.Gaussian(300, D, 1);
        Assert.Throws<InvalidOperationException>(() => index.Search(x.AsSpan(0, D), 1));
        Assert.Throws<InvalidOperationException>(() => index.Add([1], x.AsSpan(0, D)));
        Assert.Equal("count", Assert.Throws<ArgumentException>(() => index.Train(x.AsSpan(0, 3 * D), 3)).ParamName);
        float[] bad = (float[])x.Clone();
        bad[5] = float.NaN;
        Assert.Equal("vectors", Assert.Throws<ArgumentException>(() => index.Train(bad, 300)).ParamName);
        index.Train(x, 300);
        Assert.Throws<InvalidOperationException>(() => index.Train(x, 300));
        Assert.Equal("vectors", Assert.Throws<ArgumentException>(() => index.Add([1], new float[D - 1])).ParamName);
        Assert.Equal("vectors", Assert.Throws<ArgumentException>(() => index.Add([1], bad.AsSpan(0, D))).ParamName);
        Assert.Equal("ids", Assert.Throws<ArgumentException>(() => index.Add([1, 1], x.AsSpan(0, 2 * D))).ParamName);
        index.Add([1], x.AsSpan(0, D));
        Assert.Equal("ids", Assert.Throws<ArgumentException>(() => index.Add([1], x.AsSpan(0, D))).ParamName);
        Assert.Equal("k", Assert.Throws<ArgumentOutOfRangeException>(() => index.Search(x.AsSpan(0, D), 1, 0, new long[1], new float[1])).ParamName);
        Assert.Equal("queries", Assert.Throws<ArgumentException>(() => index.Search(bad.AsSpan(0, D), 1, 1, new long[1], new float[1])).ParamName);
        Assert.Equal("options", Assert.Throws<ArgumentException>(() => index.Search(x.AsSpan(0, D), 1, new SearchOptions { RefineFactor = 2 })).ParamName);
        Assert.Equal(1, index.Count);
    }
}

public sealed class IvfPqPersistenceTests
{
    [Theory]
    [InlineData(Metric.L2, RefineStorage.Float32, false)]
    [InlineData(Metric.Cosine, RefineStorage.Float16, true)]
    [InlineData(Metric.InnerProduct, RefineStorage.None, false)]
    public void Round_trip_gives_identical_results(Metric metric, RefineStorage refine, bool opq)
    {
        const int n = 700, d = 16;
        string path = Path.Combine(Path.GetTempPath(), $"vecrec-ivf-{Guid.NewGuid():N}.vecidx");
        try
        {
            float[] x = TestData.LowIntrinsic(n, d, 6, 41);
            using var index = new IvfPqIndex(d, metric, new IvfPqOptions { Lists = 8, SubQuantizers = 4, Refine = refine, UseOpq = opq }, KernelBackends.Create("simd"));
            index.Train(x, n);
            index.Add(TestData.Range(0, n), x);
            index.Remove([3, 4, 500]);
            index.Save(path);
            using IVectorIndex loaded = VectorIndex.Load(path, KernelBackends.Create("simd"));
            Assert.IsType<IvfPqIndex>(loaded);
            Assert.Equal(index.Count, loaded.Count);
            float[] q = TestData.Gaussian(12, d, 42);
            var options = new SearchOptions { NProbe = 3, RefineFactor = refine == RefineStorage.None ? 0 : 4, Filter = IdFilter.Where(id => id % 5 != 0) };
            SearchResult a = index.Search(q, 9, options), b = loaded.Search(q, 9, options);
            Assert.Equal(a.Ids, b.Ids);
            Assert.Equal(a.Scores, b.Scores);
            Assert.False(loaded.Contains(3));
            Assert.True(loaded.Contains(5));
            // The loaded index keeps working: adds and removes.
            loaded.Add([100_000], x.AsSpan(0, d));
            Assert.Equal(1, loaded.Remove([100_000, 6]) - 1);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Untrained_index_round_trips()
    {
        string path = Path.Combine(Path.GetTempPath(), $"vecrec-ivf-{Guid.NewGuid():N}.vecidx");
        try
        {
            using var index = new IvfPqIndex(8, Metric.L2, new IvfPqOptions { Lists = 2, SubQuantizers = 2 }, KernelBackends.Create("simd"));
            index.Save(path);
            using IvfPqIndex loaded = IvfPqIndex.Load(path, KernelBackends.Create("simd"));
            Assert.False(loaded.IsTrained);
            Assert.Equal(2, loaded.Lists);
        }
        finally
        {
            File.Delete(path);
        }
    }
}

public sealed class IvfPqDevicePathTests
{
    [Theory]
    [InlineData(Metric.L2)]
    [InlineData(Metric.InnerProduct)]
    [InlineData(Metric.Cosine)]
    public void Ilgpu_scan_path_matches_the_cpu_scan(Metric metric)
    {
        const int n = 160, d = 8, k = 5;
        string path = Path.Combine(Path.GetTempPath(), $"vecrec-dev-{Guid.NewGuid():N}.vecidx");
        string fastPath = path + ".fs";
        try
        {
            float[] x = TestData.LowIntrinsic(n, d, 4, 51);
            // The generic 4-bit scan (float tables) is what the device scan reproduces. A fast-scan index (packed codes)
            // trained identically scans on the device too, with its codes unpacked: the same results.
            foreach ((string file, bool fastScan) in new[] { (path, false), (fastPath, true) })
            {
                using var built = new IvfPqIndex(d, metric, new IvfPqOptions { Lists = 4, SubQuantizers = 2, Bits = 4, FastScan = fastScan, Refine = RefineStorage.Float32 }, KernelBackends.Create("simd"));
                built.Train(x, n);
                built.Add(TestData.Range(0, n), x);
                built.Remove([1, 2]);
                built.Save(file);
            }
            using IVectorKernels deviceKernels = KernelBackends.Create("ilgpu-cpu");
            using IvfPqIndex cpu = IvfPqIndex.Load(path, KernelBackends.Create("simd"));
            using IvfPqIndex device = IvfPqIndex.Load(path, deviceKernels);
            using IvfPqIndex deviceFastScan = IvfPqIndex.Load(fastPath, deviceKernels);
            Assert.True(deviceFastScan.UsesFastScan);
            float[] q = TestData.Gaussian(3, d, 52);
            foreach (SearchOptions options in new[]
            {
                new SearchOptions { NProbe = 2 },
                new SearchOptions { NProbe = 4, RefineFactor = 3 },
                new SearchOptions { NProbe = 3, Filter = IdFilter.Where(id => id % 4 == 1) },
            })
            {
                SearchResult a = cpu.Search(q, k, options), b = device.Search(q, k, options);
                AssertSameUpToTies(a, b);
                AssertSameUpToTies(a, deviceFastScan.Search(q, k, options));
                if (options.Filter is not null) Assert.All(b.Ids, id => Assert.True(id == -1 || id % 4 == 1));
            }
            // After a change the device codes are rebuilt.
            device.Remove([5, 6, 7]);
            cpu.Remove([5, 6, 7]);
            deviceFastScan.Remove([5, 6, 7]);
            var all = new SearchOptions { NProbe = 4 };
            AssertSameUpToTies(cpu.Search(q, k, all), device.Search(q, k, all));
            AssertSameUpToTies(cpu.Search(q, k, all), deviceFastScan.Search(q, k, all));
        }
        finally
        {
            File.Delete(path);
            File.Delete(fastPath);
        }
    }

    /// <summary>Scores agree rank by rank; ids agree wherever a score is not tied (4-bit codes tie often).</summary>
    private static void AssertSameUpToTies(SearchResult a, SearchResult b)
    {
        static bool Close(float x, float y) => x == y || Math.Abs(x - y) <= 1e-4 * (1 + Math.Abs(x));
        for (int q = 0; q < a.QueryCount; q++)
        {
            float[] sa = a.ScoresOf(q).ToArray(), sb = b.ScoresOf(q).ToArray();
            for (int r = 0; r < a.K; r++)
            {
                Assert.True(Close(sa[r], sb[r]), $"query {q} rank {r}: {sa[r]} vs {sb[r]}");
                bool tied = sa.Where((s, i) => i != r && Close(s, sa[r])).Any() || (r == a.K - 1);
                if (!tied) Assert.Equal(a.IdsOf(q)[r], b.IdsOf(q)[r]);
            }
        }
    }
}

public sealed class IvfPqGoldenFileTests
{
    private const string GoldenName = "ivfpq-v1.vecidx";

    private static string GoldenPath => Path.Combine(AppContext.BaseDirectory, "Golden", GoldenName);

    /// <summary>Four tight clusters in 8 dimensions; vector i of cluster c is c*10 on axis c plus small offsets.</summary>
    private static float[] GoldenVectors()
    {
        var x = new float[64 * 8];
        for (int i = 0; i < 64; i++)
        {
            int c = i % 4;
            x[i * 8 + c] = 10 * (c + 1);
            x[i * 8 + 4 + (i / 4) % 4] = 0.25f * (i / 16 + 1);
            x[i * 8 + 7] += 0.01f * i;
        }
        return x;
    }

    /// <summary>Writes the golden file into the source tree (run once per format version with VECREC_WRITE_GOLDEN=1).</summary>
    private static void WriteGolden([System.Runtime.CompilerServices.CallerFilePath] string file = "")
    {
        float[] x = GoldenVectors();
        using var index = new IvfPqIndex(8, Metric.L2, new IvfPqOptions { Lists = 4, SubQuantizers = 2, Bits = 4, Refine = RefineStorage.Float32 },
            KernelBackends.Create("scalar"));
        index.Train(x, 64);
        index.Add(TestData.Range(1000, 64), x);
        index.Remove([1005, 1010]);
        index.Save(Path.Combine(Path.GetDirectoryName(file)!, "Golden", GoldenName));
    }

    [Fact]
    public void Golden_v1_ivfpq_file_loads_and_searches_as_when_it_was_written()
    {
        if (Environment.GetEnvironmentVariable("VECREC_WRITE_GOLDEN") == "1") WriteGolden();
        using IVectorIndex loaded = VectorIndex.Load(GoldenPath, KernelBackends.Create("simd"));
        var index = Assert.IsType<IvfPqIndex>(loaded);
        Assert.True(index.IsTrained);
        Assert.Equal(62, index.Count);
        Assert.Equal(8, index.Dimension);
        Assert.Equal(Metric.L2, index.Metric);
        Assert.Equal(4, index.Lists);
        Assert.Equal((2, 4, RefineStorage.Float32), (index.Options.SubQuantizers, index.Options.Bits, index.Options.Refine));
        Assert.Equal(62, index.ListSizes().Sum());
        Assert.False(index.Contains(1005));
        Assert.True(index.Contains(1063));
        // Exact re-ranking over every list: the stored vectors, ids and codes all came back.
        float[] x = GoldenVectors();
        SearchResult r = index.Search(x.AsSpan(3 * 8, 8), 3, new SearchOptions { NProbe = 4, RefineFactor = 30 });
        Assert.Equal(new long[] { 1003, 1019, 1007 }, r.Ids);
        Assert.Equal(0f, r.Scores[0]);
        Assert.Equal(0.0881f, r.Scores[1], 4); // 0.25^2 + 0.16^2
        Assert.Equal(0.1266f, r.Scores[2], 4); // 0.25^2 + 0.25^2 + 0.04^2
        // Approximate search finds the query's own cluster.
        SearchResult a = index.Search(x.AsSpan(0, 8), 5, new SearchOptions { NProbe = 1 });
        Assert.All(a.Ids, id => Assert.Equal(0, (id - 1000) % 4));
    }
}

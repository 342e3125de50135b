using Vec.Kernels;
using Xunit;

namespace Vec.Index.Tests;

public sealed class FlatIndexTests
{
    public static TheoryData<string, Metric> BackendsAndMetrics()
    {
        var data = new TheoryData<string, Metric>();
        foreach (string backend in new[] { "scalar", "simd" })
            foreach (Metric metric in Enum.GetValues<Metric>())
                data.Add(backend, metric);
        return data;
    }

    [Theory]
    [MemberData(nameof(BackendsAndMetrics))]
    public void Matches_brute_force_scores_rank_by_rank(string backend, Metric metric)
    {
        const int n = 700, d = 37, m = 9, k = 12;
        using IVectorKernels kernels = KernelBackends.Create(backend);
        using var index = new FlatIndex(d, metric, kernels);
        float[] x = TestData.Gaussian(n, d, 11);
        long[] ids = TestData.Range(1000, n);
        // Several adds, so the search merges segments.
        index.Add(ids.AsSpan(0, 300), x.AsSpan(0, 300 * d));
        index.Add(ids.AsSpan(300, 50), x.AsSpan(300 * d, 50 * d));
        index.Add(ids.AsSpan(350), x.AsSpan(350 * d));
        Assert.Equal(n, index.Count);
        float[] queries = TestData.Gaussian(m, d, 12);
        SearchResult result = index.Search(queries, k);
        long[][] truth = TestData.BruteForce(queries, m, ids, x, d, k, metric);
        for (int q = 0; q < m; q++)
        {
            for (int r = 0; r < k; r++)
            {
                long id = result.IdsOf(q)[r];
                Assert.InRange(id, 1000, 1000 + n - 1);
                double expected = TestData.Score(queries.AsSpan(q * d, d), x.AsSpan((int)(truth[q][r] - 1000) * d, d), metric);
                double actual = TestData.Score(queries.AsSpan(q * d, d), x.AsSpan((int)(id - 1000) * d, d), metric);
                Assert.True(Math.Abs(expected - actual) <= 1e-4 * (1 + Math.Abs(expected)), $"q {q} rank {r}: {actual} vs {expected}");
                Assert.True(Math.Abs(result.ScoresOf(q)[r] - actual) <= 1e-3 * (1 + Math.Abs(actual)), $"score {result.ScoresOf(q)[r]} vs {actual}");
            }
        }
    }

    [Fact]
    public void Pads_with_minus_one_when_fewer_than_k()
    {
        using var index = new FlatIndex(4, Metric.L2, KernelBackends.Create("simd"));
        var empty = index.Search(new float[8], 3);
        Assert.All(empty.Ids, id => Assert.Equal(-1, id));
        Assert.All(empty.Scores, s => Assert.Equal(float.PositiveInfinity, s));
        index.Add([5, 6], new float[] { 0, 0, 0, 1, 0, 0, 0, 2 });
        var r = index.Search(new float[] { 0, 0, 0, 0 }, 4);
        Assert.Equal(new long[] { 5, 6, -1, -1 }, r.Ids);
        Assert.Equal(new float[] { 1, 4, float.PositiveInfinity, float.PositiveInfinity }, r.Scores);
    }

    [Fact]
    public void Cosine_normalises_internally()
    {
        using var index = new FlatIndex(2, Metric.Cosine, KernelBackends.Create("simd"));
        index.Add([1, 2], new float[] { 10, 0, 1, 1 });
        var r = index.Search(new float[] { 0.5f, 0.4f }, 2);
        Assert.Equal(new long[] { 2, 1 }, r.Ids);
        Assert.Equal(0.9938837f, r.Scores[0], 4);
        Assert.Equal(0.7808688f, r.Scores[1], 4);
    }

    [Fact]
    public void Many_small_adds_keep_few_segments_and_exact_results()
    {
        const int d = 8;
        using var index = new FlatIndex(d, Metric.InnerProduct, KernelBackends.Create("simd"));
        float[] x = TestData.Gaussian(1000, d, 3);
        for (int i = 0; i < 1000; i++) index.Add([i], x.AsSpan(i * d, d));
        Assert.Equal(1000, index.Count);
        Assert.InRange(index.SegmentCount, 1, 11);
        float[] q = TestData.Gaussian(5, d, 4);
        var truth = TestData.BruteForce(q, 5, TestData.Range(0, 1000), x, d, 10, Metric.InnerProduct);
        var r = index.Search(q, 10);
        for (int i = 0; i < 5; i++) Assert.Equal(truth[i], r.IdsOf(i).ToArray());
    }

    [Fact]
    public void Removed_ids_never_come_back_and_compaction_keeps_the_rest()
    {
        const int n = 500, d = 6;
        using var index = new FlatIndex(d, Metric.L2, KernelBackends.Create("simd"));
        float[] x = TestData.Gaussian(n, d, 5);
        index.Add(TestData.Range(0, n), x);
        var rng = new Random(6);
        var removed = new HashSet<long>();
        for (int round = 0; round < 8; round++)
        {
            long[] victims = Enumerable.Range(0, 40).Select(_ => (long)rng.Next(n)).ToArray();
            int expected = victims.Distinct().Count(v => !removed.Contains(v));
            Assert.Equal(expected, index.Remove(victims));
            removed.UnionWith(victims);
            Assert.Equal(n - removed.Count, index.Count);
            var r = index.Search(x, n);
            for (int q = 0; q < n; q++)
            {
                var got = r.IdsOf(q).ToArray().Where(id => id >= 0).ToArray();
                Assert.Equal(n - removed.Count, got.Length);
                Assert.DoesNotContain(got, removed.Contains);
            }
        }
        foreach (long id in removed) Assert.False(index.Contains(id));
        Assert.Equal(0, index.Remove([-5, 100000]));
    }

    [Fact]
    public void Filters_return_only_allowed_ids_and_as_many_as_exist()
    {
        const int n = 400, d = 5;
        using var index = new FlatIndex(d, Metric.InnerProduct, KernelBackends.Create("simd"));
        float[] x = TestData.Gaussian(n, d, 7);
        index.Add(TestData.Range(0, n), x);
        float[] q = TestData.Gaussian(3, d, 8);
        long[] allowed = [3, 50, 77, 399];
        var r = index.Search(q, 10, new SearchOptions { Filter = IdFilter.Allow(allowed) });
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(allowed.Order(), r.IdsOf(i)[..4].ToArray().Order());
            Assert.All(r.IdsOf(i)[4..].ToArray(), id => Assert.Equal(-1, id));
        }
        var even = index.Search(q, 10, new SearchOptions { Filter = IdFilter.Where(id => id % 2 == 0) });
        var truth = TestData.BruteForce(q, 3, TestData.Range(0, n), x, d, 10, Metric.InnerProduct, id => id % 2 == 0);
        for (int i = 0; i < 3; i++) Assert.Equal(truth[i], even.IdsOf(i).ToArray());
        var deny = index.Search(q, 10, new SearchOptions { Filter = IdFilter.Deny(truth[0]) });
        Assert.DoesNotContain(deny.IdsOf(0).ToArray(), truth[0].Contains);
    }

    [Fact]
    public void Bad_input_gets_clear_exceptions()
    {
        using var index = new FlatIndex(3, Metric.L2, KernelBackends.Create("simd"));
        Assert.Equal("dimension", Assert.Throws<ArgumentOutOfRangeException>(() => new FlatIndex(0, Metric.L2)).ParamName);
        Assert.Equal("metric", Assert.Throws<ArgumentOutOfRangeException>(() => new FlatIndex(3, (Metric)9)).ParamName);
        Assert.Equal("vectors", Assert.Throws<ArgumentException>(() => index.Add([1], new float[4])).ParamName);
        Assert.Equal("vectors", Assert.Throws<ArgumentException>(() => index.Add([1], new float[] { 1, float.NaN, 0 })).ParamName);
        Assert.Equal("vectors", Assert.Throws<ArgumentException>(() => index.Add([1], new float[] { 1, float.PositiveInfinity, 0 })).ParamName);
        Assert.Equal("ids", Assert.Throws<ArgumentException>(() => index.Add([1, 1], new float[6])).ParamName);
        Assert.Equal("ids", Assert.Throws<ArgumentException>(() => index.Add([-1], new float[3])).ParamName);
        index.Add([1], new float[3]);
        Assert.Equal("ids", Assert.Throws<ArgumentException>(() => index.Add([1], new float[3])).ParamName);
        Assert.Equal("k", Assert.Throws<ArgumentOutOfRangeException>(() => index.Search(new float[3], 1, 0, new long[1], new float[1])).ParamName);
        Assert.Equal("queries", Assert.Throws<ArgumentException>(() => index.Search(new float[4], 1, 1, new long[1], new float[1])).ParamName);
        Assert.Equal("queries", Assert.Throws<ArgumentException>(() => index.Search(new float[] { float.NaN, 0, 0 }, 1, 1, new long[1], new float[1])).ParamName);
        Assert.Equal("ids", Assert.Throws<ArgumentException>(() => index.Search(new float[3], 1, 2, new long[1], new float[2])).ParamName);
        Assert.Equal("scores", Assert.Throws<ArgumentException>(() => index.Search(new float[3], 1, 2, new long[2], new float[1])).ParamName);
        Assert.Equal(1, index.Count);
        Assert.Throws<ArgumentOutOfRangeException>(() => new SearchOptions { NProbe = 0 });
        Assert.Throws<ArgumentOutOfRangeException>(() => new SearchOptions { RefineFactor = -1 });
        index.Dispose();
        Assert.Throws<ObjectDisposedException>(() => index.Search(new float[3], 1));
    }
}

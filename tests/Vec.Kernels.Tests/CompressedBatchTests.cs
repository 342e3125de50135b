using System.Runtime.Intrinsics.X86;
using Vec.Kernels;
using Vec.Kernels.Internals.CpuSimd;
using Xunit;
using static Vec.Kernels.Tests.CompressedStorageTests;

namespace Vec.Kernels.Tests;

/// <summary>
/// Int8 batch search (the register-blocked AVX-VNNI kernel, <c>CompressedBatch.cs</c>). The batch kernel computes the very
/// same integer dot products and approximate keys as the single-query VNNI scan, so a batch must return exactly what its
/// queries return one at a time; results must also be exact scores with high recall against float32 search.
/// </summary>
public class CompressedBatchTests
{
    /// <summary>The SIMD backends whose Int8 databases get the batch kernel on this machine (none without AVX-VNNI).</summary>
    public static TheoryData<string> BatchBackends()
    {
        var data = new TheoryData<string>();
        foreach (var b in KernelBackends.Available)
            if (b.Name.StartsWith("simd", StringComparison.Ordinal) && ((CpuSimdKernels)KernelBackends.Create(b.Name)).HasInt8Batch)
                data.Add(b.Name);
        if (data.Count == 0) data.Add("simd"); // no VNNI: the tests then check the fallback paths give the same answers
        return data;
    }

    [Fact]
    public void TheBestSimdBackendHasTheBatchKernelWhereTheCpuHasVnni()
    {
        using var kernels = KernelBackends.Create("simd");
        Assert.Equal(AvxVnni.IsSupported, ((CpuSimdKernels)kernels).HasInt8Batch);
    }

    /// <summary>Batches of every size around the 4-query block (1-9, 13) equal their queries searched one at a time, ids and
    /// scores bit for bit, for every metric, with and without a filter, on dimensions that are not multiples of 4 or 32, a
    /// partial last panel and a small re-scoring net (a wrong kernel, query packing or tile lane changes the candidates).</summary>
    [Theory]
    [MemberData(nameof(BatchBackends))]
    public void BatchEqualsSingleQueriesForEveryMetricAndFilter(string backend)
    {
        const int n = 1000, k = 7;
        using var kernels = CreateBatchBackend(backend);
        foreach (int d in new[] { 5, 37, 70 })
        {
            float[] x = Data.Gaussian(n * d, seed: 100 + d, scale: 1f);
            float[] q = Data.Gaussian(13 * d, seed: 200 + d, scale: 1f);
            using var db = kernels.CreateDatabase(x, n, d, VectorStorage.Int8);
            var filter = RowFilter.FromPredicate(n, r => r % 3 != 0 && (r < 128 || r >= 192));
            foreach (Metric metric in new[] { Metric.InnerProduct, Metric.Cosine, Metric.L2 })
                foreach (RowFilter? f in new[] { null, filter })
                    foreach (int m in new[] { 2, 3, 4, 5, 6, 7, 8, 9, 13 })
                    {
                        var (ids, scores) = Search(kernels, db, q, m, k, metric, f, rescoreFactor: 1);
                        for (int i = 0; i < m; i++)
                        {
                            var (oneIds, oneScores) = Search(kernels, db, q.AsSpan(i * d, d).ToArray(), 1, k, metric, f, rescoreFactor: 1);
                            Assert.True(oneIds.AsSpan().SequenceEqual(ids.AsSpan(i * k, k)), $"d={d} {metric} filter={f is not null} m={m} query {i}: ids differ");
                            Assert.True(oneScores.AsSpan().SequenceEqual(scores.AsSpan(i * k, k)), $"d={d} {metric} filter={f is not null} m={m} query {i}: scores differ");
                            if (f is not null) Assert.All(ids.AsSpan(i * k, k).ToArray(), id => Assert.True(f.IsAllowed(id)));
                        }
                    }
        }
    }

    /// <summary>Default factor on a normalised set of low intrinsic dimension: recall@10 against exact float32 search at least
    /// 0.99 and every returned score the exact score of its row, best first.</summary>
    [Theory]
    [MemberData(nameof(BatchBackends))]
    public void BatchRecallAndExactScores(string backend)
    {
        const int n = 10_000, d = 99, m = 30, k = 10;
        float[] x = Data.Clustered(n, d, seed: 21);
        float[] q = Data.Clustered(m, d, seed: 22);
        using var kernels = CreateBatchBackend(backend);
        using var exactDb = kernels.CreateDatabase(x, n, d);
        using var db = kernels.CreateDatabase(x, n, d, VectorStorage.Int8);
        foreach (Metric metric in new[] { Metric.InnerProduct, Metric.Cosine, Metric.L2 })
        {
            var (exactIds, _) = Search(kernels, exactDb, q, m, k, metric, null, 0);
            var (ids, scores) = Search(kernels, db, q, m, k, metric, null, 0);
            int hits = 0;
            for (int i = 0; i < m; i++)
            {
                hits += ids.AsSpan(i * k, k).ToArray().Intersect(exactIds.AsSpan(i * k, k).ToArray()).Count();
                for (int j = 0; j < k; j++)
                {
                    int id = ids[i * k + j];
                    Assert.InRange(id, 0, n - 1);
                    double exact = Data.Score(metric, q.AsSpan(i * d, d), x.AsSpan(id * d, d));
                    Assert.True(Math.Abs(scores[i * k + j] - exact) <= 1e-5 * Math.Max(1, Math.Abs(exact)),
                        $"{metric}: row {id} scored {scores[i * k + j]}, exact {exact}");
                    if (j > 0)
                        Assert.True(metric == Metric.L2 ? scores[i * k + j - 1] <= scores[i * k + j] : scores[i * k + j - 1] >= scores[i * k + j]);
                }
            }
            double recall = hits / (double)(m * k);
            Assert.True(recall >= 0.99, $"{metric}: recall@10 = {recall:F4}");
        }
    }

    /// <summary>A database smaller than one panel, k above its size and above the allowed rows: the allowed rows in exact order,
    /// then id -1 with the missing score; a filter that allows nothing gives only missing results.</summary>
    [Theory]
    [MemberData(nameof(BatchBackends))]
    public void TinyDatabaseKAboveNAndEmptyFilter(string backend)
    {
        const int n = 20, d = 11, m = 6, k = 25;
        float[] x = Data.Gaussian(n * d, seed: 31, scale: 2f);
        float[] q = Data.Gaussian(m * d, seed: 32, scale: 1f);
        using var kernels = CreateBatchBackend(backend);
        using var reference = KernelBackends.Create("scalar");
        using var db = kernels.CreateDatabase(x, n, d, VectorStorage.Int8);
        using var refDb = reference.CreateDatabase(x, n, d);
        var filter = RowFilter.FromPredicate(n, r => r % 4 != 2);
        foreach (Metric metric in new[] { Metric.InnerProduct, Metric.Cosine, Metric.L2 })
            foreach (RowFilter? f in new[] { null, filter })
            {
                var (ids, scores) = Search(kernels, db, q, m, k, metric, f, 0);
                var (refIds, refScores) = Search(reference, refDb, q, m, k, metric, f, 0);
                AssertSameRanking(refIds, refScores, ids, scores, $"{metric} filter={f is not null}");
                int allowed = f?.AllowedCount ?? n;
                for (int i = 0; i < m; i++)
                    Assert.All(ids.AsSpan(i * k + allowed, k - allowed).ToArray(), id => Assert.Equal(-1, id));
            }
        var (none, noneScores) = Search(kernels, db, q, m, k, Metric.Cosine, RowFilter.Allow([], n), 0);
        Assert.All(none, id => Assert.Equal(-1, id));
        Assert.All(noneScores, s => Assert.Equal(float.NegativeInfinity, s));
    }

    /// <summary>The backend with the int8 batch kernel enabled for any database size (by default tiny databases take the
    /// float32 path, where the kernel would not pay).</summary>
    private static IVectorKernels CreateBatchBackend(string backend)
    {
        var kernels = KernelBackends.Create(backend);
        ((CpuSimdKernels)kernels).Int8BatchMinimumElements = 0;
        return kernels;
    }
}

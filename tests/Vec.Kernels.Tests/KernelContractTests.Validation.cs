using Xunit;
using static Vec.Kernels.Tests.TestData;

namespace Vec.Kernels.Tests;

public abstract partial class KernelContractTests
{
    /// <summary>Asserts that <paramref name="call"/> throws an <see cref="ArgumentException"/>-family error naming <paramref name="parameter"/>.</summary>
    private void Rejects(string parameter, Action call, string what)
    {
        Exception? thrown = null;
        try { call(); }
        catch (Exception e) { thrown = e; }
        Assert.True(thrown is ArgumentException, $"[{BackendName}] {what}: expected an ArgumentException naming '{parameter}', got {thrown?.GetType().Name ?? "no exception"}: {thrown?.Message}");
        Assert.True(parameter == ((ArgumentException)thrown!).ParamName,
            $"[{BackendName}] {what}: expected ParamName '{parameter}', got '{((ArgumentException)thrown!).ParamName}' ({thrown!.GetType().Name}: {thrown.Message})");
    }

    [BackendFact]
    public void PoolingRejectsBadArguments()
    {
        var k = Kernels;
        float[] tokens = new float[2 * 3 * 4];
        long[] mask = [1, 1, 0, 1, 0, 0];
        float[] dst = new float[2 * 4];
        foreach (bool mean in new[] { true, false })
        {
            string op = mean ? "MeanPool" : "MaxPool";
            void Pool(float[] t, long[] m, int b, int s, int d, float[] o)
            {
                if (mean) k.MeanPool(t, m, b, s, d, o);
                else k.MaxPool(t, m, b, s, d, o);
            }
            Pool(tokens, mask, 2, 3, 4, dst); // valid
            Rejects("batch", () => Pool(tokens, mask, -1, 3, 4, dst), $"{op} negative batch");
            Rejects("sequenceLength", () => Pool(tokens, mask, 2, -1, 4, dst), $"{op} negative sequenceLength");
            Rejects("dimension", () => Pool(tokens, mask, 2, 3, -1, dst), $"{op} negative dimension");
            Rejects("destination", () => Pool(tokens, mask, 2, 3, 4, new float[7]), $"{op} short destination");
            // The parameters are named tokenEmbeddings and attentionMask in IVectorKernels: the errors must name them so.
            Rejects("tokenEmbeddings", () => Pool(new float[23], mask, 2, 3, 4, dst), $"{op} short tokenEmbeddings");
            Rejects("attentionMask", () => Pool(tokens, new long[5], 2, 3, 4, dst), $"{op} short attentionMask");
            foreach (float bad in new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity })
            {
                float[] poisoned = (float[])tokens.Clone();
                poisoned[13] = bad;
                Rejects("tokenEmbeddings", () => Pool(poisoned, mask, 2, 3, 4, dst), $"{op} {bad} in tokenEmbeddings");
            }
        }
    }

    [BackendFact]
    public void L2NormalizeRejectsBadArguments()
    {
        var k = Kernels;
        float[] rows = [1, 2, 3, 4, 5, 6];
        k.L2Normalize(rows, 2, 3);
        Rejects("rows", () => k.L2Normalize(new float[5], 2, 3), "in place, short rows");
        Rejects("count", () => k.L2Normalize(rows, -1, 3), "in place, negative count");
        Rejects("dimension", () => k.L2Normalize(rows, 2, -3), "in place, negative dimension");
        Rejects("rows", () => k.L2Normalize(new[] { 1f, float.NaN, 3f }, 1, 3), "in place, NaN in rows");
        Rejects("rows", () => k.L2Normalize(new[] { 1f, float.PositiveInfinity, 3f }, 1, 3), "in place, infinity in rows");

        float[] src = [1, 2, 3, 4, 5, 6];
        float[] dst = new float[6];
        k.L2Normalize(src, dst, 2, 3);
        Rejects("source", () => k.L2Normalize(new float[5], dst, 2, 3), "short source");
        Rejects("destination", () => k.L2Normalize(src, new float[5], 2, 3), "short destination");
        Rejects("count", () => k.L2Normalize(src, dst, -1, 3), "negative count");
        Rejects("dimension", () => k.L2Normalize(src, dst, 2, -1), "negative dimension");
        Rejects("source", () => k.L2Normalize(new[] { 1f, 2f, float.NegativeInfinity }, dst, 1, 3), "infinity in source");

        // Same memory is allowed; partially overlapping spans are not (in either direction).
        float[] buffer = [3, 4, 0, 0, 5, 12, 1, 1];
        k.L2Normalize(buffer.AsSpan(0, 4), buffer.AsSpan(0, 4), 2, 2);
        Check(Math.Abs(buffer[0] - 0.6f) < 1e-6 && Math.Abs(buffer[1] - 0.8f) < 1e-6 && buffer[2] == 0 && buffer[3] == 0, $"[{BackendName}] same-memory normalise: {string.Join(", ", buffer)}");
        Rejects("destination", () => k.L2Normalize(buffer.AsSpan(0, 4), buffer.AsSpan(2, 4), 2, 2), "destination overlapping the tail of source");
        Rejects("destination", () => k.L2Normalize(buffer.AsSpan(2, 4), buffer.AsSpan(0, 4), 2, 2), "destination overlapping the head of source");
    }

    [BackendFact]
    public void ProductsRejectBadArguments()
    {
        float[] a = new float[2 * 3], b = new float[4 * 3], dst = new float[8];
        foreach (Metric metric in Metrics)
        {
            string op = ProductName(metric);
            void Run(float[] x, int m, float[] y, int n, int d, float[] o) => Product(Kernels, metric, x, m, y, n, d, o);
            Run(a, 2, b, 4, 3, dst);
            Rejects("a", () => Run(new float[5], 2, b, 4, 3, dst), $"{op} short a");
            Rejects("b", () => Run(a, 2, new float[11], 4, 3, dst), $"{op} short b");
            Rejects("destination", () => Run(a, 2, b, 4, 3, new float[7]), $"{op} short destination");
            Rejects("m", () => Run(a, -1, b, 4, 3, dst), $"{op} negative m");
            Rejects("n", () => Run(a, 2, b, -4, 3, dst), $"{op} negative n");
            Rejects("dimension", () => Run(a, 2, b, 4, -3, dst), $"{op} negative dimension");
            Rejects("m", () => Run(a, 1 << 20, b, 4, 1 << 12, dst), $"{op} m x dimension overflowing int");
            foreach (float bad in new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity })
            {
                float[] pa = (float[])a.Clone(), pb = (float[])b.Clone();
                pa[5] = bad;
                pb[0] = bad;
                Rejects("a", () => Run(pa, 2, b, 4, 3, dst), $"{op} {bad} in a");
                Rejects("b", () => Run(a, 2, pb, 4, 3, dst), $"{op} {bad} in b");
            }
        }
    }

    [BackendFact]
    public void TopKRejectsBadArguments()
    {
        var k = Kernels;
        float[] scores = [1, 2, 3, 4, 5, 6];
        int[] ids = new int[4];
        float[] values = new float[4];
        k.TopK(scores, 2, 3, 2, TopKOrder.Largest, ids, values);
        Rejects("scores", () => k.TopK(new float[5], 2, 3, 2, TopKOrder.Largest, ids, values), "short scores");
        Rejects("indices", () => k.TopK(scores, 2, 3, 2, TopKOrder.Largest, new int[3], values), "short indices");
        Rejects("values", () => k.TopK(scores, 2, 3, 2, TopKOrder.Largest, ids, new float[3]), "short values");
        Rejects("rows", () => k.TopK(scores, -2, 3, 2, TopKOrder.Largest, ids, values), "negative rows");
        Rejects("columns", () => k.TopK(scores, 2, -3, 2, TopKOrder.Largest, ids, values), "negative columns");
        Rejects("k", () => k.TopK(scores, 2, 3, 0, TopKOrder.Largest, ids, values), "k = 0");
        Rejects("k", () => k.TopK(scores, 2, 3, -1, TopKOrder.Largest, ids, values), "k < 0");
        if (k.MaxK < int.MaxValue)
            Rejects("k", () => k.TopK(scores, 0, 3, k.MaxK + 1, TopKOrder.Largest, ids, values), "k > MaxK");
        Rejects("order", () => k.TopK(scores, 2, 3, 2, (TopKOrder)2, ids, values), "unknown order");
        Rejects("order", () => k.TopK(scores, 2, 3, 2, (TopKOrder)(-1), ids, values), "negative order");
        float[] nan = [1, 2, 3, 4, float.NaN, 6];
        Rejects("scores", () => k.TopK(nan, 2, 3, 2, TopKOrder.Smallest, ids, values), "NaN in scores");
        // Infinities have a rank and are accepted; NaN past the used part is never read.
        k.TopK([float.NegativeInfinity, float.PositiveInfinity, 0, float.NaN], 1, 3, 2, TopKOrder.Largest, ids, values);
        Check(ids[0] == 1 && ids[1] == 2, $"[{BackendName}] TopK with infinities: got {ids[0]}, {ids[1]}");
    }

    [BackendFact]
    public void DatabaseAndSearchRejectBadArguments()
    {
        var k = Kernels;
        float[] vectors = [1, 2, 3, 4, 5, 6];
        Rejects("vectors", () => k.CreateDatabase(new float[5], 2, 3), "CreateDatabase short vectors");
        Rejects("count", () => k.CreateDatabase(vectors, -1, 3), "CreateDatabase negative count");
        Rejects("dimension", () => k.CreateDatabase(vectors, 2, -1), "CreateDatabase negative dimension");
        Rejects("vectors", () => k.CreateDatabase(new[] { 1f, float.NaN, 3f }, 1, 3), "CreateDatabase NaN in vectors");
        Rejects("vectors", () => k.CreateDatabase(new[] { 1f, 2f, float.PositiveInfinity }, 1, 3), "CreateDatabase infinity in vectors");

        using var db = k.CreateDatabase(vectors, 2, 3);
        float[] queries = [1, 0, 0, 0, 1, 0];
        int[] ids = new int[4];
        float[] scores = new float[4];
        k.Search(db, queries, 2, 2, Metric.Cosine, ids, scores);
        var nullError = Assert.Throws<ArgumentNullException>(() => k.Search(null!, queries, 2, 2, Metric.Cosine, ids, scores));
        Assert.Equal("database", nullError.ParamName);
        Rejects("queries", () => k.Search(db, new float[5], 2, 2, Metric.Cosine, ids, scores), "Search short queries");
        Rejects("queryCount", () => k.Search(db, queries, -1, 2, Metric.Cosine, ids, scores), "Search negative queryCount");
        Rejects("k", () => k.Search(db, queries, 2, 0, Metric.Cosine, ids, scores), "Search k = 0");
        Rejects("k", () => k.Search(db, queries, 2, -3, Metric.Cosine, ids, scores), "Search k < 0");
        if (k.MaxK < int.MaxValue)
            Rejects("k", () => k.Search(db, queries, 0, k.MaxK + 1, Metric.Cosine, ids, scores), "Search k > MaxK");
        Rejects("metric", () => k.Search(db, queries, 2, 2, (Metric)3, ids, scores), "Search unknown metric");
        Rejects("metric", () => k.Search(db, queries, 2, 2, (Metric)(-1), ids, scores), "Search negative metric");
        Rejects("indices", () => k.Search(db, queries, 2, 2, Metric.Cosine, new int[3], scores), "Search short indices");
        Rejects("scores", () => k.Search(db, queries, 2, 2, Metric.Cosine, ids, new float[3]), "Search short scores");
        Rejects("filter", () => k.Search(db, queries, 2, 2, Metric.Cosine, ids, scores, RowFilter.Deny([], 3)), "Search filter with too many rows");
        Rejects("filter", () => k.Search(db, queries, 2, 2, Metric.Cosine, ids, scores, RowFilter.Allow([0], 1)), "Search filter with too few rows");
        foreach (float bad in new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity })
        {
            float[] poisoned = (float[])queries.Clone();
            poisoned[4] = bad;
            Rejects("queries", () => k.Search(db, poisoned, 2, 2, Metric.L2, ids, scores), $"Search {bad} in queries");
        }
    }
}

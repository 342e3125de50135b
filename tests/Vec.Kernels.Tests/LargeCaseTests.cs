using System.Collections.Concurrent;
using static Vec.Kernels.Tests.TestData;

namespace Vec.Kernels.Tests;

/// <summary>
/// Larger deterministic cases that cross the SIMD backend's size thresholds, which the small FsCheck shapes never
/// reach: multi-threaded products (split by panels and by row blocks), several cache blocks of panels, the
/// 12-row and 1-row micro-kernels, per-thread search heaps merged at the end, the threshold-filtered heap and the
/// full-sort path of top-k (k*4 &gt;= columns), and parallel row operations. Every result is checked against the
/// scalar reference, whose results are computed once per process.
/// </summary>
public abstract class LargeCaseTests(string backendName) : BackendTestBase(backendName)
{
    private static readonly ConcurrentDictionary<string, object> ReferenceCache = new();

    private T Cached<T>(string key, Func<T> compute) where T : class => (T)ReferenceCache.GetOrAdd(key, _ => compute());

    private static readonly Metric[] Metrics = [Metric.InnerProduct, Metric.Cosine, Metric.L2];

    private static float[] Data(int seed, int rows, int d, ValueKind kind) => Matrix(new Random(seed), rows, d, kind);

    private static double[] Norms2(float[] x, int rows, int d)
    {
        var n = new double[rows];
        for (int i = 0; i < rows; i++) n[i] = SquaredNorm(x, i, d);
        return n;
    }

    private static double Tol(Metric metric, double na2, double nb2, int d) => 1e-7 + 1e-5 * Math.Sqrt(d + 1) * metric switch
    {
        Metric.InnerProduct => Math.Sqrt(na2 * nb2),
        Metric.Cosine => 1,
        _ => na2 + nb2,
    };

    private void Product(IVectorKernels kernels, Metric metric, float[] a, int m, float[] b, int n, int d, float[] c)
    {
        switch (metric)
        {
            case Metric.InnerProduct: kernels.InnerProducts(a, m, b, n, d, c); break;
            case Metric.Cosine: kernels.CosineSimilarities(a, m, b, n, d, c); break;
            default: kernels.SquaredL2Distances(a, m, b, n, d, c); break;
        }
    }

    private void CheckProducts(int m, int n, int d, int seed)
    {
        float[] a = Data(seed, m, d, ValueKind.Uniform), b = Data(seed + 1, n, d, ValueKind.Uniform);
        double[] na = Norms2(a, m, d), nb = Norms2(b, n, d);
        foreach (Metric metric in Metrics)
        {
            float[] expected = Cached($"product {m}x{n}x{d} {seed} {metric}", () =>
            {
                var c = new float[m * n];
                Product(Reference, metric, a, m, b, n, d, c);
                return c;
            });
            var actual = new float[m * n];
            Product(Kernels, metric, a, m, b, n, d, actual);
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                    Close(actual[i * n + j], expected[i * n + j], Tol(metric, na[i], nb[j], d), $"[{BackendName}] {metric} {m} x {n} x {d} (seed {seed}) [{i},{j}]");
        }
    }

    [BackendFact]
    public void ProductsSplitByPanels() => CheckProducts(300, 1000, 384, 1);

    [BackendFact]
    public void ProductsSplitByRowBlocks() => CheckProducts(600, 40, 128, 2);

    [BackendFact]
    public void ProductsWithFewRows() => CheckProducts(2, 3000, 384, 3);

    [BackendFact]
    public void ProductsWithLongVectors() => CheckProducts(13, 70, 4100, 4);

    /// <summary>A last row block of 4 real rows: the padded register block (3 to 5 rows of 6 at 256 bits, 4 of 12 at 512).</summary>
    [BackendFact]
    public void ProductsWithPartialRowBlock() => CheckProducts(16, 100, 97, 5);

    private void CheckSearch(int n, int d, int queryCount, int k, ValueKind kind, bool filtered, int seed)
    {
        float[] db = Data(seed, n, d, kind), queries = Data(seed + 1, queryCount, d, kind);
        var random = new Random(seed + 2);
        bool[] allowed = Enumerable.Range(0, n).Select(_ => !filtered || random.Next(2) == 0).ToArray();
        RowFilter? filter = filtered ? RowFilter.FromPredicate(n, j => allowed[j]) : null;
        using var database = Kernels.CreateDatabase(db, n, d);
        foreach (Metric metric in Metrics)
        {
            var (refIds, refValues) = Cached($"search {n}x{d} {queryCount} {k} {kind} {filtered} {seed} {metric}", () =>
            {
                using var refDb = Reference.CreateDatabase(db, n, d);
                var ids = new int[queryCount * k];
                var values = new float[queryCount * k];
                Reference.Search(refDb, queries, queryCount, k, metric, ids, values, filter);
                return Tuple.Create(ids, values);
            });
            var ids = new int[queryCount * k];
            var values = new float[queryCount * k];
            Kernels.Search(database, queries, queryCount, k, metric, ids, values, filter);
            bool exact = kind == ValueKind.Integers && metric != Metric.Cosine;
            for (int q = 0; q < queryCount; q++)
            {
                int query = q;
                SameRanking($"[{BackendName}] Search {metric} {n} x {d}, {queryCount} queries, k={k}, {kind}, filtered={filtered} (seed {seed}), query {q}",
                    k, n, metric.Order(), ids.AsSpan(q * k, k), values.AsSpan(q * k, k), refIds.AsSpan(q * k, k), refValues.AsSpan(q * k, k),
                    id => Score(metric, queries, query, db, id, d), id => Tolerance(metric, queries, query, db, id, d),
                    j => allowed[j], exact);
            }
        }
    }

    [BackendFact]
    public void SearchManyQueries() => CheckSearch(5000, 384, 25, 100, ValueKind.Integers, filtered: false, seed: 10);

    [BackendFact]
    public void SearchManyQueriesUniform() => CheckSearch(5000, 96, 13, 100, ValueKind.Uniform, filtered: false, seed: 20);

    [BackendFact]
    public void SearchFiltered() => CheckSearch(5000, 384, 14, 100, ValueKind.Integers, filtered: true, seed: 30);

    [BackendFact]
    public void SearchSingleQuery() => CheckSearch(5000, 384, 1, 10, ValueKind.Uniform, filtered: false, seed: 40);

    [BackendFact]
    public void SearchLargeK() => CheckSearch(3000, 64, 3, 2500, ValueKind.Integers, filtered: true, seed: 50);

    [BackendFact]
    public void TopKHeapAndFullSortPaths()
    {
        // 160 x 5000 scores are enough work for several threads; k*4 >= columns switches to the full sort.
        const int rows = 160, columns = 5000;
        var random = new Random(60);
        float[] scores = new float[rows * columns];
        for (int i = 0; i < scores.Length; i++) scores[i] = random.Next(0, 900) * 0.5f; // many exact ties
        foreach ((int k, TopKOrder order) in new[] { (1, TopKOrder.Largest), (10, TopKOrder.Smallest), (10, TopKOrder.Largest),
            (1249, TopKOrder.Largest), (1250, TopKOrder.Smallest), (4096, TopKOrder.Largest) })
            {
                var (refIds, refValues) = Cached($"topk {k} {order}", () =>
                {
                    var i = new int[rows * k];
                    var v = new float[rows * k];
                    Reference.TopK(scores, rows, columns, k, order, i, v);
                    return Tuple.Create(i, v);
                });
                var ids = new int[rows * k];
                var values = new float[rows * k];
                Kernels.TopK(scores, rows, columns, k, order, ids, values);
                for (int i = 0; i < rows * k; i++)
                    Check(ids[i] == refIds[i] && values[i] == refValues[i],
                        $"[{BackendName}] TopK {rows} x {columns}, k={k}, {order} (seed 60): row {i / k} result {i % k} is ({ids[i]}, {values[i]}), expected ({refIds[i]}, {refValues[i]})");
            }
    }

    [BackendFact]
    public void TopKRadixSelectOnSignedValuesAndInfinities()
    {
        // k above RadixSelectMinK with k*4 < columns takes the radix-select path: mixed signs, both zeros, infinities,
        // near-equal values, many exact ties.
        const int rows = 12, columns = 16411;
        var random = new Random(61);
        float[] scores = new float[rows * columns];
        for (int i = 0; i < scores.Length; i++)
            scores[i] = random.Next(20) switch
            {
                0 => float.PositiveInfinity,
                1 => float.NegativeInfinity,
                2 => 0f,
                3 => -0f,
                4 => BitConverter.Int32BitsToSingle(0x3F800000 + random.Next(4)), // 1 and its next three neighbours
                _ => (float)(random.NextDouble() * 2e3 - 1e3),
            };
        foreach ((int k, TopKOrder order) in new[] { (2049, TopKOrder.Largest), (3000, TopKOrder.Smallest), (4096, TopKOrder.Largest) })
        {
            var refIds = new int[rows * k];
            var refValues = new float[rows * k];
            Reference.TopK(scores, rows, columns, k, order, refIds, refValues);
            var ids = new int[rows * k];
            var values = new float[rows * k];
            Kernels.TopK(scores, rows, columns, k, order, ids, values);
            for (int i = 0; i < rows * k; i++)
                Check(ids[i] == refIds[i] && values[i].Equals(refValues[i]),
                    $"[{BackendName}] TopK {rows} x {columns}, k={k}, {order} (seed 61): row {i / k} result {i % k} is ({ids[i]}, {values[i]}), expected ({refIds[i]}, {refValues[i]})");
        }
    }

    [BackendFact]
    public void RowOperationsInParallel()
    {
        const int batch = 64, seq = 128, d = 384;
        var random = new Random(70);
        float[] tokens = Matrix(random, batch * seq, d, ValueKind.Uniform);
        long[] mask = Enumerable.Range(0, batch * seq).Select(i => (long)(i % seq < (i / seq) * 2 ? 1 : 0)).ToArray();
        foreach (bool mean in new[] { true, false })
        {
            var expected = Cached($"pool {mean}", () =>
            {
                var e = new float[batch * d];
                if (mean) Reference.MeanPool(tokens, mask, batch, seq, d, e);
                else Reference.MaxPool(tokens, mask, batch, seq, d, e);
                return e;
            });
            var actual = new float[batch * d];
            if (mean) Kernels.MeanPool(tokens, mask, batch, seq, d, actual);
            else Kernels.MaxPool(tokens, mask, batch, seq, d, actual);
            for (int i = 0; i < actual.Length; i++)
                Close(actual[i], expected[i], mean ? 1e-6 * (seq + 1) : 0, $"[{BackendName}] {(mean ? "MeanPool" : "MaxPool")} {batch} x {seq} x {d} (seed 70) [{i / d},{i % d}]");
        }

        float[] rows = Matrix(random, 2000, d, ValueKind.Large);
        var refNorm = Cached("normalize", () =>
        {
            var e = new float[rows.Length];
            Reference.L2Normalize(rows, e, 2000, d);
            return e;
        });
        Kernels.L2Normalize(rows, 2000, d);
        for (int i = 0; i < rows.Length; i++)
            Close(rows[i], refNorm[i], 4e-6 * Math.Sqrt(d + 1), $"[{BackendName}] L2Normalize 2000 x {d} (seed 70) [{i / d},{i % d}]");
    }
}

/// <summary>Large cases on the widest SIMD backend.</summary>
public sealed class SimdLargeCaseTests() : LargeCaseTests("simd");

/// <summary>Large cases on the Vector256 kernels.</summary>
public sealed class Simd256LargeCaseTests() : LargeCaseTests("simd256");

/// <summary>Large cases on the Vector128 kernels.</summary>
public sealed class Simd128LargeCaseTests() : LargeCaseTests("simd128");

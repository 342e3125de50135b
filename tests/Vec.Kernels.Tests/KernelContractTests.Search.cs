using FsCheck;
using FsCheck.Fluent;
using static Vec.Kernels.Tests.TestData;

namespace Vec.Kernels.Tests;

public abstract partial class KernelContractTests
{
    // Search cases: M = queries, N = database rows, D = dimension, K = k (from 1 to past the rows).
    private Gen<Case> SearchCases =>
        from q in Case.Size(0, MaxRows)
        from n in Case.Size(0, MaxDatabaseRows)
        from d in Case.Dimension(MaxDimension)
        from k in Gen.Frequency((2, Gen.Choose(1, 6)), (2, Gen.Choose(1, n + 5)))
        from seed in Case.Seeds
        select new Case(q, n, d, k, seed);

    private static IEnumerable<Case> ShrinkSearch(Case c) => c.Shrink(0, 0, 0, 1);

    /// <summary>Checks every query's results against a reference ranking (see <see cref="TestData.SameRanking"/>).</summary>
    private static void SameRankings(string what, Metric metric, float[] queries, int queryCount, float[] db, int n, int d, int k,
        int[] ids, float[] values, int[] refIds, float[] refValues, Func<int, bool>? allowed, bool exactIds)
    {
        for (int q = 0; q < queryCount; q++)
        {
            int query = q;
            SameRanking($"{what}, query {q}", k, n, metric.Order(),
                ids.AsSpan(q * k, k), values.AsSpan(q * k, k), refIds.AsSpan(q * k, k), refValues.AsSpan(q * k, k),
                id => Score(metric, queries, query, db, id, d), id => Tolerance(metric, queries, query, db, id, d), allowed, exactIds);
        }
    }

    [BackendFact]
    public void SearchEqualsReferenceAndProductsPlusTopK() => Property(SearchCases, ShrinkSearch, c =>
    {
        var random = new Random(c.Seed);
        int queryCount = c.M, n = c.N, d = c.D, k = c.K;
        var kind = KindOf(random);
        float[] db = Padded(Matrix(random, n, d, kind), 3, float.NaN);
        float[] queries = Padded(Matrix(random, queryCount, d, kind), 3, float.NaN);
        using var database = Kernels.CreateDatabase(db, n, d);
        using var refDatabase = Reference.CreateDatabase(db, n, d);
        Check(database.Count == n && database.Dimension == d && ReferenceEquals(database.Owner, Kernels), $"{Tag(c)}: database shape/owner");
        // The database is reused across metrics and calls.
        foreach (Metric metric in Metrics.Concat(Metrics))
        {
            string op = $"{Tag(c)} Search {metric} kind {kind}";
            bool exact = kind == ValueKind.Integers && metric != Metric.Cosine;
            var ids = Padded(new int[queryCount * k], 2, -7);
            var values = Padded(new float[queryCount * k], 2, Sentinel);
            var refIds = new int[queryCount * k];
            var refValues = new float[queryCount * k];
            Kernels.Search(database, queries, queryCount, k, metric, ids, values);
            Reference.Search(refDatabase, queries, queryCount, k, metric, refIds, refValues);
            Check(ids.AsSpan(queryCount * k).ToArray().All(v => v == -7) && values.AsSpan(queryCount * k).ToArray().All(v => v == Sentinel), $"{op}: wrote past queryCount x k");
            SameRankings($"{op} vs scalar Search", metric, queries, queryCount, db, n, d, k, ids, values, refIds, refValues, null, exact);

            // The same backend's products followed by its TopK.
            var products = new float[queryCount * n];
            Product(Kernels, metric, queries, queryCount, db, n, d, products);
            var viaIds = new int[queryCount * k];
            var viaValues = new float[queryCount * k];
            Kernels.TopK(products, queryCount, n, k, metric.Order(), viaIds, viaValues);
            SameRankings($"{op} vs {ProductName(metric)} + TopK", metric, queries, queryCount, db, n, d, k, ids, values, viaIds, viaValues, null, exact);
        }
    });

    [BackendFact]
    public void SearchRespectsFilters() => Property(SearchCases, ShrinkSearch, c =>
    {
        var random = new Random(c.Seed);
        int queryCount = c.M, n = c.N, d = c.D, k = c.K;
        var kind = KindOf(random);
        float[] db = Matrix(random, n, d, kind);
        float[] queries = Matrix(random, queryCount, d, kind);
        int style = random.Next(4);
        double density = random.NextDouble();
        bool[] allowedRows = Enumerable.Range(0, n).Select(_ => style == 3 ? false : random.NextDouble() < density).ToArray();
        int[] allowedIds = Enumerable.Range(0, n).Where(j => allowedRows[j]).ToArray();
        int[] deniedIds = Enumerable.Range(0, n).Where(j => !allowedRows[j]).ToArray();
        RowFilter filter = style switch
        {
            0 => RowFilter.Allow(allowedIds.Concat(allowedIds.Take(2)).ToArray(), n),
            1 => RowFilter.Deny(deniedIds, n),
            _ => RowFilter.FromPredicate(n, j => allowedRows[j]),
        };
        string filterName = style switch { 0 => "Allow", 1 => "Deny", 2 => "FromPredicate", _ => "all denied" };
        Check(filter.AllowedCount == allowedIds.Length, $"{Tag(c)}: filter AllowedCount");

        using var database = Kernels.CreateDatabase(db, n, d);
        // The allowed rows alone, as their own database: the filtered search must rank them the same way.
        float[] subset = allowedIds.SelectMany(j => db.AsSpan(j * d, d).ToArray()).ToArray();
        using var subsetDatabase = Kernels.CreateDatabase(subset, allowedIds.Length, d);
        foreach (Metric metric in Metrics)
        {
            string op = $"{Tag(c)} Search {metric} kind {kind}, {filterName} filter ({allowedIds.Length}/{n} allowed)";
            bool exact = kind == ValueKind.Integers && metric != Metric.Cosine;
            var ids = new int[queryCount * k];
            var values = new float[queryCount * k];
            Kernels.Search(database, queries, queryCount, k, metric, ids, values, filter);

            var subIds = new int[queryCount * k];
            var subValues = new float[queryCount * k];
            Kernels.Search(subsetDatabase, queries, queryCount, k, metric, subIds, subValues);
            for (int i = 0; i < subIds.Length; i++) subIds[i] = subIds[i] < 0 ? -1 : allowedIds[subIds[i]];
            SameRankings($"{op} vs search over the allowed rows", metric, queries, queryCount, db, n, d, k, ids, values, subIds, subValues, j => allowedRows[j], exact);
            if (allowedIds.Length == 0)
                Check(ids.All(id => id == -1), $"{op}: an all-denied filter must give only -1");
        }
    });

    [BackendFact]
    public void SearchPadsWhenKExceedsRows()
    {
        const int n = 3, d = 5, k = 7;
        var random = new Random(3);
        float[] db = Matrix(random, n, d, ValueKind.Uniform, zeroRows: false);
        using var database = Kernels.CreateDatabase(db, n, d);
        foreach (Metric metric in Metrics)
        {
            var ids = new int[2 * k];
            var values = new float[2 * k];
            Kernels.Search(database, db, 2, k, metric, ids, values);
            for (int q = 0; q < 2; q++)
            {
                if (metric != Metric.InnerProduct)
                    Check(ids[q * k] == q, $"[{BackendName}] {metric}: query {q} is database row {q} and must rank first, got {ids[q * k]}");
                Check(ids.Skip(q * k).Take(n).Order().SequenceEqual([0, 1, 2]), $"[{BackendName}] {metric}: query {q} must return all {n} rows");
                for (int i = n; i < k; i++)
                    Check(ids[q * k + i] == -1 && values[q * k + i] == metric.Order().MissingScore(),
                        $"[{BackendName}] {metric}: query {q} result {i} must be padding, got ({ids[q * k + i]}, {values[q * k + i]})");
            }
        }
    }

    [BackendFact]
    public void SearchRejectsDisposedAndForeignDatabases()
    {
        float[] db = [1, 2, 3, 4, 5, 6];
        var ids = new int[1];
        var values = new float[1];
        var database = Kernels.CreateDatabase(db, 2, 3);
        Kernels.Search(database, db, 1, 1, Metric.L2, ids, values);
        Check(ids[0] == 0, $"[{BackendName}] nearest row to row 0 must be 0, got {ids[0]}");
        database.Dispose();
        Check(database.IsDisposed, "IsDisposed after Dispose");
        database.Dispose(); // idempotent
        Xunit.Assert.Throws<ObjectDisposedException>(() => Kernels.Search(database, db, 1, 1, Metric.L2, ids, values));

        using var other = KernelBackends.Create(BackendName);
        using var foreign = other.CreateDatabase(db, 2, 3);
        var e = Xunit.Assert.ThrowsAny<ArgumentException>(() => Kernels.Search(foreign, db, 1, 1, Metric.L2, ids, values));
        Xunit.Assert.Equal("database", e.ParamName);
        using var scalarDb = Reference.CreateDatabase(db, 2, 3);
        if (!ReferenceEquals(Kernels, Reference))
        {
            e = Xunit.Assert.ThrowsAny<ArgumentException>(() => Kernels.Search(scalarDb, db, 1, 1, Metric.L2, ids, values));
            Xunit.Assert.Equal("database", e.ParamName);
        }
    }

    [BackendFact]
    public void SearchIsSafeForConcurrentCalls()
    {
        const int n = 200, d = 24, k = 5, queryCount = 6;
        var random = new Random(11);
        float[] db = Matrix(random, n, d, ValueKind.Integers);
        float[] queries = Matrix(random, queryCount, d, ValueKind.Integers);
        using var database = Kernels.CreateDatabase(db, n, d);
        var expected = new int[queryCount * k];
        Kernels.Search(database, queries, queryCount, k, Metric.L2, expected, new float[queryCount * k]);
        Parallel.For(0, 8, _ =>
        {
            var ids = new int[queryCount * k];
            Kernels.Search(database, queries, queryCount, k, Metric.L2, ids, new float[queryCount * k]);
            Check(ids.SequenceEqual(expected), $"[{BackendName}] concurrent searches disagree");
        });
    }
}

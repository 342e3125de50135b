using FsCheck;
using FsCheck.Fluent;
using Xunit;
using static Vec.Kernels.Tests.TestData;

namespace Vec.Kernels.Tests;

/// <summary>A random product-quantisation scan problem (codes in lists, tables, probes, filter) and its brute-force answer.</summary>
public sealed class CodeScanProblem
{
    /// <summary>Rows.</summary>
    public int Count;
    /// <summary>Codes per row.</summary>
    public int SubQuantizers;
    /// <summary>Bits per code.</summary>
    public int Bits;
    /// <summary>[Count, SubQuantizers] codes.</summary>
    public byte[] Codes = [];
    /// <summary>ListCount + 1 offsets.</summary>
    public int[] Offsets = [];
    /// <summary>Empty, or [ListCount, M, 2^bits].</summary>
    public float[] ListTables = [];
    /// <summary>Queries.</summary>
    public int Queries;
    /// <summary>Probes per query.</summary>
    public int NProbe;
    /// <summary>[Queries, M, 2^bits].</summary>
    public float[] QueryTables = [];
    /// <summary>Factor on the query tables.</summary>
    public float Scale;
    /// <summary>[Queries, NProbe] list ids or -1.</summary>
    public int[] Probes = [];
    /// <summary>[Queries, NProbe].</summary>
    public float[] Biases = [];
    /// <summary>Allow-list or null.</summary>
    public RowFilter? Filter;

    /// <summary>Number of lists.</summary>
    public int ListCount => Offsets.Length - 1;

    /// <summary>2^Bits.</summary>
    public int Codebook => 1 << Bits;

    /// <summary>What the problem is, for failure messages.</summary>
    public string Describe() =>
        $"count {Count}, M {SubQuantizers}, bits {Bits}, lists [{string.Join(",", Offsets)}], listTables {ListTables.Length != 0}, " +
        $"queries {Queries}, nprobe {NProbe}, scale {Scale}, filter {(Filter is null ? "none" : $"{Filter.AllowedCount} allowed")}";

    /// <summary>A random problem: lists of random (possibly zero) lengths, -1 probes, random filters; integer tables half the time (ties).</summary>
    public static CodeScanProblem Random(Random random, int queries, int count, int subQuantizers, int[] bitChoices)
    {
        var p = new CodeScanProblem { Queries = queries, Count = count, SubQuantizers = subQuantizers };
        p.Bits = bitChoices[random.Next(bitChoices.Length)];
        int lists = random.Next(1, 7);
        var cuts = new int[lists + 1];
        for (int l = 1; l < lists; l++) cuts[l] = random.Next(count + 1);
        cuts[lists] = count;
        Array.Sort(cuts);
        p.Offsets = cuts;
        p.Codes = new byte[count * subQuantizers];
        for (int i = 0; i < p.Codes.Length; i++) p.Codes[i] = (byte)random.Next(p.Codebook);
        bool integers = random.Next(2) == 0;
        float Value() => integers ? random.Next(-3, 4) : (float)(random.NextDouble() * 2 - 1);
        int table = subQuantizers * p.Codebook;
        if (random.Next(2) == 0)
        {
            p.ListTables = new float[lists * table];
            for (int i = 0; i < p.ListTables.Length; i++) p.ListTables[i] = Value();
        }
        p.QueryTables = new float[queries * table];
        for (int i = 0; i < p.QueryTables.Length; i++) p.QueryTables[i] = Value();
        p.Scale = new[] { 1f, -2f, 0.5f, 0f, (float)(random.NextDouble() * 4 - 2) }[random.Next(5)];
        p.NProbe = random.Next(0, lists + 3);
        p.Probes = new int[queries * p.NProbe];
        p.Biases = new float[queries * p.NProbe];
        var order = Enumerable.Range(0, lists).ToArray();
        for (int q = 0; q < queries; q++)
        {
            random.Shuffle(order);
            for (int j = 0; j < p.NProbe; j++)
            {
                p.Probes[q * p.NProbe + j] = j < lists && random.Next(5) != 0 ? order[j] : -1;
                p.Biases[q * p.NProbe + j] = Value();
            }
        }
        p.Filter = random.Next(4) switch
        {
            0 => RowFilter.FromPredicate(count, _ => random.Next(3) != 0),
            1 => RowFilter.Allow([], count),
            _ => null,
        };
        return p;
    }

    /// <summary>The documented float32 score of row r for probe slot (q, j).</summary>
    public float Score(int q, int j, int r)
    {
        int list = Probes[q * NProbe + j], table = SubQuantizers * Codebook;
        float s = Biases[q * NProbe + j];
        for (int m = 0; m < SubQuantizers; m++)
        {
            int e = m * Codebook + Codes[r * SubQuantizers + m];
            float listTerm = ListTables.Length == 0 ? 0f : ListTables[list * table + e];
            float scaled = Scale * QueryTables[q * table + e];
            s += listTerm + scaled;
        }
        return s;
    }

    /// <summary>The same score in double (for tolerance checks of backends that need not match bit for bit).</summary>
    public double ExactScore(int q, int row)
    {
        for (int j = 0; j < NProbe; j++)
        {
            int list = Probes[q * NProbe + j];
            if (list < 0 || row < Offsets[list] || row >= Offsets[list + 1]) continue;
            int table = SubQuantizers * Codebook;
            double s = Biases[q * NProbe + j];
            for (int m = 0; m < SubQuantizers; m++)
            {
                int e = m * Codebook + Codes[row * SubQuantizers + m];
                s += (ListTables.Length == 0 ? 0.0 : ListTables[list * table + e]) + (double)Scale * QueryTables[q * table + e];
            }
            return s;
        }
        return double.NaN; // not a candidate of query q
    }

    /// <summary>Brute force: every allowed row of every probed list, sorted by (score, row), first k, padded with (-1, +inf).</summary>
    public (int[] Rows, float[] Scores) Expected(int k)
    {
        var rows = new int[Queries * k];
        var scores = new float[Queries * k];
        for (int q = 0; q < Queries; q++)
        {
            var all = new List<(float Score, int Row)>();
            for (int j = 0; j < NProbe; j++)
            {
                int list = Probes[q * NProbe + j];
                if (list < 0) continue;
                for (int r = Offsets[list]; r < Offsets[list + 1]; r++)
                    if (Filter is null || Filter.IsAllowed(r)) all.Add((Score(q, j, r), r));
            }
            all.Sort((a, b) => a.Score != b.Score ? a.Score.CompareTo(b.Score) : a.Row.CompareTo(b.Row));
            for (int i = 0; i < k; i++)
            {
                rows[q * k + i] = i < all.Count ? all[i].Row : -1;
                scores[q * k + i] = i < all.Count ? all[i].Score : float.PositiveInfinity;
            }
        }
        return (rows, scores);
    }

    /// <summary>Runs the scan on <paramref name="kernels"/>, with output spans longer than needed (the tail must stay untouched).</summary>
    public (int[] Rows, float[] Scores) Run(IVectorKernels kernels, int k)
    {
        using var db = kernels.CreateCodeDatabase(Codes, Count, SubQuantizers, Bits, Offsets, ListTables);
        Assert.Equal((Count, SubQuantizers, Bits, ListCount, ListTables.Length != 0), (db.Count, db.SubQuantizers, db.Bits, db.ListCount, db.HasListTables));
        var rows = Padded(new int[Queries * k], 3, -7);
        var scores = Padded(new float[Queries * k], 3, 12345.5f);
        kernels.ScanCodes(db, QueryTables, Scale, Probes, Biases, Queries, NProbe, k, rows, scores, Filter);
        Assert.True(rows.AsSpan(Queries * k).ToArray().All(v => v == -7) && scores.AsSpan(Queries * k).ToArray().All(v => v == 12345.5f),
            "ScanCodes wrote past queryCount x k");
        return (rows[..(Queries * k)], scores[..(Queries * k)]);
    }
}

public abstract partial class KernelContractTests
{
    /// <summary>Whether the backend's code scan must match the documented float32 summation bit for bit (all CPU backends and
    /// the ILGPU CPU simulator do; a CUDA device may differ in the last bits and is then checked with a tolerance).</summary>
    protected virtual bool ExactCodeScan => true;

    // Code-scan cases: M = queries, N = rows, D = sub-quantisers, K = k.
    private Gen<Case> CodeScanCases =>
        from q in Case.Size(0, MaxRows)
        from n in Case.Size(0, MaxDatabaseRows)
        from d in Gen.Choose(1, Math.Min(16, Math.Max(1, MaxDimension / 2)))
        from k in Gen.Frequency((2, Gen.Choose(1, 6)), (2, Gen.Choose(1, n + 5)))
        from seed in Case.Seeds
        select new Case(q, n, d, k, seed);

    private void CheckCodeScan(CodeScanProblem p, int k, string what)
    {
        var (rows, scores) = p.Run(Kernels, k);
        var (expectedRows, expectedScores) = p.Expected(k);
        what = $"[{BackendName}] {what} ({p.Describe()}, k {k})";
        for (int q = 0; q < p.Queries; q++)
        {
            if (ExactCodeScan)
            {
                for (int i = 0; i < k; i++)
                {
                    int at = q * k + i;
                    Check(rows[at] == expectedRows[at] && Same(scores[at], expectedScores[at]),
                        $"{what}, query {q}, result {i}: expected row {expectedRows[at]} score {expectedScores[at]:R}, got row {rows[at]} score {scores[at]:R}");
                }
            }
            else
            {
                int query = q;
                double Tol(int row) => 1e-5 * (1 + p.SubQuantizers) * (1 + Math.Abs(p.ExactScore(query, row)));
                SameRanking($"{what}, query {q}", k, p.Count, TopKOrder.Smallest, rows.AsSpan(q * k, k), scores.AsSpan(q * k, k),
                    expectedRows.AsSpan(q * k, k), expectedScores.AsSpan(q * k, k), row => p.ExactScore(query, row), Tol,
                    p.Filter is null ? null : p.Filter.IsAllowed, exactIds: false);
            }
        }
    }

    [BackendFact]
    public void CodeScanEqualsBruteForce() => Property(CodeScanCases, c => c.Shrink(0, 0, 1, 1), c =>
    {
        var p = CodeScanProblem.Random(new Random(c.Seed), c.M, c.N, c.D, [4, 8, 4, 8, 1, 3]);
        CheckCodeScan(p, c.K, Tag(c));
    });

    [BackendFact]
    public void CodeScanEqualsScalarBitForBit()
    {
        if (!ExactCodeScan) return;
        var random = new Random(7);
        for (int trial = 0; trial < 4; trial++)
        {
            var p = CodeScanProblem.Random(random, Math.Min(3, MaxRows), Math.Min(37, MaxDatabaseRows), 5, [8]);
            var (rows, scores) = p.Run(Kernels, 6);
            var (refRows, refScores) = p.Run(Reference, 6);
            Assert.Equal(refRows, rows);
            Assert.Equal(refScores.Select(BitConverter.SingleToInt32Bits), scores.Select(BitConverter.SingleToInt32Bits));
        }
    }

    [BackendFact]
    public void CodeScanEdgeCases()
    {
        var random = new Random(3);
        // Lists: [0,0) empty, [0,4), [4,4) empty, [4,9).
        var p = CodeScanProblem.Random(random, 2, 9, 3, [4]);
        p.Offsets = [0, 0, 4, 4, 9];
        p.ListTables = new float[4 * 3 * 16];
        for (int i = 0; i < p.ListTables.Length; i++) p.ListTables[i] = random.Next(-3, 4);
        p.NProbe = 3;
        p.Probes = [3, -1, 0, /* q1 */ 2, 1, -1];
        p.Biases = [0.5f, 100f, -1f, 2f, -0.25f, 7f];
        p.Filter = null;
        CheckCodeScan(p, 12, "k larger than candidates, empty lists, -1 probes");
        var (rows, _) = p.Run(Kernels, 12);
        Check(rows.Take(12).Count(r => r >= 0) == 5 && rows.Skip(12).Count(r => r >= 0) == 4, $"[{BackendName}] candidate counts: {string.Join(",", rows)}");

        p.Filter = RowFilter.Allow([1, 5, 8], 9);
        CheckCodeScan(p, 4, "allow subset");
        (rows, _) = p.Run(Kernels, 4);
        Check(rows.Where(r => r >= 0).Order().SequenceEqual(new[] { 5, 8, 1 }.Order()), $"[{BackendName}] allowed rows: {string.Join(",", rows)}");
        p.Filter = RowFilter.Allow([], 9);
        CheckCodeScan(p, 3, "allow none");
        p.Filter = null;

        p.NProbe = 0;
        p.Probes = [];
        p.Biases = [];
        CheckCodeScan(p, 2, "nprobe 0");
        p.Queries = 0;
        p.QueryTables = [];
        CheckCodeScan(p, 2, "no queries");

        var empty = CodeScanProblem.Random(random, 2, 0, 4, [8]);
        CheckCodeScan(empty, 3, "empty database");
    }

    [BackendFact]
    public void CodeScanTiesGoToTheLowerRow()
    {
        // All codes equal and all tables constant: every row of a probed list scores the same.
        var p = CodeScanProblem.Random(new Random(5), 1, 12, 2, [4]);
        Array.Clear(p.Codes);
        p.Offsets = [0, 6, 12];
        p.ListTables = [];
        p.QueryTables.AsSpan().Fill(1f);
        p.Scale = 1f;
        p.NProbe = 2;
        p.Probes = [1, 0];
        p.Biases = [3f, 3f];
        p.Filter = null;
        var (rows, scores) = p.Run(Kernels, 5);
        Assert.Equal([0, 1, 2, 3, 4], rows);
        Assert.All(scores, s => Assert.Equal(5f, s));
    }

    [BackendFact]
    public void CodeScanRejectsBadArguments()
    {
        var k = Kernels;
        byte[] codes = [0, 1, 2, 3, 4, 5];
        int[] offsets = [0, 1, 3];
        float[] listTables = new float[2 * 2 * 16];
        using var db = k.CreateCodeDatabase(codes, 3, 2, 4, offsets, listTables);
        Assert.Equal((3, 2, 4, 16, 2, true), (db.Count, db.SubQuantizers, db.Bits, db.Codebook, db.ListCount, db.HasListTables));
        Assert.Same(k, db.Owner);

        Rejects("codes", () => k.CreateCodeDatabase(codes.AsSpan(0, 5), 3, 2, 4, offsets, []), "short codes");
        Rejects("codes", () => k.CreateCodeDatabase([0, 1, 2, 16, 4, 5], 3, 2, 4, offsets, []), "code not below 2^bits");
        Rejects("count", () => k.CreateCodeDatabase(codes, -1, 2, 4, [0], []), "negative count");
        Rejects("subQuantizers", () => k.CreateCodeDatabase(codes, 3, 0, 4, offsets, []), "zero subQuantizers");
        Rejects("bits", () => k.CreateCodeDatabase(codes, 3, 2, 0, offsets, []), "bits 0");
        Rejects("bits", () => k.CreateCodeDatabase(codes, 3, 2, 9, offsets, []), "bits 9");
        Rejects("listOffsets", () => k.CreateCodeDatabase(codes, 3, 2, 4, [], []), "no offsets");
        Rejects("listOffsets", () => k.CreateCodeDatabase(codes, 3, 2, 4, [1, 1, 3], []), "first offset not 0");
        Rejects("listOffsets", () => k.CreateCodeDatabase(codes, 3, 2, 4, [0, 1, 2], []), "last offset not count");
        Rejects("listOffsets", () => k.CreateCodeDatabase(codes, 3, 2, 4, [0, 2, 1, 3], []), "decreasing offsets");
        Rejects("listTables", () => k.CreateCodeDatabase(codes, 3, 2, 4, offsets, new float[63]), "short listTables");
        float[] badTables = new float[64];
        badTables[40] = float.NaN;
        Rejects("listTables", () => k.CreateCodeDatabase(codes, 3, 2, 4, offsets, badTables), "NaN in listTables");

        float[] qt = new float[2 * 32];
        int[] probes = [0, 1, 1, -1];
        float[] biases = new float[4];
        int[] rows = new int[2 * 3];
        float[] scores = new float[2 * 3];
        k.ScanCodes(db, qt, 1f, probes, biases, 2, 2, 3, rows, scores); // valid
        Assert.Throws<ArgumentNullException>("database", () => k.ScanCodes(null!, qt, 1f, probes, biases, 2, 2, 3, rows, scores));
        using (var other = KernelBackends.Create(BackendName == "scalar" ? "simd" : "scalar"))
        {
            using var foreign = other.CreateCodeDatabase(codes, 3, 2, 4, offsets, []);
            Rejects("database", () => k.ScanCodes(foreign, qt, 1f, probes, biases, 2, 2, 3, rows, scores), "foreign database");
        }
        Rejects("queryTables", () => k.ScanCodes(db, qt.AsSpan(0, 63), 1f, probes, biases, 2, 2, 3, rows, scores), "short queryTables");
        float[] badQt = (float[])qt.Clone();
        badQt[33] = float.PositiveInfinity;
        Rejects("queryTables", () => k.ScanCodes(db, badQt, 1f, probes, biases, 2, 2, 3, rows, scores), "infinite queryTables");
        Rejects("queryTableScale", () => k.ScanCodes(db, qt, float.NaN, probes, biases, 2, 2, 3, rows, scores), "NaN scale");
        Rejects("probes", () => k.ScanCodes(db, qt, 1f, probes.AsSpan(0, 3), biases, 2, 2, 3, rows, scores), "short probes");
        Rejects("probes", () => k.ScanCodes(db, qt, 1f, [0, 2, 1, -1], biases, 2, 2, 3, rows, scores), "probe past ListCount");
        Rejects("probes", () => k.ScanCodes(db, qt, 1f, [0, -2, 1, -1], biases, 2, 2, 3, rows, scores), "probe below -1");
        Rejects("probes", () => k.ScanCodes(db, qt, 1f, [0, 1, 1, 1], biases, 2, 2, 3, rows, scores), "duplicate probe");
        k.ScanCodes(db, qt, 1f, [-1, -1, 1, 0], biases, 2, 2, 3, rows, scores); // -1 twice is fine
        Rejects("biases", () => k.ScanCodes(db, qt, 1f, probes, biases.AsSpan(0, 3), 2, 2, 3, rows, scores), "short biases");
        Rejects("biases", () => k.ScanCodes(db, qt, 1f, probes, [0, 0, float.NaN, 0], 2, 2, 3, rows, scores), "NaN bias");
        Rejects("queryCount", () => k.ScanCodes(db, qt, 1f, probes, biases, -1, 2, 3, rows, scores), "negative queryCount");
        Rejects("nprobe", () => k.ScanCodes(db, qt, 1f, probes, biases, 2, -1, 3, rows, scores), "negative nprobe");
        Rejects("k", () => k.ScanCodes(db, qt, 1f, probes, biases, 2, 2, 0, rows, scores), "k 0");
        if (k.MaxK < int.MaxValue)
            Rejects("k", () => k.ScanCodes(db, qt, 1f, probes, biases, 2, 2, k.MaxK + 1, rows, scores), "k past MaxK");
        Rejects("rows", () => k.ScanCodes(db, qt, 1f, probes, biases, 2, 2, 3, rows.AsSpan(0, 5), scores), "short rows");
        Rejects("scores", () => k.ScanCodes(db, qt, 1f, probes, biases, 2, 2, 3, rows, scores.AsSpan(0, 5)), "short scores");
        Rejects("filter", () => k.ScanCodes(db, qt, 1f, probes, biases, 2, 2, 3, rows, scores, RowFilter.Allow([0], 4)), "filter row count");

        var disposed = k.CreateCodeDatabase(codes, 3, 2, 4, offsets, []);
        disposed.Dispose();
        Assert.True(disposed.IsDisposed);
        Assert.Throws<ObjectDisposedException>(() => k.ScanCodes(disposed, qt, 1f, probes, biases, 2, 2, 3, rows, scores));
    }
}

using FsCheck;
using FsCheck.Fluent;
using static Vec.Kernels.Tests.TestData;

namespace Vec.Kernels.Tests;

public abstract partial class KernelContractTests
{
    // Top-k cases: M = rows, N = columns, K = k (from 1 to past the columns).
    private Gen<Case> TopKCases =>
        from rows in Case.Size(0, 6)
        from columns in Case.Size(0, MaxColumns)
        from k in Gen.Frequency((2, Gen.Choose(1, 8)), (2, Gen.Choose(1, columns + 5)), (1, Gen.Choose(Math.Max(1, columns / 4 - 2), columns / 4 + 2)))
        from seed in Case.Seeds
        select new Case(rows, columns, 0, k, seed);

    /// <summary>Score rows: distinct floats, a few integer levels (exact ties everywhere), or floats with ±∞ and ±0 mixed in.</summary>
    private static float[] Scores(Random random, int rows, int columns, out string style)
    {
        var s = new float[rows * columns];
        int kind = random.Next(3);
        style = kind switch { 0 => "uniform", 1 => "few integer levels", _ => "with infinities and zeros" };
        int levels = random.Next(1, 5);
        for (int i = 0; i < s.Length; i++)
        {
            s[i] = kind switch
            {
                0 => (float)(random.NextDouble() * 2 - 1),
                1 => random.Next(levels),
                _ => random.Next(6) switch
                {
                    0 => float.PositiveInfinity,
                    1 => float.NegativeInfinity,
                    2 => 0f,
                    3 => -0f,
                    _ => random.Next(-2, 3),
                },
            };
        }
        return s;
    }

    [BackendFact]
    public void TopKEqualsFullSort() => Property(TopKCases, c => c.Shrink(0, 0, 0, 1), c =>
    {
        var random = new Random(c.Seed);
        int rows = c.M, columns = c.N, k = c.K;
        float[] scores = Padded(Scores(random, rows, columns, out string style), 3, float.NaN);
        foreach (TopKOrder order in new[] { TopKOrder.Largest, TopKOrder.Smallest })
        {
            string op = $"{Tag(c)} TopK {order}, {style}";
            var ids = Padded(new int[rows * k], 2, -7);
            var values = Padded(new float[rows * k], 2, Sentinel);
            Kernels.TopK(scores, rows, columns, k, order, ids, values);
            Check(ids.AsSpan(rows * k).ToArray().All(v => v == -7) && values.AsSpan(rows * k).ToArray().All(v => v == Sentinel), $"{op}: wrote past rows x k");
            for (int r = 0; r < rows; r++)
            {
                // The specification: a stable full sort (best first, ties to the lower column), padded with -1.
                int[] sorted = Enumerable.Range(0, columns)
                    .OrderBy(j => order == TopKOrder.Largest ? -(double)scores[r * columns + j] : scores[r * columns + j])
                    .ThenBy(j => j).ToArray();
                for (int i = 0; i < k; i++)
                {
                    string at = $"{op}: row {r}, result {i}";
                    int id = ids[r * k + i];
                    float v = values[r * k + i];
                    if (i >= columns)
                    {
                        Check(id == -1 && v == order.MissingScore(), $"{at}: expected padding (-1, {order.MissingScore()}), got ({id}, {v})");
                        continue;
                    }
                    int want = sorted[i];
                    Check(id == want, $"{at}: expected column {want} (score {scores[r * columns + want]:R}), got {id}" +
                        (id >= 0 && id < columns ? $" (score {scores[r * columns + id]:R})" : ""));
                    Check(Same(v, scores[r * columns + id]), $"{at}: value {v:R} is not the score of column {id} ({scores[r * columns + id]:R})");
                }
            }
        }
    });

    [BackendFact]
    public void TopKBreaksExactTiesTowardsLowerIndex()
    {
        // Every score equal: the answer is 0..k-1 whatever the backend's selection strategy (heap, sort, threshold).
        foreach ((int columns, int k) in new[] { (1, 1), (5, 3), (40, 7), (257, 64), (257, 10), (100, 100) })
        {
            if (columns > MaxElements) continue;
            var scores = new float[2 * columns];
            scores.AsSpan(columns).Fill(-1.5f);
            foreach (TopKOrder order in new[] { TopKOrder.Largest, TopKOrder.Smallest })
            {
                var ids = new int[2 * k];
                var values = new float[2 * k];
                Kernels.TopK(scores, 2, columns, k, order, ids, values);
                for (int r = 0; r < 2; r++)
                    for (int i = 0; i < k; i++)
                        Check(ids[r * k + i] == i && values[r * k + i] == scores[r * columns],
                            $"[{BackendName}] all-equal {columns} columns, k={k}, {order}, row {r}: result {i} is ({ids[r * k + i]}, {values[r * k + i]}), expected ({i}, {scores[r * columns]})");
            }
        }
    }

    [BackendFact]
    public void TopKLargeK()
    {
        const int columns = 5000, k = 4096;
        if (columns > MaxElements || k > Kernels.MaxK) return;
        var random = new Random(5000);
        float[] scores = new float[columns];
        for (int j = 0; j < columns; j++) scores[j] = random.Next(0, 700) * 0.25f; // many ties
        foreach (TopKOrder order in new[] { TopKOrder.Largest, TopKOrder.Smallest })
        {
            var ids = new int[k];
            var values = new float[k];
            var refIds = new int[k];
            var refValues = new float[k];
            Kernels.TopK(scores, 1, columns, k, order, ids, values);
            Reference.TopK(scores, 1, columns, k, order, refIds, refValues);
            for (int i = 0; i < k; i++)
                Check(ids[i] == refIds[i] && values[i] == refValues[i],
                    $"[{BackendName}] TopK 1 x {columns}, k={k}, {order}, seed 5000: result {i} is ({ids[i]}, {values[i]}), expected ({refIds[i]}, {refValues[i]})");
        }
    }

    [BackendFact]
    public void MaxKIsAtLeast4096() =>
        Check(Kernels.MaxK >= 4096, $"[{BackendName}] MaxK is {Kernels.MaxK}; the contract promises at least 4096");
}

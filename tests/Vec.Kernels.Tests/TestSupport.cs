using FsCheck;
using FsCheck.Fluent;
using Xunit;

namespace Vec.Kernels.Tests;

/// <summary>
/// One generated test case: up to four sizes (their meaning depends on the property) and the seed of the
/// <see cref="Random"/> that fills the data. Its <see cref="ToString"/> is everything needed to replay a failure.
/// </summary>
public sealed record Case(int M, int N, int D, int K, int Seed)
{
    /// <summary>Dimensions that straddle every vector width and panel boundary (4, 8, 16, 32 lanes).</summary>
    public static readonly int[] InterestingDimensions = [0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 47, 63, 64, 65, 96, 127, 128, 129, 255, 256];

    /// <summary>A dimension in [0, max], half of the time one of <see cref="InterestingDimensions"/>.</summary>
    public static Gen<int> Dimension(int max)
    {
        int[] special = InterestingDimensions.Where(d => d <= max).ToArray();
        return Gen.Frequency((1, Gen.Elements(special)), (1, Gen.Choose(0, max)));
    }

    /// <summary>A size in [0, max], biased towards small values and the maximum.</summary>
    public static Gen<int> Size(int min, int max) =>
        Gen.Frequency((3, Gen.Choose(min, max)), (2, Gen.Choose(min, Math.Min(max, min + 4))), (1, Gen.Constant(max)));

    /// <summary>Seeds for the data.</summary>
    public static Gen<int> Seeds => Gen.Choose(0, int.MaxValue - 1);

    /// <summary>Shrinks every size towards its minimum, one at a time, keeping the seed.</summary>
    public IEnumerable<Case> Shrink(int minM, int minN, int minD, int minK)
    {
        foreach (int v in Smaller(M, minM)) yield return this with { M = v };
        foreach (int v in Smaller(N, minN)) yield return this with { N = v };
        foreach (int v in Smaller(D, minD)) yield return this with { D = v };
        foreach (int v in Smaller(K, minK)) yield return this with { K = v };
    }

    private static IEnumerable<int> Smaller(int value, int min)
    {
        if (value <= min) yield break;
        yield return min;
        int half = min + (value - min) / 2;
        if (half != min) yield return half;
        if (value - 1 != half && value - 1 != min) yield return value - 1;
    }
}

/// <summary>What values a generated matrix holds.</summary>
public enum ValueKind
{
    /// <summary>Uniform in [-1, 1].</summary>
    Uniform,
    /// <summary>Uniform in [-0.01, 0.01].</summary>
    Small,
    /// <summary>Uniform in [-50, 50].</summary>
    Large,
    /// <summary>Integers in [-3, 3]: products are exact in float, so rankings (and ties) are exact too.</summary>
    Integers,
}

/// <summary>Deterministic data, tolerances and assertions shared by the tests.</summary>
public static class TestData
{
    /// <summary>The value kind a seed selects.</summary>
    public static ValueKind KindOf(Random random) => (ValueKind)random.Next(4);

    /// <summary>A rows x d matrix of <paramref name="kind"/> values; with <paramref name="zeroRows"/>, about one row in eight is zero.</summary>
    public static float[] Matrix(Random random, int rows, int d, ValueKind kind, bool zeroRows = true)
    {
        var x = new float[rows * d];
        for (int i = 0; i < rows; i++)
        {
            if (zeroRows && random.Next(8) == 0) continue;
            for (int j = 0; j < d; j++) x[i * d + j] = Value(random, kind);
        }
        return x;
    }

    /// <summary>One value of <paramref name="kind"/>.</summary>
    public static float Value(Random random, ValueKind kind) => kind switch
    {
        ValueKind.Small => (float)(random.NextDouble() * 0.02 - 0.01),
        ValueKind.Large => (float)(random.NextDouble() * 100 - 50),
        ValueKind.Integers => random.Next(-3, 4),
        _ => (float)(random.NextDouble() * 2 - 1),
    };

    /// <summary>A copy of <paramref name="values"/> followed by <paramref name="extra"/> copies of <paramref name="pad"/>
    /// (spans may be longer than needed; only the leading part may be read).</summary>
    public static T[] Padded<T>(T[] values, int extra, T pad)
    {
        var x = new T[values.Length + extra];
        values.CopyTo(x, 0);
        x.AsSpan(values.Length).Fill(pad);
        return x;
    }

    /// <summary>Squared L2 norm of row i, in double.</summary>
    public static double SquaredNorm(ReadOnlySpan<float> x, int i, int d)
    {
        double s = 0;
        for (int j = 0; j < d; j++) s += (double)x[i * d + j] * x[i * d + j];
        return s;
    }

    /// <summary>The exact (double) score of a against b under <paramref name="metric"/>.</summary>
    public static double Score(Metric metric, ReadOnlySpan<float> a, int i, ReadOnlySpan<float> b, int j, int d)
    {
        double dot = 0, aa = 0, bb = 0, l2 = 0;
        for (int t = 0; t < d; t++)
        {
            double x = a[i * d + t], y = b[j * d + t];
            dot += x * y;
            aa += x * x;
            bb += y * y;
            l2 += (x - y) * (x - y);
        }
        return metric switch
        {
            Metric.InnerProduct => dot,
            Metric.Cosine => aa == 0 || bb == 0 ? 0 : Math.Clamp(dot / Math.Sqrt(aa * bb), -1, 1),
            _ => l2,
        };
    }

    /// <summary>
    /// How far a float result may be from the exact score: float summation error grows like sqrt(d) times the size of
    /// the terms (|a||b| for products, |a|²+|b|² for distances, 1 for cosines); the factor leaves a wide margin.
    /// </summary>
    public static double Tolerance(Metric metric, ReadOnlySpan<float> a, int i, ReadOnlySpan<float> b, int j, int d)
    {
        double scale = metric switch
        {
            Metric.InnerProduct => Math.Sqrt(SquaredNorm(a, i, d) * SquaredNorm(b, j, d)),
            Metric.Cosine => 1,
            _ => SquaredNorm(a, i, d) + SquaredNorm(b, j, d),
        };
        return 1e-7 + 1e-5 * Math.Sqrt(d + 1) * scale;
    }

    /// <summary>Fails with <paramref name="message"/> (which should name the case and seed) unless <paramref name="condition"/> holds.</summary>
    public static void Check(bool condition, string message)
    {
        if (!condition) Assert.Fail(message);
    }

    /// <summary>Asserts |actual - expected| &lt;= tolerance, naming the case.</summary>
    public static void Close(double actual, double expected, double tolerance, string what)
    {
        if (!(Math.Abs(actual - expected) <= tolerance) && !actual.Equals(expected))
            Assert.Fail($"{what}: expected {expected:R}, got {actual:R} (|diff| {Math.Abs(actual - expected):R} > tolerance {tolerance:R})");
    }

    /// <summary>True when <paramref name="value"/> and <paramref name="expected"/> are the same float, treating -0 and +0 as equal.</summary>
    public static bool Same(float value, float expected) => value == expected || (float.IsNaN(value) && float.IsNaN(expected));

    /// <summary>
    /// Checks one row of ranked results against a reference ranking, tolerating near-ties: the same number of results
    /// (then -1 with the missing score), distinct valid allowed ids, values best-first within tolerance, each value
    /// within tolerance of the reference value at the same position and of the id's exact score; with
    /// <paramref name="exactIds"/> the ids must equal the reference's.
    /// </summary>
    public static void SameRanking(string what, int k, int n, TopKOrder order,
        ReadOnlySpan<int> ids, ReadOnlySpan<float> values, ReadOnlySpan<int> refIds, ReadOnlySpan<float> refValues,
        Func<int, double> exactScore, Func<int, double> tolerance, Func<int, bool>? allowed, bool exactIds)
    {
        var seen = new HashSet<int>();
        for (int i = 0; i < k; i++)
        {
            string at = $"{what}, result {i}";
            if (refIds[i] < 0)
            {
                Check(ids[i] == -1, $"{at}: expected id -1 (fewer candidates than k), got {ids[i]}");
                Check(values[i] == order.MissingScore(), $"{at}: expected missing score {order.MissingScore()}, got {values[i]}");
                continue;
            }
            int id = ids[i];
            Check(id >= 0 && id < n, $"{at}: id {id} outside [0, {n}) (reference id {refIds[i]})");
            Check(seen.Add(id), $"{at}: id {id} reported twice");
            Check(allowed is null || allowed(id), $"{at}: id {id} is denied by the filter");
            if (exactIds) Check(id == refIds[i], $"{at}: expected id {refIds[i]} (value {refValues[i]:R}), got {id} (value {values[i]:R})");
            double tol = Math.Max(tolerance(id), tolerance(refIds[i]));
            Close(values[i], refValues[i], tol, $"{at}: value vs reference (ids {id} / {refIds[i]})");
            Close(values[i], exactScore(id), tolerance(id), $"{at}: value vs exact score of id {id}");
            if (i > 0 && ids[i - 1] >= 0)
            {
                double worse = order == TopKOrder.Largest ? values[i] - values[i - 1] : values[i - 1] - values[i];
                Check(worse <= tol, $"{at}: not sorted best-first ({values[i - 1]:R} then {values[i]:R})");
            }
        }
    }
}

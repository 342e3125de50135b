using FsCheck;
using FsCheck.Fluent;
using static Vec.Kernels.Tests.TestData;

namespace Vec.Kernels.Tests;

public abstract partial class KernelContractTests
{
    // Product cases: M = rows of A, N = rows of B, D = dimension.
    private Gen<Case> ProductCases =>
        from m in Case.Size(0, MaxRows)
        from n in Case.Size(0, MaxRows)
        from d in Case.Dimension(MaxDimension)
        from seed in Case.Seeds
        select new Case(m, n, d, 0, seed);

    private static readonly Metric[] Metrics = [Metric.InnerProduct, Metric.Cosine, Metric.L2];

    private static void Product(IVectorKernels kernels, Metric metric, float[] a, int m, float[] b, int n, int d, float[] destination)
    {
        switch (metric)
        {
            case Metric.InnerProduct: kernels.InnerProducts(a, m, b, n, d, destination); break;
            case Metric.Cosine: kernels.CosineSimilarities(a, m, b, n, d, destination); break;
            default: kernels.SquaredL2Distances(a, m, b, n, d, destination); break;
        }
    }

    private static string ProductName(Metric metric) => metric switch
    {
        Metric.InnerProduct => "InnerProducts",
        Metric.Cosine => "CosineSimilarities",
        _ => "SquaredL2Distances",
    };

    [BackendFact]
    public void ProductsEqualReference() => Property(ProductCases, c => c.Shrink(0, 0, 0, 0), c =>
    {
        var random = new Random(c.Seed);
        int m = c.M, n = c.N, d = c.D;
        var kind = KindOf(random);
        float[] a = Padded(Matrix(random, m, d, kind), 5, float.NaN);
        float[] b = Padded(Matrix(random, n, d, kind), 5, float.PositiveInfinity);
        foreach (Metric metric in Metrics)
        {
            string op = $"{Tag(c)} {ProductName(metric)} kind {kind}";
            var actual = Padded(new float[m * n], 4, Sentinel);
            var expected = new float[m * n];
            Product(Kernels, metric, a, m, b, n, d, actual);
            Product(Reference, metric, a, m, b, n, d, expected);
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                {
                    float v = actual[i * n + j];
                    string at = $"{op} [{i},{j}]";
                    double tol = Tolerance(metric, a, i, b, j, d);
                    Check(float.IsFinite(v), $"{at}: not finite ({v})");
                    Close(v, expected[i * n + j], tol, at);
                    Close(v, Score(metric, a, i, b, j, d), tol, $"{at} vs exact");
                    if (metric == Metric.Cosine) Check(v is >= -1f and <= 1f, $"{at}: cosine {v:R} outside [-1, 1]");
                    if (metric == Metric.L2) Check(v >= 0, $"{at}: negative squared distance {v:R}");
                }
            Check(actual.AsSpan(m * n).ToArray().All(v => v == Sentinel), $"{op}: wrote past m x n");
        }
    });

    [BackendFact]
    public void ProductsAreSymmetricAndDistancesVanishOnIdenticalRows() => Property(ProductCases, c => c.Shrink(0, 0, 0, 0), c =>
    {
        var random = new Random(c.Seed);
        int m = c.M, n = c.N, d = c.D;
        var kind = KindOf(random);
        float[] a = Matrix(random, m, d, kind);
        float[] b = Matrix(random, n, d, kind);
        foreach (Metric metric in Metrics)
        {
            string op = $"{Tag(c)} {ProductName(metric)} kind {kind}";
            var ab = new float[m * n];
            var ba = new float[n * m];
            Product(Kernels, metric, a, m, b, n, d, ab);
            Product(Kernels, metric, b, n, a, m, d, ba);
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                    Close(ab[i * n + j], ba[j * m + i], 2 * Tolerance(metric, a, i, b, j, d), $"{op}: (A,B)[{i},{j}] vs (B,A)[{j},{i}]");

            var aa = new float[m * m];
            Product(Kernels, metric, a, m, a, m, d, aa);
            for (int i = 0; i < m; i++)
            {
                double self = Score(metric, a, i, a, i, d);
                Close(aa[i * m + i], self, Tolerance(metric, a, i, a, i, d), $"{op}: row {i} with itself");
                if (metric == Metric.L2) Check(aa[i * m + i] >= 0, $"{op}: negative self-distance of row {i}");
                if (metric == Metric.Cosine && SquaredNorm(a, i, d) > 0) Close(aa[i * m + i], 1, Tolerance(metric, a, i, a, i, d), $"{op}: self-cosine of row {i}");
            }
        }
    });

    [BackendFact]
    public void CosineOfZeroRowIsZero()
    {
        const int d = 19;
        var random = new Random(7);
        float[] a = Matrix(random, 3, d, ValueKind.Uniform, zeroRows: false);
        a.AsSpan(d, d).Clear();
        var cos = new float[9];
        Kernels.CosineSimilarities(a, 3, a, 3, d, cos);
        for (int j = 0; j < 3; j++)
        {
            Check(cos[3 + j] == 0, $"[{BackendName}] cos(zero row, row {j}) = {cos[3 + j]}, expected 0");
            Check(cos[j * 3 + 1] == 0, $"[{BackendName}] cos(row {j}, zero row) = {cos[j * 3 + 1]}, expected 0");
        }
    }
}

using Vec.Kernels;
using Xunit;

namespace Vec.Index.Tests;

public sealed class OpqTests
{
    /// <summary>
    /// Correlated data with very unequal variances: independent components with standard deviations falling from 8 to
    /// 0.25, laid out so that the large ones all land in the first sub-spaces (the worst case for plain PQ).
    /// </summary>
    private static float[] Unequal(int n, int d, int seed)
    {
        var rng = new Random(seed);
        var x = new float[n * d];
        for (int i = 0; i < n; i++)
        {
            float shared = TestData.Normal(rng);
            for (int j = 0; j < d; j++)
            {
                float sd = 8f * MathF.Pow(0.25f / 8f, j / (float)(d - 1));
                x[i * d + j] = sd * TestData.Normal(rng) + (j < d / 2 ? 2f * shared : 0f);
            }
        }
        return x;
    }

    private static double PqError(float[] x, int n, int d, int m, int bits)
    {
        var pq = new ProductQuantizer(d, m, bits);
        pq.Train(x, n, new KMeansOptions { Iterations = 15 });
        var codes = new byte[n * m];
        pq.Encode(x, n, codes);
        var recon = new float[n * d];
        pq.Decode(codes, n, recon);
        double s = 0;
        for (int i = 0; i < x.Length; i++) s += Math.Pow((double)x[i] - recon[i], 2);
        return s / n;
    }

    [Fact]
    public void Rotation_is_orthogonal_and_reduces_pq_error()
    {
        const int n = 2000, d = 16, m = 4, bits = 4;
        float[] x = Unequal(n, d, 1);
        using var kernels = KernelBackends.Create("simd");
        var opq = new OpqRotation(d, m, bits);
        opq.Train(x, n, iterations: 8, kernels: kernels);
        Assert.True(opq.IsTrained);
        Assert.Equal(d * d, opq.Matrix.Length);
        Assert.True(OpqRotation.OrthogonalityError(opq.Matrix, d) < 1e-4, "R Rᵀ is not the identity");
        Assert.Equal(8, opq.ErrorHistory.Count);
        // Each Procrustes step is optimal for the current codes and the hot-started PQ only lowers the error further,
        // so the error never rises (a wrongly transposed update fails this) and falls well below the random rotation's.
        for (int i = 1; i < opq.ErrorHistory.Count; i++)
            Assert.True(opq.ErrorHistory[i] <= opq.ErrorHistory[i - 1] * 1.001, $"iteration {i}: error rose from {opq.ErrorHistory[i - 1]} to {opq.ErrorHistory[i]}");
        Assert.True(opq.ErrorHistory[^1] < 0.55 * opq.ErrorHistory[0], $"error went from {opq.ErrorHistory[0]} to {opq.ErrorHistory[^1]}");

        var y = new float[n * d];
        opq.Apply(x, n, y, kernels);
        double plain = PqError(x, n, d, m, bits);
        double rotated = PqError(y, n, d, m, bits);
        Assert.True(rotated < 0.8 * plain, $"OPQ error {rotated} vs plain PQ {plain}");
    }

    [Fact]
    public void Apply_and_its_inverse_round_trip_and_preserve_distances()
    {
        const int n = 400, d = 12;
        float[] x = Unequal(n, d, 2);
        var opq = new OpqRotation(d, 3, 4);
        opq.Train(x, n, iterations: 2);
        var y = new float[n * d];
        var back = new float[n * d];
        opq.Apply(x, n, y);
        opq.ApplyInverse(y, n, back);
        for (int i = 0; i < x.Length; i++) Assert.True(Math.Abs(x[i] - back[i]) < 1e-3 * (1 + Math.Abs(x[i])), $"value {i}: {back[i]} vs {x[i]}");
        double dx = 0, dy = 0;
        for (int j = 0; j < d; j++) { dx += Math.Pow(x[j] - x[d + j], 2); dy += Math.Pow(y[j] - y[d + j], 2); }
        Assert.Equal(dx, dy, 1e-3 * dx);
        // y = x Rᵀ: row 0 of y is R times row 0 of x.
        double y00 = 0;
        for (int j = 0; j < d; j++) y00 += (double)opq.Matrix[j] * x[j];
        Assert.Equal(y00, y[0], 1e-3);
    }

    [Fact]
    public void Training_is_deterministic_for_a_seed()
    {
        const int n = 300, d = 8;
        float[] x = Unequal(n, d, 3);
        var a = new OpqRotation(d, 2, 3);
        var b = new OpqRotation(d, 2, 3);
        a.Train(x, n, iterations: 3, seed: 9);
        b.Train(x, n, iterations: 3, seed: 9);
        Assert.True(a.Matrix.SequenceEqual(b.Matrix));
    }

    [Fact]
    public void From_matrix_validates_orthogonality()
    {
        const int n = 300, d = 8;
        var opq = new OpqRotation(d, 2, 3);
        opq.Train(Unequal(n, d, 4), n, iterations: 2);
        var copy = OpqRotation.FromMatrix(d, 2, 3, opq.Matrix.ToArray());
        Assert.True(copy.Matrix.SequenceEqual(opq.Matrix));
        var scaled = new float[d * d];
        for (int i = 0; i < d; i++) scaled[i * d + i] = 2;
        Assert.Throws<InvalidDataException>(() => OpqRotation.FromMatrix(d, 2, 3, scaled));
        Assert.Throws<InvalidDataException>(() => OpqRotation.FromMatrix(d, 2, 3, new float[d * d - 1]));
        Assert.Throws<InvalidDataException>(() => OpqRotation.FromMatrix(d, 3, 3, opq.Matrix.ToArray()));
        var nan = opq.Matrix.ToArray();
        nan[3] = float.NaN;
        Assert.Throws<InvalidDataException>(() => OpqRotation.FromMatrix(d, 2, 3, nan));
    }

    [Fact]
    public void Bad_arguments_name_the_parameter()
    {
        Assert.Equal("subQuantizers", Assert.ThrowsAny<ArgumentException>(() => new OpqRotation(10, 4)).ParamName);
        Assert.Equal("bits", Assert.ThrowsAny<ArgumentException>(() => new OpqRotation(8, 4, 9)).ParamName);
        var opq = new OpqRotation(8, 2, 3);
        Assert.Throws<InvalidOperationException>(() => opq.Apply(new float[8], 1, new float[8]));
        float[] x = Unequal(50, 8, 5);
        Assert.Equal("iterations", Assert.ThrowsAny<ArgumentException>(() => opq.Train(x, 50, iterations: 0)).ParamName);
        Assert.Equal("count", Assert.ThrowsAny<ArgumentException>(() => opq.Train(x.AsSpan(0, 8 * 7), 7)).ParamName);
        Assert.Equal("vectors", Assert.ThrowsAny<ArgumentException>(() => opq.Train(x, 49)).ParamName);
        Assert.Equal("pqKMeans", Assert.ThrowsAny<ArgumentException>(() => opq.Train(x, 50, pqKMeans: new KMeansOptions { Iterations = 0 })).ParamName);
        opq.Train(x, 50, iterations: 1);
        Assert.Equal("y", Assert.ThrowsAny<ArgumentException>(() => opq.Apply(new float[16], 2, new float[15])).ParamName);
        Assert.Equal("x", Assert.ThrowsAny<ArgumentException>(() => opq.Apply(new float[15], 2, new float[16])).ParamName);
    }
}

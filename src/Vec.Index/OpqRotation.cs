using MathNet.Numerics.LinearAlgebra;
using Vec.Index.Internals;
using Vec.Kernels;

namespace Vec.Index;

/// <summary>
/// Optimized product quantization (Ge et al., 2013; FAISS's <c>OPQMatrix</c>): an orthogonal rotation R learned so that
/// the rotated vectors <c>y = R x</c> are coded by a product quantiser with less error. Training alternates PQ training
/// and encoding of the rotated data with the orthogonal Procrustes update of R.
/// </summary>
/// <remarks>
/// With X the training rows and Y their PQ reconstructions in the rotated space, the rotation minimising
/// <c>|X Rᵀ - Y|</c> is <c>Rᵀ = U Vᵀ</c> from the SVD <c>Xᵀ Y = U Σ Vᵀ</c> (computed in double precision with
/// MathNet.Numerics). Training starts from a seeded random rotation (as FAISS does), trains the PQ fully in the first
/// iteration and hot-starts it with a few Lloyd iterations afterwards.
/// </remarks>
public sealed class OpqRotation
{
    /// <summary>At most this many training vectors are used (a seeded sample), like FAISS's <c>max_train_points</c>.</summary>
    public const int MaxTrainingPoints = 65536;

    /// <summary>Lloyd iterations of the hot-started PQ in the iterations after the first (FAISS's <c>niter_pq</c>).</summary>
    private const int HotStartIterations = 4;

    private float[] _matrix = [];

    /// <summary>Creates an untrained rotation.</summary>
    /// <param name="dimension">Vector dimension; a multiple of <paramref name="subQuantizers"/>.</param>
    /// <param name="subQuantizers">Number of sub-quantisers M of the product quantiser the rotation is optimised for.</param>
    /// <param name="bits">Bits per code of that product quantiser, 1..8. Default 8.</param>
    public OpqRotation(int dimension, int subQuantizers, int bits = 8)
    {
        _ = new ProductQuantizer(dimension, subQuantizers, bits); // validates the shape, naming the arguments
        Dimension = dimension;
        SubQuantizers = subQuantizers;
        Bits = bits;
    }

    /// <summary>Vector dimension.</summary>
    public int Dimension { get; }

    /// <summary>Number of sub-quantisers M the rotation is optimised for.</summary>
    public int SubQuantizers { get; }

    /// <summary>Bits per code of the product quantiser the rotation is optimised for.</summary>
    public int Bits { get; }

    /// <summary>Whether the rotation is trained.</summary>
    public bool IsTrained { get; private set; }

    /// <summary>The rotation R, <see cref="Dimension"/> x <see cref="Dimension"/> row-major (y = R x); empty before training.</summary>
    public ReadOnlySpan<float> Matrix => _matrix;

    /// <summary>Mean squared PQ reconstruction error per training vector (in the rotated space) after each iteration.</summary>
    public IReadOnlyList<double> ErrorHistory { get; private set; } = [];

    /// <summary>Learns the rotation.</summary>
    /// <param name="vectors">Row-major training vectors.</param>
    /// <param name="count">Number of training vectors, at least 2^bits.</param>
    /// <param name="iterations">Alternations of PQ training and rotation update, at least 1. Default 25.</param>
    /// <param name="seed">Seed of the sample, the initial rotation and the PQ k-means. Default 1234.</param>
    /// <param name="pqKMeans">k-means settings of the first PQ training; <see langword="null"/> for the defaults (its
    /// seed is replaced by <paramref name="seed"/>).</param>
    /// <param name="kernels">Kernel backend for the matrix products; <see langword="null"/> for the default.</param>
    public unsafe void Train(ReadOnlySpan<float> vectors, int count, int iterations = 25, int seed = 1234, KMeansOptions? pqKMeans = null, IVectorKernels? kernels = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(iterations);
        var options = (pqKMeans ?? new KMeansOptions()) with { Seed = seed };
        KMeans.CheckOptions(options, nameof(pqKMeans));
        int d = Dimension;
        Validation.Matrix(vectors, count, d, nameof(vectors), nameof(count));
        var pq = new ProductQuantizer(d, SubQuantizers, Bits);
        if (count < pq.CentroidsPerSubQuantizer)
            throw new ArgumentException($"Training needs at least {pq.CentroidsPerSubQuantizer} vectors, got {count}.", nameof(count));

        var rng = new Random(seed);
        int n = Math.Min(count, MaxTrainingPoints);
        float[] x = n < count ? KMeansCore.Gather(vectors, d, KMeansCore.SampleIndices(count, n, rng)) : vectors.ToArray();
        float[] xt = Transpose(x, n, d);
        float[] rotation = RandomRotation(d, rng);

        IVectorKernels backend = kernels ?? KernelBackends.CreateDefault();
        try
        {
            var y = new float[n * d];
            var codes = new byte[n * pq.CodeSize];
            var recon = new float[n * d];
            var cross = new float[d * d];
            var history = new List<double>(iterations);
            for (int iter = 0; iter < iterations; iter++)
            {
                backend.InnerProducts(x, n, rotation, d, d, y);          // y = x Rᵀ
                var iterOptions = iter == 0 ? options : options with { Iterations = Math.Min(HotStartIterations, options.Iterations) };
                fixed (float* py = y) pq.TrainCore(py, n, iterOptions, hotStart: iter > 0);
                pq.Encode(y, n, codes);
                pq.Decode(codes, n, recon);
                history.Add(SquaredError(y, recon) / n);

                // Procrustes: Xᵀ Ŷ = U Σ Vᵀ, Rᵀ = U Vᵀ.
                float[] rt = Transpose(recon, n, d);
                backend.InnerProducts(xt, d, rt, d, n, cross);            // cross[a, b] = sum_i x[i, a] ŷ[i, b]
                rotation = Procrustes(cross, d);
            }
            ErrorHistory = history;
        }
        finally
        {
            if (kernels is null) backend.Dispose();
        }
        _matrix = rotation;
        IsTrained = true;
    }

    /// <summary>Rotates vectors: <c>y = x Rᵀ</c> (each row y_i = R x_i).</summary>
    /// <param name="x">Row-major input, exactly <paramref name="count"/> x <see cref="Dimension"/> finite values.</param>
    /// <param name="count">Number of vectors.</param>
    /// <param name="y">Receives at least <paramref name="count"/> x <see cref="Dimension"/> floats; must not overlap <paramref name="x"/>.</param>
    /// <param name="kernels">Kernel backend; <see langword="null"/> for the default.</param>
    public void Apply(ReadOnlySpan<float> x, int count, Span<float> y, IVectorKernels? kernels = null) => Multiply(x, count, y, _matrix, kernels);

    /// <summary>Rotates back: <c>x = y R</c> (the inverse, as R is orthogonal).</summary>
    /// <param name="y">Row-major rotated vectors, exactly <paramref name="count"/> x <see cref="Dimension"/> finite values.</param>
    /// <param name="count">Number of vectors.</param>
    /// <param name="x">Receives at least <paramref name="count"/> x <see cref="Dimension"/> floats; must not overlap <paramref name="y"/>.</param>
    /// <param name="kernels">Kernel backend; <see langword="null"/> for the default.</param>
    public void ApplyInverse(ReadOnlySpan<float> y, int count, Span<float> x, IVectorKernels? kernels = null)
    {
        EnsureTrained();
        Multiply(y, count, x, Transpose(_matrix, Dimension, Dimension), kernels, "y", "x");
    }

    private void Multiply(ReadOnlySpan<float> input, int count, Span<float> output, float[] matrix, IVectorKernels? kernels, string inputName = "x", string outputName = "y")
    {
        EnsureTrained();
        int d = Dimension;
        Validation.Matrix(input, count, d, inputName, nameof(count));
        long needed = (long)count * d;
        if (output.Length < needed) throw new ArgumentException($"Needs room for {count} x {d} = {needed} floats, has {output.Length}.", outputName);
        if (count == 0) return;
        if (input.Overlaps(output[..(int)needed])) throw new ArgumentException("Input and output must not overlap.", outputName);
        IVectorKernels backend = kernels ?? KernelBackends.CreateDefault();
        try { backend.InnerProducts(input, count, matrix, d, d, output[..(int)needed]); }
        finally { if (kernels is null) backend.Dispose(); }
    }

    /// <summary>Rebuilds a trained rotation from its matrix (for loading).</summary>
    /// <exception cref="InvalidDataException">The shape is invalid, a value is not finite or the matrix is not orthogonal
    /// (|R Rᵀ - I| above 1e-3 in some entry).</exception>
    internal static OpqRotation FromMatrix(int dimension, int subQuantizers, int bits, float[] matrix)
    {
        ArgumentNullException.ThrowIfNull(matrix);
        OpqRotation opq;
        try { opq = new OpqRotation(dimension, subQuantizers, bits); }
        catch (ArgumentException e) { throw new InvalidDataException($"Invalid OPQ shape: {e.Message}", e); }
        long expected = (long)dimension * dimension;
        if (matrix.Length != expected)
            throw new InvalidDataException($"OPQ matrix holds {matrix.Length} floats; {dimension} x {dimension} = {expected} expected.");
        for (int i = 0; i < matrix.Length; i++)
            if (!float.IsFinite(matrix[i])) throw new InvalidDataException($"OPQ matrix value {i} is not finite ({matrix[i]}).");
        double worst = OrthogonalityError(matrix, dimension);
        if (worst > 1e-3) throw new InvalidDataException($"OPQ matrix is not orthogonal (largest |R Rᵀ - I| entry {worst:G3}).");
        opq._matrix = (float[])matrix.Clone();
        opq.IsTrained = true;
        return opq;
    }

    /// <summary>Largest absolute entry of R Rᵀ - I.</summary>
    internal static double OrthogonalityError(ReadOnlySpan<float> matrix, int d)
    {
        double worst = 0;
        for (int a = 0; a < d; a++)
        {
            var ra = matrix.Slice(a * d, d);
            for (int b = a; b < d; b++)
            {
                var rb = matrix.Slice(b * d, d);
                double dot = 0;
                for (int j = 0; j < d; j++) dot += (double)ra[j] * rb[j];
                worst = Math.Max(worst, Math.Abs(dot - (a == b ? 1 : 0)));
            }
        }
        return worst;
    }

    private void EnsureTrained()
    {
        if (!IsTrained) throw new InvalidOperationException("The OPQ rotation is not trained; call Train first.");
    }

    private static float[] RandomRotation(int d, Random rng)
    {
        var g = Matrix<double>.Build.Dense(d, d, (_, _) => Normal(rng));
        var q = g.QR().Q;
        return ToRowMajor(q, d);
    }

    /// <summary>R with Rᵀ = U Vᵀ for the SVD U Σ Vᵀ of the d x d row-major <paramref name="cross"/>.</summary>
    private static float[] Procrustes(float[] cross, int d)
    {
        var c = Matrix<double>.Build.Dense(d, d, (i, j) => cross[i * d + j]);
        var svd = c.Svd(computeVectors: true);
        var rt = svd.U * svd.VT;
        return ToRowMajor(rt.Transpose(), d);
    }

    private static float[] ToRowMajor(Matrix<double> m, int d)
    {
        var result = new float[d * d];
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++)
                result[i * d + j] = (float)m[i, j];
        return result;
    }

    private static double Normal(Random rng)
    {
        double u1 = 1.0 - rng.NextDouble(), u2 = rng.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    private static float[] Transpose(float[] a, int rows, int cols)
    {
        var t = new float[rows * cols];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++)
                t[j * rows + i] = a[i * cols + j];
        return t;
    }

    private static double SquaredError(float[] a, float[] b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++)
        {
            double diff = (double)a[i] - b[i];
            s += diff * diff;
        }
        return s;
    }
}

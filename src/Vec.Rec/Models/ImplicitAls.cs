using System.Numerics.Tensors;
using Vec.Kernels;
using Vec.Rec.Internals;

namespace Vec.Rec.Models;

/// <summary>How <see cref="ImplicitAls"/> turns an interaction value r into a confidence c.</summary>
public enum ConfidenceScaling
{
    /// <summary><c>c = 1 + Alpha · r</c> (Hu, Koren and Volinsky).</summary>
    Linear,

    /// <summary><c>c = 1 + Alpha · log(1 + r / Epsilon)</c>.</summary>
    Log,
}

/// <summary>Settings of <see cref="ImplicitAls"/>; the defaults are the values tuned on a validation split of ML-100k's training data.</summary>
public sealed record ImplicitAlsOptions
{
    /// <summary>Latent factors, at least 1.</summary>
    public int Factors { get; init; } = 128;

    /// <summary>L2 regularisation of both factor matrices; at least 0.</summary>
    public float Regularization { get; init; } = 50f;

    /// <summary>Confidence scale; at least 0.</summary>
    public float Alpha { get; init; } = 5f;

    /// <summary>Linear or logarithmic confidence.</summary>
    public ConfidenceScaling Scaling { get; init; } = ConfidenceScaling.Linear;

    /// <summary>Epsilon of <see cref="ConfidenceScaling.Log"/>; greater than 0.</summary>
    public float Epsilon { get; init; } = 1f;

    /// <summary>Value r of an interaction: 1 (binary) or the stored rating.</summary>
    public InteractionWeighting Weighting { get; init; } = InteractionWeighting.Binary;

    /// <summary>Alternating sweeps (users then items), at least 1.</summary>
    public int Iterations { get; init; } = 15;

    /// <summary>Conjugate-gradient steps per row and sweep (warm-started from the previous solution), at least 1.</summary>
    public int CgSteps { get; init; } = 3;

    /// <summary>Seed of the initial factors.</summary>
    public int Seed { get; init; } = 42;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        if (Factors < 1) throw new ArgumentOutOfRangeException(nameof(Factors), Factors, "ImplicitAlsOptions.Factors must be at least 1.");
        if (!(Regularization >= 0) || !float.IsFinite(Regularization)) throw new ArgumentOutOfRangeException(nameof(Regularization), Regularization, "ImplicitAlsOptions.Regularization must be finite and at least 0.");
        if (!(Alpha >= 0) || !float.IsFinite(Alpha)) throw new ArgumentOutOfRangeException(nameof(Alpha), Alpha, "ImplicitAlsOptions.Alpha must be finite and at least 0.");
        if (!Enum.IsDefined(Scaling)) throw new ArgumentOutOfRangeException(nameof(Scaling), Scaling, "Unknown ImplicitAlsOptions.Scaling.");
        if (!(Epsilon > 0) || !float.IsFinite(Epsilon)) throw new ArgumentOutOfRangeException(nameof(Epsilon), Epsilon, "ImplicitAlsOptions.Epsilon must be finite and greater than 0.");
        if (Weighting is not (InteractionWeighting.Binary or InteractionWeighting.Rating)) throw new ArgumentOutOfRangeException(nameof(Weighting), Weighting, "ImplicitAlsOptions.Weighting must be Binary or Rating.");
        if (Iterations < 1) throw new ArgumentOutOfRangeException(nameof(Iterations), Iterations, "ImplicitAlsOptions.Iterations must be at least 1.");
        if (CgSteps < 1) throw new ArgumentOutOfRangeException(nameof(CgSteps), CgSteps, "ImplicitAlsOptions.CgSteps must be at least 1.");
    }
}

/// <summary>
/// Implicit-feedback matrix factorisation (Hu, Koren and Volinsky 2008): minimises
/// <c>Σ_{u,i} c_ui (p_ui − x_uᵀy_i)² + λ(|X|² + |Y|²)</c> with <c>p_ui = 1</c> on observed pairs and confidence <c>c_ui</c>
/// (1 on unobserved ones), by alternating least squares whose per-row systems are solved approximately with a few
/// warm-started conjugate-gradient steps (Takács et al.; the CPU solver of benfred/implicit). Rows are solved in parallel;
/// the result does not depend on the thread count. Scores are <c>U · Vᵀ</c> through the kernels' inner products.
/// </summary>
public sealed class ImplicitAls : Recommender
{
    private float[] _userFactors = [];
    private float[] _itemFactors = [];

    /// <summary>Creates the model.</summary>
    /// <param name="options">Settings; null for the tuned defaults.</param>
    /// <param name="kernels">Kernels for products and top-k; null for the best CPU backend.</param>
    /// <exception cref="ArgumentOutOfRangeException">An invalid setting (named).</exception>
    public ImplicitAls(ImplicitAlsOptions? options = null, IVectorKernels? kernels = null) : base(kernels)
    {
        Options = options ?? new ImplicitAlsOptions();
        Options.Validate();
    }

    /// <summary>The settings.</summary>
    public ImplicitAlsOptions Options { get; }

    /// <inheritdoc />
    public override string Name => "als";

    /// <summary>User factors, row-major <c>UserCount x Factors</c> (a copy).</summary>
    public float[] UserFactors => (float[])_userFactors.Clone();

    /// <summary>Item factors, row-major <c>ItemCount x Factors</c> (a copy).</summary>
    public float[] ItemFactors => (float[])_itemFactors.Clone();

    /// <inheritdoc />
    protected override void FitCore(Interactions train, ItemCatalog? catalog, CancellationToken cancellationToken)
    {
        int m = train.UserCount, n = train.ItemCount, f = Options.Factors;
        float[] raw = CfMath.Weights(train, Options.Weighting);
        var conf = new float[raw.Length];
        for (int p = 0; p < raw.Length; p++)
        {
            double r = raw[p];
            conf[p] = (float)(1 + Options.Alpha * (Options.Scaling == ConfidenceScaling.Linear ? r : Math.Log(1 + r / Options.Epsilon)));
        }

        float[] confT = CfMath.TransposeWeights(train, conf);
        Interactions t = train.Transpose();
        var rng = new Random(Options.Seed);
        var users = new float[(long)m * f];
        var items = new float[(long)n * f];
        for (int i = 0; i < users.Length; i++) users[i] = (float)(rng.NextDouble() * 0.01);
        for (int i = 0; i < items.Length; i++) items[i] = (float)(rng.NextDouble() * 0.01);
        for (int it = 0; it < Options.Iterations; it++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            Sweep(train, conf, users, items, f, cancellationToken);
            Sweep(t, confT, items, users, f, cancellationToken);
        }

        _userFactors = users;
        _itemFactors = items;
    }

    /// <summary>One CG half-sweep: updates every row of <paramref name="x"/> given the fixed <paramref name="y"/>.</summary>
    private void Sweep(Interactions rows, float[] conf, float[] x, float[] y, int f, CancellationToken cancellationToken)
    {
        int ny = y.Length / f;
        float reg = Options.Regularization;
        int steps = Options.CgSteps;
        // YtY + reg I (double accumulation).
        var yty = new float[f * f];
        var acc = new double[f * f];
        for (int j = 0; j < ny; j++)
        {
            ReadOnlySpan<float> yj = y.AsSpan(j * f, f);
            for (int a = 0; a < f; a++)
            {
                double ya = yj[a];
                if (ya == 0) continue;
                for (int b = 0; b < f; b++) acc[a * f + b] += ya * yj[b];
            }
        }

        for (int a = 0; a < f * f; a++) yty[a] = (float)acc[a];
        for (int a = 0; a < f; a++) yty[a * f + a] += reg;
        Parallel.For(0, rows.UserCount, new ParallelOptions { CancellationToken = cancellationToken },
            () => new float[3 * f],
            (u, _, buf) =>
            {
                Span<float> r = buf.AsSpan(0, f), p = buf.AsSpan(f, f), ap = buf.AsSpan(2 * f, f);
                Span<float> xu = x.AsSpan(u * f, f);
                ReadOnlySpan<int> off = rows.RowOffsets, cols = rows.ItemIndices;
                int start = off[u], end = off[u + 1];
                // r = b - A x, with A = YtY + Σ (c - 1) y yᵀ and b = Σ c y.
                MatVec(yty, xu, r, f);
                TensorPrimitives.Negate(r, r);
                for (int q = start; q < end; q++)
                {
                    ReadOnlySpan<float> yi = y.AsSpan(cols[q] * f, f);
                    float c = conf[q];
                    float coef = c - (c - 1) * TensorPrimitives.Dot(yi, xu);
                    TensorPrimitives.MultiplyAdd(yi, coef, r, r);
                }

                r.CopyTo(p);
                float rsOld = TensorPrimitives.Dot(r, r);
                for (int s = 0; s < steps && rsOld >= 1e-20f; s++)
                {
                    MatVec(yty, p, ap, f);
                    for (int q = start; q < end; q++)
                    {
                        ReadOnlySpan<float> yi = y.AsSpan(cols[q] * f, f);
                        float c = conf[q];
                        TensorPrimitives.MultiplyAdd(yi, (c - 1) * TensorPrimitives.Dot(yi, p), ap, ap);
                    }

                    float pAp = TensorPrimitives.Dot(p, ap);
                    if (!(pAp > 0)) break;
                    float step = rsOld / pAp;
                    TensorPrimitives.MultiplyAdd(p, step, xu, xu);
                    TensorPrimitives.MultiplyAdd(ap, -step, r, r);
                    float rsNew = TensorPrimitives.Dot(r, r);
                    if (rsNew < 1e-20f) break;
                    TensorPrimitives.MultiplyAdd(p, rsNew / rsOld, r, p);
                    rsOld = rsNew;
                }

                return buf;
            },
            static _ => { });
    }

    private static void MatVec(float[] a, ReadOnlySpan<float> v, Span<float> destination, int f)
    {
        for (int i = 0; i < f; i++) destination[i] = TensorPrimitives.Dot(a.AsSpan(i * f, f), v);
    }

    /// <inheritdoc />
    protected override void ScoreAllCore(ReadOnlySpan<int> users, Span<float> destination)
    {
        int f = Options.Factors, n = Train.ItemCount;
        var block = new float[users.Length * f];
        for (int r = 0; r < users.Length; r++) _userFactors.AsSpan(users[r] * f, f).CopyTo(block.AsSpan(r * f, f));
        Kernels.InnerProducts(block, users.Length, _itemFactors, n, f, destination);
    }
}

using Vec.Kernels;
using Vec.Rec.Internals;

namespace Vec.Rec.Models;

/// <summary>Settings of <see cref="Ease"/>; the defaults are the values tuned on a validation split of ML-100k's training data.</summary>
public sealed record EaseOptions
{
    /// <summary>L2 regularisation λ added to the Gram matrix's diagonal; greater than 0.</summary>
    public float Lambda { get; init; } = 750f;

    /// <summary>Weighting of the user-item matrix X.</summary>
    public InteractionWeighting Weighting { get; init; } = InteractionWeighting.Binary;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        if (!(Lambda > 0) || !float.IsFinite(Lambda)) throw new ArgumentOutOfRangeException(nameof(Lambda), Lambda, "EaseOptions.Lambda must be finite and greater than 0.");
        if (!Enum.IsDefined(Weighting)) throw new ArgumentOutOfRangeException(nameof(Weighting), Weighting, "Unknown EaseOptions.Weighting.");
    }
}

/// <summary>
/// EASE (Steck, WWW 2019): the closed-form item-item model <c>G = XᵀX + λI</c>, <c>P = G⁻¹</c>,
/// <c>B = −P / diag(P)</c> (column j divided by <c>P_jj</c>), <c>diag(B) = 0</c>; scores <c>X · B</c>. The inverse is a dense
/// Cholesky-based inverse in double.
/// </summary>
public sealed class Ease : Recommender
{
    private float[] _b = [];
    private float[]? _weights;
    private int _n;

    /// <summary>Creates the model.</summary>
    /// <param name="options">Settings; null for the tuned defaults.</param>
    /// <param name="kernels">Kernels for top-k; null for the best CPU backend.</param>
    /// <exception cref="ArgumentOutOfRangeException">An invalid setting (named).</exception>
    public Ease(EaseOptions? options = null, IVectorKernels? kernels = null) : base(kernels)
    {
        Options = options ?? new EaseOptions();
        Options.Validate();
    }

    /// <summary>The settings.</summary>
    public EaseOptions Options { get; }

    /// <inheritdoc />
    public override string Name => "ease";

    /// <inheritdoc />
    protected override void FitCore(Interactions train, ItemCatalog? catalog, CancellationToken cancellationToken)
    {
        int n = train.ItemCount;
        float[] weights = CfMath.Weights(train, Options.Weighting);
        double[] g = CfMath.ItemGram(train, weights, cancellationToken);
        for (int i = 0; i < n; i++) g[(long)i * n + i] += Options.Lambda;
        double[] p = CfMath.InverseSpd(g, n, cancellationToken);
        g = null!;
        var b = new float[(long)n * n];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++) b[(long)i * n + j] = i == j ? 0f : (float)(-p[(long)i * n + j] / p[(long)j * n + j]);
        }

        _b = b;
        _n = n;
        _weights = Options.Weighting == InteractionWeighting.Binary ? null : weights;
    }

    /// <summary>The learned weight <c>B[from, to]</c>: how much a seen item adds to a target item's score.</summary>
    /// <param name="from">Seen item.</param>
    /// <param name="to">Target item.</param>
    public float Weight(int from, int to)
    {
        int n = Train.ItemCount;
        if ((uint)from >= (uint)n) throw new ArgumentOutOfRangeException(nameof(from), from, $"Item index must be 0..{n - 1}.");
        if ((uint)to >= (uint)n) throw new ArgumentOutOfRangeException(nameof(to), to, $"Item index must be 0..{n - 1}.");
        return _b[(long)from * n + to];
    }

    /// <inheritdoc />
    protected override void ScoreAllCore(ReadOnlySpan<int> users, Span<float> destination) =>
        CfMath.SparseRowsTimesDense(Train, _weights, users, _b, _n, destination);

    /// <inheritdoc />
    public override IReadOnlyList<Contribution> Explain(int user, int item, int top = 5) =>
        CfMath.ExplainItemMatrix(Train, _weights, _b, _n, user, item, top);
}

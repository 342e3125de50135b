using Vec.Kernels;
using Vec.Rec.Internals;

namespace Vec.Rec.Models;

/// <summary>Settings of <see cref="Rp3Beta"/>; the defaults are the values tuned on a validation split of ML-100k's training data.</summary>
public sealed record Rp3BetaOptions
{
    /// <summary>Exponent applied to both transition probabilities; greater than 0.</summary>
    public float Alpha { get; init; } = 0.8f;

    /// <summary>Popularity penalty: column j of the item-item matrix is divided by <c>popularity(j)^Beta</c>; 0 gives P3alpha. At least 0.</summary>
    public float Beta { get; init; } = 0.5f;

    /// <summary>Neighbours kept per (source) item row, at least 1.</summary>
    public int Neighbors { get; init; } = 400;

    /// <summary>Whether each kept row is re-normalised to sum 1.</summary>
    public bool NormalizeSimilarity { get; init; }

    /// <summary>Weighting of the user-to-item transitions (item-to-user transitions are always binary, as in Dacrema's implementation).</summary>
    public InteractionWeighting Weighting { get; init; } = InteractionWeighting.Binary;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        if (!(Alpha > 0) || !float.IsFinite(Alpha)) throw new ArgumentOutOfRangeException(nameof(Alpha), Alpha, "Rp3BetaOptions.Alpha must be finite and greater than 0.");
        if (!(Beta >= 0) || !float.IsFinite(Beta)) throw new ArgumentOutOfRangeException(nameof(Beta), Beta, "Rp3BetaOptions.Beta must be finite and at least 0.");
        if (Neighbors < 1) throw new ArgumentOutOfRangeException(nameof(Neighbors), Neighbors, "Rp3BetaOptions.Neighbors must be at least 1.");
        if (!Enum.IsDefined(Weighting)) throw new ArgumentOutOfRangeException(nameof(Weighting), Weighting, "Unknown Rp3BetaOptions.Weighting.");
    }
}

/// <summary>
/// RP3beta (Paudel et al. 2017; Dacrema et al.'s RecSys 2019 implementation): a three-step random walk item → user → item.
/// <c>P_ui</c> is the user-item matrix row-normalised (L1) then raised to <c>Alpha</c>, <c>P_iu</c> the binary item-user
/// matrix row-normalised then raised to <c>Alpha</c>; <c>W = P_iu · P_ui</c> with its diagonal removed, column j divided by
/// <c>popularity(j)^Beta</c>, the <c>Neighbors</c> largest entries kept per row, optionally rows re-normalised; score = <c>X · W</c>
/// on the binary user-item matrix. <c>Beta = 0</c> is P3alpha.
/// </summary>
public sealed class Rp3Beta : Recommender
{
    private float[] _w = [];
    private int _n;

    /// <summary>Creates the model.</summary>
    /// <param name="options">Settings; null for the tuned defaults.</param>
    /// <param name="kernels">Kernels for top-k; null for the best CPU backend.</param>
    /// <exception cref="ArgumentOutOfRangeException">An invalid setting (named).</exception>
    public Rp3Beta(Rp3BetaOptions? options = null, IVectorKernels? kernels = null) : base(kernels)
    {
        Options = options ?? new Rp3BetaOptions();
        Options.Validate();
    }

    /// <summary>The settings.</summary>
    public Rp3BetaOptions Options { get; }

    /// <inheritdoc />
    public override string Name => "rp3b";

    /// <inheritdoc />
    protected override void FitCore(Interactions train, ItemCatalog? catalog, CancellationToken cancellationToken)
    {
        int n = train.ItemCount, m = train.UserCount;
        double alpha = Options.Alpha, beta = Options.Beta;
        // P_ui: user rows, L1-normalised, ^alpha.
        float[] pui = CfMath.Weights(train, Options.Weighting);
        ReadOnlySpan<int> ro = train.RowOffsets;
        for (int u = 0; u < m; u++)
        {
            double s = 0;
            for (int p = ro[u]; p < ro[u + 1]; p++) s += Math.Abs(pui[p]);
            for (int p = ro[u]; p < ro[u + 1]; p++) pui[p] = s > 0 ? (float)Math.Pow(pui[p] / s, alpha) : 0f;
        }

        // P_iu: binary item rows, L1-normalised (1 / popularity), ^alpha.
        int[] pop = CfMath.ItemCounts(train);
        var piu = new double[n];
        var penalty = new double[n];
        for (int i = 0; i < n; i++)
        {
            piu[i] = pop[i] > 0 ? Math.Pow(1.0 / pop[i], alpha) : 0;
            penalty[i] = pop[i] > 0 ? Math.Pow(pop[i], -beta) : 0;
        }

        Interactions t = train.Transpose();
        var w = new float[(long)n * n];
        Parallel.For(0, n, new ParallelOptions { CancellationToken = cancellationToken }, i =>
        {
            var acc = new double[n];
            ReadOnlySpan<int> to = t.RowOffsets, tu = t.ItemIndices, rOff = train.RowOffsets, rItems = train.ItemIndices;
            for (int q = to[i]; q < to[i + 1]; q++)
            {
                int u = tu[q];
                for (int p = rOff[u]; p < rOff[u + 1]; p++) acc[rItems[p]] += pui[p];
            }

            Span<float> row = w.AsSpan(i * n, n);
            for (int j = 0; j < n; j++) row[j] = j == i ? 0f : (float)(acc[j] * piu[i] * penalty[j]);
        });
        CfMath.KeepTopKPerRow(Kernels, w, n, n, Math.Min(Options.Neighbors, n));
        if (Options.NormalizeSimilarity)
        {
            for (int i = 0; i < n; i++)
            {
                Span<float> row = w.AsSpan(i * n, n);
                double s = 0;
                foreach (float v in row) s += v;
                if (s > 0)
                {
                    for (int j = 0; j < n; j++) row[j] = (float)(row[j] / s);
                }
            }
        }

        _w = w;
        _n = n;
    }

    /// <summary>The item-item weight from a seen item to a target item (0 where not kept).</summary>
    /// <param name="from">Seen (source) item.</param>
    /// <param name="to">Target item.</param>
    public float Weight(int from, int to)
    {
        int n = Train.ItemCount;
        if ((uint)from >= (uint)n) throw new ArgumentOutOfRangeException(nameof(from), from, $"Item index must be 0..{n - 1}.");
        if ((uint)to >= (uint)n) throw new ArgumentOutOfRangeException(nameof(to), to, $"Item index must be 0..{n - 1}.");
        return _w[(long)from * n + to];
    }

    /// <inheritdoc />
    protected override void ScoreAllCore(ReadOnlySpan<int> users, Span<float> destination) =>
        CfMath.SparseRowsTimesDense(Train, null, users, _w, _n, destination);

    /// <inheritdoc />
    public override IReadOnlyList<Contribution> Explain(int user, int item, int top = 5) =>
        CfMath.ExplainItemMatrix(Train, null, _w, _n, user, item, top);
}

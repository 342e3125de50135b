using Vec.Kernels;
using Vec.Rec.Internals;

namespace Vec.Rec.Models;

/// <summary>Settings of <see cref="ItemKnn"/>; the defaults are the values tuned on a validation split of ML-100k's training data.</summary>
public sealed record ItemKnnOptions
{
    /// <summary>Neighbours kept per target item (the most similar items), at least 1.</summary>
    public int Neighbors { get; init; } = 200;

    /// <summary>Shrinkage added to the cosine denominator, <c>dot / (|a||b| + Shrink)</c>; at least 0.</summary>
    public float Shrink { get; init; } = 100;

    /// <summary>Weighting of the matrix the similarities are computed on; TF-IDF and BM25 treat items as documents and users as terms (Dacrema et al.).</summary>
    public InteractionWeighting Weighting { get; init; } = InteractionWeighting.TfIdf;

    /// <summary>Weighting of the user's own interactions when scoring (<c>w_uj</c>).</summary>
    public InteractionWeighting ScoreWeighting { get; init; } = InteractionWeighting.Binary;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        if (Neighbors < 1) throw new ArgumentOutOfRangeException(nameof(Neighbors), Neighbors, "ItemKnnOptions.Neighbors must be at least 1.");
        if (!(Shrink >= 0) || !float.IsFinite(Shrink)) throw new ArgumentOutOfRangeException(nameof(Shrink), Shrink, "ItemKnnOptions.Shrink must be finite and at least 0.");
        if (!Enum.IsDefined(Weighting)) throw new ArgumentOutOfRangeException(nameof(Weighting), Weighting, "Unknown ItemKnnOptions.Weighting.");
        if (!Enum.IsDefined(ScoreWeighting)) throw new ArgumentOutOfRangeException(nameof(ScoreWeighting), ScoreWeighting, "Unknown ItemKnnOptions.ScoreWeighting.");
    }
}

/// <summary>
/// Item-based k-nearest-neighbours: cosine similarity between item columns of the (weighted) training matrix with
/// shrinkage, <c>sim(i, j) = x_i·x_j / (|x_i| |x_j| + shrink)</c>, keeping each target item's <c>Neighbors</c> most similar
/// items; a user's score for item i is <c>Σ_{j seen} w_uj · sim(j, i)</c>.
/// </summary>
public sealed class ItemKnn : Recommender
{
    private float[] _w = [];
    private float[]? _scoreWeights;
    private int _n;

    /// <summary>Creates the model.</summary>
    /// <param name="options">Settings; null for the tuned defaults.</param>
    /// <param name="kernels">Kernels for top-k; null for the best CPU backend.</param>
    /// <exception cref="ArgumentOutOfRangeException">An invalid setting (named).</exception>
    public ItemKnn(ItemKnnOptions? options = null, IVectorKernels? kernels = null) : base(kernels)
    {
        Options = options ?? new ItemKnnOptions();
        Options.Validate();
    }

    /// <summary>The settings.</summary>
    public ItemKnnOptions Options { get; }

    /// <inheritdoc />
    public override string Name => "itemknn";

    /// <inheritdoc />
    protected override void FitCore(Interactions train, ItemCatalog? catalog, CancellationToken cancellationToken)
    {
        int n = train.ItemCount;
        // TF-IDF / BM25 as in Dacrema et al.'s ItemKNNCF: on the item-major matrix, items are documents and users terms.
        Interactions byItem = train.Transpose();
        float[] weights = Options.Weighting is InteractionWeighting.TfIdf or InteractionWeighting.Bm25
            ? CfMath.TransposeWeights(byItem, CfMath.Weights(byItem, Options.Weighting))
            : CfMath.Weights(train, Options.Weighting);
        double[] gram = CfMath.ItemGram(train, weights, cancellationToken);
        var norms = new double[n];
        for (int i = 0; i < n; i++) norms[i] = Math.Sqrt(gram[(long)i * n + i]);
        // sim[i, j] row i = target item i, column j = neighbour; keep top-k per target, then store transposed (W[j, i]).
        var sim = new float[(long)n * n];
        double shrink = Options.Shrink;
        Parallel.For(0, n, new ParallelOptions { CancellationToken = cancellationToken }, i =>
        {
            for (int j = 0; j < n; j++)
            {
                double d = gram[(long)i * n + j];
                sim[(long)i * n + j] = i == j || d == 0 ? 0f : (float)(d / (norms[i] * norms[j] + shrink + 1e-12));
            }
        });
        gram = null!;
        CfMath.KeepTopKPerRow(Kernels, sim, n, n, Math.Min(Options.Neighbors, n));
        var w = new float[(long)n * n];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++) w[(long)j * n + i] = sim[(long)i * n + j];
        }

        _w = w;
        _n = n;
        _scoreWeights = Options.ScoreWeighting == InteractionWeighting.Binary ? null : CfMath.Weights(train, Options.ScoreWeighting);
    }

    /// <summary>The similarity used for scoring: how much a seen item <paramref name="from"/> adds to item <paramref name="to"/>'s score (0 where not a kept neighbour).</summary>
    /// <param name="from">Seen item.</param>
    /// <param name="to">Target item.</param>
    public float Similarity(int from, int to)
    {
        int n = Train.ItemCount;
        if ((uint)from >= (uint)n) throw new ArgumentOutOfRangeException(nameof(from), from, $"Item index must be 0..{n - 1}.");
        if ((uint)to >= (uint)n) throw new ArgumentOutOfRangeException(nameof(to), to, $"Item index must be 0..{n - 1}.");
        return _w[(long)from * n + to];
    }

    /// <inheritdoc />
    protected override void ScoreAllCore(ReadOnlySpan<int> users, Span<float> destination) =>
        CfMath.SparseRowsTimesDense(Train, _scoreWeights, users, _w, _n, destination);

    /// <inheritdoc />
    public override IReadOnlyList<Contribution> Explain(int user, int item, int top = 5) =>
        CfMath.ExplainItemMatrix(Train, _scoreWeights, _w, _n, user, item, top);
}

using Vec.Kernels;
using Vec.Rec.Evaluation;

namespace Vec.Rec.Models;

/// <summary>
/// Hybrid of a collaborative model and <see cref="ContentRecommender"/>: per user row, each component's scores are
/// normalised (<see cref="HybridRecommenderOptions.Normalization"/>; the CF row over the warm items, the content row over all
/// items) and blended as <c>s = a · CF + (1 − a) · content</c>. Cold items (no training interactions) and users without
/// history use the content score alone (a = 0 for them).
/// </summary>
/// <remarks>
/// Unless <see cref="HybridRecommenderOptions.Alpha"/> fixes it, a is tuned at <see cref="Recommender.Fit"/>: the training
/// interactions are split again (item-stratified, <see cref="HybridRecommenderOptions.ValidationFraction"/> held out), both
/// components are fitted on the rest, every a of <see cref="HybridRecommenderOptions.AlphaGrid"/> is scored by nDCG@k on
/// the held-out part (candidates: the items with interactions in the reduced training data, seen items removed), the best
/// (first on ties) is kept, and both components are refitted on all training data. Test data is never seen.
/// </remarks>
public sealed class HybridRecommender : Recommender
{
    private readonly Func<Recommender> _cfFactory;
    private readonly Func<Recommender> _contentFactory;
    private Recommender? _cf;
    private Recommender? _content;
    private bool[] _warm = [];
    private double _alpha;

    /// <summary>Creates the model with components from the registry.</summary>
    /// <param name="options">Settings; null for the defaults.</param>
    /// <param name="context">Kernels and encoder shared with the components; null for defaults.</param>
    public HybridRecommender(HybridRecommenderOptions? options = null, RecommenderContext? context = null)
        : this(options, context, null, null)
    {
    }

    /// <summary>Creates the model with given component factories (each call must return a new, unfitted model).</summary>
    /// <param name="options">Settings; null for the defaults.</param>
    /// <param name="context">Kernels and encoder; null for defaults.</param>
    /// <param name="cfFactory">The collaborative component; null for <see cref="HybridRecommenderOptions.CfModel"/> from the registry.</param>
    /// <param name="contentFactory">The content component; null for a <see cref="ContentRecommender"/> with <see cref="HybridRecommenderOptions.Content"/>.</param>
    public HybridRecommender(HybridRecommenderOptions? options, RecommenderContext? context, Func<Recommender>? cfFactory, Func<Recommender>? contentFactory)
        : base(context?.Kernels)
    {
        Options = options ?? new HybridRecommenderOptions();
        Options.Validate(nameof(options));
        context ??= new RecommenderContext();
        string cfName = Options.CfModel ?? DefaultCfModel();
        if (cfFactory is null && !RecommenderRegistry.Names.Contains(cfName))
            throw new ArgumentException($"Unknown CF model '{cfName}'; known: {string.Join(", ", RecommenderRegistry.Names)}.", nameof(options));
        _cfFactory = cfFactory ?? (() => RecommenderRegistry.Create(cfName, context));
        _contentFactory = contentFactory ?? (() => new ContentRecommender(Options.Content, context.Encoder, context.Kernels));
    }

    /// <summary>The first registered of <c>ease</c>, <c>sar</c>, <c>itemknn</c>, <c>pop</c>.</summary>
    public static string DefaultCfModel() => new[] { "ease", "sar", "itemknn", "pop" }.First(n => RecommenderRegistry.Names.Contains(n) || n == "pop");

    /// <summary>The settings.</summary>
    public HybridRecommenderOptions Options { get; }

    /// <inheritdoc />
    public override string Name => "hybrid";

    /// <summary>The blend weight a in use (fixed or tuned).</summary>
    public double Alpha => IsFitted ? _alpha : throw new InvalidOperationException("HybridRecommender is not fitted: call Fit first.");

    /// <summary>nDCG@k on the validation split for each a tried (empty when a was fixed).</summary>
    public IReadOnlyList<(double Alpha, double Ndcg)> ValidationScores { get; private set; } = [];

    /// <summary>The validation split used for tuning: (reduced training, held-out) interactions; null when a was fixed.</summary>
    public (Interactions Train, Interactions Validation)? ValidationSplit { get; private set; }

    /// <summary>The collaborative component.</summary>
    public Recommender Cf => _cf ?? throw new InvalidOperationException("HybridRecommender is not fitted: call Fit first.");

    /// <summary>The content component.</summary>
    public Recommender Content => _content ?? throw new InvalidOperationException("HybridRecommender is not fitted: call Fit first.");

    /// <inheritdoc />
    protected override void FitCore(Interactions train, ItemCatalog? catalog, CancellationToken cancellationToken)
    {
        if (catalog is null) throw new ArgumentException("The hybrid recommender needs the item catalog.", nameof(catalog));
        double alpha;
        if (Options.Alpha is double fixedAlpha)
        {
            alpha = fixedAlpha;
            ValidationScores = [];
            ValidationSplit = null;
        }
        else
        {
            (alpha, ValidationScores, ValidationSplit) = Tune(train, catalog, cancellationToken);
        }

        Recommender cf = _cfFactory(), content = _contentFactory();
        try
        {
            cf.Fit(train, catalog, cancellationToken);
            content.Fit(train, catalog, cancellationToken);
        }
        catch
        {
            cf.Dispose();
            content.Dispose();
            throw;
        }

        _cf?.Dispose();
        _content?.Dispose();
        _cf = cf;
        _content = content;
        _warm = Evaluator.TrainItems(train);
        _alpha = alpha;
    }

    private (double, IReadOnlyList<(double, double)>, (Interactions, Interactions)) Tune(Interactions train, ItemCatalog catalog, CancellationToken cancellationToken)
    {
        var ratings = new List<Rating>(train.Count);
        for (int u = 0; u < train.UserCount; u++)
        {
            ReadOnlySpan<int> items = train.ItemsOf(u);
            ReadOnlySpan<float> values = train.ValuesOf(u);
            ReadOnlySpan<long> times = train.TimestampsOf(u);
            for (int j = 0; j < items.Length; j++) ratings.Add(new Rating(train.Users[u], train.Items[items[j]], values[j], times[j]));
        }

        RatingSplit split = Splits.Stratified(ratings, 1 - Options.ValidationFraction, Options.ValidationSeed, byItem: true);
        Interactions vTrain = Interactions.Build(split.Train, train.Users, train.Items);
        Interactions vTest = Interactions.Build(split.Test, train.Users, train.Items);
        using Recommender cf = _cfFactory(), content = _contentFactory();
        cf.Fit(vTrain, catalog, cancellationToken);
        content.Fit(vTrain, catalog, cancellationToken);
        bool[] warm = Evaluator.TrainItems(vTrain);
        int[] users = [.. Enumerable.Range(0, vTest.UserCount).Where(u => vTest.ItemsOf(u).Length > 0)];
        int n = train.ItemCount, k = Math.Min(Options.ValidationK, n);
        var cfScores = new float[(long)users.Length * n];
        var contentScores = new float[(long)users.Length * n];
        cf.ScoreAll(users, cfScores);
        content.ScoreAll(users, contentScores);
        for (int r = 0; r < users.Length; r++)
        {
            Normalize(cfScores.AsSpan(r * n, n), warm, Options.Normalization);
            Normalize(contentScores.AsSpan(r * n, n), null, Options.Normalization);
        }

        var blended = new float[(long)users.Length * n];
        var topItems = new int[users.Length * k];
        var topScores = new float[users.Length * k];
        var results = new List<(double, double)>();
        double best = double.NegativeInfinity, bestAlpha = 0;
        foreach (double a in Options.AlphaGrid)
        {
            cancellationToken.ThrowIfCancellationRequested();
            for (int r = 0; r < users.Length; r++)
            {
                Span<float> row = blended.AsSpan(r * n, n);
                Blend(cfScores.AsSpan(r * n, n), contentScores.AsSpan(r * n, n), row, warm, vTrain.ItemsOf(users[r]).Length > 0 ? a : 0);
                for (int i = 0; i < n; i++)
                {
                    if (!warm[i] || float.IsNaN(row[i])) row[i] = float.NegativeInfinity;
                }

                foreach (int i in vTrain.ItemsOf(users[r])) row[i] = float.NegativeInfinity;
            }

            Kernels.TopK(blended, users.Length, n, k, TopKOrder.Largest, topItems, topScores);
            for (int j = 0; j < topItems.Length; j++)
            {
                if (float.IsNegativeInfinity(topScores[j])) topItems[j] = -1;
            }

            RankingMetrics m = Metrics.Compute(new RecommendationBatch(users, k, topItems, topScores), vTest, vTrain, warm.Count(w => w));
            results.Add((a, m.Ndcg));
            if (m.Ndcg > best)
            {
                best = m.Ndcg;
                bestAlpha = a;
            }
        }

        return (bestAlpha, results, (vTrain, vTest));
    }

    /// <inheritdoc />
    protected override void ScoreAllCore(ReadOnlySpan<int> users, Span<float> destination)
    {
        int n = Train.ItemCount;
        var cf = new float[destination.Length];
        _cf!.ScoreAll(users, cf);
        _content!.ScoreAll(users, destination);
        for (int r = 0; r < users.Length; r++)
        {
            Span<float> row = destination.Slice(r * n, n), cfRow = cf.AsSpan(r * n, n);
            Normalize(cfRow, _warm, Options.Normalization);
            Normalize(row, null, Options.Normalization);
            Blend(cfRow, row, row, _warm, Train.ItemsOf(users[r]).Length > 0 ? _alpha : 0);
        }
    }

    /// <summary>The content component's explanation.</summary>
    /// <param name="user">Dense user index.</param>
    /// <param name="item">Dense item index.</param>
    /// <param name="top">Most contributions returned.</param>
    public override IReadOnlyList<Contribution> Explain(int user, int item, int top = 5)
    {
        IReadOnlyList<Contribution> cf = Cf.Explain(user, item, top);
        return cf.Count > 0 && _alpha >= 0.5 && _warm[item] ? cf : Content.Explain(user, item, top);
    }

    private static void Blend(ReadOnlySpan<float> cf, ReadOnlySpan<float> content, Span<float> destination, bool[] warm, double a)
    {
        float fa = (float)a, fb = (float)(1 - a);
        for (int i = 0; i < destination.Length; i++) destination[i] = warm[i] && a > 0 ? fa * cf[i] + fb * content[i] : content[i];
    }

    /// <summary>Normalises a score row in place over the masked entries (all when null); others and non-finite scores are left as they are.</summary>
    /// <param name="row">Scores.</param>
    /// <param name="mask">Entries that count, or null.</param>
    /// <param name="mode">The normalisation.</param>
    internal static void Normalize(Span<float> row, bool[]? mask, ScoreNormalization mode)
    {
        double sum = 0, sq = 0, min = double.PositiveInfinity, max = double.NegativeInfinity;
        int count = 0;
        for (int i = 0; i < row.Length; i++)
        {
            if ((mask is not null && !mask[i]) || !float.IsFinite(row[i])) continue;
            double x = row[i];
            sum += x;
            sq += x * x;
            min = Math.Min(min, x);
            max = Math.Max(max, x);
            count++;
        }

        if (count == 0) return;
        double shift, scale;
        if (mode == ScoreNormalization.ZScore)
        {
            shift = sum / count;
            double std = Math.Sqrt(Math.Max(sq / count - shift * shift, 0));
            scale = std > 1e-12 * Math.Max(1, Math.Abs(shift)) ? 1 / std : 0;
        }
        else
        {
            shift = min;
            scale = max - min > 0 ? 1 / (max - min) : 0;
        }

        for (int i = 0; i < row.Length; i++)
        {
            if ((mask is not null && !mask[i]) || !float.IsFinite(row[i])) continue;
            row[i] = (float)((row[i] - shift) * scale);
        }
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _cf?.Dispose();
            _content?.Dispose();
        }

        base.Dispose(disposing);
    }
}

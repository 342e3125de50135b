using Vec.Embed;
using Vec.Index;
using Vec.Kernels;
using Vec.Rec.Content;

namespace Vec.Rec.Models;

/// <summary>
/// Content-based recommender on text embeddings of the catalog (<see cref="CatalogItem.EmbeddingText"/>), optionally with
/// genre and release-year blocks (<see cref="ItemFeatures"/>).
/// </summary>
/// <remarks>
/// <para><b>Profile.</b> User u's profile is <c>p_u = normalize(Σ_i w_ui v_i)</c> over the training items i of u, with
/// <c>w_ui = (r_ui − r̄_u + c) · 0.5^((T − t_ui) / h)</c>: r̄_u the user's mean training rating, c =
/// <see cref="ContentRecommenderOptions.RatingOffset"/>, T the latest training timestamp, h =
/// <see cref="ContentRecommenderOptions.HalfLifeDays"/> (no decay when null). When every weight is 0 the plain mean is used.
/// Users without history have a zero profile.</para>
/// <para><b>Scores.</b> <see cref="ContentScoring.Similarity"/>: <c>p_u · v_i</c> (cosine). <see cref="ContentScoring.Bilinear"/>:
/// <c>(x_u F) W f_i</c>, see <see cref="ContentRecommenderOptions.Scoring"/>. Cold items (no training interactions) are
/// scored like warm ones, from their content only. <see cref="Recommender.ScoreAll"/> multiplies blocks of user vectors by
/// the item vectors through <see cref="IVectorKernels.InnerProducts"/>; <see cref="RecommendForText"/> and
/// <see cref="RecommendSimilar"/> search a cosine <see cref="FlatIndex"/> of the item vectors.</para>
/// </remarks>
public sealed class ContentRecommender : Recommender
{
    private readonly TextEncoder? _givenEncoder;
    private TextEncoder? _encoder;
    private bool _ownsEncoder;
    private ItemFeatures? _features;
    private float[] _profiles = [];
    private float[] _userVectors = [];
    private float[] _itemVectors = [];
    private int _scoreDimension;
    private FlatIndex? _index;

    /// <summary>Creates the model.</summary>
    /// <param name="options">Settings; null for the defaults.</param>
    /// <param name="encoder">The text encoder (not disposed by the model); null to create one at <see cref="Recommender.Fit"/>
    /// (an ONNX model from <see cref="ContentRecommenderOptions.ModelFolder"/>, else <c>TextEncoders.CreateDefault(corpus: catalog texts)</c>).</param>
    /// <param name="kernels">Kernels; null for the best CPU backend.</param>
    public ContentRecommender(ContentRecommenderOptions? options = null, TextEncoder? encoder = null, IVectorKernels? kernels = null) : base(kernels)
    {
        Options = options ?? new ContentRecommenderOptions();
        Options.Validate(nameof(options));
        _givenEncoder = encoder;
    }

    /// <summary>The settings.</summary>
    public ContentRecommenderOptions Options { get; }

    /// <inheritdoc />
    public override string Name => "content";

    /// <summary>The encoder in use (after fitting).</summary>
    public TextEncoder Encoder => _encoder ?? throw new InvalidOperationException("ContentRecommender is not fitted: call Fit first.");

    /// <summary>The item vectors (profiles, similarity scoring, free text), one row per training item index.</summary>
    public ItemFeatures ItemFeatures => _features ?? throw new InvalidOperationException("ContentRecommender is not fitted: call Fit first.");

    /// <summary>User u's unit-length profile (zero for a user without history).</summary>
    /// <param name="user">Dense user index.</param>
    public ReadOnlySpan<float> Profile(int user)
    {
        ItemFeatures f = ItemFeatures;
        if ((uint)user >= (uint)Train.UserCount) throw new ArgumentOutOfRangeException(nameof(user), user, $"User index must be 0..{Train.UserCount - 1}.");
        return _profiles.AsSpan(user * f.Dimension, f.Dimension);
    }

    /// <summary>The profile weights <c>w_ui</c> of a user's training items (aligned with <c>Train.ItemsOf(user)</c>).</summary>
    /// <param name="train">Training interactions.</param>
    /// <param name="user">Dense user index.</param>
    /// <param name="ratingOffset">c.</param>
    /// <param name="halfLifeDays">h, or null.</param>
    /// <returns>The weights.</returns>
    public static float[] ProfileWeights(Interactions train, int user, float ratingOffset, double? halfLifeDays)
    {
        ArgumentNullException.ThrowIfNull(train);
        ReadOnlySpan<float> r = train.ValuesOf(user);
        ReadOnlySpan<long> t = train.TimestampsOf(user);
        var w = new float[r.Length];
        if (r.Length == 0) return w;
        double mean = 0;
        foreach (float x in r) mean += x;
        mean /= r.Length;
        long now = train.MaxTimestamp;
        bool any = false;
        for (int j = 0; j < r.Length; j++)
        {
            double decay = halfLifeDays is double h ? Math.Pow(0.5, (now - t[j]) / (h * 86400.0)) : 1.0;
            w[j] = (float)((r[j] - mean + ratingOffset) * decay);
            any |= w[j] != 0;
        }

        if (!any) Array.Fill(w, 1f);
        return w;
    }

    /// <inheritdoc />
    protected override void FitCore(Interactions train, ItemCatalog? catalog, CancellationToken cancellationToken)
    {
        if (catalog is null) throw new ArgumentException("The content recommender needs the item catalog.", nameof(catalog));
        if (_encoder is null)
        {
            if (_givenEncoder is not null)
            {
                _encoder = _givenEncoder;
            }
            else
            {
                var texts = new List<string>(train.ItemCount);
                for (int i = 0; i < train.ItemCount; i++) texts.Add(catalog.TryGet(train.Items[i], out CatalogItem? item) ? item.EmbeddingText : string.Empty);
                _encoder = Options.ModelFolder is not null ? new OnnxTextEncoder(Options.ModelFolder) : TextEncoders.CreateDefault(corpus: texts);
                _ownsEncoder = true;
            }
        }

        ItemFeatures v = ItemFeatures.Build(_encoder, catalog, train.Items, Options.Features, Kernels, cancellationToken);
        int d = v.Dimension, users = train.UserCount;
        var profiles = new float[(long)users * d];
        for (int u = 0; u < users; u++)
        {
            ReadOnlySpan<int> items = train.ItemsOf(u);
            float[] w = ProfileWeights(train, u, Options.RatingOffset, Options.HalfLifeDays);
            Span<float> p = profiles.AsSpan(u * d, d);
            for (int j = 0; j < items.Length; j++)
            {
                ReadOnlySpan<float> row = v.Row(items[j]);
                for (int c = 0; c < d; c++) p[c] += w[j] * row[c];
            }
        }

        Kernels.L2Normalize(profiles, users, d);
        cancellationToken.ThrowIfCancellationRequested();
        if (Options.Scoring == ContentScoring.Similarity)
        {
            _userVectors = profiles;
            _itemVectors = v.Vectors;
            _scoreDimension = d;
        }
        else
        {
            FitBilinear(train, catalog, cancellationToken);
        }

        var index = new FlatIndex(d, Metric.Cosine, Kernels);
        index.AddRange(0, v.Vectors);
        _index?.Dispose();
        _index = index;
        _features = v;
        _profiles = profiles;
    }

    private void FitBilinear(Interactions train, ItemCatalog catalog, CancellationToken cancellationToken)
    {
        ItemFeatures f0 = ItemFeatures.Build(_encoder!, catalog, train.Items, Options.BilinearFeatures, Kernels, cancellationToken);
        int n = train.ItemCount, d = f0.Dimension + 1, users = train.UserCount;
        var f = new float[(long)n * d];
        for (int i = 0; i < n; i++)
        {
            f0.Row(i).CopyTo(f.AsSpan(i * d, d - 1));
            f[i * d + d - 1] = 1f;
        }

        bool[] warm = Evaluation.Evaluator.TrainItems(train);
        var a = new double[(long)users * d];
        for (int u = 0; u < users; u++)
        {
            Span<double> row = a.AsSpan(u * d, d);
            foreach (int i in train.ItemsOf(u))
            {
                ReadOnlySpan<float> fi = f.AsSpan(i * d, d);
                for (int c = 0; c < d; c++) row[c] += fi[c];
            }
        }

        cancellationToken.ThrowIfCancellationRequested();
        double[] w = LinearModels.Bilinear(a, users, a, f, n, d, warm, Options.BilinearLambda);
        var q = new float[(long)users * d];
        for (int u = 0; u < users; u++)
        {
            ReadOnlySpan<double> au = a.AsSpan(u * d, d);
            for (int j = 0; j < d; j++)
            {
                double s = 0;
                for (int c = 0; c < d; c++) s += au[c] * w[c * d + j];
                q[u * d + j] = (float)s;
            }
        }

        _userVectors = q;
        _itemVectors = f;
        _scoreDimension = d;
    }

    /// <inheritdoc />
    protected override void ScoreAllCore(ReadOnlySpan<int> users, Span<float> destination)
    {
        int n = Train.ItemCount, d = _scoreDimension;
        const int Block = 256;
        var q = new float[Math.Min(Block, users.Length) * d];
        for (int start = 0; start < users.Length; start += Block)
        {
            int b = Math.Min(Block, users.Length - start);
            for (int r = 0; r < b; r++) _userVectors.AsSpan(users[start + r] * d, d).CopyTo(q.AsSpan(r * d, d));
            Kernels.InnerProducts(q.AsSpan(0, b * d), b, _itemVectors, n, d, destination.Slice(start * n, b * n));
        }
    }

    /// <summary>
    /// Items for a free-text need, optionally personalised: the query is <c>normalize((1 − blend) · e(need) + blend · p_u)</c>
    /// with e the encoder's unit embedding (zero-padded over the genre and year blocks) and p_u the user's profile; a user
    /// without history (or no user) gets the text alone. The user's seen items are excluded.
    /// </summary>
    /// <param name="need">What the user asks for, in words.</param>
    /// <param name="user">Dense user index, or null for an anonymous query.</param>
    /// <param name="k">Results, at least 1.</param>
    /// <param name="blend">Weight of the profile in [0, 1]; null for <see cref="ContentRecommenderOptions.TextBlend"/>.</param>
    /// <returns>Up to k items with their cosine to the query, best first.</returns>
    public IReadOnlyList<Recommendation> RecommendForText(string need, int? user, int k, float? blend = null)
    {
        ArgumentNullException.ThrowIfNull(need);
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        float a = blend ?? Options.TextBlend;
        if (!(a >= 0 && a <= 1)) throw new ArgumentOutOfRangeException(nameof(blend), blend, "Blend must lie in [0, 1].");
        ItemFeatures v = ItemFeatures;
        if (user is int u0 && (uint)u0 >= (uint)Train.UserCount) throw new ArgumentOutOfRangeException(nameof(user), u0, $"User index must be 0..{Train.UserCount - 1}.");
        var query = new float[v.Dimension];
        float[] text = Encoder.Encode(need);
        Kernels.L2Normalize(text, 1, text.Length);
        bool hasProfile = user is int u && Train.ItemsOf(u).Length > 0;
        float textWeight = hasProfile ? 1 - a : 1;
        for (int c = 0; c < text.Length; c++) query[c] = textWeight * text[c];
        if (hasProfile)
        {
            ReadOnlySpan<float> p = Profile(user!.Value);
            for (int c = 0; c < query.Length; c++) query[c] += a * p[c];
        }

        return Search(query, user, k);
    }

    /// <summary>Items most similar (cosine of item vectors) to a given item, excluding it and, when a user is given, the user's seen items.</summary>
    /// <param name="item">Dense item index.</param>
    /// <param name="k">Results, at least 1.</param>
    /// <param name="user">Dense user index whose seen items to exclude, or null.</param>
    /// <returns>Up to k items, best first.</returns>
    public IReadOnlyList<Recommendation> RecommendSimilar(int item, int k, int? user = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        ItemFeatures v = ItemFeatures;
        if ((uint)item >= (uint)v.Count) throw new ArgumentOutOfRangeException(nameof(item), item, $"Item index must be 0..{v.Count - 1}.");
        if (user is int u0 && (uint)u0 >= (uint)Train.UserCount) throw new ArgumentOutOfRangeException(nameof(user), u0, $"User index must be 0..{Train.UserCount - 1}.");
        return Search(v.Row(item).ToArray(), user, k, item);
    }

    private List<Recommendation> Search(float[] query, int? user, int k, int exclude = -1)
    {
        var deny = new HashSet<long>();
        if (user is int u)
        {
            foreach (int i in Train.ItemsOf(u)) deny.Add(i);
        }

        if (exclude >= 0) deny.Add(exclude);
        SearchResult result = _index!.Search(query, Math.Min(k, _features!.Count), deny.Count > 0 ? new SearchOptions { Filter = IdFilter.Deny(deny) } : null);
        var list = new List<Recommendation>(k);
        ReadOnlySpan<long> ids = result.IdsOf(0);
        ReadOnlySpan<float> scores = result.ScoresOf(0);
        for (int j = 0; j < ids.Length && ids[j] >= 0; j++) list.Add(new Recommendation((int)ids[j], scores[j]));
        return list;
    }

    /// <summary>The user's seen items most similar to the item: contribution <c>w_ui · cos(v_i, v_item)</c>, largest first.</summary>
    /// <param name="user">Dense user index.</param>
    /// <param name="item">Dense item index.</param>
    /// <param name="top">Most contributions returned.</param>
    public override IReadOnlyList<Contribution> Explain(int user, int item, int top = 5)
    {
        ItemFeatures v = ItemFeatures;
        if ((uint)user >= (uint)Train.UserCount) throw new ArgumentOutOfRangeException(nameof(user), user, $"User index must be 0..{Train.UserCount - 1}.");
        if ((uint)item >= (uint)v.Count) throw new ArgumentOutOfRangeException(nameof(item), item, $"Item index must be 0..{v.Count - 1}.");
        ArgumentOutOfRangeException.ThrowIfLessThan(top, 1);
        ReadOnlySpan<int> items = Train.ItemsOf(user);
        float[] w = ProfileWeights(Train, user, Options.RatingOffset, Options.HalfLifeDays);
        ReadOnlySpan<float> target = v.Row(item);
        var list = new List<Contribution>(items.Length);
        for (int j = 0; j < items.Length; j++)
        {
            ReadOnlySpan<float> row = v.Row(items[j]);
            float dot = 0;
            for (int c = 0; c < row.Length; c++) dot += row[c] * target[c];
            list.Add(new Contribution(items[j], w[j] * dot));
        }

        return [.. list.OrderByDescending(c => c.Weight).ThenBy(c => c.Item).Take(top)];
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _index?.Dispose();
            if (_ownsEncoder) _encoder?.Dispose();
        }

        base.Dispose(disposing);
    }
}

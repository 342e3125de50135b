using Vec.Embed;
using Vec.Kernels;
using Vec.Rec.Content;
using Vec.Rec.Models;
using Xunit;

namespace Vec.Rec.Tests;

/// <summary>A deterministic 3-d encoder: "space", "love" and "war" each add one axis.</summary>
internal sealed class FakeEncoder : TextEncoder
{
    public override int Dimension => 3;

    public override string ModelId => "fake";

    public override bool Normalized => false;

    public int Calls { get; private set; }

    protected override void EncodeCore(IReadOnlyList<string> texts, Span<float> destination, CancellationToken cancellationToken)
    {
        Calls++;
        for (int i = 0; i < texts.Count; i++)
        {
            string t = texts[i].ToLowerInvariant();
            destination[i * 3] = t.Contains("space", StringComparison.Ordinal) ? 1 : 0;
            destination[i * 3 + 1] = t.Contains("love", StringComparison.Ordinal) ? 1 : 0;
            destination[i * 3 + 2] = t.Contains("war", StringComparison.Ordinal) ? 1 : 0;
        }
    }
}

/// <summary>Caches an encoder's rows by text (so the MiniLM embeddings of the catalog are computed once per test run).</summary>
internal sealed class CachingEncoder(TextEncoder inner) : TextEncoder
{
    private readonly Dictionary<string, float[]> _cache = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    public override int Dimension => inner.Dimension;

    public override string ModelId => inner.ModelId;

    public override bool Normalized => inner.Normalized;

    protected override void EncodeCore(IReadOnlyList<string> texts, Span<float> destination, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            List<string> missing = [.. texts.Where(t => !_cache.ContainsKey(t)).Distinct()];
            if (missing.Count > 0)
            {
                float[] rows = inner.Encode(missing, cancellationToken);
                for (int i = 0; i < missing.Count; i++) _cache[missing[i]] = rows.AsSpan(i * Dimension, Dimension).ToArray();
            }

            for (int i = 0; i < texts.Count; i++) _cache[texts[i]].CopyTo(destination.Slice(i * Dimension, Dimension));
        }
    }
}

/// <summary>Shared encoders for the MovieLens tests.</summary>
internal static class TestEncoders
{
    private static readonly Lazy<TextEncoder> MiniLmLazy = new(() => new CachingEncoder(new OnnxTextEncoder(SharedData.MiniLm!)));

    /// <summary>all-MiniLM-L6-v2 with a cache (never disposed: lives for the test run).</summary>
    public static TextEncoder MiniLm => MiniLmLazy.Value;
}

/// <summary>A five-item catalog on the fake encoder's axes.</summary>
internal static class TinyData
{
    public static ItemCatalog Catalog { get; } = new(
    [
        new CatalogItem(1, "Space A", "", []),
        new CatalogItem(2, "Love B", "", []),
        new CatalogItem(3, "War C", "", []),
        new CatalogItem(4, "Space love D", "", []),
        new CatalogItem(5, "Space war E", "", []),
    ]);

    /// <summary>User 10 rated items 1, 2, 3 with 5, 4, 3 (mean 4); user 11 rated 4 and 5; user 20 has no history.</summary>
    public static Interactions Train { get; } = Interactions.Build(
        [
            new Rating(10, 1, 5, 0), new Rating(10, 2, 4, 86_400), new Rating(10, 3, 3, 86_400),
            new Rating(11, 4, 4, 86_400), new Rating(11, 5, 2, 86_400),
        ],
        IdMap.FromIds([10, 11, 20]), Catalog.ToIdMap());

    public static ContentRecommenderOptions Similarity { get; } = new() { Scoring = ContentScoring.Similarity, Features = new() };
}

/// <summary>The content model on a tiny catalog with a fake encoder: profile formula, scores, free text, Explain.</summary>
public sealed class ContentTests
{
    private static readonly float R2 = MathF.Sqrt(2), R5 = MathF.Sqrt(5);

    [Fact]
    public void Profile_is_the_rating_weighted_mean_and_scores_are_cosines()
    {
        using var model = new ContentRecommender(TinyData.Similarity, new FakeEncoder());
        model.Fit(TinyData.Train, TinyData.Catalog);
        // w = r - mean + 1 = 2, 1, 0 for items 1, 2, 3: p = (2, 1, 0) / sqrt(5).
        Assert.Equal([2f, 1f, 0f], ContentRecommender.ProfileWeights(TinyData.Train, 0, 1f, null));
        float[] p = model.Profile(0).ToArray();
        Assert.Equal(2 / R5, p[0], 5);
        Assert.Equal(1 / R5, p[1], 5);
        Assert.Equal(0f, p[2], 5);
        var scores = new float[5];
        model.ScoreAll([0], scores);
        Assert.Equal(3 / (R2 * R5), scores[3], 5); // item 4 = (1, 1, 0) / sqrt(2)
        Assert.Equal(2 / (R2 * R5), scores[4], 5); // item 5 = (1, 0, 1) / sqrt(2)
        Assert.Equal(0f, scores[2], 5);
        IReadOnlyList<Recommendation> recs = model.Recommend(0, 5);
        Assert.Equal([3, 4], recs.Select(r => r.Item)); // seen items 0..2 removed
        var none = new float[5];
        model.ScoreAll([2], none);
        Assert.All(none, s => Assert.Equal(0f, s)); // user 20: no history, zero profile
    }

    [Fact]
    public void Time_decay_halves_the_weight_per_half_life()
    {
        float[] w = ContentRecommender.ProfileWeights(TinyData.Train, 0, 1f, halfLifeDays: 1);
        Assert.Equal([1f, 1f, 0f], w); // item 1 is one day older than T: 2 * 0.5
        using var model = new ContentRecommender(TinyData.Similarity with { HalfLifeDays = 1 }, new FakeEncoder());
        model.Fit(TinyData.Train, TinyData.Catalog);
        var scores = new float[5];
        model.ScoreAll([0], scores);
        Assert.Equal(1f, scores[3], 5);
        Assert.Equal(0.5f, scores[4], 5);
    }

    [Fact]
    public void Free_text_works_with_and_without_a_user_and_excludes_seen_items()
    {
        using var model = new ContentRecommender(TinyData.Similarity, new FakeEncoder());
        model.Fit(TinyData.Train, TinyData.Catalog);
        IReadOnlyList<Recommendation> anonymous = model.RecommendForText("war stories", null, 2);
        Assert.Equal([2, 4], anonymous.Select(r => r.Item));
        Assert.Equal(1f, anonymous[0].Score, 5);
        Assert.Equal(1 / R2, anonymous[1].Score, 5);
        Assert.Equal(anonymous, model.RecommendForText("war stories", 2, 2)); // user 20 has no history: text only
        IReadOnlyList<Recommendation> personal = model.RecommendForText("war stories", 0, 5, blend: 0.5f);
        Assert.Equal([4, 3], personal.Select(r => r.Item)); // seen items 0..2 excluded; item 5 (space + war) first
        float[] q = [0.5f * 2 / R5, 0.5f / R5, 0.5f];
        float norm = MathF.Sqrt(q.Sum(x => x * x));
        Assert.Equal((q[0] + q[2]) / (R2 * norm), personal[0].Score, 4);
        Assert.Throws<ArgumentOutOfRangeException>("blend", () => model.RecommendForText("x", 0, 2, 1.5f));
        Assert.Throws<ArgumentOutOfRangeException>("user", () => model.RecommendForText("x", 3, 2));
    }

    [Fact]
    public void Explain_lists_the_most_similar_seen_items()
    {
        using var model = new ContentRecommender(TinyData.Similarity, new FakeEncoder());
        model.Fit(TinyData.Train, TinyData.Catalog);
        IReadOnlyList<Contribution> why = model.Explain(0, 3, top: 2);
        Assert.Equal([0, 1], why.Select(c => c.Item));
        Assert.Equal(2 / R2, why[0].Weight, 5);
        Assert.Equal(1 / R2, why[1].Weight, 5);
        Assert.Equal([3], model.RecommendSimilar(0, 1).Select(r => r.Item)); // item 4 (space love) before item 5 on ties: lower index
    }

    [Fact]
    public void Genre_and_year_blocks_are_appended_and_scaled()
    {
        var catalog = new ItemCatalog([new CatalogItem(1, "Space (1990)", "", ["A", "B"]), new CatalogItem(2, "Love (1999)", "", ["B"])]);
        using IVectorKernels kernels = KernelBackends.Create("scalar");
        ItemFeatures f = ItemFeatures.Build(new FakeEncoder(), catalog, catalog.ToIdMap(), new ItemFeatureOptions { GenreWeight = 2, YearWeight = 1, YearSpacing = 3, Normalize = false }, kernels);
        Assert.Equal(3 + 2 + 4, f.Dimension); // years 1990..1999: centres 1990, 1993, 1996, 1999
        float[] row = f.Row(0).ToArray();
        Assert.Equal(1f, row[0]);
        Assert.Equal(2 / R2, row[3], 5);
        Assert.Equal(2 / R2, row[4], 5);
        Assert.Equal(1f, row[5..].Sum(x => x * x), 4); // unit year block
        Assert.True(row[5] > row[6] && row[6] > row[7]);
    }

    [Fact]
    public void Bilinear_ridge_solves_its_normal_equations()
    {
        var rng = new Random(3);
        int users = 7, n = 6, d = 3;
        var f = Enumerable.Range(0, n * d).Select(_ => (float)rng.NextDouble()).ToArray();
        var a = Enumerable.Range(0, users * d).Select(_ => rng.NextDouble()).ToArray();
        var b = Enumerable.Range(0, users * d).Select(_ => rng.NextDouble()).ToArray();
        double[] w = LinearModels.Bilinear(a, users, b, f, n, d, null, 0.05);
        AssertSolvesNormalEquations(w, a, b, f, users, Enumerable.Range(0, n).ToArray(), d, 0.05);
    }

    [Fact]
    public void Bilinear_ridge_with_fewer_warm_items_than_dimensions_solves_the_full_normal_equations()
    {
        // 4 warm items of 10, 12 dimensions: the fit runs in the 4-dimensional span of the warm features and must still
        // satisfy the d x d normal equations, with A and B (sums of warm items' features) inside that span.
        var rng = new Random(5);
        int users = 9, n = 10, d = 12;
        var f = Enumerable.Range(0, n * d).Select(_ => (float)(rng.NextDouble() - 0.3)).ToArray();
        bool[] rows = Enumerable.Range(0, n).Select(i => i % 3 == 1 || i == 9).ToArray();
        int[] warm = Enumerable.Range(0, n).Where(i => rows[i]).ToArray();
        Assert.Equal(4, warm.Length);
        double[] Combos()
        {
            var x = new double[users * d];
            for (int u = 0; u < users; u++)
            {
                foreach (int i in warm)
                {
                    double c = rng.Next(0, 3);
                    for (int k = 0; k < d; k++) x[u * d + k] += c * f[i * d + k];
                }
            }

            return x;
        }

        double[] a = Combos(), b = Combos();
        double[] w = LinearModels.Bilinear(a, users, b, f, n, d, rows, 0.05);
        AssertSolvesNormalEquations(w, a, b, f, users, warm, d, 0.05);
    }

    /// <summary>Checks <c>AᵀA W FᵀF + λW = AᵀB</c> (F over <paramref name="items"/>) with λ as documented, to 1e-8 relative.</summary>
    private static void AssertSolvesNormalEquations(double[] w, double[] a, double[] b, float[] f, int users, int[] items, int d, double relativeLambda)
    {
        double[,] ata = new double[d, d], ftf = new double[d, d], atb = new double[d, d];
        for (int x = 0; x < d; x++)
        {
            for (int y = 0; y < d; y++)
            {
                for (int u = 0; u < users; u++)
                {
                    ata[x, y] += a[u * d + x] * a[u * d + y];
                    atb[x, y] += a[u * d + x] * b[u * d + y];
                }

                foreach (int i in items) ftf[x, y] += f[i * d + x] * (double)f[i * d + y];
            }
        }

        double lambda = relativeLambda * (Enumerable.Range(0, d).Sum(i => ata[i, i]) / d) * (Enumerable.Range(0, d).Sum(i => ftf[i, i]) / d);
        double scale = Enumerable.Range(0, d * d).Max(i => Math.Abs(atb[i / d, i % d]));
        for (int x = 0; x < d; x++)
        {
            for (int y = 0; y < d; y++)
            {
                double lhs = lambda * w[x * d + y];
                for (int p = 0; p < d; p++)
                {
                    for (int q = 0; q < d; q++) lhs += ata[x, p] * w[p * d + q] * ftf[q, y];
                }

                Assert.True(Math.Abs(atb[x, y] - lhs) <= 1e-8 * scale, $"({x},{y}): {atb[x, y]} vs {lhs}");
            }
        }
    }

    [Fact]
    public void Bilinear_scoring_ranks_items_and_bad_input_is_rejected()
    {
        using var model = new ContentRecommender(new ContentRecommenderOptions { Features = new(), BilinearFeatures = new() }, new FakeEncoder());
        model.Fit(TinyData.Train, TinyData.Catalog);
        var scores = new float[3 * 5];
        model.ScoreAll([0, 1, 2], scores);
        Assert.All(scores, s => Assert.True(float.IsFinite(s)));
        Assert.Throws<ArgumentException>("catalog", () => new ContentRecommender(null, new FakeEncoder()).Fit(TinyData.Train));
        Assert.Throws<ArgumentOutOfRangeException>("options", () => new ContentRecommender(new ContentRecommenderOptions { BilinearLambda = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>("options", () => new ContentRecommender(new ContentRecommenderOptions { Features = new() { GenreWeight = -1 } }));
        Assert.IsType<ContentRecommender>(RecommenderRegistry.Create("content"));
        Assert.IsType<GenreRecommender>(RecommenderRegistry.Create("genre"));
    }
}

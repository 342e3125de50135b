namespace Vec.Rec.Tests;
using Vec.Kernels;
/// <summary>Test-only item-kNN: cosine on the binary matrix, all neighbours, score = sum of similarities to the user's items.</summary>
internal sealed class TestItemKnn : Vec.Rec.Recommender
{
    private float[] _sim = [];
    public override string Name => "test-itemknn";
    protected override void FitCore(Interactions train, ItemCatalog? catalog, CancellationToken cancellationToken)
    {
        int n = train.ItemCount, m = train.UserCount;
        var cols = new float[(long)n * m];
        for (int u = 0; u < m; u++) foreach (int i in train.ItemsOf(u)) cols[(long)i * m + u] = 1f;
        var sim = new float[(long)n * n];
        Kernels.CosineSimilarities(cols, n, cols, n, m, sim);
        for (int i = 0; i < n; i++) sim[(long)i * n + i] = 0;
        _sim = sim;
    }
    protected override void ScoreAllCore(ReadOnlySpan<int> users, Span<float> destination)
    {
        int n = Train.ItemCount;
        destination.Clear();
        for (int r = 0; r < users.Length; r++)
        {
            Span<float> row = destination.Slice(r * n, n);
            foreach (int j in Train.ItemsOf(users[r]))
            {
                ReadOnlySpan<float> s = _sim.AsSpan(j * n, n);
                for (int i = 0; i < n; i++) row[i] += s[i];
            }
        }
    }
}

/// <summary>The hybrid: a = 1 is the CF ranking, a = 0 the content ranking, cold users and items fall back to content.</summary>
public sealed class HybridTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private static int[] Ranking(Recommender model, int user) => [.. model.Recommend(user, 5, excludeSeen: false).Select(r => r.Item)];

    private static Vec.Rec.Models.HybridRecommender Tiny(double alpha, Interactions train, ItemCatalog catalog)
    {
        var model = new Vec.Rec.Models.HybridRecommender(new() { Alpha = alpha }, null, () => new TestItemKnn(),
            () => new Vec.Rec.Models.ContentRecommender(TinyData.Similarity, new FakeEncoder()));
        model.Fit(train, catalog);
        return model;
    }

    [Xunit.Fact]
    public void Alpha_one_is_the_cf_ranking_and_zero_the_content_ranking()
    {
        using var h1 = Tiny(1, TinyData.Train, TinyData.Catalog);
        using var h0 = Tiny(0, TinyData.Train, TinyData.Catalog);
        // Every item is warm in TinyData: a = 1 ranks exactly as the CF model, a = 0 exactly as content.
        Xunit.Assert.Equal(Ranking(h1.Cf, 0), Ranking(h1, 0));
        Xunit.Assert.Equal(Ranking(h0.Content, 0), Ranking(h0, 0));
        Xunit.Assert.NotEqual(Ranking(h1, 0), Ranking(h0, 0)); // the two components disagree here, so the test can fail
        Xunit.Assert.Equal(1.0, h1.Alpha);
    }

    [Xunit.Fact]
    public void Cold_users_and_cold_items_fall_back_to_content()
    {
        // Item 5 gets no interactions (cold); user 20 has none (cold user).
        Interactions train = Interactions.Build(
            [new Rating(10, 1, 5, 0), new Rating(10, 2, 4, 0), new Rating(11, 3, 4, 0), new Rating(11, 4, 2, 0), new Rating(12, 1, 3, 0), new Rating(12, 4, 5, 0)],
            IdMap.FromIds([10, 11, 12, 20]), TinyData.Catalog.ToIdMap());
        using var h = Tiny(0.7, train, TinyData.Catalog);
        var hybrid = new float[5];
        var content = new float[5];
        h.ScoreAll([3], hybrid);
        h.Content.ScoreAll([3], content);
        Xunit.Assert.Equal(content.Select(x => x == 0 ? 0 : 1), hybrid.Select(x => x == 0 ? 0 : 1)); // cold user: content only (all zero here)
        Xunit.Assert.Equal(Ranking(h.Content, 3), Ranking(h, 3));
        h.ScoreAll([0], hybrid);
        h.Content.ScoreAll([0], content);
        Vec.Rec.Models.HybridRecommender.Normalize(content, null, Vec.Rec.Models.ScoreNormalization.ZScore);
        Xunit.Assert.Equal(content[4], hybrid[4], 5); // cold item: its normalised content score alone
        Xunit.Assert.NotEqual(content[3], hybrid[3]); // a warm item is blended
    }

    [MovieLensModelFact]
    public void Warm_hybrid_is_within_one_percent_of_its_best_component_and_tunes_on_training_data_only()
    {
        RatingDataset data = SharedData.Ml100k;
        (Interactions train, Interactions test) = SharedData.Msr;
        using var knn = new TestItemKnn();
        knn.Fit(train);
        using var hybrid = new Vec.Rec.Models.HybridRecommender(null, new RecommenderContext { Encoder = TestEncoders.MiniLm }, () => new TestItemKnn(), null);
        hybrid.Fit(train, data.Catalog);
        var mk = Vec.Rec.Evaluation.Evaluator.Evaluate(knn, test);
        var mc = Vec.Rec.Evaluation.Evaluator.Evaluate(hybrid.Content, test);
        var mh = Vec.Rec.Evaluation.Evaluator.Evaluate(hybrid, test);
        output.WriteLine($"itemknn {mk}\ncontent {mc}\nhybrid a={hybrid.Alpha} {mh}\n{string.Join(" ", hybrid.ValidationScores)}");
        // Measured: item-kNN MAP 0.120922 nDCG 0.411334 P 0.354719 R 0.193354 (the published re-implementation);
        // content (MiniLM, bilinear) MAP 0.0659 nDCG 0.2909 P 0.2517; hybrid a = 0.9: MAP 0.1250 nDCG 0.4208 P 0.3630 R 0.1968.
        Xunit.Assert.Equal(0.120922, mk.Map, 5);
        Xunit.Assert.True(mh.Map >= 0.99 * Math.Max(mk.Map, mc.Map));
        Xunit.Assert.True(mh.Ndcg >= 0.99 * Math.Max(mk.Ndcg, mc.Ndcg));
        Xunit.Assert.True(mh.Precision >= 0.99 * Math.Max(mk.Precision, mc.Precision));
        Xunit.Assert.True(mh.Recall >= 0.99 * Math.Max(mk.Recall, mc.Recall));
        Xunit.Assert.True(hybrid.Alpha is > 0 and < 1);
        // Tuning used only training data: the validation split partitions TRAIN and shares nothing with TEST.
        var (vTrain, vValidation) = hybrid.ValidationSplit!.Value;
        Xunit.Assert.Equal(train.Count, vTrain.Count + vValidation.Count);
        for (int u = 0; u < train.UserCount; u++)
        {
            foreach (int i in vValidation.ItemsOf(u))
            {
                Xunit.Assert.True(train.Contains(u, i));
                Xunit.Assert.False(test.Contains(u, i));
                Xunit.Assert.False(vTrain.Contains(u, i));
            }
        }
    }
}

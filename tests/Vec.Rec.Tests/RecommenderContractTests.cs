using Vec.Embed;
using Vec.Rec.Evaluation;
using Vec.Rec.Models;
using Xunit;
using Xunit.Abstractions;

namespace Vec.Rec.Tests;

/// <summary>What every registered recommender promises: clear errors on bad input, and beating popularity on warm data.</summary>
public sealed class RecommenderContractTests(ITestOutputHelper output)
{
    public static TheoryData<string> Names => [.. RecommenderRegistry.Names];

    [Theory]
    [MemberData(nameof(Names))]
    public void Bad_input_gets_clear_errors(string name)
    {
        using var encoder = new FakeEncoder();
        using Recommender model = RecommenderRegistry.Create(name, new RecommenderContext { Encoder = encoder });
        Assert.Throws<InvalidOperationException>(() => model.Recommend(0, 3)); // not fitted
        Assert.Throws<ArgumentNullException>("train", () => model.Fit(null!));
        Interactions noUsers = Interactions.Build([], IdMap.FromIds([]), TinyData.Catalog.ToIdMap());
        Assert.Throws<ArgumentException>("train", () => model.Fit(noUsers, TinyData.Catalog));
        Interactions noRatings = Interactions.Build([], IdMap.FromIds([10, 11]), TinyData.Catalog.ToIdMap());
        Assert.Throws<ArgumentException>("train", () => model.Fit(noRatings, TinyData.Catalog));
        Assert.False(model.IsFitted);

        model.Fit(TinyData.Train, TinyData.Catalog);
        Assert.Throws<ArgumentOutOfRangeException>("k", () => model.Recommend(0, 0));
        Assert.Throws<ArgumentOutOfRangeException>("k", () => model.RecommendBatch([0, 1], -1));
        Assert.Throws<ArgumentOutOfRangeException>("users", () => model.Recommend(TinyData.Train.UserCount, 3)); // unknown user index
        Assert.Throws<ArgumentOutOfRangeException>("users", () => model.RecommendBatch([0, -1], 3));
        Assert.Throws<ArgumentOutOfRangeException>("items", () => model.Score(0, [TinyData.Train.ItemCount]));
        Assert.Throws<ArgumentException>("candidates", () => model.RecommendBatch([0], 3, candidates: new bool[2]));
        Assert.Throws<ArgumentException>("destination", () => model.ScoreAll([0], new float[TinyData.Train.ItemCount - 1]));
        // And good input works: seen items are never recommended, lists are padded with -1.
        RecommendationBatch batch = model.RecommendBatch([0, 1, 2], 5);
        for (int u = 0; u < 3; u++)
        {
            foreach (int i in batch.ItemsOf(u)) Assert.True(i < 0 || !TinyData.Train.Contains(u, i), $"{name} recommended seen item {i} to user {u}");
        }

        Assert.Contains(-1, batch.ItemsOf(0).ToArray()); // user 0 saw 3 of 5 items: at most 2 remain
    }

    [MovieLensModelFact]
    public void Every_model_beats_most_popular_on_the_warm_split()
    {
        RatingDataset data = SharedData.Ml100k;
        (Interactions train, Interactions test) = SharedData.Msr;
        using var encoder = new OnnxTextEncoder(SharedData.MiniLm!);
        using var pop = new MostPopular();
        pop.Fit(train);
        RankingMetrics floor = Evaluator.Evaluate(pop, test);
        // genre is the cold-start floor of the cold-item protocol, not a warm recommender.
        foreach (string name in RecommenderRegistry.Names.Where(n => n is not ("pop" or "genre")))
        {
            using Recommender model = RecommenderRegistry.Create(name, new RecommenderContext { Encoder = encoder });
            model.Fit(train, data.Catalog);
            RankingMetrics m = Evaluator.Evaluate(model, test);
            output.WriteLine($"{name}: MAP {m.Map:F6} nDCG {m.Ndcg:F6} P {m.Precision:F6} R {m.Recall:F6}");
            Assert.True(m.Ndcg > floor.Ndcg && m.Precision > floor.Precision && m.Map > floor.Map && m.Recall > floor.Recall,
                $"{name} does not beat MostPopular: {m} vs {floor}");
        }
    }

    [MovieLensFact]
    public void Cold_item_split_uses_no_cold_interactions()
    {
        RatingDataset data = SharedData.Ml100k;
        ColdItemSplit split = Splits.ColdItems(data.Ratings, data.Catalog.Items.Select(i => i.Id));
        var cold = split.ColdItems.ToHashSet();
        Assert.DoesNotContain(split.Train, r => cold.Contains(r.Item));
        Assert.All(split.Test, r => Assert.Contains(r.Item, cold));
        Assert.Equal(data.Ratings.Count, split.Train.Count + split.Test.Count);
        IdMap items = data.Items();
        Interactions train = Interactions.Build(split.Train, data.Users(), items);
        Interactions byItem = train.Transpose();
        foreach (long id in cold) Assert.Equal(0, byItem.ItemsOf(items.IndexOf(id)).Length);
        bool[] trainItems = Evaluator.TrainItems(train);
        Assert.Equal(items.Count - cold.Count, trainItems.Count(t => t));
    }

    [MovieLensFact]
    public void Readme_quick_start_runs()
    {
        // The library quick start of README.md, verbatim apart from the data path and collecting the titles.
        RatingDataset data = MovieLens.Load100K(SharedData.MovieLens100K!);
        Interactions train = Interactions.Build(data.Ratings, data.Users(), data.Items());
        using Recommender model = RecommenderRegistry.Create("ease");
        model.Fit(train, data.Catalog);
        var titles = new List<string>();
        foreach (Recommendation r in model.Recommend(user: 0, k: 10))
            titles.Add(data.Catalog[train.Items[r.Item]].Title);
        output.WriteLine(string.Join(" | ", titles));
        Assert.Equal(10, titles.Distinct().Count());
        Assert.All(model.Recommend(0, 10), r => Assert.False(train.Contains(0, r.Item)));
    }
}

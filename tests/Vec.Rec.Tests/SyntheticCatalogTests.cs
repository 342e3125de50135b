using Vec.Embed;
using Vec.Rec.Evaluation;
using Vec.Rec.Models;
using Xunit;

namespace Vec.Rec.Tests;

/// <summary><see cref="SyntheticCatalog"/>: determinism, shapes, cold items, and a real taste and content signal.</summary>
public sealed class SyntheticCatalogTests
{
    private static readonly SyntheticCatalogOptions Small = new() { Items = 600, Users = 300, Seed = 7 };
    private static readonly Lazy<SyntheticData> Data = new(() => SyntheticCatalog.Generate(Small));

    [Fact]
    public void Same_seed_gives_the_same_data_and_another_seed_does_not()
    {
        SyntheticData a = Data.Value, b = SyntheticCatalog.Generate(Small), c = SyntheticCatalog.Generate(Small with { Seed = 8 });
        Assert.Equal(a.Data.Ratings, b.Data.Ratings);
        Assert.Equal(a.ColdInteractions, b.ColdInteractions);
        Assert.Equal(a.ColdItems, b.ColdItems);
        Assert.Equal(a.Data.Catalog.Items.Select(i => i.EmbeddingText), b.Data.Catalog.Items.Select(i => i.EmbeddingText));
        Assert.Equal(a.UserTastes, b.UserTastes);
        Assert.NotEqual(a.Data.Ratings, c.Data.Ratings);
        Assert.NotEqual(a.Data.Catalog.Items.Select(i => i.Title), c.Data.Catalog.Items.Select(i => i.Title));
    }

    [Fact]
    public void Shapes_ranges_and_texts_follow_the_options()
    {
        SyntheticData g = Data.Value;
        ItemCatalog catalog = g.Data.Catalog;
        Assert.Equal(600, catalog.Count);
        Assert.Equal(Enumerable.Range(1, 600).Select(i => (long)i), catalog.Items.Select(i => i.Id));
        Assert.Equal(60, g.ColdItems.Count);
        Assert.Equal(20, g.TopicNames.Count);
        Assert.Equal(600 * 20, g.ItemTopics.Length);
        Assert.Equal(300 * 20, g.UserTastes.Length);
        for (int i = 0; i < 600; i++) Assert.Equal(1.0, g.ItemTopics.AsSpan(i * 20, 20).ToArray().Sum(), 1e-5);
        for (int u = 0; u < 300; u++) Assert.Equal(1.0, g.UserTastes.AsSpan(u * 20, 20).ToArray().Sum(), 1e-5);
        foreach (CatalogItem item in catalog.Items)
        {
            Assert.InRange(item.Genres.Count, 1, 3);
            Assert.All(item.Genres, genre => Assert.Contains(genre, g.TopicNames));
            Assert.NotNull(item.Year);
            Assert.InRange(item.Title.Split(' ').Length - 1, 2, 5); // 2-5 words before "(yyyy)"
            Assert.InRange(item.Text.Split(' ').Length, 15, 40);
        }

        var all = g.Data.Ratings.Concat(g.ColdInteractions).ToList();
        Assert.All(all, r => Assert.InRange(r.Value, 1f, 5f));
        Assert.All(all, r => Assert.Equal(MathF.Round(r.Value), r.Value));
        Assert.All(all, r => Assert.InRange(r.User, 1, 300));
        foreach (var user in all.GroupBy(r => r.User))
        {
            Assert.InRange(user.Count(), 20, 60);
            Assert.Equal(user.Count(), user.Select(r => r.Item).Distinct().Count());
        }

        Assert.Equal(300, all.Select(r => r.User).Distinct().Count());
        Assert.Equal(g.Data.Ratings.OrderBy(r => r.Timestamp).Select(r => r.Timestamp), g.Data.Ratings.Select(r => r.Timestamp));
        Assert.True(all.Select(r => r.Value).Distinct().Count() == 5, "every star value occurs");
    }

    [Fact]
    public void Cold_items_are_in_the_catalog_but_only_in_the_held_out_interactions()
    {
        SyntheticData g = Data.Value;
        var cold = g.ColdItems.ToHashSet();
        Assert.Equal(g.ColdItems.Order(), g.ColdItems);
        Assert.All(g.ColdItems, id => Assert.True(g.Data.Catalog.TryGet(id, out _)));
        Assert.DoesNotContain(g.Data.Ratings, r => cold.Contains(r.Item));
        Assert.All(g.ColdInteractions, r => Assert.Contains(r.Item, cold));
        Assert.True(g.ColdInteractions.Count > 300, $"only {g.ColdInteractions.Count} cold interactions");
        Assert.All(g.ColdItems, id => Assert.True(g.Data.Catalog[id].Year >= 2024, "new items are the newest"));
    }

    [Fact]
    public void Users_choose_items_that_match_their_tastes()
    {
        SyntheticData g = Data.Value;
        int t = g.TopicNames.Count;
        double Affinity(long user, long item)
        {
            double s = 0;
            for (int c = 0; c < t; c++) s += g.UserTastes[(user - 1) * t + c] * g.ItemTopics[(item - 1) * t + c];
            return s;
        }

        double chosen = g.Data.Ratings.Average(r => Affinity(r.User, r.Item));
        double everything = Enumerable.Range(1, 300).Average(u => Enumerable.Range(1, 600).Average(i => Affinity(u, i)));
        Assert.True(chosen > 3 * everything, $"chosen items' affinity {chosen:F3} vs {everything:F3} over all items");
        // Higher stars for better-matching items.
        double high = g.Data.Ratings.Where(r => r.Value >= 4).Average(r => Affinity(r.User, r.Item));
        double low = g.Data.Ratings.Where(r => r.Value <= 2).Average(r => Affinity(r.User, r.Item));
        Assert.True(high > low, $"affinity of 4-5 stars {high:F3} vs 1-2 stars {low:F3}");
    }

    [Fact]
    public void Content_model_on_the_texts_beats_random_and_popularity_on_the_cold_items()
    {
        SyntheticData g = Data.Value;
        RatingDataset data = g.Data;
        IdMap users = IdMap.FromIds(data.Ratings.Select(r => r.User).Concat(g.ColdInteractions.Select(r => r.User)));
        IdMap items = data.Catalog.ToIdMap();
        Interactions train = Interactions.Build(data.Ratings, users, items), cold = Interactions.Build(g.ColdInteractions, users, items);
        var coldSet = g.ColdItems.ToHashSet();
        bool[] mask = [.. Enumerable.Range(0, items.Count).Select(i => coldSet.Contains(items[i]))];
        using var encoder = new HashingTextEncoder().Fit(data.Catalog.Items.Select(i => i.Text)); // descriptions only: no genre names
        using var content = new ContentRecommender(new ContentRecommenderOptions { Scoring = ContentScoring.Similarity, Features = new() }, encoder);
        content.Fit(train, data.Catalog);
        using var pop = RecommenderRegistry.Create("pop");
        pop.Fit(train, data.Catalog);
        RankingMetrics c = Evaluator.Evaluate(content, cold, 10, mask), p = Evaluator.Evaluate(pop, cold, 10, mask);
        double random = Enumerable.Range(0, cold.UserCount).Where(u => cold.ItemsOf(u).Length > 0).Average(u => cold.ItemsOf(u).Length / 60.0);
        Assert.True(c.Precision > 3 * random, $"content P@10 {c.Precision:F4} vs random {random:F4}");
        Assert.True(c.Precision > 2 * p.Precision, $"content P@10 {c.Precision:F4} vs pop {p.Precision:F4}");
    }

    [Theory]
    [InlineData(10, 100, 20)]
    [InlineData(100, 1, 20)]
    [InlineData(100, 100, 1)]
    [InlineData(100, 100, 21)]
    public void Bad_options_are_rejected(int items, int users, int topics) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => SyntheticCatalog.Generate(new SyntheticCatalogOptions { Items = items, Users = users, Topics = topics }));

    [Fact]
    public void Fewer_topics_use_the_first_names()
    {
        SyntheticData g = SyntheticCatalog.Generate(new SyntheticCatalogOptions { Items = 100, Users = 20, Topics = 3 });
        Assert.Equal(SyntheticCatalog.TopicNames.Take(3), g.TopicNames);
        Assert.All(g.Data.Catalog.Items, i => Assert.All(i.Genres, genre => Assert.Contains(genre, g.TopicNames)));
    }
}

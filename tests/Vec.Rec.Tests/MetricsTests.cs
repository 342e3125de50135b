using Vec.Rec.Evaluation;
using Vec.Rec.Models;
using Xunit;

namespace Vec.Rec.Tests;

/// <summary>The ranking metrics on tiny hand-made lists, with the expected values worked out by hand.</summary>
public sealed class MetricsTests
{
    // Users 0..3, items 0..5 (ids = indices).
    // Train: u0 {0}, u1 {1, 3}, u2 {1}, u3 {1, 2}  -> training users per item: 1, 3, 1, 1, 0, 0 (of 4 users).
    // Test:  u0 {1, 3, 4, 5}, u1 {0}, u2 {5}, u3 {} (not evaluated).
    // Lists (k = 3): u0 [1, 2, 3], u1 [2, 0, -1], u2 [0, 2, 4], u3 [5, 5, 5].
    private static readonly IdMap Users = IdMap.FromIds([0, 1, 2, 3]);
    private static readonly IdMap Items = IdMap.FromIds([0, 1, 2, 3, 4, 5]);

    private static Interactions Train() => Interactions.Build(
        [new(0, 0, 1, 0), new(1, 1, 1, 0), new(1, 3, 1, 0), new(2, 1, 1, 0), new(3, 1, 1, 0), new(3, 2, 1, 0)], Users, Items);

    private static Interactions Test() => Interactions.Build(
        [new(0, 1, 1, 0), new(0, 3, 1, 0), new(0, 4, 1, 0), new(0, 5, 1, 0), new(1, 0, 1, 0), new(2, 5, 1, 0)], Users, Items);

    private static RecommendationBatch Lists() =>
        new([0, 1, 2, 3], 3, [1, 2, 3, 2, 0, -1, 0, 2, 4, 5, 5, 5], new float[12]);

    [Fact]
    public void Metrics_match_the_hand_computation()
    {
        RankingMetrics m = Metrics.Compute(Lists(), Test(), Train(), candidateCount: 6);
        double l2 = 1 / Math.Log(2), l3 = 1 / Math.Log(3), l4 = 1 / Math.Log(4);
        Assert.Equal(3, m.Users);
        Assert.Equal(3, m.K);
        // u0: hits at ranks 1 and 3 of 4 relevant; u1: hit at rank 2 of 1 relevant; u2: no hit.
        // precision = (2/3 + 1/3 + 0) / 3 = 1/3 (hits / k, also for u1's padded list).
        Assert.Equal(1.0 / 3, m.Precision, 12);
        // recall = (2/4 + 1/1 + 0) / 3 = 1/2.
        Assert.Equal(0.5, m.Recall, 12);
        // nDCG: u0 = (1/ln2 + 1/ln4) / (1/ln2 + 1/ln3 + 1/ln4) (ideal over min(4, 3) = 3 ranks); u1 = (1/ln3) / (1/ln2).
        Assert.Equal(((l2 + l4) / (l2 + l3 + l4) + l3 / l2 + 0) / 3, m.Ndcg, 12);
        // AP sums: u0 = 1/1 + 2/3 = 5/3; u1 = 1/2. map divides by |relevant|: (5/12 + 1/2 + 0) / 3 = 11/36.
        Assert.Equal(11.0 / 36, m.Map, 12);
        // map@k divides by min(|relevant|, k): (5/9 + 1/2 + 0) / 3 = 19/54.
        Assert.Equal(19.0 / 54, m.MapAtK, 12);
        // Two of three users have a hit.
        Assert.Equal(2.0 / 3, m.HitRate, 12);
        // F1 = 2 P R / (P + R) = 2 (1/3)(1/2) / (5/6) = 2/5.
        Assert.Equal(0.4, m.F1, 12);
        // Distinct items in the evaluated lists: {0, 1, 2, 3, 4} of 6 candidates (u3's item 5 does not count).
        Assert.Equal(5.0 / 6, m.Coverage, 12);
        // Novelty over the 8 recommended entries: item 1 once with p = 3/4 (-log2 = log2(4/3)); seven entries with
        // p = 1/4 (items 0, 2, 3 have one training user, item 4 none and counts as one): -log2(1/4) = 2.
        // (7 * 2 + log2(4/3)) / 8 = 1.8018796874...
        Assert.Equal((14 + 0.4150374992788438) / 8, m.Novelty, 12);
    }

    [Fact]
    public void No_evaluated_users_gives_zeros()
    {
        RecommendationBatch only3 = new([3], 3, [5, 5, 5], new float[3]);
        RankingMetrics m = Metrics.Compute(only3, Test(), Train(), 6);
        Assert.Equal(new RankingMetrics(0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0), m);
    }

    [Fact]
    public void A_perfect_list_scores_one()
    {
        // u1's only relevant item first: P = 1/3 (k = 3), R = 1, nDCG = 1, MAP = map@k = 1, hit rate 1.
        RecommendationBatch perfect = new([1], 3, [0, 2, 4], new float[3]);
        RankingMetrics m = Metrics.Compute(perfect, Test(), Train(), 6);
        Assert.Equal((1.0 / 3, 1.0, 1.0, 1.0, 1.0, 1.0), (m.Precision, m.Recall, m.Ndcg, m.Map, m.MapAtK, m.HitRate));
        Assert.Equal(0.5, m.F1, 12); // 2 (1/3)(1) / (4/3)
        Assert.Equal(0.5, m.Coverage, 12); // 3 of 6
    }

    [Fact]
    public void Evaluator_checks_maps_and_uses_train_items_as_candidates()
    {
        Interactions train = Train();
        Assert.Equal([true, true, true, true, false, false], Evaluator.TrainItems(train));
        using var pop = new MostPopular();
        pop.Fit(train);
        // Popularity order: item 1 (3 users), then items 0, 2, 3 (1 user each, lower index first); items 4, 5 are not
        // candidates. u0 (seen 0) gets [1, 2, 3]: hits 1 and 3 -> P = 2/3; u1 (seen 1, 3) gets [0, 2]: hit 0 -> P = 1/3;
        // u2 (seen 1) gets [0, 2, 3]: no hit.
        RankingMetrics m = Evaluator.Evaluate(pop, Test(), k: 3);
        Assert.Equal(3, m.Users);
        Assert.Equal(1.0 / 3, m.Precision, 12);
        Assert.Equal(2.0 / 3, m.HitRate, 12);
        Interactions other = Interactions.Build([new Rating(0, 1, 1, 0)], Users, IdMap.FromIds([0, 1, 2, 3, 4, 5]));
        Assert.Throws<ArgumentException>("test", () => Evaluator.Evaluate(pop, other));
    }
}

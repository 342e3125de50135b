using System.Diagnostics;
using Vec.Rec.Evaluation;
using Vec.Rec.Models;
using Xunit;
using Xunit.Abstractions;

namespace Vec.Rec.Tests;

/// <summary>SAR: the published benchmark row, the similarity and decay by hand, explanations.</summary>
public sealed class SarTests(ITestOutputHelper output)
{
    private const long Day = 86_400;

    [MovieLensFact]
    public void Reproduces_the_published_benchmark_row()
    {
        (Interactions train, Interactions test) = SharedData.Msr;
        using var sar = new Sar();
        var sw = Stopwatch.StartNew();
        sar.Fit(train);
        double fit = sw.Elapsed.TotalSeconds;
        sw.Restart();
        RankingMetrics m = Evaluator.Evaluate(sar, test);
        double eval = sw.Elapsed.TotalSeconds;
        output.WriteLine($"{m}; fit {fit:F3} s, recommend+evaluate {eval:F3} s");
        Assert.Equal(943, m.Users);
        Assert.Equal(0.114038, m.Map, 0.00001);
        Assert.Equal(0.393819, m.Ndcg, 0.00001);
        Assert.Equal(0.340615, m.Precision, 0.00001);
        Assert.Equal(0.185377, m.Recall, 0.00001);
    }

    [MovieLensFact]
    public void Without_decay_gives_the_computed_reference_row()
    {
        (Interactions train, Interactions test) = SharedData.Msr;
        using var sar = new Sar(new SarOptions { TimeDecay = false });
        sar.Fit(train);
        RankingMetrics m = Evaluator.Evaluate(sar, test);
        output.WriteLine($"{m}");
        // recsys-protocols.md §1.3, "SAR jaccard without time decay" (an independent re-implementation).
        Assert.Equal(0.115363, m.Map, 0.00001);
        Assert.Equal(0.396173, m.Ndcg, 0.00001);
        Assert.Equal(0.342206, m.Precision, 0.00001);
        Assert.Equal(0.186896, m.Recall, 0.00001);
    }

    // Users x items (binary): u0 = {0, 1}, u1 = {0, 1, 2}, u2 = {1, 2}, u3 = {3}.
    // Co-occurrence C: C00 = 2, C11 = 3, C22 = 2, C33 = 1, C01 = 2, C02 = 1, C12 = 2, C03 = C13 = C23 = 0.
    // Jaccard: J01 = 2 / (2 + 3 - 2) = 2/3; J02 = 1 / (2 + 2 - 1) = 1/3; J12 = 2 / (3 + 2 - 2) = 2/3; Jii = 1; J03 = 0.
    private static Interactions Tiny(long now, params (long User, long Item, float Rating, long Age)[] rows) =>
        Interactions.Build(rows.Select(r => new Rating(r.User, r.Item, r.Rating, now - r.Age)).ToList());

    private static readonly (long, long, float, long)[] TinyRows =
    [
        (0, 0, 4, 0), (0, 1, 2, 30 * Day),
        (1, 0, 1, 0), (1, 1, 1, 0), (1, 2, 1, 0),
        (2, 1, 5, 60 * Day), (2, 2, 3, 0),
        (3, 3, 1, 0),
    ];

    [Fact]
    public void Jaccard_similarity_matches_the_hand_computation()
    {
        using var sar = new Sar(new SarOptions { TimeDecay = false });
        sar.Fit(Tiny(1_000_000_000, TinyRows));
        Assert.Equal(1f, sar.Similarity(0, 0));
        Assert.Equal(2f / 3, sar.Similarity(0, 1), 6);
        Assert.Equal(2f / 3, sar.Similarity(1, 0), 6);
        Assert.Equal(1f / 3, sar.Similarity(0, 2), 6);
        Assert.Equal(2f / 3, sar.Similarity(1, 2), 6);
        Assert.Equal(0f, sar.Similarity(0, 3));
        Assert.Equal(1f, sar.Similarity(3, 3));
    }

    [Fact]
    public void Other_similarities_match_the_hand_computation()
    {
        Interactions train = Tiny(1_000_000_000, TinyRows);
        float Sim(SarSimilarity kind, int i, int j, int threshold = 1)
        {
            using var sar = new Sar(new SarOptions { Similarity = kind, TimeDecay = false, Threshold = threshold });
            sar.Fit(train);
            return sar.Similarity(i, j);
        }

        // C01 = 2, C00 = 2, C11 = 3; 4 items have data.
        Assert.Equal(2f / 6, Sim(SarSimilarity.Lift, 0, 1), 6);                    // 2 / (2 * 3)
        Assert.Equal((float)(2 / Math.Sqrt(6)), Sim(SarSimilarity.Cosine, 0, 1), 6); // 2 / sqrt(2 * 3)
        Assert.Equal(1f, Sim(SarSimilarity.InclusionIndex, 0, 1), 6);              // 2 / min(2, 3)
        Assert.Equal((float)Math.Log2(4 * 2 / 6.0), Sim(SarSimilarity.MutualInformation, 0, 1), 6);
        Assert.Equal((float)(2 * Math.Log2(4 * 2 / 6.0)), Sim(SarSimilarity.LexicographersMutualInformation, 0, 1), 6);
        Assert.Equal(2f, Sim(SarSimilarity.Cooccurrence, 0, 1));
        Assert.Equal(0f, Sim(SarSimilarity.MutualInformation, 0, 3)); // no co-occurrence: 0, not -inf
        // Threshold 2 drops C02 = 1 (and item 3's own count), keeps C01 = 2.
        Assert.Equal(0f, Sim(SarSimilarity.Jaccard, 0, 2, threshold: 2));
        Assert.Equal(2f / 3, Sim(SarSimilarity.Jaccard, 0, 1, threshold: 2), 6);
        Assert.Equal(0f, Sim(SarSimilarity.Jaccard, 3, 3, threshold: 2));
    }

    [Fact]
    public void Time_decay_halves_the_rating_every_half_life()
    {
        using var sar = new Sar();
        sar.Fit(Tiny(1_000_000_000, TinyRows));
        Assert.Equal(1_000_000_000, sar.TimeNow);
        Assert.Equal(4f, sar.Affinity(0, 0));            // age 0: 4 * 1
        Assert.Equal(1f, sar.Affinity(0, 1), 6);         // 30 days: 2 * 0.5
        Assert.Equal(1.25f, sar.Affinity(2, 1), 6);      // 60 days: 5 * 0.25
        Assert.Equal(0f, sar.Affinity(0, 3));            // unseen
        // Score of user 0 for item 2 = A00 * J02 + A01 * J12 = 4 * 1/3 + 1 * 2/3 = 2.
        Assert.Equal(2f, sar.Score(0, [2])[0], 5);

        using var halfDay = new Sar(new SarOptions { HalfLife = TimeSpan.FromDays(15), TimeNow = 1_000_000_000 + 15 * Day });
        halfDay.Fit(Tiny(1_000_000_000, TinyRows));
        Assert.Equal(2f, halfDay.Affinity(0, 0), 6);     // 15 days at a 15-day half-life: 4 * 0.5
        Assert.Equal(0.25f, halfDay.Affinity(0, 1), 6);  // 45 days = 3 half-lives: 2 * 0.125

        using var future = new Sar(new SarOptions { TimeNow = 1_000_000_000 - 30 * Day });
        future.Fit(Tiny(1_000_000_000, TinyRows));
        Assert.Equal(4f, future.Affinity(0, 0));         // events after "now" are capped at factor 1
    }

    [Fact]
    public void Recommends_and_explains_by_the_seen_items_contributions()
    {
        using var sar = new Sar();
        sar.Fit(Tiny(1_000_000_000, TinyRows));
        IReadOnlyList<Recommendation> recs = sar.Recommend(0, 3);
        Assert.Equal(2, recs[0].Item); // items 0, 1 are seen; item 3 has no similarity to them (score 0)
        Assert.Equal(2f, recs[0].Score, 5);
        IReadOnlyList<Contribution> why = sar.Explain(0, 2);
        // A00 * J02 = 4/3 > A01 * J12 = 2/3.
        Assert.Equal([0, 1], why.Select(c => c.Item));
        Assert.Equal(4f / 3, why[0].Weight, 5);
        Assert.Equal(2f / 3, why[1].Weight, 5);
        Assert.Single(sar.Explain(0, 2, top: 1));
        Assert.Empty(sar.Explain(0, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => sar.Explain(0, 9));
        Assert.Throws<ArgumentOutOfRangeException>(() => sar.Explain(7, 0));
    }

    [Fact]
    public void Bad_options_are_rejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>("options", () => new Sar(new SarOptions { HalfLife = TimeSpan.Zero }));
        Assert.Throws<ArgumentOutOfRangeException>("options", () => new Sar(new SarOptions { Threshold = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>("options", () => new Sar(new SarOptions { Similarity = (SarSimilarity)99 }));
        using var sar = new Sar();
        Assert.Throws<InvalidOperationException>(() => sar.Similarity(0, 0));
        Assert.Equal("sar", RecommenderRegistry.Create("sar").Name);
    }

    [MovieLensFact]
    public void Float_scores_keep_the_double_precision_order_of_the_top_lists()
    {
        Interactions train = SharedData.Msr.Train;
        using var sar = new Sar();
        sar.Fit(train);
        int n = train.ItemCount;

        // Independent double-precision reference: jaccard from counted co-occurrences, decayed affinity, sparse product.
        var count = new double[n * n];
        for (int u = 0; u < train.UserCount; u++)
        {
            foreach (int i in train.ItemsOf(u))
            {
                foreach (int j in train.ItemsOf(u)) count[i * n + j]++;
            }
        }

        bool[] trainItems = Evaluator.TrainItems(train);
        int[] sample = [.. Enumerable.Range(0, train.UserCount).Where(u => u % 5 == 0)];
        RecommendationBatch batch = sar.RecommendBatch(sample, 10, candidates: trainItems);
        long now = train.MaxTimestamp;
        int mismatches = 0;
        for (int s = 0; s < sample.Length; s++)
        {
            int u = sample[s];
            var score = new double[n];
            ReadOnlySpan<int> seen = train.ItemsOf(u);
            for (int p = 0; p < seen.Length; p++)
            {
                int j = seen[p];
                double a = train.ValuesOf(u)[p] * Math.Min(1, Math.Pow(0.5, (now - train.TimestampsOf(u)[p]) / (30.0 * Day)));
                for (int i = 0; i < n; i++)
                {
                    double c = count[j * n + i];
                    if (c > 0) score[i] += a * c / (count[j * n + j] + count[i * n + i] - c);
                }
            }

            int[] expected = [.. Enumerable.Range(0, n).Where(i => trainItems[i] && !train.Contains(u, i))
                .OrderByDescending(i => score[i]).ThenBy(i => i).Take(10)];
            if (!expected.AsSpan().SequenceEqual(batch.ItemsOf(s))) mismatches++;
        }

        output.WriteLine($"{mismatches} of {sample.Length} top-10 lists differ from the double-precision reference");
        Assert.Equal(0, mismatches);
    }
}

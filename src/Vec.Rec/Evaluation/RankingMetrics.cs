namespace Vec.Rec.Evaluation;

/// <summary>Top-k ranking metrics averaged over the evaluated users (Microsoft Recommenders' definitions).</summary>
/// <param name="Users">Users averaged over (those with at least one test item).</param>
/// <param name="K">List length.</param>
/// <param name="Precision">precision@k = hits / k.</param>
/// <param name="Recall">recall@k = hits / |test items of the user| (not capped at k).</param>
/// <param name="Ndcg">nDCG@k, binary gains, DCG = Σ 1/ln(1 + rank), ideal DCG over min(|test items|, k) positions.</param>
/// <param name="Map">Microsoft Recommenders' <c>map</c>: Σ over hits of (j-th hit / its rank), divided by |test items|.</param>
/// <param name="MapAtK">map@k: the same sum divided by min(|test items|, k).</param>
/// <param name="HitRate">Share of users with at least one hit.</param>
/// <param name="F1">Harmonic mean of <paramref name="Precision"/> and <paramref name="Recall"/>.</param>
/// <param name="Coverage">Distinct recommended items / candidate items.</param>
/// <param name="Novelty">Mean self-information -log2(p) of recommended items, p = share of training users who had the item.</param>
public sealed record RankingMetrics(int Users, int K, double Precision, double Recall, double Ndcg, double Map, double MapAtK,
    double HitRate, double F1, double Coverage, double Novelty);

/// <summary>Computes <see cref="RankingMetrics"/> from top-k lists and held-out interactions.</summary>
public static class Metrics
{
    /// <summary>
    /// Scores top-k lists against test interactions. Every test entry is relevant (no rating threshold).
    /// </summary>
    /// <param name="recommendations">The lists (dense item indices of <paramref name="test"/>'s item map; -1 padding).</param>
    /// <param name="test">Held-out interactions on the same user and item maps.</param>
    /// <param name="train">Training interactions (for novelty).</param>
    /// <param name="candidateCount">Items that could be recommended (for coverage).</param>
    /// <returns>The metrics averaged over the users of the batch that have test items.</returns>
    public static RankingMetrics Compute(RecommendationBatch recommendations, Interactions test, Interactions train, int candidateCount)
    {
        ArgumentNullException.ThrowIfNull(recommendations);
        ArgumentNullException.ThrowIfNull(test);
        ArgumentNullException.ThrowIfNull(train);
        int k = recommendations.K;
        double p = 0, r = 0, ndcg = 0, map = 0, mapK = 0, hitRate = 0, novelty = 0;
        long recommended = 0;
        int users = 0;
        var seen = new HashSet<int>();
        Interactions byItem = train.Transpose();
        for (int i = 0; i < recommendations.UserIndices.Count; i++)
        {
            int u = recommendations.UserIndices[i];
            ReadOnlySpan<int> relevant = test.ItemsOf(u);
            if (relevant.Length == 0) continue;
            users++;
            ReadOnlySpan<int> list = recommendations.ItemsOf(i);
            int hits = 0;
            double dcg = 0, ap = 0;
            for (int rank = 1; rank <= k; rank++)
            {
                int item = list[rank - 1];
                if (item < 0) continue;
                seen.Add(item);
                int popularity = byItem.ItemsOf(item).Length;
                novelty += -Math.Log2(Math.Max(popularity, 1) / (double)train.UserCount);
                recommended++;
                if (relevant.BinarySearch(item) < 0) continue;
                hits++;
                dcg += 1.0 / Math.Log(1 + rank);
                ap += hits / (double)rank;
            }

            double idcg = 0;
            for (int rank = 1; rank <= Math.Min(relevant.Length, k); rank++) idcg += 1.0 / Math.Log(1 + rank);
            p += hits / (double)k;
            r += hits / (double)relevant.Length;
            ndcg += dcg / idcg;
            map += ap / relevant.Length;
            mapK += ap / Math.Min(relevant.Length, k);
            hitRate += hits > 0 ? 1 : 0;
        }

        if (users == 0) return new RankingMetrics(0, k, 0, 0, 0, 0, 0, 0, 0, 0, 0);
        double precision = p / users, recall = r / users;
        return new RankingMetrics(users, k, precision, recall, ndcg / users, map / users, mapK / users, hitRate / users,
            precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0,
            candidateCount > 0 ? seen.Count / (double)candidateCount : 0, recommended > 0 ? novelty / recommended : 0);
    }
}

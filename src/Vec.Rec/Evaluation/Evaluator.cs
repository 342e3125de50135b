namespace Vec.Rec.Evaluation;

/// <summary>Runs a fitted recommender over the users of a test set and scores its top-k lists.</summary>
public static class Evaluator
{
    /// <summary>
    /// Recommends top-<paramref name="k"/> for every user with test items (seen training items removed), restricted to
    /// <paramref name="candidates"/>, and computes the metrics.
    /// </summary>
    /// <param name="model">A fitted model; its <see cref="Recommender.Train"/> shares maps with <paramref name="test"/>.</param>
    /// <param name="test">Held-out interactions.</param>
    /// <param name="k">List length.</param>
    /// <param name="candidates">Items that may be recommended; null for the items with training interactions (the Microsoft Recommenders protocol).</param>
    /// <returns>The metrics.</returns>
    public static RankingMetrics Evaluate(Recommender model, Interactions test, int k = 10, bool[]? candidates = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(test);
        Interactions train = model.Train;
        if (!ReferenceEquals(train.Users, test.Users) || !ReferenceEquals(train.Items, test.Items))
            throw new ArgumentException("The test matrix must use the training matrix's user and item maps.", nameof(test));
        candidates ??= TrainItems(train);
        int[] users = [.. Enumerable.Range(0, test.UserCount).Where(u => test.ItemsOf(u).Length > 0)];
        RecommendationBatch recs = model.RecommendBatch(users, k, excludeSeen: true, candidates);
        return Metrics.Compute(recs, test, train, candidates.Count(c => c));
    }

    /// <summary>Per item, whether it has at least one training interaction.</summary>
    /// <param name="train">Training interactions.</param>
    public static bool[] TrainItems(Interactions train)
    {
        ArgumentNullException.ThrowIfNull(train);
        var has = new bool[train.ItemCount];
        foreach (int i in train.ItemIndices) has[i] = true;
        return has;
    }
}

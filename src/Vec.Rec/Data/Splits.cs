namespace Vec.Rec;

/// <summary>A train/test split of a rating log; both halves keep the log's order.</summary>
/// <param name="Train">Training ratings.</param>
/// <param name="Test">Held-out ratings.</param>
public sealed record RatingSplit(IReadOnlyList<Rating> Train, IReadOnlyList<Rating> Test);

/// <summary>An item cold-start split: every rating of a cold item is test.</summary>
/// <param name="Train">Ratings of warm items.</param>
/// <param name="Test">Ratings of cold items.</param>
/// <param name="ColdItems">The cold item ids, ascending.</param>
public sealed record ColdItemSplit(IReadOnlyList<Rating> Train, IReadOnlyList<Rating> Test, IReadOnlyList<long> ColdItems);

/// <summary>Reproducible splits, bit for bit those of Microsoft Recommenders' splitters where named.</summary>
public static class Splits
{
    /// <summary>
    /// Microsoft Recommenders' <c>python_stratified_split(ratio, filter_by="item" | "user", seed)</c>: one MT19937 double
    /// per rating in log order (<c>np.random.seed(seed); np.random.rand(n)</c>); within each item (or user) the ratings
    /// are ranked by their draw, and ranks up to <c>round-half-to-even(ratio * n)</c> go to train.
    /// </summary>
    /// <param name="ratings">The log, in file order.</param>
    /// <param name="ratio">Train share, in (0, 1).</param>
    /// <param name="seed">The seed (42 in the benchmark).</param>
    /// <param name="byItem">Stratify by item (the benchmark) or by user.</param>
    /// <returns>The split; on MovieLens 100K with the defaults, 75,066 train and 24,934 test ratings.</returns>
    public static RatingSplit Stratified(IReadOnlyList<Rating> ratings, double ratio = 0.75, uint seed = 42, bool byItem = true)
    {
        ArgumentNullException.ThrowIfNull(ratings);
        if (!(ratio > 0 && ratio < 1)) throw new ArgumentOutOfRangeException(nameof(ratio), ratio, "The ratio must lie in (0, 1).");
        var rng = new MersenneTwister(seed);
        var draws = new double[ratings.Count];
        for (int i = 0; i < draws.Length; i++) draws[i] = rng.NextDouble();
        var order = new int[ratings.Count];
        for (int i = 0; i < order.Length; i++) order[i] = i;
        long Key(int i) => byItem ? ratings[i].Item : ratings[i].User;
        Array.Sort(order, (a, b) =>
        {
            int c = Key(a).CompareTo(Key(b));
            if (c != 0) return c;
            c = draws[a].CompareTo(draws[b]);
            return c != 0 ? c : a.CompareTo(b);
        });

        var inTrain = new bool[ratings.Count];
        for (int start = 0; start < order.Length;)
        {
            int end = start;
            while (end < order.Length && Key(order[end]) == Key(order[start])) end++;
            int n = end - start;
            double keep = Math.Round(ratio * n, MidpointRounding.ToEven);
            for (int r = 0; r < n; r++) inTrain[order[start + r]] = r + 1 <= keep;
            start = end;
        }

        var train = new List<Rating>();
        var test = new List<Rating>();
        for (int i = 0; i < ratings.Count; i++) (inTrain[i] ? train : test).Add(ratings[i]);
        return new RatingSplit(train, test);
    }

    /// <summary>
    /// Item cold start: one MT19937 double per item id in ascending order; the <c>round(fraction * items)</c> items with
    /// the smallest draws are cold, and all their ratings are test. On MovieLens 100K with the defaults: 336 cold items,
    /// 21,238 test and 78,762 train ratings.
    /// </summary>
    /// <param name="ratings">The log.</param>
    /// <param name="itemIds">The item ids to draw for (the catalog); drawn in ascending id order.</param>
    /// <param name="fraction">Cold share, in (0, 1).</param>
    /// <param name="seed">The seed.</param>
    /// <returns>The split.</returns>
    public static ColdItemSplit ColdItems(IReadOnlyList<Rating> ratings, IEnumerable<long> itemIds, double fraction = 0.2, uint seed = 42)
    {
        ArgumentNullException.ThrowIfNull(ratings);
        ArgumentNullException.ThrowIfNull(itemIds);
        if (!(fraction > 0 && fraction < 1)) throw new ArgumentOutOfRangeException(nameof(fraction), fraction, "The fraction must lie in (0, 1).");
        long[] ids = [.. itemIds.Distinct().Order()];
        var rng = new MersenneTwister(seed);
        var draws = ids.Select(_ => rng.NextDouble()).ToArray();
        int cold = (int)Math.Round(fraction * ids.Length, MidpointRounding.ToEven);
        var coldSet = new HashSet<long>(Enumerable.Range(0, ids.Length).OrderBy(i => draws[i]).ThenBy(i => i).Take(cold).Select(i => ids[i]));
        var train = new List<Rating>();
        var test = new List<Rating>();
        foreach (Rating r in ratings) (coldSet.Contains(r.Item) ? test : train).Add(r);
        return new ColdItemSplit(train, test, [.. coldSet.Order()]);
    }
}

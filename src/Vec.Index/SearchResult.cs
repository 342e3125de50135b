using Vec.Kernels;

namespace Vec.Index;

/// <summary>Search results as arrays: <see cref="QueryCount"/> rows of <see cref="K"/> ids and scores, best first.</summary>
public sealed class SearchResult
{
    /// <summary>Wraps result arrays.</summary>
    /// <param name="queryCount">Number of queries.</param>
    /// <param name="k">Results per query.</param>
    /// <param name="ids">Row-major ids, -1 where missing.</param>
    /// <param name="scores">Row-major scores.</param>
    public SearchResult(int queryCount, int k, long[] ids, float[] scores)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(queryCount);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(k);
        ArgumentNullException.ThrowIfNull(ids);
        ArgumentNullException.ThrowIfNull(scores);
        if (ids.LongLength != (long)queryCount * k) throw new ArgumentException($"Expected {(long)queryCount * k} ids.", nameof(ids));
        if (scores.LongLength != (long)queryCount * k) throw new ArgumentException($"Expected {(long)queryCount * k} scores.", nameof(scores));
        QueryCount = queryCount;
        K = k;
        Ids = ids;
        Scores = scores;
    }

    /// <summary>Number of queries.</summary>
    public int QueryCount { get; }

    /// <summary>Results per query.</summary>
    public int K { get; }

    /// <summary>Row-major <c>QueryCount x K</c> ids, -1 where fewer than <see cref="K"/> vectors qualified.</summary>
    public long[] Ids { get; }

    /// <summary>Row-major <c>QueryCount x K</c> scores matching <see cref="Ids"/>.</summary>
    public float[] Scores { get; }

    /// <summary>The ids of one query's results.</summary>
    /// <param name="query">Query index.</param>
    public ReadOnlySpan<long> IdsOf(int query) => Ids.AsSpan(checked(query * K), K);

    /// <summary>The scores of one query's results.</summary>
    /// <param name="query">Query index.</param>
    public ReadOnlySpan<float> ScoresOf(int query) => Scores.AsSpan(checked(query * K), K);
}

/// <summary>Convenience members for every <see cref="IVectorIndex"/>.</summary>
public static class VectorIndexExtensions
{
    /// <summary>Searches and returns the results as arrays.</summary>
    /// <param name="index">The index.</param>
    /// <param name="queries">Row-major queries; their count is <c>queries.Length / index.Dimension</c>.</param>
    /// <param name="k">Results per query.</param>
    /// <param name="options">Per-call settings.</param>
    public static SearchResult Search(this IVectorIndex index, ReadOnlySpan<float> queries, int k, SearchOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(index);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(k);
        int d = index.Dimension;
        if (d == 0 || queries.Length % d != 0)
            throw new ArgumentException($"Query length {queries.Length} is not a multiple of the dimension {d}.", nameof(queries));
        int m = queries.Length / d;
        var ids = new long[checked(m * k)];
        var scores = new float[ids.Length];
        index.Search(queries, m, k, ids, scores, options);
        return new SearchResult(m, k, ids, scores);
    }

    /// <summary>Adds vectors under consecutive ids starting at <paramref name="firstId"/>.</summary>
    /// <param name="index">The index.</param>
    /// <param name="firstId">Id of the first row.</param>
    /// <param name="vectors">Row-major vectors; their count is <c>vectors.Length / index.Dimension</c>.</param>
    public static void AddRange(this IVectorIndex index, long firstId, ReadOnlySpan<float> vectors)
    {
        ArgumentNullException.ThrowIfNull(index);
        int d = index.Dimension;
        if (d == 0 || vectors.Length % d != 0)
            throw new ArgumentException($"Vector length {vectors.Length} is not a multiple of the dimension {d}.", nameof(vectors));
        var ids = new long[vectors.Length / d];
        for (int i = 0; i < ids.Length; i++) ids[i] = firstId + i;
        index.Add(ids, vectors);
    }

    /// <summary>The score that pads missing results for <paramref name="metric"/>.</summary>
    /// <param name="metric">The metric.</param>
    public static float MissingScore(this Metric metric) => metric.Order().MissingScore();
}

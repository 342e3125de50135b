using Vec.Kernels;

namespace Vec.Index;

/// <summary>
/// One contract for every VecRec index, in the spirit of FAISS's <c>Index</c>: train (where the index needs it), add
/// vectors under caller-chosen 64-bit ids, search with per-call <see cref="SearchOptions"/>, remove ids, save.
/// </summary>
/// <remarks>
/// <para>Data layout: vectors are row-major <c>count x Dimension</c> <see cref="float"/> spans. Results are
/// <c>queryCount x k</c> rows of ids and scores, best first; where fewer than <c>k</c> vectors qualify the row is padded
/// with id <c>-1</c> and the metric's missing score (negative infinity for similarities, positive infinity for
/// distances).</para>
/// <para>Scores: <see cref="Metric.InnerProduct"/> returns inner products and <see cref="Metric.Cosine"/> cosine
/// similarities (both larger is better); <see cref="Metric.L2"/> returns squared Euclidean distances (smaller is
/// better), as FAISS does. Cosine indexes normalise vectors and queries internally: callers never have to.</para>
/// <para>Concurrency: every member is safe to call from several threads at once. <c>Search</c> runs concurrently with
/// other searches and with <c>Add</c>/<c>Remove</c>; it sees the index as it was when the call began (a consistent
/// snapshot: a batch added or removed by one call is seen entirely or not at all). Writers (<c>Train</c>, <c>Add</c>,
/// <c>Remove</c>) are serialised among themselves. <c>Dispose</c> must not race with other calls.</para>
/// </remarks>
public interface IVectorIndex : IDisposable
{
    /// <summary>Vector dimension.</summary>
    int Dimension { get; }

    /// <summary>Similarity or distance the index ranks by.</summary>
    Metric Metric { get; }

    /// <summary>Number of vectors currently searchable (added and not removed).</summary>
    long Count { get; }

    /// <summary>Whether the index is ready for <see cref="Add"/>; indexes that need no training are always trained.</summary>
    bool IsTrained { get; }

    /// <summary>
    /// Trains the index on representative vectors (k-means, codebooks). A no-op for indexes that need no training.
    /// </summary>
    /// <param name="vectors">Row-major <paramref name="count"/> x <see cref="Dimension"/> training vectors.</param>
    /// <param name="count">Number of training vectors.</param>
    void Train(ReadOnlySpan<float> vectors, int count);

    /// <summary>Adds vectors under the given ids (one row per id).</summary>
    /// <param name="ids">Caller-chosen ids; unique within the call and not already in the index; never -1.</param>
    /// <param name="vectors">Row-major <c>ids.Length</c> x <see cref="Dimension"/> finite vectors.</param>
    void Add(ReadOnlySpan<long> ids, ReadOnlySpan<float> vectors);

    /// <summary>Finds the <paramref name="k"/> best vectors for each query.</summary>
    /// <param name="queries">Row-major <paramref name="queryCount"/> x <see cref="Dimension"/> finite queries.</param>
    /// <param name="queryCount">Number of queries.</param>
    /// <param name="k">Results per query (at least 1).</param>
    /// <param name="ids">Receives <c>queryCount x k</c> ids, best first, -1 where missing.</param>
    /// <param name="scores">Receives <c>queryCount x k</c> scores matching <paramref name="ids"/>.</param>
    /// <param name="options">Per-call settings (nprobe, filter, refine); <see langword="null"/> for the defaults.</param>
    void Search(ReadOnlySpan<float> queries, int queryCount, int k, Span<long> ids, Span<float> scores, SearchOptions? options = null);

    /// <summary>Removes the given ids; ids not in the index are ignored.</summary>
    /// <param name="ids">Ids to remove.</param>
    /// <returns>The number of vectors removed.</returns>
    int Remove(ReadOnlySpan<long> ids);

    /// <summary>Whether <paramref name="id"/> is currently in the index.</summary>
    /// <param name="id">The id to look up.</param>
    bool Contains(long id);

    /// <summary>
    /// Writes the index to <paramref name="path"/> atomically (temporary file, flushed to disk, renamed), in the
    /// versioned, checksummed VecRec index format; <see cref="VectorIndex.Load"/> reads it back.
    /// </summary>
    /// <param name="path">Destination file.</param>
    void Save(string path);
}

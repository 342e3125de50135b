namespace Vec.Index;

/// <summary>
/// Which ids a search may return: an allow set, a deny set, or a predicate over ids (FAISS's <c>IDSelector</c>).
/// Filters are applied inside the search, so a filtered search returns the best <c>k</c> allowed vectors (as many as
/// exist), not a post-filtered subset of the unfiltered top <c>k</c>.
/// </summary>
/// <remarks>Instances are immutable and thread-safe, except that a predicate must itself be safe to call from several
/// threads.</remarks>
public abstract class IdFilter
{
    private protected IdFilter()
    {
    }

    /// <summary>Whether <paramref name="id"/> may be returned.</summary>
    /// <param name="id">A stored id.</param>
    public abstract bool IsAllowed(long id);

    /// <summary>Allows only the given ids.</summary>
    /// <param name="ids">The ids to allow.</param>
    public static IdFilter Allow(IEnumerable<long> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        return new SetFilter(new HashSet<long>(ids), allow: true);
    }

    /// <summary>Allows only the given ids.</summary>
    /// <param name="ids">The ids to allow.</param>
    public static IdFilter Allow(ReadOnlySpan<long> ids) => new SetFilter(ToSet(ids), allow: true);

    /// <summary>Allows every id except the given ones.</summary>
    /// <param name="ids">The ids to exclude.</param>
    public static IdFilter Deny(IEnumerable<long> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        return new SetFilter(new HashSet<long>(ids), allow: false);
    }

    /// <summary>Allows every id except the given ones.</summary>
    /// <param name="ids">The ids to exclude.</param>
    public static IdFilter Deny(ReadOnlySpan<long> ids) => new SetFilter(ToSet(ids), allow: false);

    /// <summary>Allows the ids for which <paramref name="predicate"/> returns <see langword="true"/>.</summary>
    /// <param name="predicate">Thread-safe predicate over ids; it may be called many times per search.</param>
    public static IdFilter Where(Func<long, bool> predicate)
    {
        ArgumentNullException.ThrowIfNull(predicate);
        return new PredicateFilter(predicate);
    }

    private static HashSet<long> ToSet(ReadOnlySpan<long> ids)
    {
        var set = new HashSet<long>(ids.Length);
        foreach (long id in ids) set.Add(id);
        return set;
    }

    private sealed class SetFilter(HashSet<long> set, bool allow) : IdFilter
    {
        public override bool IsAllowed(long id) => set.Contains(id) == allow;
    }

    private sealed class PredicateFilter(Func<long, bool> predicate) : IdFilter
    {
        public override bool IsAllowed(long id) => predicate(id);
    }
}

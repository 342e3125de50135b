namespace Vec.Rec;

/// <summary>Maps external ids to dense indices <c>0..Count-1</c>, in ascending id order.</summary>
public sealed class IdMap
{
    private readonly long[] _ids;
    private readonly Dictionary<long, int> _index;

    private IdMap(long[] sortedDistinct)
    {
        _ids = sortedDistinct;
        _index = new Dictionary<long, int>(_ids.Length);
        for (int i = 0; i < _ids.Length; i++) _index[_ids[i]] = i;
    }

    /// <summary>The distinct ids, sorted ascending; index i holds id <c>Ids[i]</c>.</summary>
    /// <param name="ids">Ids, in any order, duplicates allowed.</param>
    /// <returns>The map.</returns>
    public static IdMap FromIds(IEnumerable<long> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        long[] distinct = [.. ids.Distinct()];
        Array.Sort(distinct);
        return new IdMap(distinct);
    }

    /// <summary>Number of ids.</summary>
    public int Count => _ids.Length;

    /// <summary>The ids in index order.</summary>
    public IReadOnlyList<long> Ids => _ids;

    /// <summary>The id at a dense index.</summary>
    /// <param name="index">0..Count-1.</param>
    public long this[int index] => (uint)index < (uint)_ids.Length ? _ids[index] : throw new ArgumentOutOfRangeException(nameof(index), index, $"Index must be 0..{_ids.Length - 1}.");

    /// <summary>The dense index of an id, or -1 when absent.</summary>
    /// <param name="id">External id.</param>
    public int IndexOf(long id) => _index.TryGetValue(id, out int i) ? i : -1;

    /// <summary>Whether the id is mapped.</summary>
    /// <param name="id">External id.</param>
    public bool Contains(long id) => _index.ContainsKey(id);
}

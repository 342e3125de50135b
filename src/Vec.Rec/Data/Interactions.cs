namespace Vec.Rec;

/// <summary>
/// A users x items interaction matrix in compressed sparse rows: for each user (dense index) the items (dense indices,
/// ascending) with their weights and timestamps. External ids map through <see cref="Users"/> and <see cref="Items"/>.
/// Immutable; the item-major transpose is built on first use and cached.
/// </summary>
/// <remarks>The item space is usually the whole catalog, so items without interactions (cold items) have empty columns.</remarks>
public sealed class Interactions
{
    private readonly int[] _offsets;
    private readonly int[] _items;
    private readonly float[] _values;
    private readonly long[] _timestamps;
    private Interactions? _transpose;

    private Interactions(IdMap users, IdMap items, int[] offsets, int[] columns, float[] values, long[] timestamps)
    {
        Users = users;
        Items = items;
        _offsets = offsets;
        _items = columns;
        _values = values;
        _timestamps = timestamps;
    }

    /// <summary>User ids (rows).</summary>
    public IdMap Users { get; }

    /// <summary>Item ids (columns).</summary>
    public IdMap Items { get; }

    /// <summary>Number of users (rows).</summary>
    public int UserCount => Users.Count;

    /// <summary>Number of items (columns).</summary>
    public int ItemCount => Items.Count;

    /// <summary>Number of stored (user, item) entries.</summary>
    public int Count => _items.Length;

    /// <summary>Row offsets, length <c>UserCount + 1</c>: user u's entries are <c>[RowOffsets[u], RowOffsets[u+1])</c>.</summary>
    public ReadOnlySpan<int> RowOffsets => _offsets;

    /// <summary>Item index of every entry, row by row, ascending within a row.</summary>
    public ReadOnlySpan<int> ItemIndices => _items;

    /// <summary>Weight of every entry.</summary>
    public ReadOnlySpan<float> Values => _values;

    /// <summary>Timestamp of every entry (the latest, when duplicates were merged).</summary>
    public ReadOnlySpan<long> Timestamps => _timestamps;

    /// <summary>The items of one user, ascending.</summary>
    /// <param name="user">Dense user index.</param>
    public ReadOnlySpan<int> ItemsOf(int user) => _items.AsSpan(_offsets[CheckUser(user)], _offsets[user + 1] - _offsets[user]);

    /// <summary>The weights of one user's items, aligned with <see cref="ItemsOf"/>.</summary>
    /// <param name="user">Dense user index.</param>
    public ReadOnlySpan<float> ValuesOf(int user) => _values.AsSpan(_offsets[CheckUser(user)], _offsets[user + 1] - _offsets[user]);

    /// <summary>The timestamps of one user's items, aligned with <see cref="ItemsOf"/>.</summary>
    /// <param name="user">Dense user index.</param>
    public ReadOnlySpan<long> TimestampsOf(int user) => _timestamps.AsSpan(_offsets[CheckUser(user)], _offsets[user + 1] - _offsets[user]);

    /// <summary>Whether the user has the item.</summary>
    /// <param name="user">Dense user index.</param>
    /// <param name="item">Dense item index.</param>
    public bool Contains(int user, int item) => ItemsOf(user).BinarySearch(item) >= 0;

    /// <summary>The latest timestamp, or 0 when empty.</summary>
    public long MaxTimestamp => _timestamps.Length == 0 ? 0 : _timestamps.Max();

    /// <summary>
    /// The item-major transpose: rows are items, columns users (an <see cref="Interactions"/> with the maps swapped).
    /// </summary>
    public Interactions Transpose()
    {
        Interactions? t = Volatile.Read(ref _transpose);
        if (t is not null) return t;
        var counts = new int[ItemCount + 1];
        foreach (int i in _items) counts[i + 1]++;
        for (int i = 0; i < ItemCount; i++) counts[i + 1] += counts[i];
        var fill = (int[])counts.Clone();
        var users = new int[Count];
        var values = new float[Count];
        var times = new long[Count];
        for (int u = 0; u < UserCount; u++)
        {
            for (int p = _offsets[u]; p < _offsets[u + 1]; p++)
            {
                int dst = fill[_items[p]]++;
                users[dst] = u;
                values[dst] = _values[p];
                times[dst] = _timestamps[p];
            }
        }

        t = new Interactions(Items, Users, counts, users, values, times) { _transpose = this };
        Interlocked.CompareExchange(ref _transpose, t, null);
        return _transpose!;
    }

    /// <summary>
    /// Builds the matrix from ratings. Duplicate (user, item) pairs are merged: weights summed, latest timestamp kept.
    /// </summary>
    /// <param name="ratings">The ratings.</param>
    /// <param name="users">User space; null for the distinct users of <paramref name="ratings"/>.</param>
    /// <param name="items">Item space; null for the distinct items of <paramref name="ratings"/>.</param>
    /// <returns>The matrix.</returns>
    /// <exception cref="ArgumentException">A rating names a user or item outside the given maps, or has a non-finite value.</exception>
    public static Interactions Build(IEnumerable<Rating> ratings, IdMap? users = null, IdMap? items = null)
    {
        ArgumentNullException.ThrowIfNull(ratings);
        IReadOnlyCollection<Rating> list = ratings as IReadOnlyCollection<Rating> ?? [.. ratings];
        users ??= IdMap.FromIds(list.Select(r => r.User));
        items ??= IdMap.FromIds(list.Select(r => r.Item));
        var keys = new (int U, int I, float V, long T)[list.Count];
        int n = 0;
        foreach (Rating r in list)
        {
            int u = users.IndexOf(r.User), i = items.IndexOf(r.Item);
            if (u < 0) throw new ArgumentException($"Rating of user {r.User} for item {r.Item}: the user is not in the user map.", nameof(ratings));
            if (i < 0) throw new ArgumentException($"Rating of user {r.User} for item {r.Item}: the item is not in the item map.", nameof(ratings));
            if (!float.IsFinite(r.Value)) throw new ArgumentException($"Rating of user {r.User} for item {r.Item} is {r.Value}.", nameof(ratings));
            keys[n++] = (u, i, r.Value, r.Timestamp);
        }

        Array.Sort(keys, static (a, b) => a.U != b.U ? a.U.CompareTo(b.U) : a.I.CompareTo(b.I));
        var offsets = new int[users.Count + 1];
        var cols = new List<int>(n);
        var vals = new List<float>(n);
        var times = new List<long>(n);
        for (int p = 0; p < n; p++)
        {
            var (u, i, v, t) = keys[p];
            if (cols.Count > 0 && p > 0 && keys[p - 1].U == u && keys[p - 1].I == i)
            {
                vals[^1] += v;
                times[^1] = Math.Max(times[^1], t);
                continue;
            }

            cols.Add(i);
            vals.Add(v);
            times.Add(t);
            offsets[u + 1]++;
        }

        for (int u = 0; u < users.Count; u++) offsets[u + 1] += offsets[u];
        return new Interactions(users, items, offsets, [.. cols], [.. vals], [.. times]);
    }

    private int CheckUser(int user) =>
        (uint)user < (uint)UserCount ? user : throw new ArgumentOutOfRangeException(nameof(user), user, $"User index must be 0..{UserCount - 1}.");
}

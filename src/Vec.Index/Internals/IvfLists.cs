namespace Vec.Index.Internals;

/// <summary>
/// One inverted list as a snapshot sees it: ids, blocked PQ codes and optional refine vectors of the first
/// <see cref="Count"/> positions. Arrays may have spare capacity; the single writer appends beyond every published
/// count (readers never look there) and replaces the arrays on removal (copy on write), so a published list never
/// changes under a reader.
/// </summary>
internal sealed class IvfList
{
    public static readonly IvfList Empty = new([], [], null, null, 0);

    public IvfList(long[] ids, byte[] codes, float[]? refine32, Half[]? refine16, int count)
    {
        Ids = ids;
        Codes = codes;
        Refine32 = refine32;
        Refine16 = refine16;
        Count = count;
    }

    public long[] Ids { get; }

    public byte[] Codes { get; }

    public float[]? Refine32 { get; }

    public Half[]? Refine16 { get; }

    public int Count { get; }

    /// <summary>Bytes held by the arrays (capacity included).</summary>
    public long Bytes => Ids.LongLength * 8 + Codes.LongLength + (Refine32?.LongLength ?? 0) * 4 + (Refine16?.LongLength ?? 0) * 2;
}

/// <summary>All lists one search sees.</summary>
internal sealed class IvfSnapshot(IvfList[] lists, long count)
{
    public IvfList[] Lists { get; } = lists;

    public long Count { get; } = count;
}

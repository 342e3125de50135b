using System.Numerics;

namespace Vec.Kernels;

/// <summary>
/// An allow-list over the rows of a <see cref="VectorDatabase"/>, passed per call to
/// <see cref="IVectorKernels.Search"/>. Stored as a bitmap (one bit per row, set = allowed), so a test costs
/// one load and GPU backends can upload it as is. Immutable and safe to share between threads.
/// </summary>
public sealed class RowFilter
{
    private readonly ulong[] _bits;

    private RowFilter(ulong[] bits, int rowCount)
    {
        _bits = bits;
        RowCount = rowCount;
        int allowed = 0;
        foreach (ulong word in bits) allowed += BitOperations.PopCount(word);
        AllowedCount = allowed;
    }

    /// <summary>Number of rows the filter covers; it must equal the database's row count.</summary>
    public int RowCount { get; }

    /// <summary>Number of rows the filter lets through.</summary>
    public int AllowedCount { get; }

    /// <summary>The bitmap, 64 rows per word, bit <c>r % 64</c> of word <c>r / 64</c> set when row r is allowed.</summary>
    internal ReadOnlySpan<ulong> Bits => _bits;

    internal ulong[] BitsArray => _bits;

    /// <summary>True when <paramref name="row"/> may appear in results.</summary>
    public bool IsAllowed(int row)
    {
        if ((uint)row >= (uint)RowCount) throw new ArgumentOutOfRangeException(nameof(row), row, $"Row must be in [0, {RowCount}).");
        return (_bits[row >> 6] & (1UL << row)) != 0;
    }

    /// <summary>Only the listed rows may appear in results.</summary>
    /// <param name="rows">Allowed row indices, each in [0, <paramref name="rowCount"/>); duplicates are harmless.</param>
    /// <param name="rowCount">Number of rows of the database the filter will be used with.</param>
    public static RowFilter Allow(ReadOnlySpan<int> rows, int rowCount)
    {
        ulong[] bits = NewBits(rowCount);
        foreach (int r in rows)
        {
            CheckRow(r, rowCount);
            bits[r >> 6] |= 1UL << r;
        }
        return new RowFilter(bits, rowCount);
    }

    /// <summary>Every row except the listed ones may appear in results.</summary>
    /// <param name="rows">Denied row indices, each in [0, <paramref name="rowCount"/>); duplicates are harmless.</param>
    /// <param name="rowCount">Number of rows of the database the filter will be used with.</param>
    public static RowFilter Deny(ReadOnlySpan<int> rows, int rowCount)
    {
        ulong[] bits = NewBits(rowCount);
        SetAll(bits, rowCount);
        foreach (int r in rows)
        {
            CheckRow(r, rowCount);
            bits[r >> 6] &= ~(1UL << r);
        }
        return new RowFilter(bits, rowCount);
    }

    /// <summary>Rows for which <paramref name="allowed"/> returns true may appear in results. The predicate runs
    /// once per row here, never on the search path.</summary>
    public static RowFilter FromPredicate(int rowCount, Func<int, bool> allowed)
    {
        ArgumentNullException.ThrowIfNull(allowed);
        ulong[] bits = NewBits(rowCount);
        for (int r = 0; r < rowCount; r++)
            if (allowed(r)) bits[r >> 6] |= 1UL << r;
        return new RowFilter(bits, rowCount);
    }

    /// <summary>
    /// Builds a filter from a bitmap: bit <c>r % 64</c> of word <c>r / 64</c> set means row <c>r</c> is allowed. Bits at
    /// or beyond <paramref name="rowCount"/> are ignored. The bitmap is copied.
    /// </summary>
    /// <param name="bits">At least <c>ceil(rowCount / 64)</c> words.</param>
    /// <param name="rowCount">Number of rows in the database the filter is for.</param>
    public static RowFilter FromBits(ReadOnlySpan<ulong> bits, int rowCount)
    {
        ulong[] copy = NewBits(rowCount);
        if (bits.Length < copy.Length)
            throw new ArgumentException($"Needs {copy.Length} words for {rowCount} rows, got {bits.Length}.", nameof(bits));
        bits[..copy.Length].CopyTo(copy);
        int tail = rowCount & 63;
        if (tail != 0) copy[^1] &= (1UL << tail) - 1;
        return new RowFilter(copy, rowCount);
    }

    private static ulong[] NewBits(int rowCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rowCount);
        return new ulong[(rowCount + 63) >> 6];
    }

    private static void SetAll(ulong[] bits, int rowCount)
    {
        for (int w = 0; w < bits.Length; w++) bits[w] = ulong.MaxValue;
        int tail = rowCount & 63;
        if (tail != 0) bits[^1] = (1UL << tail) - 1;
    }

    private static void CheckRow(int row, int rowCount)
    {
        if ((uint)row >= (uint)rowCount)
            throw new ArgumentOutOfRangeException("rows", row, $"Row index must be in [0, {rowCount}).");
    }
}

using System.Runtime.CompilerServices;

namespace Vec.Kernels.Internals;

/// <summary>
/// Packs a (key, index) pair into one <c>ulong</c> whose unsigned order is the ranking order: a larger key first, then
/// the lower index. Heaps and sorts of candidates then compare a single integer, and ties resolve to the lower
/// index for free. <see cref="Sentinel"/> ranks after every real candidate, even one with key -∞.
/// </summary>
internal static class RankCode
{
    public const ulong Sentinel = ulong.MaxValue;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Encode(float key, int index) => ((ulong)High(key) << 32) | (uint)index;

    /// <summary>The high half of <see cref="Encode"/>: a <c>uint</c> that is smaller for a larger key (branch-free).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint High(float key)
    {
        key += 0f; // -0 becomes +0, so the two zeros tie as they compare.
        uint bits = BitConverter.SingleToUInt32Bits(key);
        uint ordered = bits ^ ((uint)((int)bits >> 31) | 0x8000_0000u); // ascending with key: negatives flipped, sign set on positives
        return ~ordered;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Key(ulong code)
    {
        uint ordered = ~(uint)(code >> 32);
        uint bits = (ordered & 0x8000_0000u) != 0 ? ordered & 0x7FFF_FFFFu : ~ordered;
        return BitConverter.UInt32BitsToSingle(bits);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Index(ulong code) => (int)(uint)code;

    /// <summary>The key below which nothing can enter a heap whose worst entry is <paramref name="root"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Threshold(ulong root) => root == Sentinel ? float.NegativeInfinity : Key(root);

    /// <summary>Offers a candidate to a max-heap of codes (root = worst kept). Returns the new root.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Offer(Span<ulong> heap, ulong code)
    {
        if (code < heap[0]) SiftDownFromRoot(heap, code);
        return heap[0];
    }

    private static void SiftDownFromRoot(Span<ulong> heap, ulong code)
    {
        int n = heap.Length, i = 0;
        while (true)
        {
            int c = 2 * i + 1;
            if (c >= n) break;
            if (c + 1 < n && heap[c + 1] > heap[c]) c++;
            if (heap[c] <= code) break;
            heap[i] = heap[c];
            i = c;
        }
        heap[i] = code;
    }
}

using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Vec.Index.Internals;

/// <summary>
/// Keeps the <see cref="Capacity"/> smallest (distance, payload) candidates like <see cref="CandidateHeap"/>, but as a
/// reservoir (like FAISS's <c>ReservoirTopN</c>): candidates below the threshold are appended in O(1), and only when the
/// buffer of 4 x capacity is full is it cut back to the capacity best by a selection, which also lowers the threshold to
/// the worst kept distance. A fast scan admits many candidates while the threshold is still loose (every vector of the
/// first lists when the capacity is k x R); a heap pays a sift for each, the reservoir a store.
/// </summary>
internal sealed class CandidateReservoir
{
    /// <summary>The admission and cut paths a reservoir runs.</summary>
    internal enum Path
    {
        /// <summary>Plain scalar loops (the reference).</summary>
        Scalar,

        /// <summary>8 keys per step; compaction by permutations from a table (AVX2).</summary>
        Avx2,

        /// <summary>16 keys per step; compaction by compressing stores (AVX-512F and BW).</summary>
        Avx512,
    }

    private readonly Path _path;
    private float[] _keys = new float[16];
    private long[] _payloads = new long[16];
    private int _limit;
    private byte[] _buckets = [];
    private float[] _spareKeys = [];
    private long[] _sparePayloads = [];

    /// <summary>A reservoir on the widest path this machine runs.</summary>
    public CandidateReservoir()
        : this(Best)
    {
    }

    /// <summary>For tests: a reservoir on <paramref name="path"/> (one of <see cref="Supported"/>); every path keeps the
    /// same candidates.</summary>
    internal CandidateReservoir(Path path)
    {
        if (!Supported.Contains(path)) throw new PlatformNotSupportedException($"This machine does not run the reservoir's {path} path.");
        _path = path;
    }

    /// <summary>The paths this machine runs, scalar first.</summary>
    internal static Path[] Supported { get; } =
        Avx512F.IsSupported && Avx512BW.IsSupported ? [Path.Scalar, Path.Avx2, Path.Avx512]
        : Avx2.IsSupported ? [Path.Scalar, Path.Avx2] : [Path.Scalar];

    private static Path Best => Supported[^1];

    /// <summary>Candidates kept by <see cref="Drain"/>.</summary>
    public int Capacity { get; private set; }

    /// <summary>Candidates held now (up to 4 x capacity, plus at most 15 during <see cref="PushHits"/>).</summary>
    public int Count { get; private set; }

    /// <summary>A candidate must be strictly below this to enter; +inf until the first cut.</summary>
    public float Threshold { get; private set; } = float.PositiveInfinity;

    /// <summary>Empties the reservoir for a new query keeping <paramref name="capacity"/> results.</summary>
    public void Reset(int capacity)
    {
        int size = Math.Max(4 * capacity, 32);
        if (size + Slack > _keys.Length)
        {
            _keys = new float[size + Slack];
            _payloads = new long[size + Slack];
        }

        _limit = size;
        Capacity = capacity;
        Count = 0;
        Threshold = float.PositiveInfinity;
    }

    /// <summary>Adds a candidate known to be below <see cref="Threshold"/>.</summary>
    public void Push(float key, long payload)
    {
        int i = Count;
        _keys[i] = key;
        _payloads[i] = payload;
        Count = i + 1;
        if (Count == _limit) Cut();
    }

    /// <summary>
    /// Spare slots past the buffer: <see cref="PushHits"/> appends a register of 16 before it cuts (so up to 15 past the
    /// limit), and the vector cut reads and writes whole registers of 16 past the last candidate.
    /// </summary>
    private const int Slack = 32;

    /// <summary>
    /// Admits a fast-scan chunk's hits: hit h (position <paramref name="hits"/>[h], uint16 sum <paramref name="sums"/>[h])
    /// has the estimate <c>bias + sum * inverseScale</c> (as <c>Pq4Lut.Estimate</c>) and enters, with payload
    /// <c>payloadBase + position</c>, when its sum is at most <paramref name="maxSum"/> and its estimate below the
    /// threshold. With AVX-512, 16 hits at a time by compressing stores, with AVX2 8 at a time by permutations (the
    /// spans must then be readable up to <paramref name="count"/> rounded up to 16); the reservoir is cut after a
    /// register that fills it, so the threshold of a register is the one before it (which admits a superset; the kept
    /// best are the same).
    /// </summary>
    public void PushHits(ReadOnlySpan<ushort> sums, ReadOnlySpan<ushort> hits, int count, float inverseScale, float bias, int maxSum, long payloadBase)
    {
        int i = 0;
        if (_path != Path.Scalar)
        {
            int room = (count + 15) & ~15;
            if (sums.Length < room || hits.Length < room) throw new ArgumentException($"sums and hits must hold {room} values.", nameof(sums));
        }
        if (_path == Path.Avx2)
        {
            PushHitsAvx2(sums, hits, count, inverseScale, bias, maxSum, payloadBase);
            return;
        }
        if (_path == Path.Avx512)
        {
            ref ushort s0 = ref MemoryMarshal.GetReference(sums);
            ref ushort h0 = ref MemoryMarshal.GetReference(hits);
            Vector512<float> scale = Vector512.Create(inverseScale), offset = Vector512.Create(bias);
            Vector512<int> most = Vector512.Create(maxSum), lanes = Vector512<int>.Indices;
            Vector512<long> baseline = Vector512.Create(payloadBase);
            for (; i < count; i += 16)
            {
                Vector512<int> sum = Avx512BW.ConvertToVector512Int32(Vector256.LoadUnsafe(ref s0, (nuint)i));
                Vector512<float> key = offset + Vector512.ConvertToSingle(sum) * scale;
                Vector512<int> admit = Vector512.LessThan(key, Vector512.Create(Threshold)).AsInt32() & Vector512.LessThanOrEqual(sum, most)
                    & Vector512.LessThan(lanes, Vector512.Create(count - i));
                Vector128<ushort> low = Vector128.LoadUnsafe(ref h0, (nuint)i), high = Vector128.LoadUnsafe(ref h0, (nuint)(i + 8));
                Vector512<long> lowPayloads = baseline + Avx512F.ConvertToVector512Int64(low).AsInt64();
                Vector512<long> highPayloads = baseline + Avx512F.ConvertToVector512Int64(high).AsInt64();
                Count += Append(ref MemoryMarshal.GetArrayDataReference(_keys), ref MemoryMarshal.GetArrayDataReference(_payloads), Count, key,
                    lowPayloads, highPayloads, admit);
                if (Count >= _limit) Cut();
            }
            return;
        }

        for (; i < count; i++)
        {
            if (sums[i] > maxSum) continue;
            float key = bias + sums[i] * inverseScale;
            if (key < Threshold) Push(key, payloadBase + hits[i]);
        }
    }

    /// <summary><see cref="PushHits"/> on AVX2: 8 hits per step, admitted keys and payloads moved to the front of their
    /// registers by permutations from <see cref="Compaction"/> and stored whole (the buffers have slack for that).</summary>
    private void PushHitsAvx2(ReadOnlySpan<ushort> sums, ReadOnlySpan<ushort> hits, int count, float inverseScale, float bias, int maxSum, long payloadBase)
    {
        ref ushort s0 = ref MemoryMarshal.GetReference(sums);
        ref ushort h0 = ref MemoryMarshal.GetReference(hits);
        Vector256<float> scale = Vector256.Create(inverseScale), offset = Vector256.Create(bias);
        Vector256<int> most = Vector256.Create(maxSum), lanes = Vector256<int>.Indices;
        Vector256<long> baseline = Vector256.Create(payloadBase);
        for (int i = 0; i < count; i += 8)
        {
            Vector256<int> sum = Avx2.ConvertToVector256Int32(Vector128.LoadUnsafe(ref s0, (nuint)i));
            Vector256<float> key = offset + Vector256.ConvertToSingle(sum) * scale;
            Vector256<int> admit = Vector256.LessThan(key, Vector256.Create(Threshold)).AsInt32() & Vector256.LessThanOrEqual(sum, most)
                & Vector256.LessThan(lanes, Vector256.Create(count - i));
            uint mask = admit.AsSingle().ExtractMostSignificantBits();
            if (mask == 0) continue;
            Vector128<ushort> at = Vector128.LoadUnsafe(ref h0, (nuint)i);
            Vector256<long> lowPayloads = baseline + Avx2.ConvertToVector256Int64(at).AsInt64();
            Vector256<long> highPayloads = baseline + Avx2.ConvertToVector256Int64(Sse2.ShiftRightLogical128BitLane(at, 8)).AsInt64();
            Count += Append8(ref MemoryMarshal.GetArrayDataReference(_keys), ref MemoryMarshal.GetArrayDataReference(_payloads), Count, key,
                lowPayloads, highPayloads, mask);
            if (Count >= _limit) Cut();
        }
    }

    /// <summary>
    /// Per 8-bit mask, the lane indices (one byte each) that move the selected lanes of an 8 x 32-bit register to its
    /// front in order, then, at offset 2048, per 4-bit mask the 32-bit lane pairs doing the same for 4 x 64-bit lanes.
    /// </summary>
    private static readonly byte[] Compaction = BuildCompaction();

    private static byte[] BuildCompaction()
    {
        var table = new byte[256 * 8 + 16 * 8];
        for (int mask = 0; mask < 256; mask++)
        {
            int o = 0;
            for (int lane = 0; lane < 8; lane++)
                if ((mask >> lane & 1) != 0) table[mask * 8 + o++] = (byte)lane;
        }
        for (int mask = 0; mask < 16; mask++)
        {
            int o = 0;
            for (int lane = 0; lane < 4; lane++)
                if ((mask >> lane & 1) != 0)
                {
                    table[2048 + mask * 8 + o++] = (byte)(2 * lane);
                    table[2048 + mask * 8 + o++] = (byte)(2 * lane + 1);
                }
        }
        return table;
    }

    /// <summary>Stores the keys (and payloads: lanes 0-3 low, 4-7 high) selected by the 8-bit <paramref name="mask"/> at
    /// <paramref name="at"/>, in order, writing whole registers; returns their number.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe int Append8(ref float keys, ref long payloads, int at, Vector256<float> k, Vector256<long> lowPayloads, Vector256<long> highPayloads, uint mask)
    {
        ref byte table = ref MemoryMarshal.GetArrayDataReference(Compaction);
        Vector256<int> order = Avx2.ConvertToVector256Int32(Vector128.CreateScalarUnsafe(Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref table, mask * 8))).AsByte());
        Avx2.PermuteVar8x32(k, order).StoreUnsafe(ref keys, (nuint)at);
        uint lowMask = mask & 15, highMask = mask >> 4;
        Vector256<int> lowOrder = Avx2.ConvertToVector256Int32(Vector128.CreateScalarUnsafe(Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref table, 2048 + lowMask * 8))).AsByte());
        Vector256<int> highOrder = Avx2.ConvertToVector256Int32(Vector128.CreateScalarUnsafe(Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref table, 2048 + highMask * 8))).AsByte());
        int low = BitOperations.PopCount(lowMask);
        Avx2.PermuteVar8x32(lowPayloads.AsInt32(), lowOrder).AsInt64().StoreUnsafe(ref payloads, (nuint)at);
        Avx2.PermuteVar8x32(highPayloads.AsInt32(), highOrder).AsInt64().StoreUnsafe(ref payloads, (nuint)(at + low));
        return BitOperations.PopCount(mask);
    }

    /// <summary>
    /// Lowers the threshold to <paramref name="key"/> when at least <see cref="Capacity"/> candidates at or below it are
    /// held: the caller has admitted every candidate up to that key, so nothing at or above it can still belong to the
    /// result.
    /// </summary>
    public void TightenTo(float key)
    {
        if (Count >= Capacity && key < Threshold) Threshold = key;
    }

    /// <summary>
    /// Copies the kept candidates (the capacity best, or all if fewer) into the spans and empties the reservoir; returns
    /// their number. With <paramref name="sort"/> they come best first; without, in no particular order (for a caller
    /// that re-scores and sorts them anyway, such as refine).
    /// </summary>
    public int Drain(Span<float> keys, Span<long> payloads, bool sort)
    {
        if (Count > Capacity) Cut();
        int n = Count;
        Span<float> k = _keys.AsSpan(0, n);
        Span<long> p = _payloads.AsSpan(0, n);
        if (sort) k.Sort(p);
        k.CopyTo(keys);
        p.CopyTo(payloads);
        Count = 0;
        return n;
    }

    /// <summary>
    /// Keeps the capacity smallest keys (in no particular order) and lowers the threshold to the largest kept key. A
    /// bucket selection rather than a quickselect (whose partition branches mispredict on every other key): each key
    /// goes to one of 256 buckets spanning [min, max], a histogram finds the bucket holding the capacity-th smallest,
    /// keys in lower buckets are kept, those of that bucket are set aside, and the ones still needed are chosen among
    /// those by insertion; the passes over the keys make no data-dependent branches.
    /// </summary>
    [SkipLocalsInit]
    private void Cut()
    {
        int n = Count, keep = Capacity;
        Span<float> keys = _keys.AsSpan(0, n);
        Span<long> payloads = _payloads.AsSpan(0, n);
        float lo = TensorPrimitives.Min(keys), hi = TensorPrimitives.Max(keys);
        if (!(hi > lo))
        {
            // All equal: any capacity of them.
            Count = keep;
            Threshold = lo;
            return;
        }

        if (_buckets.Length < _keys.Length)
        {
            _buckets = new byte[_keys.Length];
            _spareKeys = new float[_keys.Length];
            _sparePayloads = new long[_keys.Length];
        }

        Span<int> counts = stackalloc int[256];
        counts.Clear();
        byte[] buckets = _buckets;
        float f = 256f / (hi - lo);
        if (!float.IsFinite(f)) f = float.MaxValue; // a span below ~1e-38: buckets are still ordered, only coarser
        int from = _path switch
        {
            Path.Avx512 => BucketsAvx512(n, lo, f),
            Path.Avx2 => BucketsAvx2(n, lo, f),
            _ => 0,
        };
        for (int i = from; i < n; i++) buckets[i] = (byte)Math.Min((int)((keys[i] - lo) * f), 255); // monotone; 0 <= b as key >= lo
        foreach (byte b in buckets.AsSpan(0, n)) counts[b]++;

        int boundary = 0, below = 0;
        while (below + counts[boundary] < keep) below += counts[boundary++];
        // Keys below the boundary bucket are kept (compacted in place: the write position never passes the read
        // position), those in it are copied aside.
        float[] spareKeys = _spareKeys;
        long[] sparePayloads = _sparePayloads;
        int kept = 0, spare = 0;
        if (_path == Path.Avx512) (kept, spare) = CompactAvx512(n, boundary);
        else if (_path == Path.Avx2) (kept, spare) = CompactAvx2(n, boundary);
        else for (int i = 0; i < n; i++)
        {
            float key = keys[i];
            long payload = payloads[i];
            int b = buckets[i];
            spareKeys[spare] = key;
            sparePayloads[spare] = payload;
            spare += b == boundary ? 1 : 0;
            keys[kept] = key;
            payloads[kept] = payload;
            kept += b < boundary ? 1 : 0;
        }

        // The smallest (keep - kept) of the boundary bucket complete the result.
        int need = keep - kept;
        SortSmallest(spareKeys.AsSpan(0, spare), sparePayloads.AsSpan(0, spare), need);
        spareKeys.AsSpan(0, need).CopyTo(keys[kept..]);
        sparePayloads.AsSpan(0, need).CopyTo(payloads[kept..]);
        Count = keep;
        Threshold = TensorPrimitives.Max(keys[..keep]);
    }

    /// <summary>The buckets of the whole vectors of keys, as the scalar loop computes them (the same float operations;
    /// the clamp comes before the conversion, so a product that overflows int still lands in bucket 255); returns how
    /// many keys were done.</summary>
    private int BucketsAvx512(int n, float lo, float f)
    {
        ref float k0 = ref MemoryMarshal.GetArrayDataReference(_keys);
        ref byte b0 = ref MemoryMarshal.GetArrayDataReference(_buckets);
        Vector512<float> low = Vector512.Create(lo), scale = Vector512.Create(f), top = Vector512.Create(255f);
        int i = 0;
        for (; i + 16 <= n; i += 16)
        {
            Vector512<float> x = Vector512.MinNative((Vector512.LoadUnsafe(ref k0, (nuint)i) - low) * scale, top);
            Avx512F.ConvertToVector128Byte(Vector512.ConvertToInt32Native(x)).StoreUnsafe(ref b0, (nuint)i);
        }
        return i;
    }

    /// <summary><see cref="BucketsAvx512"/> with 256-bit registers.</summary>
    private int BucketsAvx2(int n, float lo, float f)
    {
        ref float k0 = ref MemoryMarshal.GetArrayDataReference(_keys);
        ref byte b0 = ref MemoryMarshal.GetArrayDataReference(_buckets);
        Vector256<float> low = Vector256.Create(lo), scale = Vector256.Create(f), top = Vector256.Create(255f);
        int i = 0;
        for (; i + 8 <= n; i += 8)
        {
            Vector256<int> x = Vector256.ConvertToInt32Native(Vector256.MinNative((Vector256.LoadUnsafe(ref k0, (nuint)i) - low) * scale, top));
            Vector128<ushort> words = Sse41.PackUnsignedSaturate(x.GetLower(), x.GetUpper());
            Unsafe.WriteUnaligned(ref Unsafe.Add(ref b0, i), Sse2.PackUnsignedSaturate(words.AsInt16(), words.AsInt16()).AsUInt64().ToScalar());
        }
        return i;
    }

    /// <summary><see cref="CompactAvx512"/> on AVX2: 8 keys per step, by permutations (<see cref="Append8"/>).</summary>
    private (int Kept, int Spare) CompactAvx2(int n, int boundary)
    {
        ref float k0 = ref MemoryMarshal.GetArrayDataReference(_keys);
        ref long p0 = ref MemoryMarshal.GetArrayDataReference(_payloads);
        ref byte b0 = ref MemoryMarshal.GetArrayDataReference(_buckets);
        ref float sk0 = ref MemoryMarshal.GetArrayDataReference(_spareKeys);
        ref long sp0 = ref MemoryMarshal.GetArrayDataReference(_sparePayloads);
        Vector256<int> edge = Vector256.Create(boundary), lanes = Vector256<int>.Indices;
        int kept = 0, spare = 0;
        for (int i = 0; i < n; i += 8)
        {
            Vector256<float> keys = Vector256.LoadUnsafe(ref k0, (nuint)i);
            Vector256<long> lowPayloads = Vector256.LoadUnsafe(ref p0, (nuint)i), highPayloads = Vector256.LoadUnsafe(ref p0, (nuint)(i + 4));
            Vector256<int> buckets = Avx2.ConvertToVector256Int32(Vector128.CreateScalarUnsafe(Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref b0, i))).AsByte());
            Vector256<int> valid = Vector256.LessThan(lanes, Vector256.Create(n - i));
            uint keep = (Vector256.LessThan(buckets, edge) & valid).AsSingle().ExtractMostSignificantBits();
            uint aside = (Vector256.Equals(buckets, edge) & valid).AsSingle().ExtractMostSignificantBits();
            kept += Append8(ref k0, ref p0, kept, keys, lowPayloads, highPayloads, keep);
            spare += Append8(ref sk0, ref sp0, spare, keys, lowPayloads, highPayloads, aside);
        }
        return (kept, spare);
    }

    /// <summary>
    /// The compaction of <see cref="Cut"/> with compressing stores: per 16 keys, those below the boundary bucket move to
    /// the front of the reservoir and those in it to the spare arrays, in order, with no branch per key. The stores write
    /// whole registers, never past the read position (the arrays have 16 spare slots for the last one).
    /// </summary>
    private (int Kept, int Spare) CompactAvx512(int n, int boundary)
    {
        ref float k0 = ref MemoryMarshal.GetArrayDataReference(_keys);
        ref long p0 = ref MemoryMarshal.GetArrayDataReference(_payloads);
        ref byte b0 = ref MemoryMarshal.GetArrayDataReference(_buckets);
        ref float sk0 = ref MemoryMarshal.GetArrayDataReference(_spareKeys);
        ref long sp0 = ref MemoryMarshal.GetArrayDataReference(_sparePayloads);
        Vector512<int> edge = Vector512.Create(boundary), lanes = Vector512<int>.Indices;
        int kept = 0, spare = 0;
        for (int i = 0; i < n; i += 16)
        {
            Vector512<float> keys = Vector512.LoadUnsafe(ref k0, (nuint)i);
            Vector512<long> lowPayloads = Vector512.LoadUnsafe(ref p0, (nuint)i), highPayloads = Vector512.LoadUnsafe(ref p0, (nuint)(i + 8));
            Vector512<int> buckets = Avx512F.ConvertToVector512Int32(Vector128.LoadUnsafe(ref b0, (nuint)i));
            Vector512<int> valid = Vector512.LessThan(lanes, Vector512.Create(n - i));
            Vector512<int> keep = Vector512.LessThan(buckets, edge) & valid, aside = Vector512.Equals(buckets, edge) & valid;
            kept += Append(ref k0, ref p0, kept, keys, lowPayloads, highPayloads, keep);
            spare += Append(ref sk0, ref sp0, spare, keys, lowPayloads, highPayloads, aside);
        }
        return (kept, spare);
    }

    /// <summary>Stores the keys (and payloads) selected by <paramref name="mask"/> at <paramref name="at"/>, in order;
    /// returns their number.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Append(ref float keys, ref long payloads, int at, Vector512<float> k, Vector512<long> lowPayloads, Vector512<long> highPayloads, Vector512<int> mask)
    {
        Avx512F.Compress(Vector512<float>.Zero, mask.AsSingle(), k).StoreUnsafe(ref keys, (nuint)at);
        Vector512<long> lowMask = Avx512F.ConvertToVector512Int64(mask.GetLower()), highMask = Avx512F.ConvertToVector512Int64(mask.GetUpper());
        int low = BitOperations.PopCount(lowMask.ExtractMostSignificantBits());
        Avx512F.Compress(Vector512<long>.Zero, lowMask, lowPayloads).StoreUnsafe(ref payloads, (nuint)at);
        Avx512F.Compress(Vector512<long>.Zero, highMask, highPayloads).StoreUnsafe(ref payloads, (nuint)(at + low));
        return BitOperations.PopCount(mask.ExtractMostSignificantBits());
    }

    /// <summary>
    /// Puts the <paramref name="k"/> smallest keys (with their payloads) first in ascending order, and right after them
    /// every other key equal to the k-th (so a run of ties crossing position k is contiguous); the order of the rest is
    /// unspecified. For refine, which needs only the best k of its k x R re-scored candidates in order: insertion into a
    /// sorted prefix, no full sort.
    /// </summary>
    public static void SortSmallest(Span<float> keys, Span<long> payloads, int k)
    {
        int n = keys.Length;
        if (payloads.Length < n) throw new ArgumentException($"payloads holds {payloads.Length} values, {n} needed.", nameof(payloads));
        k = Math.Min(k, n);
        if (k <= 0) return;
        // Insertion sort of the first k.
        for (int i = 1; i < k; i++) InsertSorted(keys, payloads, i - 1, keys[i], payloads[i]);
        // Each later key below the k-th displaces it (to the later key's slot) and is inserted in order.
        for (int i = k; i < n; i++)
        {
            float key = keys[i];
            if (!(key < keys[k - 1])) continue;
            long payload = payloads[i];
            keys[i] = keys[k - 1];
            payloads[i] = payloads[k - 1];
            InsertSorted(keys, payloads, k - 2, key, payload);
        }
        // Gather the ties of the k-th key right after it.
        float last = keys[k - 1];
        int o = k;
        for (int i = k; i < n; i++)
        {
            if (keys[i] != last) continue;
            (keys[i], keys[o]) = (keys[o], keys[i]);
            (payloads[i], payloads[o]) = (payloads[o], payloads[i]);
            o++;
        }
    }

    /// <summary>Inserts (key, payload) into the ascending run keys[0..last], shifting larger keys one place right (the
    /// slot at last + 1 is free).</summary>
    private static void InsertSorted(Span<float> keys, Span<long> payloads, int last, float key, long payload)
    {
        int j = last;
        while (j >= 0 && keys[j] > key)
        {
            keys[j + 1] = keys[j];
            payloads[j + 1] = payloads[j];
            j--;
        }
        keys[j + 1] = key;
        payloads[j + 1] = payload;
    }
}

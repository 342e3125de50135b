using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Vec.Index.Internals;

/// <summary>The instruction set a <see cref="PqScanner"/> uses.</summary>
internal enum PqScanKind
{
    /// <summary>Plain loop, one vector at a time (the reference).</summary>
    Scalar,

    /// <summary>Scalar lookups, eight vectors at a time from one 64-bit load of a block row (independent sums).</summary>
    Unrolled,

    /// <summary>AVX2: a block of 16 vectors per step with two 256-bit gathers per sub-quantiser (.NET exposes no
    /// 512-bit gather).</summary>
    Avx2,
}

/// <summary>
/// Scores product-quantisation codes of one inverted list with a lookup table and feeds the ones below the heap's
/// threshold (and allowed by the filter) into a <see cref="CandidateHeap"/>. The hot loop of IVF-PQ search.
/// </summary>
/// <remarks>
/// Code layout (<see cref="IvfCodeLayout"/>): vectors in blocks of 16; block b holds M rows of 16 bytes, row m holding
/// sub-quantiser m's codes of the block's 16 vectors. Score of vector v = bias + sum over m of lut[m * ksub + code].
/// </remarks>
internal static unsafe class PqScanner
{
    public static PqScanKind Best =>
        PqScanKind.Unrolled;

    /// <summary>The scan kind matching a kernel backend's name (the backend factory and VECREC_BACKEND select it).</summary>
    public static PqScanKind ForBackend(string backendName) => backendName switch
    {
        "scalar" => PqScanKind.Scalar,
        "simd128" => PqScanKind.Unrolled,
        "simd256" => Avx2.IsSupported ? PqScanKind.Avx2 : PqScanKind.Scalar,
        _ => Best,
    };

    public static bool IsSupported(PqScanKind kind) => kind switch
    {
        PqScanKind.Scalar or PqScanKind.Unrolled => true,
        PqScanKind.Avx2 => Avx2.IsSupported,
        _ => false,
    };

    /// <summary>Computes the scores of all <paramref name="count"/> vectors of a list (for tests and diagnostics).</summary>
    public static void ScoreAll(PqScanKind kind, ReadOnlySpan<byte> codes, int count, int m, int ksub, ReadOnlySpan<float> lut, float bias, Span<float> scores)
    {
        var heap = new CandidateHeap(Math.Max(1, count));
        var ids = new long[count];
        for (int i = 0; i < count; i++) ids[i] = i;
        Scan(kind, codes, count, m, ksub, lut, bias, heap, ids, 0, null);
        scores[..count].Fill(float.NaN);
        for (int i = 0; i < heap.Count; i++) scores[(int)(heap.Payloads[i] & 0xFFFFFFFF)] = heap.Keys[i];
    }

    /// <summary>
    /// Scans one list. Payload of a candidate: <c>(list &lt;&lt; 32) | position</c>.
    /// </summary>
    public static void Scan(PqScanKind kind, ReadOnlySpan<byte> codes, int count, int m, int ksub, ReadOnlySpan<float> lut, float bias,
        CandidateHeap heap, long[] ids, int list, IdFilter? filter)
    {
        if (count == 0) return;
        fixed (byte* c = codes)
        fixed (float* t = lut)
        {
            switch (kind)
            {
                case PqScanKind.Avx2: ScanAvx2(c, count, m, ksub, t, bias, heap, ids, list, filter); break;
                case PqScanKind.Unrolled: ScanUnrolled(c, count, m, ksub, t, bias, heap, ids, list, filter); break;
                default: ScanScalar(c, count, m, ksub, t, bias, heap, ids, list, filter); break;
            }
        }
    }

    private static void ScanScalar(byte* codes, int count, int m, int ksub, float* lut, float bias, CandidateHeap heap, long[] ids, int list, IdFilter? filter)
    {
        const int B = IvfCodeLayout.BlockSize;
        long listTag = (long)list << 32;
        float threshold = heap.Threshold;
        for (int v = 0; v < count; v++)
        {
            byte* block = codes + (long)(v / B) * m * B + (v % B);
            float s = bias;
            float* row = lut;
            for (int j = 0; j < m; j++, row += ksub) s += row[block[j * B]];
            if (s < threshold && (filter is null || filter.IsAllowed(ids[v])))
            {
                heap.Push(s, listTag | (uint)v);
                threshold = heap.Threshold;
            }
        }
    }

    private static void ScanUnrolled(byte* codes, int count, int m, int ksub, float* lut, float bias, CandidateHeap heap, long[] ids, int list, IdFilter? filter)
    {
        const int B = IvfCodeLayout.BlockSize;
        long listTag = (long)list << 32;
        float threshold = heap.Threshold;
        float* sums = stackalloc float[8];
        for (int first = 0; first < count; first += 8)
        {
            byte* lanes = codes + (long)(first / B) * m * B + (first % B);
            float a0 = bias, a1 = bias, a2 = bias, a3 = bias, a4 = bias, a5 = bias, a6 = bias, a7 = bias;
            float* row = lut;
            for (int j = 0; j < m; j++, row += ksub)
            {
                ulong w = Unsafe.ReadUnaligned<ulong>(lanes + j * B);
                a0 += row[(byte)w];
                a1 += row[(byte)(w >> 8)];
                a2 += row[(byte)(w >> 16)];
                a3 += row[(byte)(w >> 24)];
                a4 += row[(byte)(w >> 32)];
                a5 += row[(byte)(w >> 40)];
                a6 += row[(byte)(w >> 48)];
                a7 += row[(byte)(w >> 56)];
            }
            sums[0] = a0; sums[1] = a1; sums[2] = a2; sums[3] = a3; sums[4] = a4; sums[5] = a5; sums[6] = a6; sums[7] = a7;
            int valid = Math.Min(8, count - first);
            for (int lane = 0; lane < valid; lane++)
            {
                float s = sums[lane];
                if (s < threshold && (filter is null || filter.IsAllowed(ids[first + lane])))
                {
                    heap.Push(s, listTag | (uint)(first + lane));
                    threshold = heap.Threshold;
                }
            }
        }
    }

    private static void ScanAvx2(byte* codes, int count, int m, int ksub, float* lut, float bias, CandidateHeap heap, long[] ids, int list, IdFilter? filter)
    {
        const int B = IvfCodeLayout.BlockSize;
        long listTag = (long)list << 32;
        float threshold = heap.Threshold;
        int blocks = (count + B - 1) / B;
        for (int b = 0; b < blocks; b++)
        {
            byte* block = codes + (long)b * m * B;
            Vector256<float> lo = Vector256.Create(bias), hi = lo;
            float* row = lut;
            for (int j = 0; j < m; j++, row += ksub)
            {
                Vector128<byte> raw = Vector128.Load(block + j * B);
                lo += Avx2.GatherVector256(row, Avx2.ConvertToVector256Int32(raw), 4);
                hi += Avx2.GatherVector256(row, Avx2.ConvertToVector256Int32(Sse2.ShiftRightLogical128BitLane(raw, 8)), 4);
            }
            Vector256<float> t = Vector256.Create(threshold);
            uint mask = (uint)Vector256.ExtractMostSignificantBits(Vector256.LessThan(lo, t))
                | ((uint)Vector256.ExtractMostSignificantBits(Vector256.LessThan(hi, t)) << 8);
            if (mask == 0) continue;
            int valid = Math.Min(B, count - b * B);
            if (valid < B) mask &= (1u << valid) - 1;
            while (mask != 0)
            {
                int lane = System.Numerics.BitOperations.TrailingZeroCount(mask);
                mask &= mask - 1;
                float s = lane < 8 ? lo.GetElement(lane) : hi.GetElement(lane - 8);
                int v = b * B + lane;
                if (s < threshold && (filter is null || filter.IsAllowed(ids[v])))
                {
                    heap.Push(s, listTag | (uint)v);
                    threshold = heap.Threshold;
                }
            }
        }
    }
}

/// <summary>The blocked code layout of an inverted list (see <see cref="PqScanner"/>).</summary>
internal static class IvfCodeLayout
{
    public const int BlockSize = 16;

    /// <summary>Bytes needed for <paramref name="count"/> vectors of <paramref name="m"/> codes (whole blocks).</summary>
    public static long Bytes(int count, int m) => (long)((count + BlockSize - 1) / BlockSize) * m * BlockSize;

    /// <summary>Writes one vector's codes (row-major, m bytes) at position <paramref name="v"/>.</summary>
    public static void Write(Span<byte> blocked, int v, int m, ReadOnlySpan<byte> code)
    {
        int baseOffset = (v / BlockSize) * m * BlockSize + (v % BlockSize);
        for (int j = 0; j < m; j++) blocked[baseOffset + j * BlockSize] = code[j];
    }

    /// <summary>Reads one vector's codes at position <paramref name="v"/> into row-major form.</summary>
    public static void Read(ReadOnlySpan<byte> blocked, int v, int m, Span<byte> code)
    {
        int baseOffset = (v / BlockSize) * m * BlockSize + (v % BlockSize);
        for (int j = 0; j < m; j++) code[j] = blocked[baseOffset + j * BlockSize];
    }
}

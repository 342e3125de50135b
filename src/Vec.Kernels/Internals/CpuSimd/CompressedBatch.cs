using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Vec.Kernels.Internals.CpuSimd;

/// <summary>
/// Int8 batch search (interleaved VNNI layout): queries quantised to int8 are packed in blocks of
/// <see cref="Int8BatchKernels.Queries"/>, and each thread runs the register-blocked integer kernel over its share of the
/// panels, one L2-sized block of panels at a time for every query block, turning each 4 x 64 integer tile into ranking keys
/// and offering them to threshold-filtered candidate heaps. The candidates are re-scored exactly like the single-query scan's.
/// </summary>
internal sealed partial class CpuSimdKernels
{
    /// <summary>Bytes of panels in one cache block of the batch kernel (the block is reused by every query block).</summary>
    private const int Int8BatchBlockBytes = 384 * 1024;

    /// <summary>Batches with at least this many queries use the int8 batch kernel; smaller ones scan one query at a time
    /// (the batch kernel computes a whole block of four queries).</summary>
    internal const int Int8BatchMinimum = 2;

    /// <summary>Packs the int8 queries (<paramref name="stride"/> bytes each, a multiple of four) into blocks of four:
    /// <c>[block][group][query]</c> int32 words; missing queries of the last block are zero.</summary>
    private static int[] PackInt8Queries(sbyte[] quantised, int m, int stride)
    {
        const int qb = Int8BatchKernels.Queries;
        int groups = stride / 4, blocks = (m + qb - 1) / qb;
        int[] packed = new int[blocks * groups * qb];
        ReadOnlySpan<int> words = System.Runtime.InteropServices.MemoryMarshal.Cast<sbyte, int>(quantised.AsSpan(0, m * stride));
        for (int q = 0; q < m; q++)
        {
            int block = q / qb, lane = q % qb;
            int baseIndex = block * groups * qb + lane;
            for (int g = 0; g < groups; g++) packed[baseIndex + g * qb] = words[q * groups + g];
        }
        return packed;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private unsafe void Int8BatchWorker(int[] packedQueries, float[] outScale, float[] bias, int m, CompressedRows rows, int n, int p0, int p1,
        float[] alpha, float[] beta, ulong[]? filterBits, ulong[] heap, int candidates)
    {
        const int panelRows = CompressedRows.PanelRows, qb = Int8BatchKernels.Queries;
        int groups = rows.Groups;
        long panelBytes = rows.PanelBytes;
        int panelsPerBlock = (int)Math.Clamp(Int8BatchBlockBytes / panelBytes, 1, 64);
        int queryBlocks = (m + qb - 1) / qb;
        int* tile = stackalloc int[qb * panelRows];
        bool wide = Width == 512 && Vector512.IsHardwareAccelerated;
        fixed (int* pq = packedQueries)
        fixed (float* pAlpha = alpha, pBeta = beta)
        fixed (byte* codes = rows.Codes)
        fixed (ulong* pHeap = heap, pBits = filterBits)
        {
            for (int pb = p0; pb < p1; pb += panelsPerBlock)
            {
                int pe = Math.Min(p1, pb + panelsPerBlock);
                for (int b = 0; b < queryBlocks; b++)
                {
                    int* block = pq + (long)b * groups * qb;
                    int q0 = b * qb, count = Math.Min(qb, m - q0);
                    for (int p = pb; p < pe; p++)
                    {
                        // A panel's 64 rows are exactly one filter word.
                        if (pBits != null && pBits[p] == 0) continue;
                        byte* panel = codes + p * panelBytes;
                        Int8BatchKernels.Vnni4x32(block, panel, groups, tile, panelRows);
                        Int8BatchKernels.Vnni4x32(block, panel + Int8BatchKernels.Rows * 4, groups, tile + Int8BatchKernels.Rows, panelRows);
                        for (int r = 0; r < count; r++)
                            ScanInt8TileRow(tile + r * panelRows, p * panelRows, n, outScale[q0 + r], bias[q0 + r], pAlpha, pBeta, pBits,
                                pHeap + (long)(q0 + r) * candidates, candidates, wide);
                    }
                }
            }
        }
    }

    /// <summary>
    /// Offers one query's 64 integer dot products of a panel to its candidate heap: approximate score
    /// <c>s = scale·dot + bias</c>, key <c>alpha[col]·s + beta[col]</c> (as the single-query scan), masked by the rows that
    /// exist and the filter word; only lanes at or above the heap's threshold leave the SIMD compare.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void ScanInt8TileRow(int* tileRow, int col0, int n, float scale, float bias, float* alpha, float* beta,
        ulong* filterBits, ulong* heap, int k, bool wide)
    {
        var heapSpan = new Span<ulong>(heap, k);
        ulong root = heap[0];
        float threshold = RankCode.Threshold(root);
        int lanes = wide ? 16 : 8;
        float* keys = stackalloc float[16];
        ulong word = filterBits != null ? filterBits[col0 >> 6] : ulong.MaxValue;
        for (int j = 0; j < CompressedRows.PanelRows; j += lanes)
        {
            int col = col0 + j;
            if (col >= n) break;
            uint mask;
            if (wide)
            {
                var s = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(Vector512.Load(tileRow + j)), Vector512.Create(scale), Vector512.Create(bias));
                var key = Vector512.FusedMultiplyAdd(s, Vector512.Load(alpha + col), Vector512.Load(beta + col));
                mask = (uint)Vector512.GreaterThanOrEqual(key, Vector512.Create(threshold)).ExtractMostSignificantBits();
                if (mask == 0) continue;
                key.Store(keys);
            }
            else
            {
                var s = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(Vector256.Load(tileRow + j)), Vector256.Create(scale), Vector256.Create(bias));
                var key = Vector256.FusedMultiplyAdd(s, Vector256.Load(alpha + col), Vector256.Load(beta + col));
                mask = (uint)Vector256.GreaterThanOrEqual(key, Vector256.Create(threshold)).ExtractMostSignificantBits();
                if (mask == 0) continue;
                key.Store(keys);
            }
            if (col + lanes > n) mask &= (1u << (n - col)) - 1;
            mask &= (uint)(word >> j) & ((1u << lanes) - 1);
            while (mask != 0)
            {
                int bit = BitOperations.TrailingZeroCount(mask);
                ulong code = RankCode.Encode(keys[bit], col + bit);
                if (code < root) { root = RankCode.Offer(heapSpan, code); threshold = RankCode.Threshold(root); }
                mask &= mask - 1;
            }
        }
    }
}

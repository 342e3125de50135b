using System.Numerics;
using System.Runtime.CompilerServices;

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

    /// <summary>Databases with fewer elements (rows x dimension) than this hand batches to the exact float32 search: there
    /// the per-candidate costs (heaps, re-scoring) outweigh the int8 kernel's speed. Measured on 2-core Zen 5, 100-200
    /// queries, IP, k = 10 (float32 ms / int8 ms): 10k x 128 0.86/1.74, 20k x 256 2.75/3.25, 40k x 192 4.18/4.07,
    /// 30k x 384 10.7/9.0, 100k x 384 34.2/23.7. Settable for tests, which exercise the kernel on tiny databases.</summary>
    internal long Int8BatchMinimumElements { get; set; } = 8_000_000;

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

    /// <summary>
    /// One thread's share [p0, p1) of the panels for all queries: per L2 block of panels, per query block, per panel half, the
    /// kernel returns the keys and threshold masks of 4 queries x 32 rows; lanes that pass (and exist, and the filter word
    /// allows) are offered to the queries' candidate heaps. Thresholds are re-read from the heap roots before each call.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Int8BatchWorker(int[] packedQueries, float[] outScale, float[] bias, int m, CompressedRows rows, int n, int p0, int p1,
        float[] alpha, float[] beta, ulong[]? filterBits, ulong[] heap, int candidates)
    {
        const int panelRows = CompressedRows.PanelRows, qb = Int8BatchKernels.Queries, half = Int8BatchKernels.Rows;
        int groups = rows.Groups;
        long panelBytes = rows.PanelBytes;
        int panelsPerBlock = (int)Math.Clamp(Int8BatchBlockBytes / panelBytes, 1, 64);
        int queryBlocks = (m + qb - 1) / qb;
        float* parameters = stackalloc float[3 * qb];
        float* keys = stackalloc float[qb * half];
        uint* masks = stackalloc uint[qb];
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
                    for (int r = 0; r < qb; r++)
                    {
                        // Missing queries of the last block: zero scale and an infinite threshold pass no lane.
                        parameters[r] = r < count ? outScale[q0 + r] : 0f;
                        parameters[qb + r] = r < count ? bias[q0 + r] : 0f;
                        parameters[2 * qb + r] = float.PositiveInfinity;
                    }
                    for (int p = pb; p < pe; p++)
                    {
                        // A panel's 64 rows are exactly one filter word.
                        ulong word = pBits != null ? pBits[p] : ulong.MaxValue;
                        if (word == 0) continue;
                        for (int h = 0; h < panelRows; h += half)
                        {
                            // Weights past the last row are not stored (they are padded to 32 rows only).
                            int col = p * panelRows + h;
                            if (col >= n) break;
                            for (int r = 0; r < count; r++) parameters[2 * qb + r] = RankCode.Threshold(pHeap[(long)(q0 + r) * candidates]);
                            Int8BatchKernels.Vnni4x32(block, codes + p * panelBytes + h * 4, groups, parameters, pAlpha + col, pBeta + col, keys, masks);
                            uint valid = (uint)(word >> h) & (col + half > n ? (1u << (n - col)) - 1 : uint.MaxValue);
                            for (int r = 0; r < count; r++)
                            {
                                uint mask = masks[r] & valid;
                                if (mask == 0) continue;
                                var heapSpan = new Span<ulong>(pHeap + (long)(q0 + r) * candidates, candidates);
                                ulong root = heapSpan[0];
                                do
                                {
                                    int bit = BitOperations.TrailingZeroCount(mask);
                                    ulong code = RankCode.Encode(keys[r * half + bit], col + bit);
                                    if (code < root) root = RankCode.Offer(heapSpan, code);
                                    mask &= mask - 1;
                                }
                                while (mask != 0);
                            }
                        }
                    }
                }
            }
        }
    }
}

using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace Vec.Kernels.Internals.CpuSimd;

/// <summary>
/// Search over compressed storage (<see cref="CompressedRows"/>). Single queries are bound by memory bandwidth, so small
/// batches scan the 2- or 1-byte rows instead of the float32 panels: every thread scans a contiguous share of the panels
/// with a call-free kernel (<see cref="CompressedKernels"/>) and keeps, per query, a heap of the best candidates by
/// approximate ranking key (threshold-filtered as in the exact search). The merged candidates are then re-scored exactly
/// from the float32 panels, and the exact top-k with exact scores is returned. Larger batches are compute-bound and take
/// the exact float32 path, which the database keeps.
/// </summary>
internal sealed partial class CpuSimdKernels
{
    /// <summary>Batches with fewer queries than this scan compressed rows; larger ones run the exact float32 search (its
    /// register-blocked kernel reuses each panel load across 12 queries, while the compressed scan handles one query at a
    /// time). Measured crossovers on 100k x 384 with AVX-512 (rough, shared machine): about 6-8 queries for Float16, about
    /// 24 for Int8 without VNNI. Int8 with VNNI ignores this limit: batches of <see cref="Int8BatchMinimum"/> or more run the
    /// int8 batch kernel (<c>CompressedBatch.cs</c>), measured faster than the float32 search at every batch size.</summary>
    internal static int CompressedBatchLimit(VectorStorage storage) => storage == VectorStorage.Int8 ? 16 : 8;

    /// <summary>Above this many candidates per query the exact float32 search runs instead (it costs less than re-scoring them).</summary>
    private const int MaxCandidates = 1 << 16;

    /// <summary>Candidates re-scored beyond k even when k·factor is small.</summary>
    internal const int MinimumExtraCandidates = 32;

    /// <summary>Default candidates per result: half precision ranks almost exactly, 8-bit codes get a wider net. Each
    /// candidate costs a strided read of its float32 row from the panels (about 2 µs at d = 384), so the net is kept
    /// small: recall@10 was 1.0 at factor 1 (k + 32 candidates) on every set measured.</summary>
    internal static int DefaultRescoreFactor(VectorStorage storage) => storage == VectorStorage.Int8 ? 4 : 2;

    /// <summary>Bytes of compressed panels scanned per query before moving on (a share of L2), so a small batch reuses them.</summary>
    private const int CompressedBlockBytes = 256 * 1024;

    /// <summary>Int8 databases use the AVX-VNNI kernel (interleaved layout, int8-quantised query) when the CPU has it and the
    /// width is at least 256; false forces the float-widening kernels (for tests and measurements).</summary>
    internal bool PreferVnni { get; set; } = true;

    /// <summary>Whether Int8 databases created now get the VNNI layout and with it the int8 batch kernel for batches of
    /// <see cref="Int8BatchMinimum"/> or more queries.</summary>
    internal bool HasInt8Batch => UseVnni(VectorStorage.Int8);

    private bool UseVnni(VectorStorage storage) => storage == VectorStorage.Int8 && Width >= 256 && AvxVnni.IsSupported && PreferVnni;

    protected override VectorDatabase CreateDatabaseCore(ReadOnlySpan<float> vectors, int count, int dimension, VectorStorage storage) =>
        new SimdDatabase(this, vectors, count, dimension, _maxThreads,
            storage == VectorStorage.Float32 ? null : CompressedRows.Create(vectors, count, dimension, storage, _maxThreads, UseVnni(storage)));

    protected override unsafe void SearchCore(VectorDatabase database, ReadOnlySpan<float> queries, int queryCount, int k, Metric metric,
        Span<int> indices, Span<float> scores, RowFilter? filter, int rescoreFactor)
    {
        var db = (SimdDatabase)database;
        CompressedRows? rows = db.Compressed;
        int n = db.Count, d = db.Dimension, m = queryCount;
        long wanted = 0;
        if (rows is not null)
        {
            int factor = rescoreFactor == 0 ? DefaultRescoreFactor(rows.Storage) : rescoreFactor;
            wanted = Math.Clamp(Math.Max((long)k * factor, (long)k + MinimumExtraCandidates), 1, Math.Max(filter?.AllowedCount ?? n, 1));
        }
        // Re-scoring that many candidates is an exact search anyway: run the real one.
        // Int8 in the VNNI layout has a register-blocked batch kernel for every batch size (on databases large enough for it
        // to pay); the other storages hand large batches to the exact float32 search.
        bool int8Batch = rows is not null && rows.Interleaved && m >= Int8BatchMinimum && (long)n * d >= Int8BatchMinimumElements;
        if (rows is null || m == 0 || (m >= CompressedBatchLimit(rows.Storage) && !int8Batch) || n == 0 || d == 0 || wanted > MaxCandidates)
        {
            SearchCore(database, queries, queryCount, k, metric, indices, scores, filter);
            return;
        }

        int candidates = (int)wanted;
        (float[] alpha, float[] beta) = db.Transform(metric);
        ulong[]? filterBits = filter?.BitsArray;

        // Pre-scale the queries for the codes: Int8 folds the steps into the query and the offsets into a per-query bias;
        // the VNNI layout further quantises the scaled query to int8 (per-query scale).
        int stride = rows.Interleaved ? rows.Groups * 4 : d;
        float[] scaled = System.Buffers.ArrayPool<float>.Shared.Rent(m * stride);
        sbyte[] quantised = rows.Interleaved ? new sbyte[m * stride] : [];
        float[] bias = new float[m], outScale = new float[m];
        fixed (float* pQueries = queries)
        {
            nint qAddr = (nint)pQueries;
            ForRows(m, (long)d * 64, q => PrepareQuery(new ReadOnlySpan<float>((float*)qAddr + (long)q * d, d), q, rows, stride, scaled, quantised, bias, outScale));
        }

        int threads = ThreadsFor((long)m * n * d, rows.Panels / 4);
        var heaps = new ulong[threads][];
        int[] packedQueries = int8Batch ? PackInt8Queries(quantised, m, stride) : [];
        try
        {
            Workers.Run(threads, t =>
            {
                ulong[] heap = System.Buffers.ArrayPool<ulong>.Shared.Rent(m * candidates);
                heap.AsSpan(0, m * candidates).Fill(RankCode.Sentinel);
                heaps[t] = heap;
                (int p0, int p1) = Partition.Range(rows.Panels, threads, t);
                if (int8Batch) Int8BatchWorker(packedQueries, outScale, bias, m, rows, n, p0, p1, alpha, beta, filterBits, heap, candidates);
                else CompressedWorker(scaled, quantised, stride, bias, outScale, m, rows, n, p0, p1, alpha, beta, filterBits, heap, candidates);
            });
            Rescore(db, queries, m, k, metric, heaps, candidates, indices, scores);
        }
        finally
        {
            System.Buffers.ArrayPool<float>.Shared.Return(scaled);
            foreach (ulong[]? heap in heaps)
                if (heap is not null) System.Buffers.ArrayPool<ulong>.Shared.Return(heap);
        }
    }

    /// <summary>Query <paramref name="q"/> pre-scaled for the codes (row <paramref name="q"/> of <paramref name="scaled"/>), its
    /// bias and output scale, and for the VNNI layout its int8 quantisation.</summary>
    private static void PrepareQuery(ReadOnlySpan<float> query, int q, CompressedRows rows, int stride, float[] scaled, sbyte[] quantised,
        float[] bias, float[] outScale)
    {
        int d = query.Length;
        var dst = scaled.AsSpan(q * stride, stride);
        outScale[q] = 1f;
        if (rows.Storage == VectorStorage.Int8)
        {
            dst.Clear();
            TensorPrimitives.Multiply(query, rows.Step, dst[..d]);
            double b = 0;
            for (int j = 0; j < d; j++) b += (double)query[j] * rows.Min[j];
            if (rows.Interleaved) b += QuantiseQuery(dst, quantised.AsSpan(q * stride, stride), out outScale[q]);
            bias[q] = (float)b;
        }
        else
        {
            query.CopyTo(dst);
            outScale[q] = rows.Scale;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private unsafe void CompressedWorker(float[] scaled, sbyte[] quantised, int stride, float[] bias, float[] outScale, int m, CompressedRows rows, int n, int p0, int p1,
        float[] alpha, float[] beta, ulong[]? filterBits, ulong[] heap, int candidates)
    {
        const int panelRows = CompressedRows.PanelRows;
        int d = rows.Dim;
        long panelBytes = rows.PanelBytes;
        int panelsPerBlock = (int)Math.Clamp(CompressedBlockBytes / panelBytes, 1, 64);
        bool half = rows.Storage == VectorStorage.Float16;
        int kernel = rows.Interleaved ? 1 : Width == 512 && Avx512F.IsSupported ? 512 : Width >= 256 && Avx2.IsSupported && Fma.IsSupported ? 256 : 0;
        float* tile = stackalloc float[panelRows];
        fixed (float* pq = scaled, pAlpha = alpha, pBeta = beta)
        fixed (sbyte* pqq = quantised)
        fixed (byte* codes = rows.Codes)
        fixed (ulong* pHeap = heap, pBits = filterBits)
        {
            for (int pb = p0; pb < p1; pb += panelsPerBlock)
            {
                int pe = Math.Min(p1, pb + panelsPerBlock);
                for (int q = 0; q < m; q++)
                {
                    float* query = pq + (long)q * stride;
                    sbyte* queryBytes = pqq + (long)q * stride;
                    float scale = outScale[q], offset = bias[q];
                    ulong* queryHeap = pHeap + (long)q * candidates;
                    for (int p = pb; p < pe; p++)
                    {
                        // A panel's 64 rows are exactly one filter word.
                        if (pBits != null && pBits[p] == 0) continue;
                        byte* panel = codes + p * panelBytes;
                        switch (kernel)
                        {
                            case 1: CompressedKernels.Int8Vnni256(queryBytes, panel, rows.Groups, scale, offset, tile); break;
                            case 512 when half: CompressedKernels.HalfVector512(query, (ushort*)panel, d, scale, offset, tile); break;
                            case 512: CompressedKernels.Int8Vector512(query, panel, d, scale, offset, tile); break;
                            case 256 when half: CompressedKernels.HalfVector256(query, (ushort*)panel, d, scale, offset, tile); break;
                            case 256: CompressedKernels.Int8Vector256(query, panel, d, scale, offset, tile); break;
                            default: CompressedKernels.Scalar(rows.Storage, query, panel, d, scale, offset, tile); break;
                        }
                        ScanTileRow(tile, panelRows, p * panelRows, n, pAlpha, pBeta, pBits, queryHeap, candidates, Width);
                    }
                }
            }
        }
    }

    /// <summary>
    /// Quantises a scaled query to int8 for the VNNI kernel: <c>qq = round(q'/scale)</c> with scale = max|q'|/127. Returns the
    /// bias correction <c>128·Σ (q' - scale·qq)</c>: codes sit around 128, so the query's rounding error times 128 is the same
    /// for every row and is removed exactly, leaving only the error times <c>(c - 128)</c>.
    /// </summary>
    internal static double QuantiseQuery(ReadOnlySpan<float> scaled, Span<sbyte> quantised, out float scale)
    {
        float max = TensorPrimitives.MaxMagnitude(scaled);
        max = Math.Abs(max);
        scale = max > 0 ? max / 127f : 0f;
        float inverse = max > 0 ? 127f / max : 0f;
        double correction = 0;
        for (int j = 0; j < scaled.Length; j++)
        {
            float v = MathF.Round(scaled[j] * inverse);
            sbyte qq = (sbyte)Math.Clamp(v, -127f, 127f);
            quantised[j] = qq;
            correction += (double)scaled[j] - (double)scale * qq;
        }
        return 128 * correction;
    }

    /// <summary>Below this many re-scoring multiply-adds (each a strided panel read) re-scoring stays on one thread.</summary>
    private const int ParallelRescoreWork = 1 << 14;

    /// <summary>Merges the per-thread candidate heaps of each query, re-scores the best <paramref name="candidates"/> exactly
    /// from the float32 panels (double accumulation; on all threads when there is enough work) and writes the exact top-k,
    /// mapped to the metric's scores.</summary>
    private unsafe void Rescore(SimdDatabase db, ReadOnlySpan<float> queries, int m, int k, Metric metric, ulong[][] heaps, int candidates,
        Span<int> indices, Span<float> scores)
    {
        int d = db.Dimension, threads = heaps.Length;
        (float[] alpha, float[] beta) = db.Transform(metric);
        ulong[] merged = new ulong[threads * candidates];
        ulong[] exact = new ulong[m * candidates];
        int[] counts = new int[m];
        int total = 0;
        for (int q = 0; q < m; q++)
        {
            for (int t = 0; t < threads; t++) heaps[t].AsSpan(q * candidates, candidates).CopyTo(merged.AsSpan(t * candidates, candidates));
            merged.AsSpan().Sort();
            int count = 0;
            while (count < candidates && merged[count] != RankCode.Sentinel)
            {
                exact[q * candidates + count] = merged[count];
                count++;
            }
            counts[q] = count;
            total += count;
        }

        // Re-score in row order: a 32-row panel's column k is two cache lines shared by 16 rows, so candidates of nearby rows
        // (from any query) reuse the lines their neighbours brought in instead of each reading d lines from memory.
        ulong[] order = new ulong[total];
        int filled = 0;
        for (int q = 0; q < m; q++)
            for (int c = 0; c < counts[q]; c++)
            {
                int e = q * candidates + c;
                order[filled++] = ((ulong)(uint)RankCode.Index(exact[e]) << 32) | (uint)e;
            }
        order.AsSpan().Sort();

        fixed (float* pq = queries)
        {
            nint qAddr = (nint)pq;
            int workers = (long)total * d < ParallelRescoreWork ? 1 : Math.Min(_maxThreads, Math.Max(1, total / 8));
            Parallel.For(0, workers, new ParallelOptions { MaxDegreeOfParallelism = workers }, w =>
            {
                (int i0, int i1) = Partition.Range(total, workers, w);
                fixed (float* panels = db.Packed.Data, pAlpha = alpha, pBeta = beta)
                fixed (ulong* pOrder = order, pExact = exact)
                    RescoreRuns((float*)qAddr, panels, d, candidates, pOrder, i0, i1, pAlpha, pBeta, pExact);
            });
        }

        float missing = metric.Order().MissingScore();
        for (int q = 0; q < m; q++)
        {
            var best = exact.AsSpan(q * candidates, counts[q]);
            best.Sort();
            var query = queries.Slice(q * d, d);
            float queryFactor = QueryFactor(metric, query);
            for (int i = 0; i < k; i++)
            {
                if (i >= best.Length)
                {
                    indices[q * k + i] = -1;
                    scores[q * k + i] = missing;
                    continue;
                }
                float key = RankCode.Key(best[i]);
                indices[q * k + i] = RankCode.Index(best[i]);
                scores[q * k + i] = metric switch
                {
                    Metric.Cosine => Math.Clamp(key * queryFactor, -1f, 1f),
                    Metric.L2 => Math.Max(0f, queryFactor - key),
                    _ => key,
                };
            }
        }
    }

    /// <summary>Candidates re-scored together from one panel pass (stack arrays).</summary>
    private const int RescoreRun = 64;

    /// <summary>
    /// Exact keys for the candidates <c>order[i0..i1)</c> (sorted by row id: id in the high half, heap slot in the low half).
    /// Runs of candidates in the same 32-row panel are scored in one sequential pass over the panel (dimension outer,
    /// candidates inner, double accumulation), so each panel is streamed once however many queries picked its rows.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void RescoreRuns(float* queries, float* panels, int d, int candidates, ulong* order, int i0, int i1,
        float* alpha, float* beta, ulong* exact)
    {
        double* acc = stackalloc double[RescoreRun];
        float** query = stackalloc float*[RescoreRun];
        int* lane = stackalloc int[RescoreRun];
        for (int i = i0; i < i1;)
        {
            int panel = (int)(order[i] >> 32) / PackedPanels.Width;
            int r = 0;
            while (i + r < i1 && r < RescoreRun && (int)(order[i + r] >> 32) / PackedPanels.Width == panel)
            {
                acc[r] = 0;
                query[r] = queries + (long)((int)(uint)order[i + r] / candidates) * d;
                lane[r] = (int)(order[i + r] >> 32) % PackedPanels.Width;
                r++;
            }
            float* line = panels + (long)panel * d * PackedPanels.Width;
            // The next run's row, fetched a run ahead: single-candidate runs would otherwise wait on d strided misses each.
            float* next = line + lane[0];
            if (i + r < i1)
            {
                int nextId = (int)(order[i + r] >> 32);
                next = panels + (long)(nextId / PackedPanels.Width) * d * PackedPanels.Width + nextId % PackedPanels.Width;
            }
            bool prefetch = Sse.IsSupported;
            for (int k = 0; k < d; k++, line += PackedPanels.Width, next += PackedPanels.Width)
            {
                if (prefetch) Sse.Prefetch0(next);
                for (int c = 0; c < r; c++) acc[c] += (double)query[c][k] * line[lane[c]];
            }
            for (int c = 0; c < r; c++)
            {
                int id = (int)(order[i + c] >> 32);
                exact[(int)(uint)order[i + c]] = RankCode.Encode(MathF.FusedMultiplyAdd((float)acc[c], alpha[id], beta[id]), id);
            }
            i += r;
        }
    }
}

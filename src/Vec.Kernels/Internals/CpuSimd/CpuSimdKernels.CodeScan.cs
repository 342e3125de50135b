namespace Vec.Kernels.Internals.CpuSimd;

internal sealed partial class CpuSimdKernels
{
    /// <summary>Below this many code look-ups a scan runs on one thread.</summary>
    private const long ParallelScanThreshold = 1L << 16;

    protected override CodeDatabase CreateCodeDatabaseCore(ReadOnlySpan<byte> codes, int count, int subQuantizers, int bits, ReadOnlySpan<int> listOffsets, ReadOnlySpan<float> listTables) =>
        new HostCodeDatabase(this, codes, count, subQuantizers, bits, listOffsets, listTables);

    /// <summary>
    /// Parallel over queries; each query scores its probed lists with the shared <see cref="CodeScan"/> loop (the documented
    /// summation order, hence bit-identical to the scalar reference) into a k-heap of <see cref="RankCode"/>s keyed by the
    /// negated score, so ties keep the lower row. The fast CPU path of IVF-PQ (blocked layouts, gathers) lives in Vec.Index.
    /// </summary>
    protected override void ScanCodesCore(CodeDatabase database, ReadOnlySpan<float> queryTables, float queryTableScale, ReadOnlySpan<int> probes, ReadOnlySpan<float> biases,
        int queryCount, int nprobe, int k, Span<int> rows, Span<float> scores, RowFilter? filter)
    {
        var db = (HostCodeDatabase)database;
        if (queryCount == 0) return;
        int table = db.SubQuantizers * db.Codebook;
        long work = (long)Math.Min(db.Count, nprobe * (long)Math.Max(1, db.Count / Math.Max(1, db.ListCount))) * db.SubQuantizers * queryCount;
        int threads = work < ParallelScanThreshold ? 1 : Math.Clamp(queryCount, 1, _maxThreads);
        int heapSize = (int)Math.Min(k, (long)db.Count + 1);

        if (threads == 1)
        {
            var heap = new ulong[heapSize];
            for (int q = 0; q < queryCount; q++)
                ScanOne(db, queryTables, queryTableScale, probes, biases, nprobe, k, table, q, filter, heap, rows, scores);
            return;
        }

        unsafe
        {
            fixed (float* pTables = queryTables, pBiases = biases, pScores = scores)
            fixed (int* pProbes = probes, pRows = rows)
            {
                nint tablesAddr = (nint)pTables, biasesAddr = (nint)pBiases, scoresAddr = (nint)pScores, probesAddr = (nint)pProbes, rowsAddr = (nint)pRows;
                int tablesLen = queryTables.Length, biasesLen = biases.Length, scoresLen = scores.Length, probesLen = probes.Length, rowsLen = rows.Length;
                Workers.Run(threads, t =>
                {
                    var heap = new ulong[heapSize];
                    var tablesSpan = new ReadOnlySpan<float>((void*)tablesAddr, tablesLen);
                    var biasesSpan = new ReadOnlySpan<float>((void*)biasesAddr, biasesLen);
                    var probesSpan = new ReadOnlySpan<int>((void*)probesAddr, probesLen);
                    var rowsSpan = new Span<int>((void*)rowsAddr, rowsLen);
                    var scoresSpan = new Span<float>((void*)scoresAddr, scoresLen);
                    for (int q = t; q < queryCount; q += threads)
                        ScanOne(db, tablesSpan, queryTableScale, probesSpan, biasesSpan, nprobe, k, table, q, filter, heap, rowsSpan, scoresSpan);
                });
            }
        }
    }

    private static void ScanOne(HostCodeDatabase db, ReadOnlySpan<float> queryTables, float scale, ReadOnlySpan<int> probes, ReadOnlySpan<float> biases,
        int nprobe, int k, int table, int q, RowFilter? filter, ulong[] heap, Span<int> rows, Span<float> scores)
    {
        heap.AsSpan().Fill(RankCode.Sentinel);
        var sink = new HeapSink(heap);
        CodeScan.ScoreQuery(db, queryTables.Slice(q * table, table), scale, probes.Slice(q * nprobe, nprobe), biases.Slice(q * nprobe, nprobe),
            filter is null ? default : filter.Bits, filter is not null, ref sink);
        Array.Sort(heap);
        var outRows = rows.Slice(q * k, k);
        var outScores = scores.Slice(q * k, k);
        for (int i = 0; i < k; i++)
        {
            ulong code = i < heap.Length ? heap[i] : RankCode.Sentinel;
            if (code == RankCode.Sentinel)
            {
                outRows[i] = -1;
                outScores[i] = float.PositiveInfinity;
            }
            else
            {
                outRows[i] = RankCode.Index(code);
                outScores[i] = 0f - RankCode.Key(code);
            }
        }
    }

    /// <summary>Keeps the best codes in a max-heap (root = worst kept), keyed by the negated score so smaller scores rank first.</summary>
    private struct HeapSink(ulong[] heap) : CodeScan.ICandidateSink
    {
        private ulong _root = RankCode.Sentinel;

        public void Add(float score, int row)
        {
            ulong code = RankCode.Encode(-score, row);
            if (code < _root) _root = RankCode.Offer(heap, code);
        }
    }
}

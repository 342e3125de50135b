using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Vec.Kernels.Internals.CpuSimd;

/// <summary>
/// The SIMD CPU backend. Matrix products and fused search run register-blocked micro-kernels
/// (<see cref="MicroKernels"/>) over B pre-packed into 32-wide panels, on all cores; top-k keeps a heap of
/// <see cref="RankCode"/>s per row and lets only lanes that beat the current k-th best leave the SIMD path.
/// Row operations (pooling, normalisation, epilogues) use <see cref="TensorPrimitives"/>, which has its own
/// Vector512/256/128 cascade with masked tails. <see cref="Width"/> caps the micro-kernel and scan width so each
/// level of the cascade can be forced and tested (<c>simd</c>, <c>simd256</c>, <c>simd128</c>).
/// </summary>
internal sealed partial class CpuSimdKernels : KernelBackendBase
{
    public const string BestName = "simd";

    /// <summary>Below this many multiply-adds a call runs on one thread (a task switch costs more than it saves).</summary>
    private const long ParallelWorkThreshold = 1L << 20;

    private readonly int _maxThreads;

    private CpuSimdKernels(string name, int width, int maxThreads)
    {
        Name = name;
        Width = width;
        _maxThreads = maxThreads;
        RowsPerBlock = width switch { 512 => MicroKernels.Rows512, 256 => MicroKernels.Rows256, _ => 1 };
    }

    internal static IReadOnlyList<BackendRegistration> Registrations { get; } =
    [
        new(BestName, "SIMD CPU, widest vectors available (Vector512 where AVX-512 exists), all cores", () => true,
            o => new CpuSimdKernels(BestName, BestWidth, o.MaxThreads)),
        new("simd256", "SIMD CPU forced to Vector256 kernels", () => Vector256.IsHardwareAccelerated,
            o => new CpuSimdKernels("simd256", 256, o.MaxThreads)),
        new("simd128", "SIMD CPU forced to Vector128 kernels", () => Vector128.IsHardwareAccelerated,
            o => new CpuSimdKernels("simd128", 128, o.MaxThreads)),
    ];

    private static int BestWidth =>
        Vector512.IsHardwareAccelerated ? 512 : Vector256.IsHardwareAccelerated ? 256 : 128;

    public override string Name { get; }

    public override string Description => $"SIMD CPU, Vector{Width} micro-kernels, up to {_maxThreads} threads";

    /// <summary>Vector width in bits of the micro-kernels and scans.</summary>
    public int Width { get; }

    /// <summary>Rows of A per micro-kernel block.</summary>
    private int RowsPerBlock { get; }

    // ---------------------------------------------------------------- row operations

    protected override unsafe void MeanPoolCore(ReadOnlySpan<float> tokens, ReadOnlySpan<long> mask, int batch, int sequenceLength, int dimension, Span<float> destination)
    {
        fixed (float* pt = tokens, pd = destination)
        fixed (long* pm = mask)
        {
            nint t = (nint)pt, m = (nint)pm, dst = (nint)pd;
            ForRows(batch, (long)sequenceLength * dimension, b => PoolRow((float*)t, (long*)m, b, sequenceLength, dimension, (float*)dst, mean: true));
        }
    }

    protected override unsafe void MaxPoolCore(ReadOnlySpan<float> tokens, ReadOnlySpan<long> mask, int batch, int sequenceLength, int dimension, Span<float> destination)
    {
        fixed (float* pt = tokens, pd = destination)
        fixed (long* pm = mask)
        {
            nint t = (nint)pt, m = (nint)pm, dst = (nint)pd;
            ForRows(batch, (long)sequenceLength * dimension, b => PoolRow((float*)t, (long*)m, b, sequenceLength, dimension, (float*)dst, mean: false));
        }
    }

    private static unsafe void PoolRow(float* tokens, long* mask, int b, int sequenceLength, int dimension, float* destination, bool mean)
    {
        var dst = new Span<float>(destination + (long)b * dimension, dimension);
        int count = 0;
        for (int t = 0; t < sequenceLength; t++)
        {
            if (mask[(long)b * sequenceLength + t] == 0) continue;
            var row = new ReadOnlySpan<float>(tokens + ((long)b * sequenceLength + t) * dimension, dimension);
            if (count++ == 0) row.CopyTo(dst);
            else if (mean) TensorPrimitives.Add(dst, row, dst);
            else TensorPrimitives.Max(dst, row, dst);
        }
        if (count == 0) dst.Clear();
        else if (mean && count > 1) TensorPrimitives.Divide(dst, count, dst);
    }

    protected override unsafe void L2NormalizeCore(ReadOnlySpan<float> source, Span<float> destination, int count, int dimension)
    {
        fixed (float* ps = source, pd = destination)
        {
            nint s = (nint)ps, dst = (nint)pd;
            ForRows(count, dimension, i =>
            {
                var src = new ReadOnlySpan<float>((float*)s + (long)i * dimension, dimension);
                var d = new Span<float>((float*)dst + (long)i * dimension, dimension);
                NormalizeRow(src, d);
            });
        }
    }

    private static void NormalizeRow(ReadOnlySpan<float> src, Span<float> dst)
    {
        float norm = TensorPrimitives.Norm(src);
        if (norm > 1e-18f && float.IsFinite(norm))
        {
            TensorPrimitives.Divide(src, norm, dst);
            return;
        }
        // Underflow or overflow of the float sum of squares: redo it in double.
        double sum = 0;
        foreach (float v in src) sum += (double)v * v;
        double n = Math.Sqrt(sum);
        for (int j = 0; j < src.Length; j++) dst[j] = n == 0 ? 0f : (float)(src[j] / n);
    }

    /// <summary>Runs <paramref name="body"/> for rows [0, rows), on several threads when there is enough work.</summary>
    private void ForRows(int rows, long workPerRow, Action<int> body)
    {
        int threads = (int)Math.Clamp(rows * workPerRow / (ParallelWorkThreshold / 4), 1, Math.Min(_maxThreads, Math.Max(rows, 1)));
        Workers.Run(threads, t => // one thread: inline on the caller
        {
            (int r0, int r1) = Partition.Range(rows, threads, t);
            for (int i = r0; i < r1; i++) body(i);
        });
    }

    // ---------------------------------------------------------------- matrix products

    private enum Epilogue { InnerProduct, Cosine, SquaredL2 }

    protected override void InnerProductsCore(ReadOnlySpan<float> a, int m, ReadOnlySpan<float> b, int n, int dimension, Span<float> destination) =>
        Product(a, m, b, n, dimension, destination, Epilogue.InnerProduct);

    protected override void CosineSimilaritiesCore(ReadOnlySpan<float> a, int m, ReadOnlySpan<float> b, int n, int dimension, Span<float> destination) =>
        Product(a, m, b, n, dimension, destination, Epilogue.Cosine);

    protected override void SquaredL2DistancesCore(ReadOnlySpan<float> a, int m, ReadOnlySpan<float> b, int n, int dimension, Span<float> destination) =>
        Product(a, m, b, n, dimension, destination, Epilogue.SquaredL2);

    private unsafe void Product(ReadOnlySpan<float> a, int m, ReadOnlySpan<float> b, int n, int d, Span<float> c, Epilogue epilogue)
    {
        if (m == 0 || n == 0) return;
        using var packed = new PackedPanels(b, n, d, _maxThreads, pooled: true);
        float[]? rowFactor = null, colFactor = null;
        if (epilogue == Epilogue.Cosine)
        {
            rowFactor = InverseNorms(a, m, d, m);
            colFactor = InverseNorms(b, n, d, packed.Panels * PackedPanels.Width);
        }
        else if (epilogue == Epilogue.SquaredL2)
        {
            rowFactor = SquaredNorms(a, m, d, m);
            colFactor = SquaredNorms(b, n, d, packed.Panels * PackedPanels.Width);
        }
        float[] packedA = PackRowBlocks(a, m, d);
        int rowBlocks = (m + RowsPerBlock - 1) / RowsPerBlock;
        int threads = ThreadsFor((long)m * n * Math.Max(d, 1), Math.Max(rowBlocks, packed.Panels));
        bool splitPanels = packed.Panels >= rowBlocks || packed.Panels >= 4 * threads;

        try
        {
        fixed (float* pa = a, pc = c)
        {
            nint aAddr = (nint)pa, cAddr = (nint)pc;
            Workers.Run(threads, t =>
            {
                (int p0, int p1) = splitPanels ? Partition.Range(packed.Panels, threads, t) : (0, packed.Panels);
                (int rb0, int rb1) = splitPanels ? (0, rowBlocks) : Partition.Range(rowBlocks, threads, t);
                ProductWorker((float*)aAddr, packedA, m, packed, n, d, p0, p1, rb0, rb1, (float*)cAddr, epilogue, rowFactor, colFactor);
            });
        }
        }
        finally
        {
            ReturnPacked(packedA);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private unsafe void ProductWorker(float* a, float[] packedA, int m, PackedPanels packed, int n, int d, int p0, int p1, int rb0, int rb1,
        float* c, Epilogue epilogue, float[]? rowFactor, float[]? colFactor)
    {
        int panelsPerBlock = PanelsPerCacheBlock(d);
        int ldTile = panelsPerBlock * PackedPanels.Width;
        float[] tileArray = Workers.Tile(RowsPerBlock * ldTile);
        fixed (float* tile = tileArray, bBase = packed.Data, aPackedBase = packedA)
        {
            for (int pb = p0; pb < p1; pb += panelsPerBlock)
            {
                int np = Math.Min(panelsPerBlock, p1 - pb);
                int col0 = pb * PackedPanels.Width, cols = Math.Min(np * PackedPanels.Width, n - col0);
                for (int rb = rb0; rb < rb1; rb++)
                {
                    int row0 = rb * RowsPerBlock, rows = Math.Min(RowsPerBlock, m - row0);
                    if (epilogue == Epilogue.InnerProduct && Width >= 256 && rows == RowsPerBlock && cols == np * PackedPanels.Width)
                    {
                        // Full tile of plain inner products: the kernel stores straight into C (no tile, no copy).
                        long panelStride = (long)d * PackedPanels.Width;
                        float* aBlock = aPackedBase + (long)rb * d * RowsPerBlock, cBlock = c + (long)row0 * n + col0;
                        for (int p = 0; p < np; p++)
                            PanelBlock(aBlock, bBase + (long)(pb + p) * panelStride, d, cBlock + p * PackedPanels.Width, n);
                        continue;
                    }
                    ComputeTile(a + (long)row0 * d, aPackedBase + (long)rb * d * RowsPerBlock, rows,
                        bBase + (long)pb * d * PackedPanels.Width, np, d, tile, ldTile);
                    for (int r = 0; r < rows; r++)
                    {
                        var src = new ReadOnlySpan<float>(tile + r * ldTile, cols);
                        var dst = new Span<float>(c + (long)(row0 + r) * n + col0, cols);
                        ApplyEpilogue(epilogue, src, dst, rowFactor, colFactor, row0 + r, col0);
                    }
                }
            }
        }
    }

    private static void ApplyEpilogue(Epilogue epilogue, ReadOnlySpan<float> src, Span<float> dst, float[]? rowFactor, float[]? colFactor, int row, int col0)
    {
        switch (epilogue)
        {
            case Epilogue.InnerProduct:
                src.CopyTo(dst);
                break;
            case Epilogue.Cosine:
                TensorPrimitives.Multiply(src, colFactor.AsSpan(col0, src.Length), dst);
                TensorPrimitives.Multiply(dst, rowFactor![row], dst);
                TensorPrimitives.Min(dst, 1f, dst);
                TensorPrimitives.Max(dst, -1f, dst);
                break;
            default:
                TensorPrimitives.MultiplyAdd(src, -2f, colFactor.AsSpan(col0, src.Length), dst);
                TensorPrimitives.Add(dst, rowFactor![row], dst);
                TensorPrimitives.Max(dst, 0f, dst);
                break;
        }
    }

    /// <summary>
    /// Computes the [rows x np*32] tile of A-block · panels into <paramref name="tile"/> (row stride
    /// <paramref name="ldTile"/>). Few real rows use the one-row kernel (no work on padding rows); otherwise the
    /// full register block runs on the zero-padded packed rows.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private unsafe void ComputeTile(float* aRows, float* aPacked, int rows, float* panels, int np, int d, float* tile, int ldTile)
    {
        long panelStride = (long)d * PackedPanels.Width;
        switch (Width)
        {
            case 512 when rows > 3:
            case 256 when rows > 2:
                for (int p = 0; p < np; p++)
                    PanelBlock(aPacked, panels + p * panelStride, d, tile + p * PackedPanels.Width, ldTile);
                break;
            case 512:
                for (int r = 0; r < rows; r++)
                    for (int p = 0; p < np; p++)
                        MicroKernels.Vector512Kernel1x32(aRows + (long)r * d, panels + p * panelStride, d, tile + r * ldTile + p * PackedPanels.Width);
                break;
            case 256:
                for (int r = 0; r < rows; r++)
                    for (int p = 0; p < np; p++)
                        MicroKernels.Vector256Kernel1x32(aRows + (long)r * d, panels + p * panelStride, d, tile + r * ldTile + p * PackedPanels.Width);
                break;
            default:
                for (int r = 0; r < rows; r++)
                    for (int p = 0; p < np; p++)
                        MicroKernels.Vector128Kernel1x32(aRows + (long)r * d, panels + p * panelStride, d, tile + r * ldTile + p * PackedPanels.Width);
                break;
        }
    }

    /// <summary>One register block of packed rows times one 32-wide panel into <paramref name="c"/> (row stride
    /// <paramref name="ldc"/>): the 12 x 32 Vector512 kernel, or the 6 x 16 Vector256 kernel on each half of the panel.</summary>
    private unsafe void PanelBlock(float* aPacked, float* panel, int d, float* c, nint ldc)
    {
        if (Width == 512)
        {
            MicroKernels.Vector512Kernel12x32(aPacked, panel, d, c, ldc);
            return;
        }
        MicroKernels.Vector256Kernel6x16(aPacked, panel, d, c, ldc);
        MicroKernels.Vector256Kernel6x16(aPacked, panel + 16, d, c + 16, ldc);
    }

    /// <summary>
    /// Packs A into row blocks laid out [block][k][RowsPerBlock] (zero-padded), for the kernels that broadcast from several
    /// rows. The buffer is rented (fresh pages would cost a page fault each): return it with <see cref="ReturnPacked"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private unsafe float[] PackRowBlocks(ReadOnlySpan<float> a, int m, int d)
    {
        int mr = RowsPerBlock;
        if (mr == 1) return [];
        int blocks = (m + mr - 1) / mr;
        float[] packed = System.Buffers.ArrayPool<float>.Shared.Rent(Math.Max(1, blocks * d * mr));
        int threads = ThreadsFor((long)m * d * 64, blocks);
        fixed (float* pSrc = a, pDst = packed)
        {
            nint srcAddr = (nint)pSrc, dstAddr = (nint)pDst;
            Workers.Run(threads, t =>
            {
                (int b0, int b1) = Partition.Range(blocks, threads, t);
                PackRowBlockRange((float*)srcAddr, (float*)dstAddr, m, d, mr, b0, b1);
            });
        }
        return packed;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void PackRowBlockRange(float* src, float* dst, int m, int d, int mr, int block0, int block1)
    {
        for (int block = block0; block < block1; block++)
        {
            float* blockDst = dst + (long)block * d * mr;
            int rows = Math.Min(mr, m - block * mr);
            if (rows < mr) new Span<float>(blockDst, d * mr).Clear();
            for (int r = 0; r < rows; r++)
            {
                float* row = src + (long)(block * mr + r) * d;
                for (int k = 0; k < d; k++) blockDst[k * mr + r] = row[k];
            }
        }
    }

    private static void ReturnPacked(float[] packed)
    {
        if (packed.Length > 0) System.Buffers.ArrayPool<float>.Shared.Return(packed);
    }

    /// <summary>Panels per cache block: a block of B (d x 32 floats per panel) sized to stay in L2 while the row blocks stream
    /// past it: 512 KB for the 12 x 32 Vector512 tile (the AVX-512 machines have 1-2 MB of L2), 192 KB for the 6 x 16 Vector256
    /// tile (on a 512 KB-L2 AVX2 part the kernel alone ran about a tenth slower, d = 384, once a block filled most of L2).</summary>
    private int PanelsPerCacheBlock(int d) =>
        Math.Clamp((Width == 512 ? 512 : 192) * 1024 / (Math.Max(d, 1) * PackedPanels.Width * sizeof(float)), 1, 16);

    private int ThreadsFor(long multiplyAdds, int parallelUnits) =>
        multiplyAdds < ParallelWorkThreshold ? 1 : Math.Clamp(parallelUnits, 1, _maxThreads);

    private static float[] SquaredNorms(ReadOnlySpan<float> x, int rows, int d, int paddedLength)
    {
        float[] result = GC.AllocateArray<float>(Math.Max(paddedLength, 1), pinned: true);
        for (int i = 0; i < rows; i++) result[i] = TensorPrimitives.SumOfSquares(x.Slice(i * d, d));
        return result;
    }

    private static float[] InverseNorms(ReadOnlySpan<float> x, int rows, int d, int paddedLength)
    {
        float[] result = GC.AllocateArray<float>(Math.Max(paddedLength, 1), pinned: true);
        for (int i = 0; i < rows; i++)
        {
            double sum = 0;
            foreach (float v in x.Slice(i * d, d)) sum += (double)v * v;
            result[i] = sum > 0 ? (float)(1 / Math.Sqrt(sum)) : 0f;
        }
        return result;
    }

    // ---------------------------------------------------------------- top-k

    protected override unsafe void TopKCore(ReadOnlySpan<float> scores, int rows, int columns, int k, TopKOrder order, Span<int> indices, Span<float> values)
    {
        float sign = order == TopKOrder.Largest ? 1f : -1f;
        float missing = order.MissingScore();
        fixed (float* ps = scores, pv = values)
        fixed (int* pi = indices)
        {
            nint s = (nint)ps, v = (nint)pv, ix = (nint)pi;
            int width = Width;
            ForRows(rows, columns, r =>
            {
                float* row = (float*)s + (long)r * columns;
                int kept = Math.Min(k, columns);
                ulong[] codes = new ulong[kept == 0 ? 1 : (kept * 4 >= columns ? columns : kept)];
                if (kept * 4 >= columns)
                {
                    // Most of the row survives: sort all of it.
                    for (int j = 0; j < columns; j++) codes[j] = RankCode.Encode(sign * row[j], j);
                    codes.AsSpan(0, columns).Sort();
                }
                else if (kept > RadixSelectMinK)
                {
                    // Large k: a heap would pay log k per insertion; select by the key's bits instead.
                    RadixSelect(row, columns, sign, codes);
                }
                else
                {
                    codes.AsSpan().Fill(RankCode.Sentinel);
                    fixed (ulong* heap = codes) ScanScores(row, columns, sign, heap, kept, width);
                    codes.AsSpan().Sort();
                }
                int* outIdx = (int*)ix + (long)r * k;
                float* outVal = (float*)v + (long)r * k;
                for (int i = 0; i < k; i++)
                {
                    if (i < kept)
                    {
                        int j = RankCode.Index(codes[i]);
                        outIdx[i] = j;
                        outVal[i] = row[j];
                    }
                    else
                    {
                        outIdx[i] = -1;
                        outVal[i] = missing;
                    }
                }
            });
        }
    }

    /// <summary>Above this k, <see cref="TopKCore"/> selects by radix rather than with a heap.</summary>
    internal const int RadixSelectMinK = 2048;

    /// <summary>
    /// Writes the best <c>result.Length</c> rank codes of <c>sign·row[j]</c>, sorted, into <paramref name="result"/>. The
    /// high halves of the codes (<see cref="RankCode.High"/>, smaller is better) are computed once; two 11-bit histogram
    /// passes over their top bits find a 22-bit prefix such that fewer than k codes lie strictly before it and at least k
    /// up to it; the codes up to that prefix are gathered and sorted. Ties need no care: codes are unique and their order
    /// is the ranking (lower index first on equal scores).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void RadixSelect(float* row, int columns, float sign, ulong[] result)
    {
        int k = result.Length;
        uint[] highs = System.Buffers.ArrayPool<uint>.Shared.Rent(columns);
        ulong[]? gathered = null;
        int* hist = stackalloc int[2048];
        try
        {
            new Span<int>(hist, 2048).Clear();
            fixed (uint* h = highs)
            {
                for (int j = 0; j < columns; j++)
                {
                    uint high = RankCode.High(sign * row[j]);
                    h[j] = high;
                    hist[high >> 21]++;
                }
                int above = 0, bin1 = 0;
                while (above + hist[bin1] < k) above += hist[bin1++];

                new Span<int>(hist, 2048).Clear();
                for (int j = 0; j < columns; j++)
                    if ((h[j] >> 21) == (uint)bin1) hist[(h[j] >> 10) & 2047]++;
                int bin2 = 0;
                while (above + hist[bin2] < k) above += hist[bin2++];
                uint prefix = ((uint)bin1 << 11) | (uint)bin2;

                gathered = System.Buffers.ArrayPool<ulong>.Shared.Rent(above + hist[bin2]);
                int c = 0;
                for (int j = 0; j < columns; j++)
                    if ((h[j] >> 10) <= prefix) gathered[c++] = ((ulong)h[j] << 32) | (uint)j;
                var selected = gathered.AsSpan(0, c);
                selected.Sort();
                selected[..k].CopyTo(result);
            }
        }
        finally
        {
            System.Buffers.ArrayPool<uint>.Shared.Return(highs);
            if (gathered is not null) System.Buffers.ArrayPool<ulong>.Shared.Return(gathered);
        }
    }

    /// <summary>Offers sign·row[j] for every column to the heap; only lanes at or above the heap's threshold leave the SIMD compare.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void ScanScores(float* row, int columns, float sign, ulong* heap, int k, int width)
    {
        var heapSpan = new Span<ulong>(heap, k);
        ulong root = heap[0];
        float threshold = RankCode.Threshold(root);
        int j = 0;
        if (width == 512)
        {
            var signs = Vector512.Create(sign);
            float* keys = stackalloc float[16];
            for (; j + 16 <= columns; j += 16)
            {
                var key = Vector512.Load(row + j) * signs;
                uint mask = (uint)Vector512.GreaterThanOrEqual(key, Vector512.Create(threshold)).ExtractMostSignificantBits();
                if (mask == 0) continue;
                key.Store(keys);
                do
                {
                    int b = BitOperations.TrailingZeroCount(mask);
                    ulong code = RankCode.Encode(keys[b], j + b);
                    if (code < root) { root = RankCode.Offer(heapSpan, code); threshold = RankCode.Threshold(root); }
                    mask &= mask - 1;
                }
                while (mask != 0);
            }
        }
        else
        {
            var signs = Vector128.Create(sign);
            float* keys = stackalloc float[4];
            for (; j + 4 <= columns; j += 4)
            {
                var key = Vector128.Load(row + j) * signs;
                uint mask = (uint)Vector128.GreaterThanOrEqual(key, Vector128.Create(threshold)).ExtractMostSignificantBits();
                if (mask == 0) continue;
                key.Store(keys);
                do
                {
                    int b = BitOperations.TrailingZeroCount(mask);
                    ulong code = RankCode.Encode(keys[b], j + b);
                    if (code < root) { root = RankCode.Offer(heapSpan, code); threshold = RankCode.Threshold(root); }
                    mask &= mask - 1;
                }
                while (mask != 0);
            }
        }
        for (; j < columns; j++)
        {
            ulong code = RankCode.Encode(sign * row[j], j);
            if (code < root) root = RankCode.Offer(heapSpan, code);
        }
    }

    // ---------------------------------------------------------------- fused search

    protected override VectorDatabase CreateDatabaseCore(ReadOnlySpan<float> vectors, int count, int dimension) =>
        new SimdDatabase(this, vectors, count, dimension, _maxThreads);

    protected override unsafe void SearchCore(VectorDatabase database, ReadOnlySpan<float> queries, int queryCount, int k, Metric metric, Span<int> indices, Span<float> scores, RowFilter? filter)
    {
        var db = (SimdDatabase)database;
        int n = db.Count, d = db.Dimension, m = queryCount;
        if (m == 0) return;
        PackedPanels packed = db.Packed;
        (float[] alpha, float[] beta) = db.Transform(metric);
        float[] packedQ = PackRowBlocks(queries, m, d);
        // Each thread scans a contiguous share of the database for all queries, keeping its own heaps.
        int threads = ThreadsFor((long)m * n * Math.Max(d, 1), packed.Panels / 8);
        var heaps = new ulong[threads][];
        ulong[]? filterBits = filter?.BitsArray;

        try
        {
        fixed (float* pq = queries)
        {
            nint qAddr = (nint)pq;
            Workers.Run(threads, t =>
            {
                ulong[] heap = System.Buffers.ArrayPool<ulong>.Shared.Rent(m * k);
                heap.AsSpan(0, m * k).Fill(RankCode.Sentinel);
                heaps[t] = heap;
                (int p0, int p1) = Partition.Range(packed.Panels, threads, t);
                SearchWorker((float*)qAddr, packedQ, m, packed, n, d, p0, p1, alpha, beta, filterBits, heap, k);
            });
        }
        }
        finally
        {
            ReturnPacked(packedQ);
        }

        // Merge the per-thread heaps of each query, best first, and map keys back to the metric's scores.
        ulong[] merged = new ulong[threads * k];
        float missing = metric.Order().MissingScore();
        for (int q = 0; q < m; q++)
        {
            for (int t = 0; t < threads; t++) heaps[t].AsSpan(q * k, k).CopyTo(merged.AsSpan(t * k, k));
            merged.AsSpan().Sort();
            var query = queries.Slice(q * d, d);
            float queryFactor = QueryFactor(metric, query);
            for (int i = 0; i < k; i++)
            {
                ulong code = merged[i];
                if (code == RankCode.Sentinel)
                {
                    indices[q * k + i] = -1;
                    scores[q * k + i] = missing;
                    continue;
                }
                float key = RankCode.Key(code);
                indices[q * k + i] = RankCode.Index(code);
                scores[q * k + i] = metric switch
                {
                    Metric.Cosine => Math.Clamp(key * queryFactor, -1f, 1f),
                    Metric.L2 => Math.Max(0f, queryFactor - key),
                    _ => key,
                };
            }
        }
        foreach (ulong[] heap in heaps) System.Buffers.ArrayPool<ulong>.Shared.Return(heap);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private unsafe void SearchWorker(float* queries, float[] packedQ, int m, PackedPanels packed, int n, int d, int p0, int p1,
        float[] alpha, float[] beta, ulong[]? filterBits, ulong[] heap, int k)
    {
        int rowBlocks = (m + RowsPerBlock - 1) / RowsPerBlock;
        int panelsPerBlock = PanelsPerCacheBlock(d);
        int ldTile = panelsPerBlock * PackedPanels.Width;
        float[] tileArray = Workers.Tile(RowsPerBlock * ldTile);
        fixed (float* tile = tileArray, bBase = packed.Data, qPackedBase = packedQ, pAlpha = alpha, pBeta = beta)
        fixed (ulong* pHeap = heap, pBits = filterBits)
        {
            for (int pb = p0; pb < p1; pb += panelsPerBlock)
            {
                int np = Math.Min(panelsPerBlock, p1 - pb);
                int col0 = pb * PackedPanels.Width;
                for (int rb = 0; rb < rowBlocks; rb++)
                {
                    int row0 = rb * RowsPerBlock, rows = Math.Min(RowsPerBlock, m - row0);
                    ComputeTile(queries + (long)row0 * d, qPackedBase + (long)rb * d * RowsPerBlock, rows,
                        bBase + (long)pb * d * PackedPanels.Width, np, d, tile, ldTile);
                    for (int r = 0; r < rows; r++)
                        ScanTileRow(tile + r * ldTile, np * PackedPanels.Width, col0, n, pAlpha, pBeta, pBits,
                            pHeap + (long)(row0 + r) * k, k, Width);
                }
            }
        }
    }

    /// <summary>What turns a query's ranking key back into its score: 1/|q| for cosine, |q|² for L2, 1 for inner product.</summary>
    private static float QueryFactor(Metric metric, ReadOnlySpan<float> query) => metric switch
    {
        Metric.Cosine => InverseNorm(query),
        Metric.L2 => TensorPrimitives.SumOfSquares(query),
        _ => 1f,
    };

    private static float InverseNorm(ReadOnlySpan<float> x)
    {
        double sum = 0;
        foreach (float v in x) sum += (double)v * v;
        return sum > 0 ? (float)(1 / Math.Sqrt(sum)) : 0f;
    }

    /// <summary>
    /// Offers one query's tile row to its heap: key = score·alpha[col] + beta[col] (the metric's ranking key, larger is
    /// better), masked by the columns that exist and the filter's bitmap. Only lanes at or above the heap's threshold
    /// leave the SIMD compare.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void ScanTileRow(float* tileRow, int cols, int col0, int n, float* alpha, float* beta, ulong* filterBits, ulong* heap, int k, int width)
    {
        var heapSpan = new Span<ulong>(heap, k);
        ulong root = heap[0];
        float threshold = RankCode.Threshold(root);
        int lanes = width == 512 ? 16 : width == 256 ? 8 : 4;
        float* keys = stackalloc float[16];
        for (int j = 0; j < cols; j += lanes)
        {
            int col = col0 + j;
            if (col >= n) break;
            uint mask;
            if (width == 512)
            {
                var key = Vector512.FusedMultiplyAdd(Vector512.Load(tileRow + j), Vector512.Load(alpha + col), Vector512.Load(beta + col));
                mask = (uint)Vector512.GreaterThanOrEqual(key, Vector512.Create(threshold)).ExtractMostSignificantBits();
                if (mask == 0) continue;
                key.Store(keys);
            }
            else if (width == 256)
            {
                var key = Vector256.FusedMultiplyAdd(Vector256.Load(tileRow + j), Vector256.Load(alpha + col), Vector256.Load(beta + col));
                mask = (uint)Vector256.GreaterThanOrEqual(key, Vector256.Create(threshold)).ExtractMostSignificantBits();
                if (mask == 0) continue;
                key.Store(keys);
            }
            else
            {
                var key = Vector128.FusedMultiplyAdd(Vector128.Load(tileRow + j), Vector128.Load(alpha + col), Vector128.Load(beta + col));
                mask = (uint)Vector128.GreaterThanOrEqual(key, Vector128.Create(threshold)).ExtractMostSignificantBits();
                if (mask == 0) continue;
                key.Store(keys);
            }
            if (col + lanes > n) mask &= (1u << (n - col)) - 1;
            if (filterBits != null) mask &= (uint)(filterBits[col >> 6] >> (col & 63)) & ((1u << lanes) - 1);
            while (mask != 0)
            {
                int b = BitOperations.TrailingZeroCount(mask);
                ulong code = RankCode.Encode(keys[b], col + b);
                if (code < root) { root = RankCode.Offer(heapSpan, code); threshold = RankCode.Threshold(root); }
                mask &= mask - 1;
            }
        }
    }

    /// <summary>The database packed into panels, with the per-row factors that turn inner products into each metric's ranking key.</summary>
    private sealed class SimdDatabase : VectorDatabase
    {
        private readonly float[] _ones, _zeros, _twos, _invNorms, _negSquaredNorms;

        public SimdDatabase(CpuSimdKernels owner, ReadOnlySpan<float> vectors, int count, int dimension, int maxThreads,
            CompressedRows? compressed = null)
            : base(owner, count, dimension, compressed?.Storage ?? VectorStorage.Float32)
        {
            Packed = new PackedPanels(vectors, count, dimension, maxThreads);
            Compressed = compressed;
            int padded = Math.Max(1, Packed.Panels * PackedPanels.Width);
            _ones = NewPinned(padded, 1f);
            _zeros = NewPinned(padded, 0f);
            _twos = NewPinned(padded, 2f);
            _invNorms = InverseNorms(vectors, count, dimension, padded);
            _negSquaredNorms = SquaredNorms(vectors, count, dimension, padded);
            TensorPrimitives.Negate(_negSquaredNorms, _negSquaredNorms);
        }

        public PackedPanels Packed { get; }

        /// <summary>The compressed rows for single-query scans (<c>CompressedScan.cs</c>); null for float32 storage.</summary>
        public CompressedRows? Compressed { get; }

        /// <summary>(alpha, beta) with key = alpha·(q·x) + beta: inner product as is, cosine scaled by 1/|x| (the 1/|q| factor
        /// does not change the ranking and is applied at the end), L2 as 2 q·x - |x|² (= |q|² - |q-x|²).</summary>
        public (float[] Alpha, float[] Beta) Transform(Metric metric) => metric switch
        {
            Metric.Cosine => (_invNorms, _zeros),
            Metric.L2 => (_twos, _negSquaredNorms),
            _ => (_ones, _zeros),
        };

        private static float[] NewPinned(int length, float value)
        {
            float[] a = GC.AllocateUninitializedArray<float>(length, pinned: true);
            a.AsSpan().Fill(value);
            return a;
        }
    }
}

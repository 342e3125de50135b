namespace Vec.Kernels.Internals.CpuSimd;

/// <summary>
/// A row-major [rows x dim] matrix re-laid out as 32-row panels for the micro-kernels.
/// Layout: (panel, k, j) at <c>Data[(panel * dim + k) * 32 + j]</c> holds <c>src[(panel * 32 + j) * dim + k]</c>; rows past
/// the end are zero. The array lives on the pinned object heap, so kernels take raw pointers without pinning.
/// </summary>
internal sealed class PackedPanels : IDisposable
{
    public const int Width = 32;

    private readonly bool _pooled;

    /// <param name="source">Row-major [rows x dim] matrix.</param>
    /// <param name="rows">Rows to pack.</param>
    /// <param name="dim">Columns.</param>
    /// <param name="maxThreads">Threads the packing may use.</param>
    /// <param name="pooled">Rent the buffer from <see cref="System.Buffers.ArrayPool{T}"/> (for per-call packing: fresh pages
    /// cost a page fault each) instead of allocating a long-lived one; dispose to return it. Pooled data is not pinned:
    /// take pointers under <c>fixed</c>.</param>
    public PackedPanels(ReadOnlySpan<float> source, int rows, int dim, int maxThreads, bool pooled = false)
    {
        Rows = rows;
        Dim = dim;
        Panels = (rows + Width - 1) / Width;
        _pooled = pooled;
        int length = Math.Max(1, Panels * dim * Width);
        Data = pooled ? System.Buffers.ArrayPool<float>.Shared.Rent(length) : GC.AllocateUninitializedArray<float>(length, pinned: true);
        if (Panels == 0 || dim == 0) return;
        unsafe
        {
            fixed (float* src = source)
            {
                nint srcAddr = (nint)src;
                int threads = Math.Clamp(Panels / 64, 1, maxThreads);
                Workers.Run(threads, t =>
                {
                    (int p0, int p1) = Partition.Range(Panels, threads, t);
                    for (int p = p0; p < p1; p++) PackPanel((float*)srcAddr, p);
                });
            }
        }
    }

    public int Rows { get; }

    public int Dim { get; }

    public int Panels { get; }

    public float[] Data { get; }

    public void Dispose()
    {
        if (_pooled) System.Buffers.ArrayPool<float>.Shared.Return(Data);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private unsafe void PackPanel(float* src, int panel)
    {
        fixed (float* dataBase = Data)
        {
            float* dst = dataBase + (long)panel * Dim * Width;
            int rows = Math.Min(Width, Rows - panel * Width);
            if (rows < Width) new Span<float>(dst, Dim * Width).Clear();
            // Cache-friendly transpose: walk the source rows in 16-column strips.
            for (int k0 = 0; k0 < Dim; k0 += 16)
            {
                int k1 = Math.Min(Dim, k0 + 16);
                for (int j = 0; j < rows; j++)
                {
                    float* s = src + (long)(panel * Width + j) * Dim;
                    for (int k = k0; k < k1; k++) dst[k * Width + j] = s[k];
                }
            }
        }
    }
}

/// <summary>Splits ranges between threads.</summary>
internal static class Partition
{
    /// <summary>The [start, end) share of <paramref name="count"/> items for thread <paramref name="t"/> of <paramref name="threads"/>.</summary>
    public static (int Start, int End) Range(int count, int threads, int t)
    {
        long start = (long)count * t / threads, end = (long)count * (t + 1) / threads;
        return ((int)start, (int)end);
    }
}

/// <summary>Runs per-thread shares of the SIMD kernels.</summary>
internal static class Workers
{
    /// <summary>Runs <paramref name="body"/> for thread indices 0..threads-1: inline on the caller for one thread (a
    /// small call, such as one query, then pays no task set-up or wake-up), else through <see cref="Parallel.For(int, int, ParallelOptions, Action{int})"/>.</summary>
    public static void Run(int threads, Action<int> body)
    {
        if (threads <= 1)
        {
            body(0);
            return;
        }

        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, body);
    }

    [ThreadStatic]
    private static float[]? t_tile;

    /// <summary>A pinned scratch tile of at least <paramref name="length"/> floats, kept per thread and reused (a fresh
    /// pinned array per call would land on the pinned heap, which only a full collection frees).</summary>
    public static float[] Tile(int length)
    {
        float[]? tile = t_tile;
        if (tile is null || tile.Length < length) t_tile = tile = GC.AllocateUninitializedArray<float>(length, pinned: true);
        return tile;
    }
}

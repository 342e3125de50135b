using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using Vec.Kernels.Internals;

namespace Vec.Kernels.Ilgpu;

/// <summary>
/// The ILGPU backend: every operation runs as <see cref="DeviceKernels"/> on one accelerator (a CUDA GPU, or ILGPU's CPU
/// simulator). Kernels are loaded once, in the constructor; the host only uploads inputs, launches kernels and
/// downloads results. Calls are serialised on the accelerator's default stream, so the backend is safe for concurrent use.
/// </summary>
internal sealed partial class IlgpuBackend : KernelBackendBase
{
    /// <summary>Default of <see cref="SearchChunkRows"/>.</summary>
    internal const int DefaultSearchChunkRows = 8192;

    /// <summary>Default of <see cref="SearchQueryBatch"/>.</summary>
    internal const int DefaultSearchQueryBatch = 1024;

    private readonly Context _context;
    private readonly Accelerator _accelerator;
    private readonly Lock _gate = new();
    private readonly MemoryBuffer1D<float, Stride1D.Dense> _dummyFloats;
    private readonly MemoryBuffer1D<ulong, Stride1D.Dense> _dummyCodes;

    private readonly Action<Index1D, ArrayView<float>, ArrayView<long>, int, int, int, ArrayView<float>> _pool;
    private readonly Action<KernelConfig, ArrayView<float>, int, int, ArrayView<float>> _rowNorms;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, int, ArrayView<float>> _scaleRows;
    private readonly Action<KernelConfig, ArrayView<float>, int, ArrayView<float>, int, int, int, ArrayView<float>, int, int, ArrayView<float>, ArrayView<float>> _product;
    private readonly Action<KernelConfig, ArrayView<ulong>, int, int, ArrayView<float>, int, int, int, int, ArrayView<ulong>, int, int, ArrayView<ulong>> _select;
    private readonly Action<Index1D, ArrayView<ulong>, int, int, ArrayView<float>, int, int, ArrayView<int>, ArrayView<float>> _decode;

    private bool _disposed;

    /// <summary>Takes ownership of <paramref name="context"/> and <paramref name="accelerator"/>, and loads every kernel.</summary>
    internal IlgpuBackend(string name, Context context, Accelerator accelerator)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(accelerator);
        if (accelerator.MaxNumThreadsPerGroup < DeviceKernels.ProductThreads)
            throw new ArgumentException($"The accelerator allows {accelerator.MaxNumThreadsPerGroup} threads per group; the kernels need {DeviceKernels.ProductThreads}.", nameof(accelerator));
        Name = name;
        _context = context;
        _accelerator = accelerator;
        try
        {
            _pool = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<long>, int, int, int, ArrayView<float>>(DeviceKernels.Pool);
            _rowNorms = accelerator.LoadStreamKernel<ArrayView<float>, int, int, ArrayView<float>>(DeviceKernels.RowNorms);
            _scaleRows = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, int, ArrayView<float>>(DeviceKernels.ScaleRows);
            _product = accelerator.LoadStreamKernel<ArrayView<float>, int, ArrayView<float>, int, int, int, ArrayView<float>, int, int, ArrayView<float>, ArrayView<float>>(DeviceKernels.Product);
            _select = accelerator.LoadStreamKernel<ArrayView<ulong>, int, int, ArrayView<float>, int, int, int, int, ArrayView<ulong>, int, int, ArrayView<ulong>>(DeviceKernels.Select);
            LoadCodeScanKernels(accelerator);
            _decode = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<ulong>, int, int, ArrayView<float>, int, int, ArrayView<int>, ArrayView<float>>(DeviceKernels.Decode);
            _dummyFloats = accelerator.Allocate1D<float>(1);
            _dummyCodes = accelerator.Allocate1D<ulong>(1);
        }
        catch
        {
            accelerator.Dispose();
            context.Dispose();
            throw;
        }
    }

    public override string Name { get; }

    public override string Description =>
        $"ILGPU {_accelerator.AcceleratorType} accelerator '{_accelerator.Name}' ({_accelerator.MaxNumThreadsPerGroup} threads/group)";

    public override int MaxK => DeviceKernels.MaxK;

    /// <summary>Database rows scored per search step: the score tile on the device is at most
    /// <see cref="SearchQueryBatch"/> x this. Settable for tests, which force several chunks on tiny databases.</summary>
    internal int SearchChunkRows
    {
        get;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(value);
            field = value;
        }
    } = DefaultSearchChunkRows;

    /// <summary>Queries per search batch (bounds the score tile and the running top-k buffer). Settable for tests.</summary>
    internal int SearchQueryBatch
    {
        get;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(value);
            field = value;
        }
    } = DefaultSearchQueryBatch;

    // ------------------------------------------------------------------ pooling and normalisation

    protected override void MeanPoolCore(ReadOnlySpan<float> tokens, ReadOnlySpan<long> mask, int batch, int sequenceLength, int dimension, Span<float> destination) =>
        Pool(tokens, mask, batch, sequenceLength, dimension, destination, max: false);

    protected override void MaxPoolCore(ReadOnlySpan<float> tokens, ReadOnlySpan<long> mask, int batch, int sequenceLength, int dimension, Span<float> destination) =>
        Pool(tokens, mask, batch, sequenceLength, dimension, destination, max: true);

    private void Pool(ReadOnlySpan<float> tokens, ReadOnlySpan<long> mask, int batch, int sequenceLength, int dimension, Span<float> destination, bool max)
    {
        int outLength = batch * dimension;
        if (outLength == 0) return;
        lock (_gate)
        {
            ThrowIfDisposed();
            using var t = Upload(tokens[..(batch * sequenceLength * dimension)]);
            using var mk = Upload(mask[..(batch * sequenceLength)]);
            using var o = _accelerator.Allocate1D<float>(outLength);
            _pool(outLength, t.View, mk.View, sequenceLength, dimension, max ? 1 : 0, o.View);
            Download(o, destination[..outLength]);
        }
    }

    protected override void L2NormalizeCore(ReadOnlySpan<float> source, Span<float> destination, int count, int dimension)
    {
        int length = count * dimension;
        if (length == 0) return;
        lock (_gate)
        {
            ThrowIfDisposed();
            using var x = Upload(source[..length]);
            using var norms = _accelerator.Allocate1D<float>(count);
            LaunchRowNorms(x.View, count, dimension, norms.View);
            _scaleRows(length, x.View, x.View, dimension, norms.View);
            Download(x, destination[..length]);
        }
    }

    /// <summary>Row L2 norms, or with <paramref name="squared"/> plain sums of squares (what the L2 epilogue needs: squaring a
    /// rounded root would break exact ties).</summary>
    private void LaunchRowNorms(ArrayView<float> rows, int count, int dimension, ArrayView<float> norms, bool squared = false)
    {
        if (count <= 0) return;
        if (rows.Length < (long)count * dimension || norms.Length < count)
            throw new ArgumentException("Row-norm views are shorter than the launch needs.", nameof(rows));
        _rowNorms(new KernelConfig(count, DeviceKernels.NormThreads), rows, dimension, squared ? 1 : 0, norms);
    }

    // ------------------------------------------------------------------ products

    protected override void InnerProductsCore(ReadOnlySpan<float> a, int m, ReadOnlySpan<float> b, int n, int dimension, Span<float> destination) =>
        Product(a, m, b, n, dimension, destination, DeviceKernels.EpilogueInnerProduct);

    protected override void CosineSimilaritiesCore(ReadOnlySpan<float> a, int m, ReadOnlySpan<float> b, int n, int dimension, Span<float> destination) =>
        Product(a, m, b, n, dimension, destination, DeviceKernels.EpilogueCosine);

    protected override void SquaredL2DistancesCore(ReadOnlySpan<float> a, int m, ReadOnlySpan<float> b, int n, int dimension, Span<float> destination) =>
        Product(a, m, b, n, dimension, destination, DeviceKernels.EpilogueSquaredL2);

    private void Product(ReadOnlySpan<float> a, int m, ReadOnlySpan<float> b, int n, int dimension, Span<float> destination, int epilogue)
    {
        if (m == 0 || n == 0) return;
        lock (_gate)
        {
            ThrowIfDisposed();
            using var da = Upload(a[..(m * dimension)]);
            using var db = Upload(b[..(n * dimension)]);
            using var c = _accelerator.Allocate1D<float>((long)m * n);
            MemoryBuffer1D<float, Stride1D.Dense>? na = null, nb = null;
            try
            {
                ArrayView<float> aNorms = _dummyFloats.View, bNorms = _dummyFloats.View;
                if (epilogue != DeviceKernels.EpilogueInnerProduct)
                {
                    na = _accelerator.Allocate1D<float>(m);
                    nb = _accelerator.Allocate1D<float>(n);
                    bool squared = epilogue == DeviceKernels.EpilogueSquaredL2;
                    LaunchRowNorms(da.View, m, dimension, na.View, squared);
                    LaunchRowNorms(db.View, n, dimension, nb.View, squared);
                    aNorms = na.View;
                    bNorms = nb.View;
                }
                LaunchProduct(da.View, m, db.View, 0, n, dimension, c.View, n, epilogue, aNorms, bNorms);
                Download(c, destination[..(m * n)]);
            }
            finally
            {
                na?.Dispose();
                nb?.Dispose();
            }
        }
    }

    private void LaunchProduct(ArrayView<float> a, int m, ArrayView<float> b, int bRow0, int n, int dimension,
        ArrayView<float> c, int ldc, int epilogue, ArrayView<float> aNorms, ArrayView<float> bNorms)
    {
        if (m <= 0 || n <= 0) return;
        if (ldc < n || bRow0 < 0 || c.Length < (long)(m - 1) * ldc + n || a.Length < (long)m * dimension || b.Length < (long)(bRow0 + n) * dimension)
            throw new ArgumentException("Product views are shorter than the launch needs.", nameof(c));
        if (epilogue != DeviceKernels.EpilogueInnerProduct && (aNorms.Length < m || bNorms.Length < bRow0 + n))
            throw new ArgumentException("Norm views are shorter than the launch needs.", nameof(aNorms));
        long tiles = (long)((m + DeviceKernels.Tile - 1) / DeviceKernels.Tile) * ((n + DeviceKernels.Tile - 1) / DeviceKernels.Tile);
        if (tiles > int.MaxValue) throw new ArgumentOutOfRangeException(nameof(m), "Too many product tiles for one launch.");
        _product(new KernelConfig((int)tiles, DeviceKernels.ProductThreads), a, m, b, bRow0, n, dimension, c, ldc, epilogue, aNorms, bNorms);
    }

    // ------------------------------------------------------------------ top-k

    protected override void TopKCore(ReadOnlySpan<float> scores, int rows, int columns, int k, TopKOrder order, Span<int> indices, Span<float> values)
    {
        if (rows == 0) return;
        int smallest = order == TopKOrder.Smallest ? 1 : 0;
        lock (_gate)
        {
            ThrowIfDisposed();
            using var s = columns == 0 ? _accelerator.Allocate1D<float>(1) : Upload(scores[..(rows * columns)]);
            using var codes = _accelerator.Allocate1D<ulong>((long)rows * k);
            LaunchSelect(rows, _dummyCodes.View, 0, s.View, columns, columns, 0, smallest, _dummyCodes.View, false, k, codes.View);
            using var ids = _accelerator.Allocate1D<int>((long)rows * k);
            using var vals = _accelerator.Allocate1D<float>((long)rows * k);
            LaunchDecode(codes.View, rows, k, smallest, s.View, columns, fromScores: true, ids.View, vals.View);
            Download(ids, indices[..(rows * k)]);
            Download(vals, values[..(rows * k)]);
        }
    }

    private void LaunchSelect(int rows, ArrayView<ulong> previous, int previousCount, ArrayView<float> scores, int ldScores, int columns,
        int columnOffset, int smallest, ArrayView<ulong> filter, bool useFilter, int k, ArrayView<ulong> output) =>
        LaunchSelect(rows, previous, previousCount, k, scores, ldScores, columns, columnOffset, smallest, filter, useFilter, k, output);

    /// <summary>Top-k launch whose leading candidates are <paramref name="previousCount"/> codes per row at stride
    /// <paramref name="ldPrevious"/> (the running top-k with stride k, or the candidate codes of a code scan).</summary>
    private void LaunchSelect(int rows, ArrayView<ulong> previous, int previousCount, int ldPrevious, ArrayView<float> scores, int ldScores, int columns,
        int columnOffset, int smallest, ArrayView<ulong> filter, bool useFilter, int k, ArrayView<ulong> output)
    {
        if (rows <= 0) return;
        if (k <= 0 || k > DeviceKernels.MaxK) throw new ArgumentOutOfRangeException(nameof(k), k, $"k must be in [1, {DeviceKernels.MaxK}].");
        if (previousCount < 0 || previousCount > ldPrevious) throw new ArgumentOutOfRangeException(nameof(previousCount), previousCount, "Must be in [0, ldPrevious].");
        if ((long)previousCount + columns > int.MaxValue) throw new ArgumentOutOfRangeException(nameof(columns), columns, "Too many candidates per row.");
        if (output.Length < (long)rows * k || (previousCount > 0 && previous.Length < (long)(rows - 1) * ldPrevious + previousCount))
            throw new ArgumentException("Code views are shorter than the launch needs.", nameof(output));
        if (columns > 0 && (ldScores < columns || scores.Length < (long)(rows - 1) * ldScores + columns))
            throw new ArgumentException("Score view is shorter than the launch needs.", nameof(scores));
        if (useFilter && filter.Length * 64 < (long)columnOffset + columns)
            throw new ArgumentException("Filter view is shorter than the launch needs.", nameof(filter));
        _select(new KernelConfig(rows, DeviceKernels.SelectThreads), previous, previousCount, ldPrevious, scores, ldScores, columns, columnOffset,
            smallest, filter, useFilter ? 1 : 0, k, output);
    }

    private void LaunchDecode(ArrayView<ulong> codes, int rows, int k, int smallest, ArrayView<float> scores, int ldScores, bool fromScores,
        ArrayView<int> indices, ArrayView<float> values)
    {
        long length = (long)rows * k;
        if (length == 0) return;
        if (length > int.MaxValue) throw new ArgumentOutOfRangeException(nameof(rows), "Too many results for one launch.");
        if (codes.Length < length || indices.Length < length || values.Length < length)
            throw new ArgumentException("Result views are shorter than the launch needs.", nameof(codes));
        _decode((int)length, codes, k, smallest, scores, ldScores, fromScores ? 1 : 0, indices, values);
    }

    // ------------------------------------------------------------------ database and search

    protected override VectorDatabase CreateDatabaseCore(ReadOnlySpan<float> vectors, int count, int dimension)
    {
        lock (_gate)
        {
            ThrowIfDisposed();
            var data = count * dimension == 0 ? _accelerator.Allocate1D<float>(1) : Upload(vectors[..(count * dimension)]);
            var norms = _accelerator.Allocate1D<float>(Math.Max(count, 1));
            var squaredNorms = _accelerator.Allocate1D<float>(Math.Max(count, 1));
            try
            {
                LaunchRowNorms(data.View, count, dimension, norms.View);
                LaunchRowNorms(data.View, count, dimension, squaredNorms.View, squared: true);
                _accelerator.Synchronize();
            }
            catch
            {
                data.Dispose();
                norms.Dispose();
                squaredNorms.Dispose();
                throw;
            }
            return new IlgpuDatabase(this, data, norms, squaredNorms, count, dimension);
        }
    }

    protected override void SearchCore(VectorDatabase database, ReadOnlySpan<float> queries, int queryCount, int k, Metric metric, Span<int> indices, Span<float> scores, RowFilter? filter)
    {
        var db = (IlgpuDatabase)database;
        int n = db.Count, d = db.Dimension;
        TopKOrder order = metric.Order();
        if (queryCount == 0) return;
        if (n == 0 || (filter is not null && filter.AllowedCount == 0))
        {
            // Nothing can be found: no kernel has anything to rank.
            indices[..(queryCount * k)].Fill(-1);
            scores[..(queryCount * k)].Fill(order.MissingScore());
            return;
        }
        int smallest = order == TopKOrder.Smallest ? 1 : 0;
        int epilogue = metric switch
        {
            Metric.Cosine => DeviceKernels.EpilogueCosine,
            Metric.L2 => DeviceKernels.EpilogueSquaredL2,
            _ => DeviceKernels.EpilogueInnerProduct,
        };
        int batch = Math.Min(queryCount, SearchQueryBatch);
        int chunk = Math.Min(n, SearchChunkRows);

        lock (_gate)
        {
            ThrowIfDisposed();
            ObjectDisposedException.ThrowIf(db.IsDisposed, db);
            using var q = Upload(queries[..(queryCount * d)], minLength: 1);
            using var qNorms = _accelerator.Allocate1D<float>(queryCount);
            if (epilogue != DeviceKernels.EpilogueInnerProduct)
                LaunchRowNorms(q.View, queryCount, d, qNorms.View, squared: epilogue == DeviceKernels.EpilogueSquaredL2);
            var dbNorms = epilogue == DeviceKernels.EpilogueSquaredL2 ? db.SquaredNorms.View : db.Norms.View;
            using var bits = filter is null ? null : Upload<ulong>(filter.BitsArray);
            using var tile = _accelerator.Allocate1D<float>((long)batch * chunk);
            using var running = _accelerator.Allocate1D<ulong>((long)batch * k);
            using var ids = _accelerator.Allocate1D<int>((long)batch * k);
            using var vals = _accelerator.Allocate1D<float>((long)batch * k);
            ArrayView<ulong> filterView = bits is null ? _dummyCodes.View : bits.View;

            for (int q0 = 0; q0 < queryCount; q0 += batch)
            {
                int qc = Math.Min(batch, queryCount - q0);
                var qView = q.View.SubView((long)q0 * d, Math.Max((long)qc * d, 1));
                var qnView = qNorms.View.SubView(q0, qc);
                for (int c0 = 0; c0 < n; c0 += chunk)
                {
                    int cols = Math.Min(chunk, n - c0);
                    LaunchProduct(qView, qc, db.Data.View, c0, cols, d, tile.View, cols, epilogue, qnView, dbNorms);
                    LaunchSelect(qc, running.View, c0 == 0 ? 0 : k, tile.View, cols, cols, c0, smallest, filterView, bits is not null, k, running.View);
                }
                LaunchDecode(running.View, qc, k, smallest, _dummyFloats.View, 0, fromScores: false, ids.View, vals.View);
                Download(ids.View.AsContiguous(), indices.Slice(q0 * k, qc * k));
                Download(vals.View.AsContiguous(), scores.Slice(q0 * k, qc * k));
            }
        }
    }

    // ------------------------------------------------------------------ memory helpers

    private MemoryBuffer1D<T, Stride1D.Dense> Upload<T>(ReadOnlySpan<T> data, int minLength = 1) where T : unmanaged
    {
        var buffer = _accelerator.Allocate1D<T>(Math.Max(data.Length, minLength));
        if (data.Length > 0) buffer.View.AsContiguous().SubView(0, data.Length).CopyFromCPU(data);
        return buffer;
    }

    private static void Download<T>(MemoryBuffer1D<T, Stride1D.Dense> buffer, Span<T> destination) where T : unmanaged =>
        Download(buffer.View.AsContiguous(), destination);

    private static void Download<T>(ArrayView<T> view, Span<T> destination) where T : unmanaged
    {
        if (destination.Length == 0) return;
        view.SubView(0, destination.Length).CopyToCPU(destination);
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    public override void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            _dummyFloats.Dispose();
            _dummyCodes.Dispose();
            _accelerator.Dispose();
            _context.Dispose();
        }
    }

    /// <summary>Frees device buffers of a database unless the accelerator (which already freed them) is disposed.</summary>
    private void FreeBuffers(params IDisposable[] buffers)
    {
        lock (_gate)
        {
            if (_disposed) return;
            foreach (IDisposable buffer in buffers) buffer.Dispose();
        }
    }

    /// <summary>A database resident in device memory: the rows, their L2 norms (cosine) and sums of squares (L2).</summary>
    private sealed class IlgpuDatabase(IlgpuBackend owner, MemoryBuffer1D<float, Stride1D.Dense> data, MemoryBuffer1D<float, Stride1D.Dense> norms,
        MemoryBuffer1D<float, Stride1D.Dense> squaredNorms, int count, int dimension)
        : VectorDatabase(owner, count, dimension)
    {
        public MemoryBuffer1D<float, Stride1D.Dense> Data { get; } = data;

        public MemoryBuffer1D<float, Stride1D.Dense> Norms { get; } = norms;

        public MemoryBuffer1D<float, Stride1D.Dense> SquaredNorms { get; } = squaredNorms;

        protected override void Dispose(bool disposing)
        {
            if (disposing) owner.FreeBuffers(Data, Norms, SquaredNorms);
        }
    }

    // ------------------------------------------------------------------ factories

    /// <summary>ILGPU's CPU simulator with CUDA-like groups (32-thread warps, 8 warps = 256 threads per group, one multiprocessor).</summary>
    internal static IlgpuBackend CreateCpuSimulator(string name)
    {
        var context = Context.Create(b => b.CPU(new CPUDevice(32, DeviceKernels.ProductThreads / 32, 1)));
        Accelerator accelerator;
        try
        {
            accelerator = context.CreateCPUAccelerator(0);
        }
        catch
        {
            context.Dispose();
            throw;
        }
        return new IlgpuBackend(name, context, accelerator);
    }

    /// <summary>True when a CUDA device can be used; never throws.</summary>
    internal static bool CudaDeviceExists()
    {
        try
        {
            using var context = Context.Create(b => b.Cuda());
            return context.GetCudaDevices().Count > 0;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return false;
        }
    }

    /// <summary>The first CUDA device.</summary>
    internal static IlgpuBackend CreateCuda(string name)
    {
        var context = Context.Create(b => b.Cuda());
        Accelerator accelerator;
        try
        {
            if (context.GetCudaDevices().Count == 0) throw new InvalidOperationException("No CUDA device.");
            accelerator = context.CreateCudaAccelerator(0);
        }
        catch
        {
            context.Dispose();
            throw;
        }
        return new IlgpuBackend(name, context, accelerator);
    }
}

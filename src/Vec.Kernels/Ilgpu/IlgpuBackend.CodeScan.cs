using ILGPU;
using ILGPU.Runtime;

namespace Vec.Kernels.Ilgpu;

internal sealed partial class IlgpuBackend
{
    /// <summary>Default of <see cref="ScanCandidateBudget"/>: 2^24 candidate codes (128 MB) per query chunk.</summary>
    internal const int DefaultScanCandidateBudget = 1 << 24;

    private Action<Index1D, ArrayView<float>, float> _scaleValues = null!;
    private Action<Index1D, ArrayView<ulong>> _fillSentinel = null!;
    private Action<KernelConfig, DeviceKernels.ScanShape, ArrayView<byte>, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<float>,
        ArrayView<int>, ArrayView<ulong>, ArrayView<ulong>> _scanShared = null!;
    private Action<KernelConfig, DeviceKernels.ScanShape, ArrayView<byte>, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<float>,
        ArrayView<int>, ArrayView<ulong>, ArrayView<ulong>> _scanGlobal = null!;

    /// <summary>Candidate codes per query chunk of <see cref="IVectorKernels.ScanCodes"/> (chunk queries x the chunk's widest
    /// candidate row; a single query wider than this still runs alone). Settable for tests, which force many chunks.</summary>
    internal int ScanCandidateBudget
    {
        get;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(value);
            field = value;
        }
    } = DefaultScanCandidateBudget;

    /// <summary>Largest table (SubQuantizers x Codebook floats) staged in shared memory; larger tables are read from global
    /// memory. At most <see cref="DeviceKernels.MaxSharedTable"/>; settable for tests, which force the global path.</summary>
    internal int ScanSharedTableLimit
    {
        get;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, DeviceKernels.MaxSharedTable);
            field = value;
        }
    } = DeviceKernels.MaxSharedTable;

    private void LoadCodeScanKernels(Accelerator accelerator)
    {
        _scaleValues = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, float>(DeviceKernels.ScaleValues);
        _fillSentinel = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<ulong>>(DeviceKernels.FillSentinel);
        _scanShared = accelerator.LoadStreamKernel<DeviceKernels.ScanShape, ArrayView<byte>, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<float>,
        ArrayView<int>, ArrayView<ulong>, ArrayView<ulong>>(DeviceKernels.ScanCodesShared);
        _scanGlobal = accelerator.LoadStreamKernel<DeviceKernels.ScanShape, ArrayView<byte>, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<float>,
        ArrayView<int>, ArrayView<ulong>, ArrayView<ulong>>(DeviceKernels.ScanCodesGlobal);
    }

    protected override CodeDatabase CreateCodeDatabaseCore(ReadOnlySpan<byte> codes, int count, int subQuantizers, int bits, ReadOnlySpan<int> listOffsets, ReadOnlySpan<float> listTables)
    {
        // Transposed on the host (codes[m*count + r]) so that a warp scoring consecutive rows reads consecutive bytes.
        var transposed = new byte[Math.Max(1, count * subQuantizers)];
        for (int r = 0; r < count; r++)
            for (int m = 0; m < subQuantizers; m++)
                transposed[m * count + r] = codes[r * subQuantizers + m];
        lock (_gate)
        {
            ThrowIfDisposed();
            MemoryBuffer1D<byte, Stride1D.Dense>? c = null;
            MemoryBuffer1D<int, Stride1D.Dense>? o = null;
            try
            {
                c = Upload<byte>(transposed);
                o = Upload(listOffsets);
                var t = Upload(listTables);
                return new IlgpuCodeDatabase(this, c, o, t, listOffsets.ToArray(), count, subQuantizers, bits, listTables.Length != 0);
            }
            catch
            {
                c?.Dispose();
                o?.Dispose();
                throw;
            }
        }
    }

    /// <summary>
    /// Per query chunk: upload and scale the query tables (<see cref="DeviceKernels.ScaleValues"/>), fill a
    /// [chunk, width] candidate-code buffer with sentinels, run one scan group per (query, probe) pair (shared-memory table
    /// when it fits), then <see cref="DeviceKernels.Select"/> takes the k smallest codes per query and
    /// <see cref="DeviceKernels.Decode"/> turns them into (row, score). The width of a query is the total length of its
    /// probed lists (at most Count, as lists are probed once), so the candidate buffer never holds a padded
    /// nprobe x longest-list block per query.
    /// </summary>
    protected override void ScanCodesCore(CodeDatabase database, ReadOnlySpan<float> queryTables, float queryTableScale, ReadOnlySpan<int> probes, ReadOnlySpan<float> biases,
        int queryCount, int nprobe, int k, Span<int> rows, Span<float> scores, RowFilter? filter)
    {
        var db = (IlgpuCodeDatabase)database;
        if (queryCount == 0) return;
        if (nprobe == 0 || db.Count == 0 || (filter is not null && filter.AllowedCount == 0))
        {
            rows[..(queryCount * k)].Fill(-1);
            scores[..(queryCount * k)].Fill(float.PositiveInfinity);
            return;
        }
        int m = db.SubQuantizers, codebook = db.Codebook, table = m * codebook;
        int pairs = queryCount * nprobe;
        var candidateOffsets = new int[pairs];
        var widths = new int[queryCount];
        for (int q = 0; q < queryCount; q++)
        {
            int w = 0;
            for (int p = 0; p < nprobe; p++)
            {
                int i = q * nprobe + p;
                candidateOffsets[i] = w;
                int l = probes[i];
                if (l >= 0) w += db.HostOffsets[l + 1] - db.HostOffsets[l];
            }
            widths[q] = w;
        }
        bool shared = table <= ScanSharedTableLimit;

        lock (_gate)
        {
            ThrowIfDisposed();
            ObjectDisposedException.ThrowIf(db.IsDisposed, db);
            using var bits = filter is null ? null : Upload<ulong>(filter.BitsArray);
            ArrayView<ulong> filterView = bits is null ? _dummyCodes.View : bits.View;
            int q0 = 0;
            while (q0 < queryCount)
            {
                int qc = 0, ld = 0;
                while (q0 + qc < queryCount && qc < SearchQueryBatch)
                {
                    int next = Math.Max(ld, widths[q0 + qc]);
                    if (qc > 0 && (long)(qc + 1) * next > ScanCandidateBudget) break;
                    ld = next;
                    qc++;
                }
                var outRows = rows.Slice(q0 * k, qc * k);
                var outScores = scores.Slice(q0 * k, qc * k);
                if (ld == 0)
                {
                    outRows.Fill(-1);
                    outScores.Fill(float.PositiveInfinity);
                    q0 += qc;
                    continue;
                }
                using var tables = Upload(queryTables.Slice(q0 * table, qc * table));
                _scaleValues(qc * table, tables.View, queryTableScale);
                using var probeBuffer = Upload(probes.Slice(q0 * nprobe, qc * nprobe));
                using var biasBuffer = Upload(biases.Slice(q0 * nprobe, qc * nprobe));
                using var offsetBuffer = Upload<int>(candidateOffsets.AsSpan(q0 * nprobe, qc * nprobe));
                using var candidates = _accelerator.Allocate1D<ulong>((long)qc * ld);
                _fillSentinel((int)((long)qc * ld), candidates.View);
                LaunchScan(shared, db, tables.View, probeBuffer.View, biasBuffer.View, offsetBuffer.View, qc, nprobe, ld, filterView, bits is not null, candidates.View);
                using var selected = _accelerator.Allocate1D<ulong>((long)qc * k);
                LaunchSelect(qc, candidates.View, ld, ld, _dummyFloats.View, 0, 0, 0, 1, _dummyCodes.View, false, k, selected.View);
                using var ids = _accelerator.Allocate1D<int>((long)qc * k);
                using var vals = _accelerator.Allocate1D<float>((long)qc * k);
                LaunchDecode(selected.View, qc, k, 1, _dummyFloats.View, 0, fromScores: false, ids.View, vals.View);
                Download(ids, outRows);
                Download(vals, outScores);
                q0 += qc;
            }
        }
    }

    private void LaunchScan(bool shared, IlgpuCodeDatabase db, ArrayView<float> tables, ArrayView<int> probes, ArrayView<float> biases,
        ArrayView<int> candidateOffsets, int queries, int nprobe, int ldCandidates, ArrayView<ulong> filter, bool useFilter, ArrayView<ulong> candidates)
    {
        long pairs = (long)queries * nprobe;
        if (pairs == 0) return;
        if (pairs > int.MaxValue) throw new ArgumentOutOfRangeException(nameof(queries), "Too many (query, probe) pairs for one launch.");
        int table = db.SubQuantizers * db.Codebook;
        if (tables.Length < (long)queries * table || probes.Length < pairs || biases.Length < pairs || candidateOffsets.Length < pairs
            || candidates.Length < (long)queries * ldCandidates || (useFilter && filter.Length * 64 < db.Count))
            throw new ArgumentException("Code-scan views are shorter than the launch needs.", nameof(candidates));
        if (shared && table > DeviceKernels.MaxSharedTable)
            throw new ArgumentOutOfRangeException(nameof(shared), "The table does not fit in shared memory.");
        var launch = shared ? _scanShared : _scanGlobal;
        var shape = new DeviceKernels.ScanShape
        {
            Count = db.Count,
            SubQuantizers = db.SubQuantizers,
            Codebook = db.Codebook,
            HasListTables = db.HasListTables ? 1 : 0,
            NProbe = nprobe,
            LdCandidates = ldCandidates,
            UseFilter = useFilter ? 1 : 0,
        };
        launch(new KernelConfig((int)pairs, DeviceKernels.ScanThreads), shape, db.Codes.View, db.Offsets.View, db.ListTables.View,
            tables, probes, biases, candidateOffsets, filter, candidates);
    }

    /// <summary>Codes (transposed, <c>codes[m*count + r]</c>), list offsets and list tables resident in device memory, plus a
    /// host copy of the offsets (to lay out candidate buffers without a device round trip).</summary>
    private sealed class IlgpuCodeDatabase(IlgpuBackend owner, MemoryBuffer1D<byte, Stride1D.Dense> codes, MemoryBuffer1D<int, Stride1D.Dense> offsets,
        MemoryBuffer1D<float, Stride1D.Dense> listTables, int[] hostOffsets, int count, int subQuantizers, int bits, bool hasListTables)
        : CodeDatabase(owner, count, subQuantizers, bits, hostOffsets.Length - 1, hasListTables)
    {
        public MemoryBuffer1D<byte, Stride1D.Dense> Codes { get; } = codes;

        public MemoryBuffer1D<int, Stride1D.Dense> Offsets { get; } = offsets;

        public MemoryBuffer1D<float, Stride1D.Dense> ListTables { get; } = listTables;

        public int[] HostOffsets { get; } = hostOffsets;

        protected override void Dispose(bool disposing)
        {
            if (disposing) owner.FreeBuffers(Codes, Offsets, ListTables);
        }
    }
}

using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Vec.Internals;
using System.Numerics.Tensors;
using Vec.Index.Internals;
using Vec.Index.Internals.FastScan;
using Vec.Kernels;

namespace Vec.Index;

/// <summary>
/// Inverted-file index with residual product quantisation (FAISS's <c>IndexIVFPQ</c>): a k-means coarse quantiser
/// splits the space into <see cref="IvfPqOptions.Lists"/> cells; each vector is stored in its cell's list as the PQ code
/// of its residual. A search scans the <see cref="SearchOptions.NProbe"/> nearest lists with per-query lookup tables and,
/// optionally, re-ranks the best <c>k x R</c> candidates with stored full-precision vectors.
/// </summary>
/// <remarks>
/// <para>Metrics: L2 ranks by squared distance; cosine normalises vectors and queries and ranks by L2 on the unit
/// sphere (the same order as cosine, and far better recall than inner product on normalised vectors), reporting
/// <c>1 - d/2</c>, the cosine of the approximated vector; inner product assigns lists by inner product and scores
/// <c>&lt;q, c&gt; + &lt;q, r&gt;</c>.</para>
/// <para>For L2 and cosine the list-dependent part of the lookup tables (<c>|r|^2 + 2&lt;c, r&gt;</c>) is precomputed at
/// training when it fits in 512 MB (FAISS's precomputed tables), so a probe costs one fused multiply-add over the
/// table plus the scan.</para>
/// <para>4-bit fast scan (<see cref="IvfPqOptions.FastScan"/>, on by default with <see cref="IvfPqOptions.Bits"/> = 4,
/// FAISS's <c>IndexIVFPQFastScan</c>): each list keeps its codes packed two per byte in blocks of 32 vectors; per query
/// and probed list the float lookup table is quantised to 8 bits, the k-th best candidate's distance becomes a uint16
/// threshold, and an AVX-512 / AVX2 / scalar kernel (chosen like the other kernels, from the backend's name) sums the
/// tables in 16-bit lanes and lets out only the vectors below the threshold. Scores are then approximate within the
/// table rounding; refine re-ranks exactly. GPU backends keep scanning on the device with float tables (the codes are
/// unpacked when the device copy is built).</para>
/// <para>Concurrency: searches read an immutable snapshot of the lists; writers are serialised and publish new
/// snapshots (appends reuse spare capacity beyond every published count, removals copy the affected lists), so search
/// runs concurrently with <see cref="Add"/> and <see cref="Remove"/>.</para>
/// </remarks>
public sealed class IvfPqIndex : IVectorIndex
{
    private const long MaxPrecomputedTableFloats = 512L * 1024 * 1024 / sizeof(float);

    /// <summary>Vectors per fast-scan call: the threshold is refreshed from the heap between chunks of a long list.</summary>
    private const int FastScanChunk = 32 * Pq4Layout.BlockSize;

    private readonly object _writeLock = new();
    private readonly Dictionary<long, int> _listOf = new();
    private readonly bool _ownsKernels;
    private readonly PqScanKind _scanKind;
    private readonly bool _scanOnDevice;
    private readonly bool _fastScan;
    private readonly System.Collections.Concurrent.ConcurrentBag<Scratch> _scratchPool = [];
    private readonly object _deviceLock = new();
    private DeviceCodes? _deviceCodes;
    private volatile IvfSnapshot _snapshot;
    private volatile TrainedState? _state;
    private bool _disposed;

    /// <summary>Creates an untrained index.</summary>
    /// <param name="dimension">Vector dimension; a multiple of <see cref="IvfPqOptions.SubQuantizers"/>.</param>
    /// <param name="metric">Metric to rank by.</param>
    /// <param name="options">Construction settings; <see langword="null"/> for the defaults.</param>
    /// <param name="kernels">Kernel backend for training, coarse assignment and refine; <see langword="null"/> for
    /// <see cref="KernelBackends.CreateDefault"/> (then owned by the index).</param>
    public IvfPqIndex(int dimension, Metric metric, IvfPqOptions? options = null, IVectorKernels? kernels = null)
    {
        Validation.Dimension(dimension);
        Validation.Metric(metric);
        options ??= new IvfPqOptions();
        if (options.Lists <= 0) throw new ArgumentOutOfRangeException(nameof(options), options.Lists, "Lists must be positive.");
        if (options.SubQuantizers <= 0 || dimension % options.SubQuantizers != 0)
            throw new ArgumentException($"SubQuantizers ({options.SubQuantizers}) must be positive and divide the dimension ({dimension}).", nameof(options));
        if (options.Bits is < 1 or > 8) throw new ArgumentOutOfRangeException(nameof(options), options.Bits, "Bits must be in 1..8.");
        if (!Enum.IsDefined(options.Refine)) throw new ArgumentOutOfRangeException(nameof(options), options.Refine, "Unknown refine storage.");
        if (options.MaxThreads <= 0) throw new ArgumentOutOfRangeException(nameof(options), options.MaxThreads, "MaxThreads must be positive.");
        ArgumentNullException.ThrowIfNull(options.CoarseKMeans, nameof(options));
        ArgumentNullException.ThrowIfNull(options.CodebookKMeans, nameof(options));
        _fastScan = options.Bits == 4 && options.FastScan;
        if (_fastScan && options.SubQuantizers > Pq4Layout.MaxM)
            throw new ArgumentException($"4-bit fast scan supports at most {Pq4Layout.MaxM} sub-quantizers, not {options.SubQuantizers}; set FastScan = false for more.", nameof(options));
        Dimension = dimension;
        Metric = metric;
        Options = options;
        _ownsKernels = kernels is null;
        Kernels = kernels ?? KernelBackends.CreateDefault();
        _scanKind = PqScanner.ForBackend(Kernels.Name);
        FastScanKind = Pq4Scanner.ForBackend(Kernels.Name);
        _scanOnDevice = KernelBackends.IsGpu(Kernels.Name);
        _snapshot = new IvfSnapshot([], 0);
    }

    /// <inheritdoc />
    public int Dimension { get; }

    /// <inheritdoc />
    public Metric Metric { get; }

    /// <summary>Construction settings.</summary>
    public IvfPqOptions Options { get; }

    /// <summary>The kernel backend.</summary>
    public IVectorKernels Kernels { get; }

    /// <inheritdoc />
    public long Count => _snapshot.Count;

    /// <inheritdoc />
    public bool IsTrained => _state is not null;

    /// <summary>Number of inverted lists.</summary>
    public int Lists => Options.Lists;

    /// <summary>Whether the lists hold packed 4-bit codes scanned by the fast-scan kernels (<see cref="IvfPqOptions.Bits"/>
    /// = 4 and <see cref="IvfPqOptions.FastScan"/>).</summary>
    public bool UsesFastScan => _fastScan;

    /// <summary>The fast-scan kernel CPU searches use (from the backend's name; tests override it).</summary>
    internal Pq4ScanKind FastScanKind { get; set; }

    /// <summary>For tests: whether the L2 fast scan builds its per-probe tables in the group layout
    /// (<see cref="Pq4GroupTables"/>, where the machine runs it) or row-major.</summary>
    internal bool GroupTablesEnabled { get; set; } = true;

    /// <summary>Vectors per code block of the list layout.</summary>
    private int CodeBlockSize => _fastScan ? Pq4Layout.BlockSize : IvfCodeLayout.BlockSize;

    /// <summary>Bytes of codes for <paramref name="capacity"/> vectors (whole blocks) in the list layout.</summary>
    private long CodeBytes(int capacity) =>
        _fastScan ? Pq4Layout.Bytes(capacity, Options.SubQuantizers) : IvfCodeLayout.Bytes(capacity, Options.SubQuantizers);

    private void WriteCode(byte[] codes, int position, ReadOnlySpan<byte> code)
    {
        if (_fastScan) Pq4Layout.Write(codes, position, Options.SubQuantizers, code);
        else IvfCodeLayout.Write(codes, position, Options.SubQuantizers, code);
    }

    private void ReadCode(byte[] codes, int position, Span<byte> code)
    {
        if (_fastScan) Pq4Layout.Read(codes, position, Options.SubQuantizers, code);
        else IvfCodeLayout.Read(codes, position, Options.SubQuantizers, code);
    }

    /// <summary>
    /// Bytes held per stored vector: PQ code (M bytes, or M / 2 with fast scan), id, refine copy and id map, with list
    /// slack (spare capacity, padding of partial blocks) spread over the vectors (0 when empty). Fixed costs (centroids,
    /// codebooks, precomputed tables) are in <see cref="FixedBytes"/>.
    /// </summary>
    public double BytesPerVector
    {
        get
        {
            IvfSnapshot s = _snapshot;
            if (s.Count == 0) return 0;
            long bytes = 0;
            foreach (IvfList list in s.Lists) bytes += list.Bytes;
            const int idMapBytesPerEntry = 28; // Dictionary<long, int>: bucket (4) + entry (hash 4, next 4, key 8, value 4, padding 4).
            return (double)bytes / s.Count + idMapBytesPerEntry;
        }
    }

    /// <summary>Bytes of the trained structures that do not grow with the vectors: centroids, codebooks, tables, OPQ.</summary>
    public long FixedBytes
    {
        get
        {
            TrainedState? t = _state;
            if (t is null) return 0;
            return (t.Centroids.LongLength + t.Pq.Centroids.Length + (t.TermTables?.LongLength ?? 0) + (t.GroupTables?.Floats ?? 0) + (t.Coarse?.Floats ?? 0) + (t.Opq is null ? 0 : (long)Dimension * Dimension)) * sizeof(float);
        }
    }

    /// <summary>Warning from training (too few points per centroid), or <see langword="null"/>.</summary>
    public string? TrainingWarning => _state?.Warning;

    /// <summary>
    /// Each list's ids and row-major codes as the current snapshot holds them, and for fast scan whether every padding
    /// nibble of its packed blocks is zero (for tests: the layout stays valid through adds and removes).
    /// </summary>
    internal (long[] Ids, byte[] Codes, bool PaddingIsZero)[] DumpLists()
    {
        IvfSnapshot s = _snapshot;
        int m = Options.SubQuantizers;
        var result = new (long[], byte[], bool)[s.Lists.Length];
        for (int l = 0; l < s.Lists.Length; l++)
        {
            IvfList list = s.Lists[l];
            var codes = new byte[list.Count * m];
            for (int v = 0; v < list.Count; v++) ReadCode(list.Codes, v, codes.AsSpan(v * m, m));
            bool clean = !_fastScan || Pq4Layout.PaddingIsZero(list.Codes.AsSpan(0, (int)Pq4Layout.Bytes(list.Count, m)), list.Count, m);
            result[l] = (list.Ids.AsSpan(0, list.Count).ToArray(), codes, clean);
        }
        return result;
    }

    /// <summary>Current size of each inverted list.</summary>
    public int[] ListSizes()
    {
        IvfSnapshot s = _snapshot;
        var sizes = new int[Options.Lists];
        for (int i = 0; i < s.Lists.Length; i++) sizes[i] = s.Lists[i].Count;
        return sizes;
    }

    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">The index is already trained.</exception>
    public void Train(ReadOnlySpan<float> vectors, int count)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Validation.Matrix(vectors, count, Dimension, nameof(vectors), nameof(count));
        if (count < Options.Lists)
            throw new ArgumentException($"Training needs at least as many vectors as lists ({Options.Lists}); got {count}.", nameof(count));
        if (count < 1 << Options.Bits)
            throw new ArgumentException($"Training {1 << Options.Bits} centroids per sub-quantiser ({Options.Bits} bits) needs at least {1 << Options.Bits} vectors; got {count}.", nameof(count));
        lock (_writeLock)
        {
            if (_state is not null) throw new InvalidOperationException("The index is already trained.");
            int d = Dimension, nlist = Options.Lists;
            // The caller's rows are read in place unless they must change (cosine normalises, OPQ rotates): a copy of
            // a large training set costs more in page faults than in copying.
            float[]? owned = null;
            if (Metric == Metric.Cosine)
            {
                owned = vectors.ToArray();
                NormalizeRows(owned, count);
            }
            KMeansOptions coarseOptions = Options.CoarseKMeans with { MaxThreads = Math.Min(Options.CoarseKMeans.MaxThreads, Options.MaxThreads) };
            KMeansOptions codebookOptions = Options.CodebookKMeans with { MaxThreads = Math.Min(Options.CodebookKMeans.MaxThreads, Options.MaxThreads) };
            OpqRotation? opq = null;
            if (Options.UseOpq)
            {
                ReadOnlySpan<float> input = owned ?? vectors;
                opq = new OpqRotation(d, Options.SubQuantizers, Options.Bits);
                opq.Train(input, count, seed: codebookOptions.Seed, pqKMeans: codebookOptions with { Iterations = Math.Min(codebookOptions.Iterations, 10) }, kernels: Kernels);
                var rotated = new float[(long)count * d];
                opq.Apply(input, count, rotated, Kernels);
                owned = rotated;
            }
            ReadOnlySpan<float> x = owned ?? vectors;

            KMeansResult coarse = KMeans.Train(x, count, d, nlist, coarseOptions, Kernels);
            VectorDatabase coarseDb = Kernels.CreateDatabase(coarse.Centroids, nlist, d);
            try
            {
                // Residuals of (a sample of) the training vectors to their lists train the codebooks.
                int ksub = 1 << Options.Bits;
                int sample = (int)Math.Min(count, (long)Math.Max(1, Options.CodebookKMeans.MaxPointsPerCentroid) * ksub);
                float[] residuals = SampleRows(x, count, sample, codebookOptions.Seed);
                var labels = new int[sample];
                AssignCoarse(coarseDb, residuals, sample, labels);
                SubtractCentroids(residuals, sample, labels, coarse.Centroids, residuals);
                var pq = new ProductQuantizer(d, Options.SubQuantizers, Options.Bits);
                pq.Train(residuals, sample, codebookOptions, Kernels);

                float[]? tables = null;
                if (Metric != Metric.InnerProduct && (long)nlist * Options.SubQuantizers * ksub <= MaxPrecomputedTableFloats)
                    tables = PrecomputeTermTables(pq, coarse.Centroids, nlist);

                var lists = new IvfList[nlist];
                Array.Fill(lists, IvfList.Empty);
                _snapshot = new IvfSnapshot(lists, 0);
                _state = new TrainedState(coarse.Centroids, coarseDb, pq, opq, tables, GroupTablesFor(pq, tables, nlist), coarse.Warning);
            }
            catch
            {
                coarseDb.Dispose();
                throw;
            }
        }
    }

    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">The index is not trained.</exception>
    public void Add(ReadOnlySpan<long> ids, ReadOnlySpan<float> vectors)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Validation.Matrix(vectors, ids.Length, Dimension, nameof(vectors), nameof(ids));
        Validation.NewIds(ids);
        TrainedState state = _state ?? throw new InvalidOperationException("Train the index before adding vectors.");
        int n = ids.Length, d = Dimension, m = Options.SubQuantizers;
        if (n == 0) return;

        // Encode outside the lock: normalise, rotate, then assign, subtract and quantise chunk by chunk. The caller's
        // rows are read in place unless they must change: full copies of a large batch cost more in page faults than
        // the encoding itself.
        float[]? normalized = null;
        if (Metric == Metric.Cosine)
        {
            normalized = vectors.ToArray();
            NormalizeRows(normalized, n);
        }
        ReadOnlySpan<float> stored = normalized ?? vectors;
        float[]? rotated = state.Opq is null ? null : Rotate(state, stored, n);
        var labels = new int[n];
        var codes = new byte[(long)n * m];
        EncodeRows(state, rotated ?? stored, n, labels, codes);

        lock (_writeLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            for (int i = 0; i < n; i++)
                if (_listOf.ContainsKey(ids[i])) throw new ArgumentException($"Id {ids[i]} is already in the index.", nameof(ids));

            IvfSnapshot current = _snapshot;
            var lists = (IvfList[])current.Lists.Clone();
            // Group rows by list (counting sort keeps the caller's order within a list).
            var start = new int[lists.Length + 1];
            foreach (int l in labels) start[l + 1]++;
            for (int l = 0; l < lists.Length; l++) start[l + 1] += start[l];
            var order = new int[n];
            var fill = (int[])start.Clone();
            for (int i = 0; i < n; i++) order[fill[labels[i]]++] = i;

            // Lists grow independently, so in parallel: most of the time is first touches of the lists' new memory.
            unsafe
            {
                fixed (long* pIds = ids)
                fixed (float* pStored = stored)
                {
                    nint idsAddr = (nint)pIds, storedAddr = (nint)pStored;
                    int idCount = ids.Length, storedLength = stored.Length;
                    Parallel.For(0, lists.Length, new ParallelOptions { MaxDegreeOfParallelism = Options.MaxThreads }, l =>
                    {
                        int added = start[l + 1] - start[l];
                        if (added == 0) return;
                        lists[l] = Append(lists[l], added, order.AsSpan(start[l], added), new ReadOnlySpan<long>((long*)idsAddr, idCount),
                            codes, new ReadOnlySpan<float>((float*)storedAddr, storedLength));
                    });
                }
            }
            _snapshot = new IvfSnapshot(lists, current.Count + n);
            for (int i = 0; i < n; i++) _listOf[ids[i]] = labels[i];
        }
    }

    /// <inheritdoc />
    public int Remove(ReadOnlySpan<long> ids)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (ids.Length == 0) return 0;
        lock (_writeLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var byList = new Dictionary<int, HashSet<long>>();
            foreach (long id in ids)
            {
                if (!_listOf.TryGetValue(id, out int l)) continue;
                if (!byList.TryGetValue(l, out HashSet<long>? set)) byList[l] = set = [];
                set.Add(id);
            }
            if (byList.Count == 0) return 0;
            IvfSnapshot current = _snapshot;
            var lists = (IvfList[])current.Lists.Clone();
            int removed = 0;
            foreach ((int l, HashSet<long> victims) in byList)
            {
                lists[l] = Without(lists[l], victims);
                removed += victims.Count;
            }
            _snapshot = new IvfSnapshot(lists, current.Count - removed);
            foreach (HashSet<long> victims in byList.Values)
                foreach (long id in victims) _listOf.Remove(id);
            return removed;
        }
    }

    /// <inheritdoc />
    public bool Contains(long id)
    {
        lock (_writeLock) return _listOf.ContainsKey(id);
    }

    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">The index is not trained.</exception>
    public void Search(ReadOnlySpan<float> queries, int queryCount, int k, Span<long> ids, Span<float> scores, SearchOptions? options = null)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Validation.Search(queries, queryCount, k, Dimension, ids.Length, scores.Length);
        options ??= SearchOptions.Default;
        TrainedState state = _state ?? throw new InvalidOperationException("Train the index before searching.");
        int refineFactor = options.RefineFactor;
        if (refineFactor > 0 && Options.Refine == RefineStorage.None)
            throw new ArgumentException("RefineFactor > 0 needs an index built with IvfPqOptions.Refine (Float32 or Float16).", nameof(options));
        if (queryCount == 0) return;
        IvfSnapshot snapshot = _snapshot;
        int d = Dimension;
        int nprobe = Math.Min(options.NProbe, Options.Lists);

        float[] refineQueries = queries[..(queryCount * d)].ToArray();
        if (Metric == Metric.Cosine) NormalizeRows(refineQueries, queryCount);
        float[] q = Rotate(state, refineQueries, queryCount);
        var probes = new int[queryCount * nprobe];
        var probeScores = new float[probes.Length];
        int candidates = refineFactor > 0 ? checked(k * refineFactor) : k;
        bool onDevice = _scanOnDevice && (Metric == Metric.InnerProduct || state.TermTables is not null) && candidates <= Kernels.MaxK;
        bool parallel = !onDevice && queryCount > 1 && Options.MaxThreads > 1;
        // In parallel, each chunk of queries finds its own probes below, so the coarse search is not a serial step.
        if (!parallel) SearchCoarse(state, q, queryCount, nprobe, probes, probeScores);

        var resultIds = new long[queryCount * k];
        var resultScores = new float[queryCount * k];
        var context = new SearchContext(this, state, snapshot, q, refineQueries, probes, probeScores, nprobe, k, refineFactor, options.Filter, resultIds, resultScores);
        if (onDevice)
        {
            SearchOnDevice(context, state, snapshot, q, probes, probeScores, queryCount, nprobe, candidates, options.Filter);
        }
        else if (!parallel)
        {
            Scratch scratch = RentScratch(state);
            for (int i = 0; i < queryCount; i++) context.SearchOne(i, scratch);
            ReturnScratch(scratch);
        }
        else
        {
            int chunks = Math.Min(queryCount, Options.MaxThreads * 4);
            Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = Options.MaxThreads },
                () => RentScratch(state),
                (c, _, scratch) =>
                {
                    int begin = (int)((long)queryCount * c / chunks), end = (int)((long)queryCount * (c + 1) / chunks);
                    SearchCoarse(state, q.AsSpan(begin * d, (end - begin) * d), end - begin, nprobe,
                        probes.AsSpan(begin * nprobe, (end - begin) * nprobe), probeScores.AsSpan(begin * nprobe, (end - begin) * nprobe));
                    for (int i = begin; i < end; i++) context.SearchOne(i, scratch);
                    return scratch;
                },
                ReturnScratch);
        }
        resultIds.CopyTo(ids);
        resultScores.CopyTo(scores);
    }

    /// <summary>
    /// The GPU path: the lists' codes are resident in a <see cref="CodeDatabase"/> of the kernel backend (rebuilt when the
    /// lists changed since the last device search), and <see cref="IVectorKernels.ScanCodes"/> scans the probed lists of
    /// every query with the filter applied on the device; refine and id mapping run on the host.
    /// </summary>
    private void SearchOnDevice(SearchContext context, TrainedState state, IvfSnapshot snapshot, float[] q, int[] probes, float[] probeScores,
        int queryCount, int nprobe, int candidates, IdFilter? filter)
    {
        DeviceCodes codes = AcquireDeviceCodes(state, snapshot);
        try
        {
            ProductQuantizer pq = state.Pq;
            int size = pq.SubQuantizers * pq.CentroidsPerSubQuantizer, d = Dimension;
            bool ip = Metric == Metric.InnerProduct;
            var tables = new float[(long)queryCount * size];
            Parallel.For(0, queryCount, new ParallelOptions { MaxDegreeOfParallelism = Options.MaxThreads },
                i => pq.ComputeTableUnchecked(q.AsSpan(i * d, d), tables.AsSpan(i * size, size), innerProduct: true));
            float[] biases = probeScores;
            if (ip)
            {
                biases = new float[probeScores.Length];
                TensorPrimitives.Negate(probeScores, biases);
            }
            RowFilter? rowFilter = null;
            if (filter is not null)
            {
                var bits = new ulong[(codes.Database.Count + 63) >> 6];
                int row = 0;
                foreach (IvfList list in snapshot.Lists)
                    for (int v = 0; v < list.Count; v++, row++)
                        if (filter.IsAllowed(list.Ids[v])) bits[row >> 6] |= 1UL << row;
                rowFilter = RowFilter.FromBits(bits, codes.Database.Count);
            }
            var rows = new int[queryCount * candidates];
            var keys = new float[rows.Length];
            Kernels.ScanCodes(codes.Database, tables, ip ? -1f : -2f, probes, biases, queryCount, nprobe, candidates, rows, keys, rowFilter);
            var scratch = new Scratch(this, state);
            scratch.EnsureCandidates(candidates);
            for (int i = 0; i < queryCount; i++)
            {
                int found = 0;
                for (int c = 0; c < candidates; c++)
                {
                    int r = rows[i * candidates + c];
                    if (r < 0) break;
                    int l = Array.BinarySearch(codes.Offsets, r);
                    if (l < 0) l = ~l - 1;
                    else while (l + 1 < codes.Offsets.Length && codes.Offsets[l + 1] == r) l++; // skip empty lists
                    scratch.Keys[found] = keys[i * candidates + c];
                    scratch.Payloads[found] = ((long)l << 32) | (uint)(r - codes.Offsets[l]);
                    found++;
                }
                context.Finish(i, scratch, found);
            }
        }
        finally
        {
            codes.Release();
        }
    }

    private DeviceCodes AcquireDeviceCodes(TrainedState state, IvfSnapshot snapshot)
    {
        DeviceCodes? current = Volatile.Read(ref _deviceCodes);
        if (current is not null && ReferenceEquals(current.Snapshot, snapshot) && current.TryAcquire()) return current;
        lock (_deviceLock)
        {
            current = _deviceCodes;
            if (current is not null && ReferenceEquals(current.Snapshot, snapshot) && current.TryAcquire()) return current;
            int m = Options.SubQuantizers;
            var offsets = new int[snapshot.Lists.Length + 1];
            for (int l = 0; l < snapshot.Lists.Length; l++) offsets[l + 1] = offsets[l] + snapshot.Lists[l].Count;
            int total = offsets[^1];
            var rowMajor = new byte[(long)total * m];
            for (int l = 0; l < snapshot.Lists.Length; l++)
            {
                IvfList list = snapshot.Lists[l];
                for (int v = 0; v < list.Count; v++)
                    ReadCode(list.Codes, v, rowMajor.AsSpan((offsets[l] + v) * m, m));
            }
            CodeDatabase database = Kernels.CreateCodeDatabase(rowMajor, total, m, Options.Bits, offsets, state.TermTables ?? []);
            var fresh = new DeviceCodes(snapshot, database, offsets);
            fresh.AddReference(); // the caller's reference; the creation reference belongs to the cache
            Volatile.Write(ref _deviceCodes, fresh);
            current?.Release();
            return fresh;
        }
    }

    /// <summary>Device-resident codes of one snapshot; freed when replaced and no search uses them.</summary>
    private sealed class DeviceCodes(IvfSnapshot snapshot, CodeDatabase database, int[] offsets) : RefCounted
    {
        public IvfSnapshot Snapshot { get; } = snapshot;

        public CodeDatabase Database { get; } = database;

        public int[] Offsets { get; } = offsets;

        protected override void Free() => Database.Dispose();
    }

    /// <summary>The index kind written in the file header.</summary>
    internal const string FileKind = "ivfpq";

    /// <summary>The container version this kind writes: 2 added the fast-scan flag and the <c>PQ4F</c> section.</summary>
    internal const uint FileVersion = 2;

    /// <summary>Section of the packed 4-bit fast-scan codes.</summary>
    internal const string PackedCodesTag = "PQ4F";

    /// <inheritdoc />
    /// <remarks>Format version 2. Sections: <c>PARM</c> (dimension, metric, lists, M, bits, OPQ and refine flags, trained
    /// flag, count, fast-scan flag), then when trained <c>CENT</c> (coarse centroids), <c>PQCB</c> (codebooks),
    /// <c>OPQR</c> (rotation, when used), <c>LSTS</c> (list sizes), <c>IDS </c> (ids in list order), <c>CODE</c>
    /// (row-major codes) or, for fast scan, <c>PQ4F</c> (each list's packed 32-vector blocks), and <c>RFNE</c> (refine
    /// vectors, when kept). Precomputed tables are rebuilt on load. Version 1 files (no fast-scan flag, always
    /// <c>CODE</c>) still load, with <see cref="IvfPqOptions.FastScan"/> off. See docs/index-format.md.</remarks>
    public void Save(string path)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentException.ThrowIfNullOrEmpty(path);
        TrainedState? state;
        IvfSnapshot snapshot;
        lock (_writeLock)
        {
            state = _state;
            snapshot = _snapshot;
        }
        AtomicFile.Write(path, stream => WriteTo(stream, state, snapshot));
    }

    /// <summary>Loads an IVF-PQ index written by <see cref="Save"/>, validating every field.</summary>
    /// <param name="path">The index file.</param>
    /// <param name="kernels">Kernel backend for the loaded index; <see langword="null"/> for
    /// <see cref="KernelBackends.CreateDefault"/> (then owned and disposed by the index).</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is truncated, corrupted, not a VecRec index, or holds another
    /// kind of index.</exception>
    public static IvfPqIndex Load(string path, IVectorKernels? kernels = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using FileStream stream = IndexFile.OpenRead(path);
        return IndexFile.Read(stream, path, FileKind, reader => ReadFrom(reader, kernels));
    }

    private void WriteTo(Stream stream, TrainedState? state, IvfSnapshot snapshot)
    {
        int m = Options.SubQuantizers, d = Dimension;
        var writer = new IndexFileWriter(stream, FileKind, FileVersion);
        writer.BeginSection("PARM");
        writer.WriteInt32(d);
        writer.WriteInt32((int)Metric);
        writer.WriteInt32(Options.Lists);
        writer.WriteInt32(m);
        writer.WriteInt32(Options.Bits);
        writer.WriteInt32(Options.UseOpq ? 1 : 0);
        writer.WriteInt32((int)Options.Refine);
        writer.WriteInt32(state is null ? 0 : 1);
        writer.WriteInt64(snapshot.Count);
        writer.WriteInt32(Options.FastScan ? 1 : 0);
        writer.EndSection();
        if (state is not null)
        {
            writer.BeginSection("CENT");
            writer.WriteSpan<float>(state.Centroids);
            writer.EndSection();
            writer.BeginSection("PQCB");
            writer.WriteSpan(state.Pq.Centroids);
            writer.EndSection();
            if (state.Opq is not null)
            {
                writer.BeginSection("OPQR");
                writer.WriteSpan(state.Opq.Matrix);
                writer.EndSection();
            }
            writer.BeginSection("LSTS");
            foreach (IvfList list in snapshot.Lists) writer.WriteInt32(list.Count);
            writer.EndSection();
            writer.BeginSection("IDS ");
            foreach (IvfList list in snapshot.Lists) writer.WriteSpan<long>(list.Ids.AsSpan(0, list.Count));
            writer.EndSection();
            if (_fastScan)
            {
                // Whole blocks as they are in memory, except that the lanes past a list's count in its last block are
                // written as zero (an Add running beside this save may be filling them in the live array).
                writer.BeginSection(PackedCodesTag);
                int blockBytes = Pq4Layout.BlockBytes(m);
                var lastBlock = new byte[blockBytes];
                var rowMajor = new byte[Pq4Layout.BlockSize * m];
                foreach (IvfList list in snapshot.Lists)
                {
                    int full = list.Count / Pq4Layout.BlockSize, rest = list.Count % Pq4Layout.BlockSize;
                    writer.WriteBytes(list.Codes.AsSpan(0, full * blockBytes));
                    if (rest == 0) continue;
                    Pq4Layout.Unpack(list.Codes.AsSpan(full * blockBytes, blockBytes), rest, m, rowMajor);
                    Pq4Layout.Pack(rowMajor, rest, m, lastBlock);
                    writer.WriteBytes(lastBlock);
                }
                writer.EndSection();
            }
            else
            {
                writer.BeginSection("CODE");
                var code = new byte[m];
                foreach (IvfList list in snapshot.Lists)
                {
                    for (int v = 0; v < list.Count; v++)
                    {
                        IvfCodeLayout.Read(list.Codes, v, m, code);
                        writer.WriteBytes(code);
                    }
                }
                writer.EndSection();
            }
            if (Options.Refine != RefineStorage.None)
            {
                writer.BeginSection("RFNE");
                foreach (IvfList list in snapshot.Lists)
                {
                    if (list.Refine32 is not null) writer.WriteSpan<float>(list.Refine32.AsSpan(0, list.Count * d));
                    else if (list.Refine16 is not null) writer.WriteSpan<Half>(list.Refine16.AsSpan(0, list.Count * d));
                }
                writer.EndSection();
            }
        }
        writer.Finish();
    }

    /// <summary>Reads the sections <see cref="WriteTo"/> writes (the header is already read); validates every field.</summary>
    internal static IvfPqIndex ReadFrom(IndexFileReader reader, IVectorKernels? kernels)
    {
        reader.BeginSection("PARM");
        int d = reader.ReadInt32("dimension", 1, 1 << 20);
        Metric metric = reader.ReadEnum<Metric>("metric");
        int lists = reader.ReadInt32("lists", 1, 1 << 24);
        int m = reader.ReadInt32("sub-quantizers", 1, d);
        if (d % m != 0) throw reader.Corrupt($"sub-quantizers {m} do not divide the dimension {d}");
        int bits = reader.ReadInt32("bits", 1, 8);
        bool opq = reader.ReadInt32("opq flag", 0, 1) == 1;
        RefineStorage refine = reader.ReadEnum<RefineStorage>("refine storage");
        bool trained = reader.ReadInt32("trained flag", 0, 1) == 1;
        long count = reader.ReadInt64("count", 0, int.MaxValue);
        // Version 1 predates fast scan: its 4-bit indexes were written (and keep) the generic scan.
        bool fastScanOption = reader.FormatVersion >= 2 && reader.ReadInt32("fast-scan flag", 0, 1) == 1;
        reader.EndSection();
        if (!trained && count != 0) throw reader.Corrupt($"an untrained index holds {count} vectors");
        bool fastScan = fastScanOption && bits == 4;
        if (fastScan && m > Pq4Layout.MaxM) throw reader.Corrupt($"a fast-scan index has {m} sub-quantizers, more than {Pq4Layout.MaxM}");

        var options = new IvfPqOptions { Lists = lists, SubQuantizers = m, Bits = bits, UseOpq = opq, Refine = refine, FastScan = fastScanOption };
        var index = new IvfPqIndex(d, metric, options, kernels);
        try
        {
            if (!trained) return index;
            int ksub = 1 << bits;
            reader.BeginSection("CENT");
            float[] centroids = reader.ReadSpan<float>("centroids", (long)lists * d);
            reader.EndSection();
            reader.RequireFinite(centroids, "centroids");
            reader.BeginSection("PQCB");
            float[] codebooks = reader.ReadSpan<float>("codebooks", (long)ksub * d);
            reader.EndSection();
            reader.RequireFinite(codebooks, "codebooks");
            OpqRotation? rotation = null;
            if (opq)
            {
                reader.BeginSection("OPQR");
                float[] matrix = reader.ReadSpan<float>("rotation", (long)d * d);
                reader.EndSection();
                reader.RequireFinite(matrix, "rotation");
                try
                {
                    rotation = OpqRotation.FromMatrix(d, m, bits, matrix);
                }
                catch (ArgumentException e)
                {
                    throw reader.Corrupt($"rotation: {e.Message}");
                }
            }
            reader.BeginSection("LSTS");
            var sizes = new int[lists];
            long total = 0;
            for (int l = 0; l < lists; l++)
            {
                sizes[l] = reader.ReadInt32($"size of list {l}", 0, int.MaxValue);
                total += sizes[l];
            }
            reader.EndSection();
            if (total != count) throw reader.Corrupt($"list sizes add up to {total}, the header says {count}");
            long[] ids = reader.ReadIdSection(count);
            byte[] codes = [];
            byte[][]? packed = null;
            if (fastScan)
            {
                reader.BeginSection(PackedCodesTag);
                packed = new byte[lists][];
                for (int l = 0; l < lists; l++)
                {
                    packed[l] = reader.ReadSpan<byte>($"packed codes of list {l}", Pq4Layout.Bytes(sizes[l], m));
                    if (!Pq4Layout.PaddingIsZero(packed[l], sizes[l], m))
                        throw reader.Corrupt($"the packed codes of list {l} have a non-zero padding nibble");
                }
                reader.EndSection();
            }
            else
            {
                reader.BeginSection("CODE");
                codes = reader.ReadSpan<byte>("codes", count * m);
                reader.EndSection();
                if (bits < 8)
                    for (int i = 0; i < codes.Length; i++)
                        if (codes[i] >= ksub) throw reader.Corrupt($"code byte {i} is {codes[i]}, above {ksub - 1} for {bits}-bit codes");
            }
            float[]? refine32 = null;
            Half[]? refine16 = null;
            if (refine != RefineStorage.None)
            {
                reader.BeginSection("RFNE");
                if (refine == RefineStorage.Float32)
                {
                    refine32 = reader.ReadSpan<float>("refine vectors", count * d);
                    reader.RequireFinite(refine32, "refine vectors");
                }
                else
                {
                    refine16 = reader.ReadSpan<Half>("refine vectors", count * d);
                    foreach (Half h in refine16)
                        if (!Half.IsFinite(h)) throw reader.Corrupt("refine vectors hold a value that is not finite");
                }
                reader.EndSection();
            }
            index.Restore(centroids, codebooks, rotation, sizes, ids, codes, packed, refine32, refine16);
            return index;
        }
        catch
        {
            index.Dispose();
            throw;
        }
    }

    /// <summary>Installs loaded, validated parts as the trained state and lists: row-major <paramref name="codes"/>, or for
    /// fast scan each list's <paramref name="packed"/> blocks (used as they are).</summary>
    private void Restore(float[] centroids, float[] codebooks, OpqRotation? rotation, int[] sizes, long[] ids, byte[] codes, byte[][]? packed,
        float[]? refine32, Half[]? refine16)
    {
        int nlist = Options.Lists, m = Options.SubQuantizers, d = Dimension;
        ProductQuantizer pq = ProductQuantizer.FromCentroids(d, m, Options.Bits, codebooks);
        VectorDatabase coarseDb = Kernels.CreateDatabase(centroids, nlist, d);
        float[]? tables = Metric != Metric.InnerProduct && (long)nlist * m * pq.CentroidsPerSubQuantizer <= MaxPrecomputedTableFloats
            ? PrecomputeTermTables(pq, centroids, nlist) : null;
        var lists = new IvfList[nlist];
        int offset = 0;
        for (int l = 0; l < nlist; l++)
        {
            int n = sizes[l];
            if (n == 0) { lists[l] = IvfList.Empty; continue; }
            int capacity = n;
            var listIds = new long[capacity];
            ids.AsSpan(offset, n).CopyTo(listIds);
            byte[] blocked;
            if (packed is not null) blocked = packed[l];
            else
            {
                blocked = new byte[CodeBytes(capacity)];
                for (int v = 0; v < n; v++) WriteCode(blocked, v, codes.AsSpan((offset + v) * m, m));
            }
            float[]? r32 = null;
            Half[]? r16 = null;
            if (refine32 is not null)
            {
                r32 = new float[capacity * d];
                refine32.AsSpan(offset * d, n * d).CopyTo(r32);
            }
            if (refine16 is not null)
            {
                r16 = new Half[capacity * d];
                refine16.AsSpan(offset * d, n * d).CopyTo(r16);
            }
            lists[l] = new IvfList(listIds, blocked, r32, r16, n);
            for (int v = 0; v < n; v++) _listOf[ids[offset + v]] = l;
            offset += n;
        }
        _snapshot = new IvfSnapshot(lists, ids.LongLength);
        _state = new TrainedState(centroids, coarseDb, pq, rotation, tables, GroupTablesFor(pq, tables, nlist), null);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        lock (_writeLock)
        {
            if (_disposed) return;
            _disposed = true;
            _state?.CoarseDb.Dispose();
            Interlocked.Exchange(ref _deviceCodes, null)?.Release();
            _state = null;
            _snapshot = new IvfSnapshot([], 0);
            _listOf.Clear();
            if (_ownsKernels) Kernels.Dispose();
        }
    }

    private Metric CoarseMetric => Metric == Metric.InnerProduct ? Metric.InnerProduct : Metric.L2;

    /// <summary>Rows per step of <see cref="EncodeRows"/> and <see cref="AssignCoarse"/>: the kernels' packed copy of a
    /// step and its residuals stay a few megabytes, reused from step to step.</summary>
    private const int EncodeChunkRows = 8192;

    /// <summary>
    /// Codes of <paramref name="n"/> (normalised, rotated) rows: each step assigns its rows to their nearest lists, writes
    /// their residuals into a reused buffer and quantises them. Labels and codes do not depend on the step size.
    /// </summary>
    private void EncodeRows(TrainedState state, ReadOnlySpan<float> x, int n, int[] labels, byte[] codes)
    {
        int d = Dimension, m = Options.SubQuantizers;
        int chunk = Math.Min(n, EncodeChunkRows);
        float[] residuals = System.Buffers.ArrayPool<float>.Shared.Rent(chunk * d);
        try
        {
            for (int first = 0; first < n; first += chunk)
            {
                int rows = Math.Min(chunk, n - first);
                ReadOnlySpan<float> rowsX = x.Slice(first * d, rows * d);
                Span<int> rowLabels = labels.AsSpan(first, rows);
                AssignCoarse(state.CoarseDb, rowsX, rows, rowLabels);
                SubtractCentroids(rowsX, rows, rowLabels, state.Centroids, residuals);
                state.Pq.Encode(residuals.AsSpan(0, rows * d), rows, codes.AsSpan(first * m, rows * m), Options.MaxThreads);
            }
        }
        finally
        {
            System.Buffers.ArrayPool<float>.Shared.Return(residuals);
        }
    }

    /// <summary>Nearest list of each of <paramref name="n"/> rows, <see cref="EncodeChunkRows"/> rows per kernel call.</summary>
    private void AssignCoarse(VectorDatabase coarseDb, ReadOnlySpan<float> x, int n, Span<int> labels)
    {
        int chunk = Math.Min(n, EncodeChunkRows), d = Dimension;
        float[] scores = System.Buffers.ArrayPool<float>.Shared.Rent(chunk);
        for (int first = 0; first < n; first += chunk)
        {
            int rows = Math.Min(chunk, n - first);
            Kernels.Search(coarseDb, x.Slice(first * d, rows * d), rows, 1, CoarseMetric, labels.Slice(first, rows), scores.AsSpan(0, rows));
        }
        System.Buffers.ArrayPool<float>.Shared.Return(scores);
    }

    /// <summary>Residuals: row i of <paramref name="destination"/> = row i of <paramref name="x"/> minus its list's
    /// centroid (<paramref name="destination"/> may be <paramref name="x"/> itself).</summary>
    private void SubtractCentroids(ReadOnlySpan<float> x, int n, ReadOnlySpan<int> labels, float[] centroids, Span<float> destination)
    {
        int d = Dimension;
        for (int i = 0; i < n; i++)
            TensorPrimitives.Subtract(x.Slice(i * d, d), centroids.AsSpan(labels[i] * d, d), destination.Slice(i * d, d));
    }

    private void NormalizeRows(float[] x, int n) => Kernels.L2Normalize(x.AsSpan(0, n * Dimension), n, Dimension);

    private float[] Rotate(TrainedState state, float[] x, int n) => state.Opq is null ? x : Rotate(state, (ReadOnlySpan<float>)x, n);

    private float[] Rotate(TrainedState state, ReadOnlySpan<float> x, int n)
    {
        var y = new float[(long)n * Dimension];
        state.Opq!.Apply(x, n, y, Kernels);
        return y;
    }

    private float[] SampleRows(ReadOnlySpan<float> x, int count, int sample, int seed)
    {
        int d = Dimension;
        if (sample >= count) return x[..(count * d)].ToArray();
        var rng = new Random(seed);
        int[] perm = Enumerable.Range(0, count).ToArray();
        for (int i = 0; i < sample; i++)
        {
            int j = rng.Next(i, count);
            (perm[i], perm[j]) = (perm[j], perm[i]);
        }
        var result = new float[(long)sample * d];
        for (int i = 0; i < sample; i++) x.Slice(perm[i] * d, d).CopyTo(result.AsSpan(i * d, d));
        return result;
    }

    /// <summary>T[l][m][j] = |r_mj|^2 + 2 &lt;c_l (sub-vector m), r_mj&gt;: the query-independent part of the L2 tables.</summary>
    private float[] PrecomputeTermTables(ProductQuantizer pq, float[] centroids, int nlist)
    {
        int d = Dimension, size = pq.SubQuantizers * pq.CentroidsPerSubQuantizer;
        var norms = new float[size];
        pq.ComputeDistanceTable(new float[d], norms);
        var tables = new float[(long)nlist * size];
        Parallel.For(0, nlist, new ParallelOptions { MaxDegreeOfParallelism = Options.MaxThreads }, l =>
        {
            Span<float> t = tables.AsSpan((int)((long)l * size), size);
            pq.ComputeInnerProductTable(centroids.AsSpan(l * d, d), t);
            TensorPrimitives.MultiplyAdd(t, 2f, norms, t);
        });
        return tables;
    }

    private IvfList Append(IvfList list, int added, ReadOnlySpan<int> rows, ReadOnlySpan<long> ids, byte[] codes, ReadOnlySpan<float> vectors)
    {
        int m = Options.SubQuantizers, d = Dimension;
        int need = list.Count + added;
        long[] idArr = list.Ids;
        byte[] codeArr = list.Codes;
        float[]? r32 = list.Refine32;
        Half[]? r16 = list.Refine16;
        if (need > idArr.Length)
        {
            // Only the codes come in whole blocks (CodeBytes rounds up); ids and refine copies get exactly the capacity.
            int capacity = Math.Max(need, Math.Max(CodeBlockSize, idArr.Length + idArr.Length / 2));
            idArr = Grow(idArr, capacity, list.Count);
            codeArr = Grow(codeArr, checked((int)CodeBytes(capacity)), (int)CodeBytes(list.Count));
            // Refine rows past the count are never read (search, save and removal stop at it): no zeroing.
            if (Options.Refine == RefineStorage.Float32) r32 = Grow(r32 ?? [], capacity * d, list.Count * d, zeroed: false);
            if (Options.Refine == RefineStorage.Float16) r16 = Grow(r16 ?? [], capacity * d, list.Count * d, zeroed: false);
        }
        for (int i = 0; i < added; i++)
        {
            int row = rows[i], pos = list.Count + i;
            idArr[pos] = ids[row];
            // Fast scan: positions past the published count may share bytes with published vectors in the last
            // block; Pq4Layout.Write changes only the new vector's nibbles (see its remarks), so readers stay correct.
            WriteCode(codeArr, pos, codes.AsSpan(row * m, m));
            if (r32 is not null) vectors.Slice(row * d, d).CopyTo(r32.AsSpan(pos * d, d));
            if (r16 is not null) TensorPrimitives.ConvertToHalf(vectors.Slice(row * d, d), r16.AsSpan(pos * d, d));
        }
        return new IvfList(idArr, codeArr, r32, r16, need);
    }

    private IvfList Without(IvfList list, HashSet<long> victims)
    {
        int m = Options.SubQuantizers, d = Dimension;
        int keep = list.Count - victims.Count;
        if (keep == 0) return IvfList.Empty;
        int capacity = keep;
        var idArr = new long[capacity];
        var codeArr = new byte[CodeBytes(capacity)];
        float[]? r32 = list.Refine32 is null ? null : new float[capacity * d];
        Half[]? r16 = list.Refine16 is null ? null : new Half[capacity * d];
        Span<byte> code = stackalloc byte[m];
        int o = 0;
        for (int v = 0; v < list.Count; v++)
        {
            if (victims.Contains(list.Ids[v])) continue;
            idArr[o] = list.Ids[v];
            ReadCode(list.Codes, v, code);
            WriteCode(codeArr, o, code);
            list.Refine32?.AsSpan(v * d, d).CopyTo(r32.AsSpan(o * d, d));
            list.Refine16?.AsSpan(v * d, d).CopyTo(r16.AsSpan(o * d, d));
            o++;
        }
        return new IvfList(idArr, codeArr, r32, r16, keep);
    }

    private static T[] Grow<T>(T[] array, int capacity, int used, bool zeroed = true)
    {
        T[] grown = zeroed ? new T[capacity] : GC.AllocateUninitializedArray<T>(capacity);
        array.AsSpan(0, used).CopyTo(grown);
        return grown;
    }

    /// <summary>Per-thread search buffers are pooled: a single-query search would otherwise allocate (and the GC
    /// zero) two M x 2^bits tables per call.</summary>
    private Scratch RentScratch(TrainedState state) =>
        _scratchPool.TryTake(out Scratch? scratch) && ReferenceEquals(scratch.State, state) ? scratch : new Scratch(this, state);

    private void ReturnScratch(Scratch scratch)
    {
        if (_scratchPool.Count < 2 * Options.MaxThreads + 2) _scratchPool.Add(scratch);
    }

    /// <summary>Everything training produces; immutable once published.</summary>
    private sealed record TrainedState(float[] Centroids, VectorDatabase CoarseDb, ProductQuantizer Pq, OpqRotation? Opq, float[]? TermTables,
        Pq4GroupTables? GroupTables, string? Warning)
    {
        /// <summary>The blocked copy of a small coarse quantiser for the query path (<see cref="CoarseBlocks"/>), or null.</summary>
        public CoarseBlocks? Coarse { get; } = CoarseBlocks.For(Centroids, CoarseDb.Count, CoarseDb.Dimension);
    }

    /// <summary>The queries' probes (best first) and their coarse scores: by <see cref="CoarseBlocks"/> for a small
    /// quantiser on the host, else by the kernels' search.</summary>
    private void SearchCoarse(TrainedState state, ReadOnlySpan<float> queries, int count, int nprobe, Span<int> probes, Span<float> scores)
    {
        if (state.Coarse is { } coarse && !_scanOnDevice) coarse.Search(queries, count, nprobe, CoarseMetric == Metric.L2, probes, scores);
        else Kernels.Search(state.CoarseDb, queries, count, nprobe, CoarseMetric, probes, scores);
    }

    /// <summary>The fast scan's group-transposed copy of the L2 term tables (<see cref="Pq4GroupTables"/>), where the
    /// machine runs it; else null (the row-major tables serve).</summary>
    private Pq4GroupTables? GroupTablesFor(ProductQuantizer pq, float[]? tables, int nlist) =>
        _fastScan && tables is not null && Pq4GroupTables.IsSupported
        && (long)nlist * 16 * ((pq.SubQuantizers + Pq4GroupTables.Group - 1) / Pq4GroupTables.Group * Pq4GroupTables.Group) <= MaxPrecomputedTableFloats
        && new Pq4GroupTables(pq, tables, nlist) is { AllFinite: true } group ? group : null;

    /// <summary>Per-thread buffers of a search.</summary>
    private sealed class Scratch
    {
        public Scratch(IvfPqIndex index, TrainedState state)
        {
            State = state;
            _padStart = new byte[256];
            int size = state.Pq.SubQuantizers * state.Pq.CentroidsPerSubQuantizer;
            InnerProducts = new float[size];
            Table = new float[size];
            Residual = new float[index.Dimension];
            Vector = new float[index.Dimension];
            Heap = new CandidateHeap(1);
            Reservoir = new CandidateReservoir();
            if (index._fastScan)
            {
                Lut = new byte[Math.Max(Pq4Layout.PaddedM(state.Pq.SubQuantizers) * 16, state.GroupTables?.LutBytes ?? 0)];
                if (state.GroupTables is { } group)
                {
                    InnerProductsT = new float[group.TableFloats];
                    QueryT = new float[group.SubDimension * group.PaddedM];
                }
                Hits = new ushort[FastScanChunk];
                HitSums = new ushort[FastScanChunk];
            }
            _padEnd = new byte[256];
        }

        /// <summary>Spacers allocated first and last, so two threads' scratch buffers never share a cache line.</summary>
        private readonly byte[] _padStart, _padEnd;

        /// <summary>Fast scan: the quantised table of the list being scanned.</summary>
        public byte[] Lut { get; } = [];

        /// <summary>Fast scan with group tables: the query's inner products in their layout.</summary>
        public float[] InnerProductsT { get; } = [];

        /// <summary>Fast scan with group tables: the query's sub-vectors regrouped (scratch).</summary>
        public float[] QueryT { get; } = [];

        /// <summary>Fast scan: positions (within the chunk) of the vectors below the threshold.</summary>
        public ushort[] Hits { get; } = [];

        /// <summary>Fast scan: their uint16 sums.</summary>
        public ushort[] HitSums { get; } = [];

        public TrainedState State { get; }

        public float[] InnerProducts { get; }

        public float[] Table { get; }

        public float[] Residual { get; }

        public float[] Vector { get; }

        public CandidateHeap Heap { get; }

        /// <summary>Fast scan: the candidates (a reservoir: cheap admission while the threshold is loose).</summary>
        public CandidateReservoir Reservoir { get; }

        public float[] Keys { get; private set; } = [];

        public long[] Payloads { get; private set; } = [];

        public void EnsureCandidates(int capacity)
        {
            if (Keys.Length >= capacity) return;
            Keys = new float[capacity];
            Payloads = new long[capacity];
        }
    }

    /// <summary>One search call's shared, read-only inputs and its output arrays.</summary>
    private sealed class SearchContext(IvfPqIndex index, TrainedState state, IvfSnapshot snapshot, float[] queries, float[] refineQueries,
        int[] probes, float[] probeScores, int nprobe, int k, int refineFactor, IdFilter? filter, long[] ids, float[] scores)
    {
        public void SearchOne(int qi, Scratch scratch)
        {
            int d = index.Dimension;
            ProductQuantizer pq = state.Pq;
            int m = pq.SubQuantizers, ksub = pq.CentroidsPerSubQuantizer, size = m * ksub;
            ReadOnlySpan<float> query = queries.AsSpan(qi * d, d);
            int capacity = refineFactor > 0 ? checked(k * refineFactor) : k;
            CandidateHeap heap = scratch.Heap;
            CandidateReservoir reservoir = scratch.Reservoir;
            if (index._fastScan) reservoir.Reset(capacity);
            else heap.Reset(capacity);
            bool ip = index.Metric == Metric.InnerProduct;
            bool tables = state.TermTables is not null;
            // The group tables need finite inner products (an overflow to infinity falls back to the row-major form).
            Pq4GroupTables? group = index._fastScan && !ip && index.GroupTablesEnabled ? state.GroupTables : null;
            if (group is not null && !group.InnerProducts(query, scratch.QueryT, scratch.InnerProductsT)) group = null;
            if (group is null && (ip || tables))
            {
                pq.ComputeTableUnchecked(query, scratch.InnerProducts, innerProduct: true);
                if (ip) TensorPrimitives.Negate(scratch.InnerProducts, scratch.Table);
            }
            // Fast scan with inner product: one table for every list (only the bias changes), so quantise it once.
            bool fast = index._fastScan, quantised = false;
            float scale = 1, lutBias = 0;
            if (fast && ip) quantised = Pq4Lut.TryQuantize(scratch.Table, m, scratch.Lut, out scale, out lutBias);
            for (int p = 0; p < nprobe; p++)
            {
                int l = probes[qi * nprobe + p];
                if (l < 0) continue;
                IvfList list = snapshot.Lists[l];
                if (list.Count == 0) continue;
                float bias;
                if (ip)
                {
                    bias = -probeScores[qi * nprobe + p];
                }
                else if (tables)
                {
                    // LUT = T_l - 2 <q, r>; bias = |q - c_l|^2. Fast scan: built and quantised in one pass.
                    bias = probeScores[qi * nprobe + p];
                    if (group is not null)
                    {
                        ReadOnlySpan<float> terms = group.Terms(l);
                        if (group.TryQuantizeFused(scratch.InnerProductsT, -2f, terms, scratch.Lut, out scale, out lutBias))
                            ScanPacked(list, l, bias + lutBias, scale, reservoir, scratch);
                        else
                        {
                            group.Expand(scratch.InnerProductsT, -2f, terms, scratch.Table);
                            ScanPackedFloat(list, l, bias, scratch.Table, reservoir);
                        }
                        continue;
                    }
                    if (fast)
                    {
                        quantised = Pq4Lut.TryQuantizeFused(scratch.InnerProducts, -2f, state.TermTables.AsSpan(l * size, size), scratch.Table, m, scratch.Lut, out scale, out lutBias);
                        if (quantised) ScanPacked(list, l, bias + lutBias, scale, reservoir, scratch);
                        else ScanPackedFloat(list, l, bias, scratch.Table, reservoir);
                        continue;
                    }
                    TensorPrimitives.MultiplyAdd(scratch.InnerProducts, -2f, state.TermTables.AsSpan(l * size, size), scratch.Table);
                }
                else
                {
                    TensorPrimitives.Subtract(query, state.Centroids.AsSpan(l * d, d), scratch.Residual);
                    pq.ComputeTableUnchecked(scratch.Residual, scratch.Table, innerProduct: false);
                    bias = 0;
                }
                if (fast)
                {
                    if (!ip) quantised = Pq4Lut.TryQuantize(scratch.Table, m, scratch.Lut, out scale, out lutBias);
                    if (quantised) ScanPacked(list, l, bias + lutBias, scale, reservoir, scratch);
                    else ScanPackedFloat(list, l, bias, scratch.Table, reservoir); // a table that overflows float
                }
                else PqScanner.Scan(index._scanKind, list.Codes, list.Count, m, ksub, scratch.Table, bias, heap, list.Ids, l, filter);
            }

            scratch.EnsureCandidates(capacity);
            int found = index._fastScan ? reservoir.Drain(scratch.Keys, scratch.Payloads, sort: refineFactor == 0) : heap.DrainSorted(scratch.Keys, scratch.Payloads);
            Finish(qi, scratch, found);
        }

        /// <summary>
        /// Fast scan of one list with the quantised table in <c>scratch.Lut</c>: estimate = <paramref name="bias"/> +
        /// sum / <paramref name="scale"/>. Per chunk of <see cref="FastScanChunk"/> vectors the reservoir's admission
        /// threshold (its worst kept estimate after its last cut, so never tighter than the k-th or k x R-th best) becomes a
        /// uint16 bound on the sums, the kernel returns only the vectors below it (with their sums), and those that still
        /// beat the threshold and pass the filter enter the reservoir.
        /// </summary>
        private void ScanPacked(IvfList list, int l, float bias, float scale, CandidateReservoir candidates, Scratch scratch)
        {
            int m = state.Pq.SubQuantizers, n = list.Count, blockBytes = Pq4Layout.BlockBytes(m);
            long listTag = (long)l << 32;
            Pq4ScanKind kind = index.FastScanKind;
            ushort[] hits = scratch.Hits;
            ushort[] sums = scratch.HitSums;
            float inverseScale = 1f / scale;
            for (int first = 0; first < n; first += FastScanChunk)
            {
                ushort limit = Pq4Lut.Threshold(candidates.Threshold, scale, bias);
                if (limit == 0) return; // no sum is below 0, and the threshold only tightens
                int len = Math.Min(FastScanChunk, n - first);
                int found = Pq4Scanner.ScanThreshold(kind, list.Codes.AsSpan(first / Pq4Layout.BlockSize * blockBytes), len, m, scratch.Lut, limit, hits, sums);
                // The query's first hits (threshold still open): keep only those with a sum at most a bound on the
                // capacity-th smallest (a 256-bucket histogram of the uint16 sums, as FAISS partitions them) and make
                // that the threshold, instead of admitting every vector of the first list and cutting the reservoir
                // down. Not with a filter: it may reject some of those, and the skipped ones would then be missing.
                int maxSum = ushort.MaxValue;
                if (filter is null && candidates.Count == 0 && found > candidates.Capacity)
                    maxSum = Pq4Lut.KthSmallestBound(sums.AsSpan(0, found), candidates.Capacity);
                if (filter is null) candidates.PushHits(sums, hits, found, inverseScale, bias, maxSum, listTag | (uint)first);
                else for (int h = 0; h < found; h++)
                {
                    if (sums[h] > maxSum) continue;
                    float key = Pq4Lut.Estimate(sums[h], inverseScale, bias);
                    if (key >= candidates.Threshold) continue;
                    int v = first + hits[h];
                    if (!filter.IsAllowed(list.Ids[v])) continue;
                    candidates.Push(key, listTag | (uint)v);
                }

                if (maxSum < ushort.MaxValue) candidates.TightenTo(Pq4Lut.Estimate((ushort)maxSum, inverseScale, bias));
            }
        }

        /// <summary>
        /// The fast-scan lists scored with the float table, one vector at a time: only for tables with entries that are
        /// not finite (extreme codebooks or queries overflow float), which cannot be quantised; scores are then as in
        /// the generic scan (infinite ones never enter the heap).
        /// </summary>
        private void ScanPackedFloat(IvfList list, int l, float bias, float[] table, CandidateReservoir candidates)
        {
            int m = state.Pq.SubQuantizers;
            long listTag = (long)l << 32;
            for (int v = 0; v < list.Count; v++)
            {
                float key = bias;
                for (int s = 0; s < m; s++) key += table[s * 16 + Pq4Layout.CodeAt(list.Codes, v, s, m)];
                if (key < candidates.Threshold && (filter is null || filter.IsAllowed(list.Ids[v]))) candidates.Push(key, listTag | (uint)v);
            }
        }

        /// <summary>
        /// Completes one query from its candidates (scratch.Keys / Payloads, sorted ascending): refine when asked,
        /// then write ids and scores.
        /// </summary>
        public void Finish(int qi, Scratch scratch, int found)
        {
            Span<long> outIds = ids.AsSpan(qi * k, k);
            Span<float> outScores = scores.AsSpan(qi * k, k);
            if (refineFactor > 0) found = Refine(qi, scratch, found);
            int take = Math.Min(found, k);
            OrderTiesById(scratch, take, found);
            for (int r = 0; r < take; r++)
            {
                long payload = scratch.Payloads[r];
                IvfList list = snapshot.Lists[(int)(payload >> 32)];
                outIds[r] = list.Ids[(int)(uint)payload];
                outScores[r] = refineFactor > 0 ? RefinedScore(scratch.Keys[r]) : ApproximateScore(scratch.Keys[r]);
            }
            if (take < k) ResultMerge.FillMissing(outIds[take..], outScores[take..], index.Metric);
        }

        /// <summary>Within runs of equal keys (the first <paramref name="take"/> positions and the run crossing
        /// the boundary), orders candidates by id, so results do not depend on scan order.</summary>
        private void OrderTiesById(Scratch scratch, int take, int found)
        {
            float[] keys = scratch.Keys;
            long[] payloads = scratch.Payloads;
            for (int start = 0; start < take;)
            {
                int end = start + 1;
                while (end < found && keys[end] == keys[start]) end++;
                if (end - start > 1)
                {
                    var run = payloads.AsSpan(start, end - start);
                    run.Sort((x, y) => IdOf(x).CompareTo(IdOf(y)));
                }
                start = end;
            }
        }

        private long IdOf(long payload) => snapshot.Lists[(int)(payload >> 32)].Ids[(int)(uint)payload];

        /// <summary>Re-scores the candidates exactly and puts the best k first, in order (ties of the k-th right after
        /// them, see <see cref="CandidateReservoir.SortSmallest"/>); returns their number.</summary>
        private int Refine(int qi, Scratch scratch, int found)
        {
            int d = index.Dimension;
            ReadOnlySpan<float> q = refineQueries.AsSpan(qi * d, d);
            if (Sse.IsSupported) PrefetchRows(scratch, found, d);
            for (int c = 0; c < found; c++)
            {
                long payload = scratch.Payloads[c];
                IvfList list = snapshot.Lists[(int)(payload >> 32)];
                int pos = (int)(uint)payload;
                ReadOnlySpan<float> x;
                if (list.Refine32 is not null) x = list.Refine32.AsSpan(pos * d, d);
                else
                {
                    TensorPrimitives.ConvertToSingle(list.Refine16.AsSpan(pos * d, d), scratch.Vector);
                    x = scratch.Vector;
                }
                scratch.Keys[c] = index.Metric == Metric.L2 ? SquaredDistance(q, x) : -TensorPrimitives.Dot(q, x);
            }
            CandidateReservoir.SortSmallest(scratch.Keys.AsSpan(0, found), scratch.Payloads.AsSpan(0, found), k);
            return found;
        }

        /// <summary>
        /// Asks for every candidate's stored row before any is scored: the rows are scattered over the lists, so scoring
        /// them one by one waits for each row's cache misses in turn; prefetching all first overlaps them (refine of 40
        /// candidates of 128 floats: about half the time). The fast scan used to prefetch each row as its candidate was
        /// admitted instead, but admits about 2.5 times as many candidates as survive to refine (SIFT10K, nprobe 6, k x R =
        /// 40: 102 admitted per query), and prefetching only the survivors here was 5-10% faster per query.
        /// </summary>
        private unsafe void PrefetchRows(Scratch scratch, int found, int d)
        {
            for (int c = 0; c < found; c++)
            {
                long payload = scratch.Payloads[c];
                IvfList list = snapshot.Lists[(int)(payload >> 32)];
                int pos = (int)(uint)payload;
                if (list.Refine32 is { } rows32)
                {
                    fixed (float* row = &rows32[pos * d]) PrefetchBytes((byte*)row, d * sizeof(float));
                }
                else if (list.Refine16 is { } rows16)
                {
                    fixed (Half* row = &rows16[pos * d]) PrefetchBytes((byte*)row, d * sizeof(ushort));
                }
            }
        }

        private static unsafe void PrefetchBytes(byte* start, int bytes)
        {
            for (int offset = 0; offset < bytes; offset += 64) Sse.Prefetch0(start + offset);
            Sse.Prefetch0(start + bytes - 1);
        }

        /// <summary>|a - b|^2: four 512-bit accumulators when the length is a multiple of 64 (most embedding sizes), four
        /// 256-bit ones (AVX2 machines) when it is a multiple of 32, else through TensorPrimitives (which returns the root,
        /// squared here).</summary>
        private static float SquaredDistance(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
        {
            int n = a.Length;
            if (Vector512.IsHardwareAccelerated && n % 64 == 0 && b.Length == n)
            {
                ref float x = ref MemoryMarshal.GetReference(a), y = ref MemoryMarshal.GetReference(b);
                Vector512<float> s0 = Vector512<float>.Zero, s1 = s0, s2 = s0, s3 = s0;
                for (nuint i = 0; i < (nuint)n; i += 64)
                {
                    Vector512<float> d0 = Vector512.LoadUnsafe(ref x, i) - Vector512.LoadUnsafe(ref y, i);
                    Vector512<float> d1 = Vector512.LoadUnsafe(ref x, i + 16) - Vector512.LoadUnsafe(ref y, i + 16);
                    Vector512<float> d2 = Vector512.LoadUnsafe(ref x, i + 32) - Vector512.LoadUnsafe(ref y, i + 32);
                    Vector512<float> d3 = Vector512.LoadUnsafe(ref x, i + 48) - Vector512.LoadUnsafe(ref y, i + 48);
                    s0 = Vector512.FusedMultiplyAdd(d0, d0, s0);
                    s1 = Vector512.FusedMultiplyAdd(d1, d1, s1);
                    s2 = Vector512.FusedMultiplyAdd(d2, d2, s2);
                    s3 = Vector512.FusedMultiplyAdd(d3, d3, s3);
                }
                return Vector512.Sum((s0 + s1) + (s2 + s3));
            }
            if (Vector256.IsHardwareAccelerated && n % 32 == 0 && b.Length == n)
            {
                ref float x = ref MemoryMarshal.GetReference(a), y = ref MemoryMarshal.GetReference(b);
                Vector256<float> s0 = Vector256<float>.Zero, s1 = s0, s2 = s0, s3 = s0;
                for (nuint i = 0; i < (nuint)n; i += 32)
                {
                    Vector256<float> d0 = Vector256.LoadUnsafe(ref x, i) - Vector256.LoadUnsafe(ref y, i);
                    Vector256<float> d1 = Vector256.LoadUnsafe(ref x, i + 8) - Vector256.LoadUnsafe(ref y, i + 8);
                    Vector256<float> d2 = Vector256.LoadUnsafe(ref x, i + 16) - Vector256.LoadUnsafe(ref y, i + 16);
                    Vector256<float> d3 = Vector256.LoadUnsafe(ref x, i + 24) - Vector256.LoadUnsafe(ref y, i + 24);
                    s0 = Vector256.FusedMultiplyAdd(d0, d0, s0);
                    s1 = Vector256.FusedMultiplyAdd(d1, d1, s1);
                    s2 = Vector256.FusedMultiplyAdd(d2, d2, s2);
                    s3 = Vector256.FusedMultiplyAdd(d3, d3, s3);
                }
                return Vector256.Sum((s0 + s1) + (s2 + s3));
            }
            float dist = TensorPrimitives.Distance(a, b);
            return dist * dist;
        }

        private float ApproximateScore(float key) => index.Metric switch
        {
            Metric.L2 => key,
            Metric.Cosine => 1f - key / 2f,
            _ => -key,
        };

        private float RefinedScore(float key) => index.Metric == Metric.L2 ? key : -key;
    }
}

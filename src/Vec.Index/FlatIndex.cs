using Vec.Internals;
using System.Collections.Concurrent;
using Vec.Index.Internals;
using Vec.Kernels;

namespace Vec.Index;

/// <summary>Settings of a <see cref="FlatIndex"/> fixed at construction.</summary>
public sealed record FlatIndexOptions
{
    /// <summary>
    /// Row storage of the kernels' database: <see cref="VectorStorage.Float32"/> (exact, the default), or float16/int8
    /// (smaller and faster; results re-scored exactly per <see cref="SearchOptions.RefineFactor"/>).
    /// </summary>
    public VectorStorage Storage { get; init; } = VectorStorage.Float32;
}

/// <summary>
/// Exact search: every query is scored against every stored vector through the kernels' fused search
/// (<see cref="IVectorKernels.Search"/>) on any backend. The reference behind the same contract as the approximate
/// indexes, and the right index up to a few hundred thousand vectors.
/// </summary>
/// <remarks>
/// Vectors live in immutable segments (kernel databases). <c>Add</c> appends a segment and merges neighbouring
/// segments whose sizes are within a factor of two, so a stream of small adds costs O(n log n) copies in total and a
/// search visits O(log n) segments. <c>Remove</c> marks rows deleted (a copied bitmap) and rewrites a segment once half
/// of it is deleted. Searches read an immutable snapshot, so they run concurrently with writers.
/// </remarks>
public sealed class FlatIndex : IVectorIndex
{
    private readonly object _writeLock = new();
    private readonly SnapshotCell<FlatSnapshot> _snapshot;
    private readonly ConcurrentDictionary<long, RowLocation> _locations = new();
    private readonly bool _ownsKernels;
    private bool _disposed;

    /// <summary>Creates an empty exact index.</summary>
    /// <param name="dimension">Vector dimension.</param>
    /// <param name="metric">Metric to rank by.</param>
    /// <param name="kernels">Kernel backend; <see langword="null"/> for <see cref="KernelBackends.CreateDefault"/>
    /// (then owned and disposed by the index).</param>
    /// <param name="options">Storage settings.</param>
    public FlatIndex(int dimension, Metric metric, IVectorKernels? kernels = null, FlatIndexOptions? options = null)
    {
        Validation.Dimension(dimension);
        Validation.Metric(metric);
        Dimension = dimension;
        Metric = metric;
        Options = options ?? new FlatIndexOptions();
        if (!Enum.IsDefined(Options.Storage))
            throw new ArgumentOutOfRangeException(nameof(options), Options.Storage, "Unknown vector storage.");
        _ownsKernels = kernels is null;
        Kernels = kernels ?? KernelBackends.CreateDefault();
        _snapshot = new SnapshotCell<FlatSnapshot>(new FlatSnapshot([], 0));
    }

    /// <inheritdoc />
    public int Dimension { get; }

    /// <inheritdoc />
    public Metric Metric { get; }

    /// <summary>Construction settings.</summary>
    public FlatIndexOptions Options { get; }

    /// <summary>The kernel backend the index searches with.</summary>
    public IVectorKernels Kernels { get; }

    /// <inheritdoc />
    public long Count => _snapshot.Peek().Count;

    /// <inheritdoc />
    public bool IsTrained => true;

    /// <summary>
    /// Bytes held per stored vector: the kernel database row (4, 2 or 1 bytes per dimension plus per-row norms/scales),
    /// the host float32 copy used for merging and saving, the id and the id map entry.
    /// </summary>
    public double BytesPerVector
    {
        get
        {
            int storage = Options.Storage switch { VectorStorage.Float16 => 2, VectorStorage.Int8 => 1, _ => 4 };
            const int idMapBytesPerEntry = 48; // ConcurrentDictionary<long, RowLocation> node and bucket.
            return (double)Dimension * (storage + 4) + 8 + 8 + idMapBytesPerEntry;
        }
    }

    /// <summary>Number of segments (for diagnostics and tests).</summary>
    internal int SegmentCount => _snapshot.Peek().Views.Length;

    /// <inheritdoc />
    /// <remarks>A flat index needs no training; the vectors are only checked.</remarks>
    public void Train(ReadOnlySpan<float> vectors, int count)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Validation.Matrix(vectors, count, Dimension, nameof(vectors), nameof(count));
    }

    /// <inheritdoc />
    public void Add(ReadOnlySpan<long> ids, ReadOnlySpan<float> vectors)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Validation.Matrix(vectors, ids.Length, Dimension, nameof(vectors), nameof(ids));
        Validation.NewIds(ids);
        if (ids.Length == 0) return;
        lock (_writeLock)
        {
            foreach (long id in ids)
                if (_locations.ContainsKey(id)) throw new ArgumentException($"Id {id} is already in the index.", nameof(ids));

            FlatSnapshot current = _snapshot.Peek();
            var views = new List<SegmentView>(current.Views);
            var fresh = new Segment(this, ids.ToArray(), vectors.ToArray());
            views.Add(new SegmentView(fresh, null, 0));
            var added = new List<Segment> { fresh };
            // Merge tail segments until sizes fall geometrically (each at least twice the next).
            while (views.Count >= 2 && views[^2].LiveCount < 2 * views[^1].LiveCount)
            {
                Segment merged = Merge(views[^2], views[^1]);
                views.RemoveRange(views.Count - 2, 2);
                views.Add(new SegmentView(merged, null, 0));
                added.Add(merged);
            }
            Publish(views);
            Segment last = views[^1].Segment;
            for (int r = 0; r < last.Ids.Length; r++) _locations[last.Ids[r]] = new RowLocation(last, r);
            // Drop the creation references: published segments live on in the snapshot, the others are freed.
            foreach (Segment s in added) s.Release();
        }
    }

    /// <inheritdoc />
    public int Remove(ReadOnlySpan<long> ids)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (ids.Length == 0) return 0;
        lock (_writeLock)
        {
            FlatSnapshot current = _snapshot.Peek();
            var byView = new Dictionary<Segment, List<int>>();
            var unique = new HashSet<long>();
            foreach (long id in ids)
            {
                if (!unique.Add(id) || !_locations.TryGetValue(id, out RowLocation loc)) continue;
                if (!byView.TryGetValue(loc.Segment, out List<int>? rows)) byView[loc.Segment] = rows = [];
                rows.Add(loc.Row);
            }
            if (byView.Count == 0) return 0;

            int removed = 0;
            var views = new List<SegmentView>(current.Views.Length);
            var created = new List<Segment>();
            foreach (SegmentView view in current.Views)
            {
                if (!byView.TryGetValue(view.Segment, out List<int>? rows)) { views.Add(view); continue; }
                ulong[] deleted = view.Deleted is null ? new ulong[(view.Segment.Count + 63) >> 6] : (ulong[])view.Deleted.Clone();
                int deletedCount = view.DeletedCount;
                foreach (int r in rows)
                {
                    ulong bit = 1UL << r;
                    if ((deleted[r >> 6] & bit) != 0) continue;
                    deleted[r >> 6] |= bit;
                    deletedCount++;
                    removed++;
                }
                var updated = new SegmentView(view.Segment, deleted, deletedCount);
                if (updated.LiveCount == 0) continue;
                if (deletedCount * 2 > view.Segment.Count)
                {
                    Segment compacted = Compact(updated);
                    created.Add(compacted);
                    views.Add(new SegmentView(compacted, null, 0));
                }
                else views.Add(updated);
            }
            Publish(views);
            foreach (long id in unique)
                if (_locations.TryGetValue(id, out RowLocation loc) && byView.ContainsKey(loc.Segment)) _locations.TryRemove(id, out _);
            foreach (Segment s in created)
            {
                for (int r = 0; r < s.Ids.Length; r++) _locations[s.Ids[r]] = new RowLocation(s, r);
                s.Release();
            }
            return removed;
        }
    }

    /// <inheritdoc />
    public bool Contains(long id) => _locations.ContainsKey(id);

    /// <inheritdoc />
    public void Search(ReadOnlySpan<float> queries, int queryCount, int k, Span<long> ids, Span<float> scores, SearchOptions? options = null)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Validation.Search(queries, queryCount, k, Dimension, ids.Length, scores.Length);
        options ??= SearchOptions.Default;
        if (queryCount == 0) return;
        int rescore = Options.Storage == VectorStorage.Float32 ? 0 : options.RefineFactor;

        FlatSnapshot snapshot = _snapshot.Acquire();
        try
        {
            var parts = new List<(Segment Segment, RowFilter? Filter)>(snapshot.Views.Length);
            foreach (SegmentView view in snapshot.Views)
            {
                RowFilter? filter = view.BuildFilter(options.Filter);
                if (filter is not null && filter.AllowedCount == 0) continue;
                parts.Add((view.Segment, filter));
            }
            if (parts.Count == 0)
            {
                ResultMerge.FillMissing(ids[..(queryCount * k)], scores[..(queryCount * k)], Metric);
                return;
            }
            if (parts.Count == 1)
            {
                SearchSegment(parts[0].Segment, parts[0].Filter, queries, queryCount, k, rescore, ids, scores);
                return;
            }
            var partIds = new long[parts.Count * queryCount * k];
            var partScores = new float[partIds.Length];
            int stride = queryCount * k;
            for (int p = 0; p < parts.Count; p++)
                SearchSegment(parts[p].Segment, parts[p].Filter, queries, queryCount, k, rescore,
                    partIds.AsSpan(p * stride, stride), partScores.AsSpan(p * stride, stride));
            var rowIds = new long[parts.Count * k];
            var rowScores = new float[rowIds.Length];
            for (int q = 0; q < queryCount; q++)
            {
                for (int p = 0; p < parts.Count; p++)
                {
                    partIds.AsSpan(p * stride + q * k, k).CopyTo(rowIds.AsSpan(p * k, k));
                    partScores.AsSpan(p * stride + q * k, k).CopyTo(rowScores.AsSpan(p * k, k));
                }
                ResultMerge.Merge(rowIds, rowScores, parts.Count, k, k, Metric, ids.Slice(q * k, k), scores.Slice(q * k, k));
            }
        }
        finally
        {
            snapshot.Release();
        }
    }

    /// <summary>The index kind written in the file header.</summary>
    internal const string FileKind = "flat";

    /// <inheritdoc />
    /// <remarks>Sections: <c>PARM</c> (dimension, metric, storage, count), <c>IDS </c> (count int64 ids),
    /// <c>VECS</c> (count x dimension float32, live rows only, as added). See docs/index-format.md.</remarks>
    public void Save(string path)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentException.ThrowIfNullOrEmpty(path);
        (long[] ids, float[] vectors) = Export();
        AtomicFile.Write(path, stream => WriteTo(stream, ids, vectors));
    }

    /// <summary>
    /// Loads a flat index written by <see cref="Save"/>, validating every field.
    /// </summary>
    /// <param name="path">The index file.</param>
    /// <param name="kernels">Kernel backend for the loaded index; <see langword="null"/> for
    /// <see cref="KernelBackends.CreateDefault"/> (then owned and disposed by the index).</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is truncated, corrupted, not a VecRec index, or holds another
    /// kind of index.</exception>
    public static FlatIndex Load(string path, IVectorKernels? kernels = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using FileStream stream = IndexFile.OpenRead(path);
        return IndexFile.Read(stream, path, FileKind, reader => ReadFrom(reader, kernels));
    }

    /// <summary>The container version this kind writes: its layout has not changed since version 1.</summary>
    internal const uint FileVersion = 1;

    /// <summary>Writes the whole file (header, sections, end marker) for the given live rows.</summary>
    internal void WriteTo(Stream stream, long[] ids, float[] vectors)
    {
        var writer = new IndexFileWriter(stream, FileKind, FileVersion);
        writer.BeginSection("PARM");
        writer.WriteInt32(Dimension);
        writer.WriteInt32((int)Metric);
        writer.WriteInt32((int)Options.Storage);
        writer.WriteInt64(ids.LongLength);
        writer.EndSection();
        writer.BeginSection("IDS ");
        writer.WriteSpan<long>(ids);
        writer.EndSection();
        writer.BeginSection("VECS");
        writer.WriteSpan<float>(vectors);
        writer.EndSection();
        writer.Finish();
    }

    /// <summary>Reads the sections <see cref="WriteTo"/> writes (the header is already read); validates every field.</summary>
    internal static FlatIndex ReadFrom(IndexFileReader reader, IVectorKernels? kernels)
    {
        reader.BeginSection("PARM");
        int dimension = reader.ReadInt32("dimension", 1);
        Metric metric = reader.ReadEnum<Metric>("metric");
        VectorStorage storage = reader.ReadEnum<VectorStorage>("storage");
        long count = reader.ReadInt64("count", 0, Math.Min(int.MaxValue, Array.MaxLength / dimension));
        reader.EndSection();

        long[] ids = reader.ReadIdSection(count);

        reader.BeginSection("VECS");
        float[] vectors = reader.ReadSpan<float>("vectors", count * dimension);
        reader.EndSection();
        reader.RequireFinite(vectors, "vectors");

        var index = new FlatIndex(dimension, metric, kernels, new FlatIndexOptions { Storage = storage });
        try
        {
            index.Add(ids, vectors);
            return index;
        }
        catch
        {
            index.Dispose();
            throw;
        }
    }

    /// <summary>Copies every live vector and its id, in segment order (for persistence and tests).</summary>
    internal (long[] Ids, float[] Vectors) Export()
    {
        FlatSnapshot snapshot = _snapshot.Acquire();
        try
        {
            long count = snapshot.Count;
            var ids = new long[count];
            var vectors = new float[count * Dimension];
            int o = 0;
            foreach (SegmentView view in snapshot.Views)
            {
                for (int r = 0; r < view.Segment.Count; r++)
                {
                    if (view.IsDeleted(r)) continue;
                    ids[o] = view.Segment.Ids[r];
                    view.Segment.Vectors.AsSpan(r * Dimension, Dimension).CopyTo(vectors.AsSpan(o * Dimension, Dimension));
                    o++;
                }
            }
            return (ids, vectors);
        }
        finally
        {
            snapshot.Release();
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        lock (_writeLock)
        {
            if (_disposed) return;
            _disposed = true;
            _snapshot.Clear();
            _locations.Clear();
            if (_ownsKernels) Kernels.Dispose();
        }
    }

    private void SearchSegment(Segment segment, RowFilter? filter, ReadOnlySpan<float> queries, int queryCount, int k, int rescore,
        Span<long> ids, Span<float> scores)
    {
        int total = queryCount * k;
        var rows = new int[total];
        Kernels.Search(segment.Database, queries, queryCount, k, Metric, rows, scores[..total], filter, rescore);
        long[] segmentIds = segment.Ids;
        for (int i = 0; i < total; i++) ids[i] = rows[i] < 0 ? -1 : segmentIds[rows[i]];
    }

    private void Publish(List<SegmentView> views)
    {
        long count = 0;
        foreach (SegmentView v in views)
        {
            v.Segment.AddReference();
            count += v.LiveCount;
        }
        _snapshot.Publish(new FlatSnapshot([.. views], count));
    }

    private Segment Merge(SegmentView a, SegmentView b)
    {
        int n = a.LiveCount + b.LiveCount;
        var ids = new long[n];
        var vectors = new float[(long)n * Dimension];
        int o = CopyLive(a, ids, vectors, 0);
        CopyLive(b, ids, vectors, o);
        return new Segment(this, ids, vectors);
    }

    private Segment Compact(SegmentView view)
    {
        var ids = new long[view.LiveCount];
        var vectors = new float[(long)view.LiveCount * Dimension];
        CopyLive(view, ids, vectors, 0);
        return new Segment(this, ids, vectors);
    }

    private int CopyLive(SegmentView view, long[] ids, float[] vectors, int offset)
    {
        int d = Dimension;
        for (int r = 0; r < view.Segment.Count; r++)
        {
            if (view.IsDeleted(r)) continue;
            ids[offset] = view.Segment.Ids[r];
            view.Segment.Vectors.AsSpan(r * d, d).CopyTo(vectors.AsSpan(offset * d, d));
            offset++;
        }
        return offset;
    }

    private readonly record struct RowLocation(Segment Segment, int Row);

    /// <summary>An immutable block of vectors with its kernel database; freed when no snapshot uses it.</summary>
    private sealed class Segment : RefCounted
    {
        public Segment(FlatIndex index, long[] ids, float[] vectors)
        {
            Ids = ids;
            Vectors = vectors;
            Database = index.Kernels.CreateDatabase(vectors, ids.Length, index.Dimension, index.Options.Storage);
        }

        public long[] Ids { get; }

        public float[] Vectors { get; }

        public VectorDatabase Database { get; }

        public int Count => Ids.Length;

        protected override void Free() => Database.Dispose();
    }

    /// <summary>A segment as one snapshot sees it: with its deleted rows.</summary>
    private sealed class SegmentView(Segment segment, ulong[]? deleted, int deletedCount)
    {
        private readonly RowFilter? _live = deleted is null ? null : LiveFilter(deleted, segment.Count);

        public Segment Segment { get; } = segment;

        public ulong[]? Deleted { get; } = deleted;

        public int DeletedCount { get; } = deletedCount;

        public int LiveCount => Segment.Count - DeletedCount;

        public bool IsDeleted(int row) => Deleted is not null && (Deleted[row >> 6] & (1UL << row)) != 0;

        public RowFilter? BuildFilter(IdFilter? filter)
        {
            if (filter is null) return _live;
            int n = Segment.Count;
            var bits = new ulong[(n + 63) >> 6];
            long[] ids = Segment.Ids;
            for (int r = 0; r < n; r++)
                if (!IsDeleted(r) && filter.IsAllowed(ids[r])) bits[r >> 6] |= 1UL << r;
            return RowFilter.FromBits(bits, n);
        }

        private static RowFilter LiveFilter(ulong[] deleted, int count)
        {
            var bits = new ulong[deleted.Length];
            for (int w = 0; w < bits.Length; w++) bits[w] = ~deleted[w];
            return RowFilter.FromBits(bits, count);
        }
    }

    /// <summary>The segments one search sees.</summary>
    private sealed class FlatSnapshot(SegmentView[] views, long count) : RefCounted
    {
        public SegmentView[] Views { get; } = views;

        public long Count { get; } = count;

        protected override void Free()
        {
            foreach (SegmentView v in Views) v.Segment.Release();
        }
    }
}

using System.Buffers;
using System.Runtime.CompilerServices;

namespace Vec.Kernels.Internals;

/// <summary>
/// Validates every call once, identically for all backends, then hands the checked arguments to the backend's
/// <c>...Core</c> method. Backends therefore never see bad shapes, short spans or poisoned inputs.
/// </summary>
internal abstract class KernelBackendBase : IVectorKernels
{
    public abstract string Name { get; }

    public abstract string Description { get; }

    public virtual int MaxK => int.MaxValue;

    public void MeanPool(ReadOnlySpan<float> tokenEmbeddings, ReadOnlySpan<long> attentionMask, int batch, int sequenceLength, int dimension, Span<float> destination)
    {
        CheckPool(tokenEmbeddings, attentionMask, batch, sequenceLength, dimension, destination);
        MeanPoolCore(tokenEmbeddings, attentionMask, batch, sequenceLength, dimension, destination);
    }

    public void MaxPool(ReadOnlySpan<float> tokenEmbeddings, ReadOnlySpan<long> attentionMask, int batch, int sequenceLength, int dimension, Span<float> destination)
    {
        CheckPool(tokenEmbeddings, attentionMask, batch, sequenceLength, dimension, destination);
        MaxPoolCore(tokenEmbeddings, attentionMask, batch, sequenceLength, dimension, destination);
    }

    public void L2Normalize(Span<float> rows, int count, int dimension)
    {
        CheckMatrix(rows.Length, count, dimension, nameof(rows), nameof(count));
        CheckFinite(rows[..(count * dimension)], nameof(rows));
        L2NormalizeCore(rows, rows, count, dimension);
    }

    public void L2Normalize(ReadOnlySpan<float> source, Span<float> destination, int count, int dimension)
    {
        CheckMatrix(source.Length, count, dimension, nameof(source), nameof(count));
        CheckLength(destination.Length, (long)count * dimension, nameof(destination));
        int len = count * dimension;
        if (source[..len].Overlaps(destination[..len], out int offset) && offset != 0)
            throw new ArgumentException("Source and destination overlap partially.", nameof(destination));
        CheckFinite(source[..len], nameof(source));
        L2NormalizeCore(source, destination, count, dimension);
    }

    public void InnerProducts(ReadOnlySpan<float> a, int m, ReadOnlySpan<float> b, int n, int dimension, Span<float> destination)
    {
        CheckProduct(a, m, b, n, dimension, destination);
        InnerProductsCore(a, m, b, n, dimension, destination);
    }

    public void CosineSimilarities(ReadOnlySpan<float> a, int m, ReadOnlySpan<float> b, int n, int dimension, Span<float> destination)
    {
        CheckProduct(a, m, b, n, dimension, destination);
        CosineSimilaritiesCore(a, m, b, n, dimension, destination);
    }

    public void SquaredL2Distances(ReadOnlySpan<float> a, int m, ReadOnlySpan<float> b, int n, int dimension, Span<float> destination)
    {
        CheckProduct(a, m, b, n, dimension, destination);
        SquaredL2DistancesCore(a, m, b, n, dimension, destination);
    }

    public void TopK(ReadOnlySpan<float> scores, int rows, int columns, int k, TopKOrder order, Span<int> indices, Span<float> values)
    {
        CheckMatrix(scores.Length, rows, columns, nameof(scores), nameof(rows), nameof(columns));
        CheckK(k);
        CheckOrder(order);
        CheckLength(indices.Length, (long)rows * k, nameof(indices));
        CheckLength(values.Length, (long)rows * k, nameof(values));
        if (Numerics.ContainsNaN(scores[..(rows * columns)]))
            throw new ArgumentException("Scores contain NaN, which has no rank.", nameof(scores));
        TopKCore(scores, rows, columns, k, order, indices, values);
    }

    public VectorDatabase CreateDatabase(ReadOnlySpan<float> vectors, int count, int dimension, VectorStorage storage = VectorStorage.Float32)
    {
        CheckMatrix(vectors.Length, count, dimension, nameof(vectors), nameof(count));
        if (storage is not (VectorStorage.Float32 or VectorStorage.Float16 or VectorStorage.Int8))
            throw new ArgumentOutOfRangeException(nameof(storage), storage, "Unknown storage.");
        CheckFinite(vectors[..(count * dimension)], nameof(vectors));
        return CreateDatabaseCore(vectors, count, dimension, storage);
    }

    public void Search(VectorDatabase database, ReadOnlySpan<float> queries, int queryCount, int k, Metric metric, Span<int> indices, Span<float> scores, RowFilter? filter = null, int rescoreFactor = 0)
    {
        ArgumentNullException.ThrowIfNull(database);
        ObjectDisposedException.ThrowIf(database.IsDisposed, database);
        if (!ReferenceEquals(database.Owner, this))
            throw new ArgumentException($"The database was created by backend '{database.Owner.Name}', not '{Name}'.", nameof(database));
        CheckMatrix(queries.Length, queryCount, database.Dimension, nameof(queries), nameof(queryCount));
        CheckK(k);
        if (metric is not (Metric.InnerProduct or Metric.Cosine or Metric.L2))
            throw new ArgumentOutOfRangeException(nameof(metric), metric, "Unknown metric.");
        CheckLength(indices.Length, (long)queryCount * k, nameof(indices));
        CheckLength(scores.Length, (long)queryCount * k, nameof(scores));
        if (filter is not null && filter.RowCount != database.Count)
            throw new ArgumentException($"The filter covers {filter.RowCount} rows but the database has {database.Count}.", nameof(filter));
        ArgumentOutOfRangeException.ThrowIfNegative(rescoreFactor);
        CheckFinite(queries[..(queryCount * database.Dimension)], nameof(queries));
        SearchCore(database, queries, queryCount, k, metric, indices, scores, filter, rescoreFactor);
    }

    public CodeDatabase CreateCodeDatabase(ReadOnlySpan<byte> codes, int count, int subQuantizers, int bits, ReadOnlySpan<int> listOffsets, ReadOnlySpan<float> listTables)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(subQuantizers);
        if (bits is < 1 or > 8) throw new ArgumentOutOfRangeException(nameof(bits), bits, "Bits per code must be in [1, 8].");
        CheckMatrix(codes.Length, count, subQuantizers, nameof(codes), nameof(count), nameof(subQuantizers));
        if (listOffsets.Length < 1)
            throw new ArgumentException("Needs ListCount + 1 offsets (at least one).", nameof(listOffsets));
        int listCount = listOffsets.Length - 1;
        if (listOffsets[0] != 0) throw new ArgumentException($"The first offset must be 0, got {listOffsets[0]}.", nameof(listOffsets));
        if (listOffsets[listCount] != count)
            throw new ArgumentException($"The last offset must equal count ({count}), got {listOffsets[listCount]}.", nameof(listOffsets));
        for (int l = 0; l < listCount; l++)
        {
            if (listOffsets[l + 1] < listOffsets[l])
                throw new ArgumentException($"Offsets must not decrease: offset {l + 1} ({listOffsets[l + 1]}) < offset {l} ({listOffsets[l]}).", nameof(listOffsets));
        }
        int codebook = 1 << bits;
        long tableLength = (long)listCount * subQuantizers * codebook;
        if (listTables.Length != 0)
        {
            CheckLength(listTables.Length, tableLength, nameof(listTables));
            CheckFinite(listTables[..(int)tableLength], nameof(listTables));
        }
        int codeCount = count * subQuantizers;
        if (bits < 8)
        {
            byte max = (byte)(codebook - 1);
            int bad = codes[..codeCount].IndexOfAnyExceptInRange((byte)0, max);
            if (bad >= 0)
                throw new ArgumentException($"Code {codes[bad]} at row {bad / subQuantizers}, sub-quantiser {bad % subQuantizers} is not below 2^{bits}.", nameof(codes));
        }
        return CreateCodeDatabaseCore(codes[..codeCount], count, subQuantizers, bits, listOffsets, listTables.Length == 0 ? default : listTables[..(int)tableLength]);
    }

    public void ScanCodes(CodeDatabase database, ReadOnlySpan<float> queryTables, float queryTableScale, ReadOnlySpan<int> probes, ReadOnlySpan<float> biases,
        int queryCount, int nprobe, int k, Span<int> rows, Span<float> scores, RowFilter? filter = null)
    {
        ArgumentNullException.ThrowIfNull(database);
        ObjectDisposedException.ThrowIf(database.IsDisposed, database);
        if (!ReferenceEquals(database.Owner, this))
            throw new ArgumentException($"The code database was created by backend '{database.Owner.Name}', not '{Name}'.", nameof(database));
        ArgumentOutOfRangeException.ThrowIfNegative(queryCount);
        ArgumentOutOfRangeException.ThrowIfNegative(nprobe);
        CheckK(k);
        long tableLength = (long)database.SubQuantizers * database.Codebook;
        CheckLength(queryTables.Length, queryCount * tableLength, nameof(queryTables));
        if (!float.IsFinite(queryTableScale))
            throw new ArgumentOutOfRangeException(nameof(queryTableScale), queryTableScale, "The scale must be finite.");
        long pairs = (long)queryCount * nprobe;
        CheckLength(probes.Length, pairs, nameof(probes));
        CheckLength(biases.Length, pairs, nameof(biases));
        CheckLength(rows.Length, (long)queryCount * k, nameof(rows));
        CheckLength(scores.Length, (long)queryCount * k, nameof(scores));
        if (filter is not null && filter.RowCount != database.Count)
            throw new ArgumentException($"The filter covers {filter.RowCount} rows but the code database has {database.Count}.", nameof(filter));
        CheckProbes(probes[..(int)pairs], nprobe, database.ListCount);
        CheckFinite(queryTables[..(int)(queryCount * tableLength)], nameof(queryTables));
        CheckFinite(biases[..(int)pairs], nameof(biases));
        ScanCodesCore(database, queryTables, queryTableScale, probes, biases, queryCount, nprobe, k, rows, scores, filter);
    }

    public virtual void Dispose() { }

    protected abstract void MeanPoolCore(ReadOnlySpan<float> tokens, ReadOnlySpan<long> mask, int batch, int sequenceLength, int dimension, Span<float> destination);

    protected abstract void MaxPoolCore(ReadOnlySpan<float> tokens, ReadOnlySpan<long> mask, int batch, int sequenceLength, int dimension, Span<float> destination);

    /// <summary><paramref name="source"/> and <paramref name="destination"/> may be the same memory.</summary>
    protected abstract void L2NormalizeCore(ReadOnlySpan<float> source, Span<float> destination, int count, int dimension);

    protected abstract void InnerProductsCore(ReadOnlySpan<float> a, int m, ReadOnlySpan<float> b, int n, int dimension, Span<float> destination);

    protected abstract void CosineSimilaritiesCore(ReadOnlySpan<float> a, int m, ReadOnlySpan<float> b, int n, int dimension, Span<float> destination);

    protected abstract void SquaredL2DistancesCore(ReadOnlySpan<float> a, int m, ReadOnlySpan<float> b, int n, int dimension, Span<float> destination);

    protected abstract void TopKCore(ReadOnlySpan<float> scores, int rows, int columns, int k, TopKOrder order, Span<int> indices, Span<float> values);

    protected abstract VectorDatabase CreateDatabaseCore(ReadOnlySpan<float> vectors, int count, int dimension);

    protected abstract void SearchCore(VectorDatabase database, ReadOnlySpan<float> queries, int queryCount, int k, Metric metric, Span<int> indices, Span<float> scores, RowFilter? filter);

    /// <summary>Creates a code database from validated arguments: <paramref name="codes"/> is exactly count x M,
    /// <paramref name="listTables"/> empty or exactly ListCount x M x 2^bits.</summary>
    protected abstract CodeDatabase CreateCodeDatabaseCore(ReadOnlySpan<byte> codes, int count, int subQuantizers, int bits, ReadOnlySpan<int> listOffsets, ReadOnlySpan<float> listTables);

    /// <summary>Scans a code database of this backend with validated arguments (probes in range and distinct per query).</summary>
    protected abstract void ScanCodesCore(CodeDatabase database, ReadOnlySpan<float> queryTables, float queryTableScale, ReadOnlySpan<int> probes, ReadOnlySpan<float> biases,
        int queryCount, int nprobe, int k, Span<int> rows, Span<float> scores, RowFilter? filter);

    /// <summary>Creates a database with the requested <paramref name="storage"/>. The default ignores it and stores exact
    /// float32 rows (backends may store at higher precision than requested); the database reports what it uses.</summary>
    protected virtual VectorDatabase CreateDatabaseCore(ReadOnlySpan<float> vectors, int count, int dimension, VectorStorage storage) =>
        CreateDatabaseCore(vectors, count, dimension);

    /// <summary>Search with a re-scoring factor (0 = backend default) for compressed storage. The default runs the exact
    /// search, which needs no re-scoring.</summary>
    protected virtual void SearchCore(VectorDatabase database, ReadOnlySpan<float> queries, int queryCount, int k, Metric metric, Span<int> indices, Span<float> scores, RowFilter? filter, int rescoreFactor) =>
        SearchCore(database, queries, queryCount, k, metric, indices, scores, filter);

    private void CheckPool(ReadOnlySpan<float> tokenEmbeddings, ReadOnlySpan<long> attentionMask, int batch, int sequenceLength, int dimension, Span<float> destination)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(batch);
        ArgumentOutOfRangeException.ThrowIfNegative(sequenceLength);
        ArgumentOutOfRangeException.ThrowIfNegative(dimension);
        CheckLength(tokenEmbeddings.Length, (long)batch * sequenceLength * dimension, nameof(tokenEmbeddings));
        CheckLength(attentionMask.Length, (long)batch * sequenceLength, nameof(attentionMask));
        CheckLength(destination.Length, (long)batch * dimension, nameof(destination));
        CheckFinite(tokenEmbeddings[..(batch * sequenceLength * dimension)], nameof(tokenEmbeddings));
    }

    /// <summary>Every probe in [-1, listCount), and no list twice within one query's probes.</summary>
    private static void CheckProbes(ReadOnlySpan<int> probes, int nprobe, int listCount)
    {
        if (probes.Length == 0) return;
        int[]? stamps = nprobe > 1 ? ArrayPool<int>.Shared.Rent(listCount) : null; // stamps[l] = 1 + last query that probed l
        try
        {
            stamps?.AsSpan(0, listCount).Clear();
            for (int i = 0; i < probes.Length; i++)
            {
                int l = probes[i];
                if (l < -1 || l >= listCount)
                    throw new ArgumentOutOfRangeException(nameof(probes), l, $"Probe {i % nprobe} of query {i / nprobe} must be -1 or a list id in [0, {listCount}).");
                if (l < 0 || stamps is null) continue;
                int query = i / nprobe + 1;
                if (stamps[l] == query)
                    throw new ArgumentException($"Query {query - 1} probes list {l} twice; each list may be probed at most once per query.", nameof(probes));
                stamps[l] = query;
            }
        }
        finally
        {
            if (stamps is not null) ArrayPool<int>.Shared.Return(stamps);
        }
    }

    private static void CheckProduct(ReadOnlySpan<float> a, int m, ReadOnlySpan<float> b, int n, int dimension, Span<float> destination)
    {
        CheckMatrix(a.Length, m, dimension, nameof(a), nameof(m));
        CheckMatrix(b.Length, n, dimension, nameof(b), nameof(n));
        CheckLength(destination.Length, (long)m * n, nameof(destination));
        CheckFinite(a[..(m * dimension)], nameof(a));
        CheckFinite(b[..(n * dimension)], nameof(b));
    }

    private void CheckK(int k)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(k);
        if (k > MaxK) throw new ArgumentOutOfRangeException(nameof(k), k, $"Backend '{Name}' supports k up to {MaxK}.");
    }

    private static void CheckOrder(TopKOrder order)
    {
        if (order is not (TopKOrder.Largest or TopKOrder.Smallest))
            throw new ArgumentOutOfRangeException(nameof(order), order, "Unknown order.");
    }

    private static void CheckMatrix(int length, int rows, int columns, string spanName, string rowsName, string columnsName = "dimension")
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows, rowsName);
        ArgumentOutOfRangeException.ThrowIfNegative(columns, columnsName);
        long need = (long)rows * columns;
        if (need > int.MaxValue)
            throw new ArgumentOutOfRangeException(rowsName, rows, $"{rows} x {columns} elements exceed the largest span.");
        CheckLength(length, need, spanName);
    }

    private static void CheckLength(int length, long need, string name)
    {
        if (need > int.MaxValue) throw new ArgumentOutOfRangeException(name, $"{need} elements exceed the largest span.");
        if (length < need) throw new ArgumentException($"Span is too short: {length} elements, {need} needed.", name);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void CheckFinite(ReadOnlySpan<float> values, string name)
    {
        if (Numerics.ContainsNonFinite(values))
            throw new ArgumentException("Values contain NaN or infinity, which would poison the results.", name);
    }
}

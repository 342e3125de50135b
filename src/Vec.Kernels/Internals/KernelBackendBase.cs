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

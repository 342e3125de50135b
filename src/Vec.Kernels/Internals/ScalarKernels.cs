namespace Vec.Kernels.Internals;

/// <summary>
/// The reference backend: plain loops, accumulation in double, top-k by a full sort. Every other backend is tested
/// against it. Slow by design; never used on a hot path.
/// </summary>
internal sealed class ScalarKernels : KernelBackendBase
{
    public const string BackendName = "scalar";

    public override string Name => BackendName;

    public override string Description => "Scalar reference (double accumulation, full sort)";

    protected override void MeanPoolCore(ReadOnlySpan<float> tokens, ReadOnlySpan<long> mask, int batch, int sequenceLength, int dimension, Span<float> destination)
    {
        var sum = new double[dimension];
        for (int b = 0; b < batch; b++)
        {
            Array.Clear(sum);
            int count = 0;
            for (int t = 0; t < sequenceLength; t++)
            {
                if (mask[b * sequenceLength + t] == 0) continue;
                count++;
                var row = tokens.Slice((b * sequenceLength + t) * dimension, dimension);
                for (int j = 0; j < dimension; j++) sum[j] += row[j];
            }
            var dst = destination.Slice(b * dimension, dimension);
            for (int j = 0; j < dimension; j++) dst[j] = count == 0 ? 0f : (float)(sum[j] / count);
        }
    }

    protected override void MaxPoolCore(ReadOnlySpan<float> tokens, ReadOnlySpan<long> mask, int batch, int sequenceLength, int dimension, Span<float> destination)
    {
        for (int b = 0; b < batch; b++)
        {
            var dst = destination.Slice(b * dimension, dimension);
            bool any = false;
            for (int t = 0; t < sequenceLength; t++)
            {
                if (mask[b * sequenceLength + t] == 0) continue;
                var row = tokens.Slice((b * sequenceLength + t) * dimension, dimension);
                for (int j = 0; j < dimension; j++) dst[j] = any ? Math.Max(dst[j], row[j]) : row[j];
                any = true;
            }
            if (!any) dst.Clear();
        }
    }

    protected override void L2NormalizeCore(ReadOnlySpan<float> source, Span<float> destination, int count, int dimension)
    {
        for (int i = 0; i < count; i++)
        {
            var src = source.Slice(i * dimension, dimension);
            var dst = destination.Slice(i * dimension, dimension);
            double norm = Math.Sqrt(SumSquares(src));
            for (int j = 0; j < dimension; j++) dst[j] = norm == 0 ? 0f : (float)(src[j] / norm);
        }
    }

    protected override void InnerProductsCore(ReadOnlySpan<float> a, int m, ReadOnlySpan<float> b, int n, int dimension, Span<float> destination)
    {
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
                destination[i * n + j] = (float)Dot(a.Slice(i * dimension, dimension), b.Slice(j * dimension, dimension));
    }

    protected override void CosineSimilaritiesCore(ReadOnlySpan<float> a, int m, ReadOnlySpan<float> b, int n, int dimension, Span<float> destination)
    {
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
                destination[i * n + j] = (float)Cosine(a.Slice(i * dimension, dimension), b.Slice(j * dimension, dimension));
    }

    protected override void SquaredL2DistancesCore(ReadOnlySpan<float> a, int m, ReadOnlySpan<float> b, int n, int dimension, Span<float> destination)
    {
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
                destination[i * n + j] = (float)SquaredDistance(a.Slice(i * dimension, dimension), b.Slice(j * dimension, dimension));
    }

    protected override void TopKCore(ReadOnlySpan<float> scores, int rows, int columns, int k, TopKOrder order, Span<int> indices, Span<float> values)
    {
        var order1 = new int[columns];
        var keys = new float[columns];
        for (int r = 0; r < rows; r++)
        {
            scores.Slice(r * columns, columns).CopyTo(keys);
            for (int c = 0; c < columns; c++) order1[c] = c;
            SelectBest(keys, order1, columns, k, order, indices.Slice(r * k, k), values.Slice(r * k, k));
        }
    }

    protected override VectorDatabase CreateDatabaseCore(ReadOnlySpan<float> vectors, int count, int dimension) =>
        new ScalarDatabase(this, vectors[..(count * dimension)].ToArray(), count, dimension);

    protected override void SearchCore(VectorDatabase database, ReadOnlySpan<float> queries, int queryCount, int k, Metric metric, Span<int> indices, Span<float> scores, RowFilter? filter)
    {
        var db = (ScalarDatabase)database;
        int n = db.Count, d = db.Dimension;
        var keys = new float[n];
        var ids = new int[n];
        for (int q = 0; q < queryCount; q++)
        {
            var query = queries.Slice(q * d, d);
            int c = 0;
            for (int j = 0; j < n; j++)
            {
                if (filter is not null && !filter.IsAllowed(j)) continue;
                var row = db.Vectors.AsSpan(j * d, d);
                keys[c] = (float)(metric switch
                {
                    Metric.InnerProduct => Dot(query, row),
                    Metric.Cosine => Cosine(query, row),
                    _ => SquaredDistance(query, row),
                });
                ids[c++] = j;
            }
            SelectBest(keys, ids, c, k, metric.Order(), indices.Slice(q * k, k), scores.Slice(q * k, k));
        }
    }

    protected override CodeDatabase CreateCodeDatabaseCore(ReadOnlySpan<byte> codes, int count, int subQuantizers, int bits, ReadOnlySpan<int> listOffsets, ReadOnlySpan<float> listTables) =>
        new HostCodeDatabase(this, codes, count, subQuantizers, bits, listOffsets, listTables);

    protected override void ScanCodesCore(CodeDatabase database, ReadOnlySpan<float> queryTables, float queryTableScale, ReadOnlySpan<int> probes, ReadOnlySpan<float> biases,
        int queryCount, int nprobe, int k, Span<int> rows, Span<float> scores, RowFilter? filter)
    {
        var db = (HostCodeDatabase)database;
        int table = db.SubQuantizers * db.Codebook;
        var sink = new ListSink { Keys = new List<float>(), Ids = new List<int>() };
        for (int q = 0; q < queryCount; q++)
        {
            sink.Keys.Clear();
            sink.Ids.Clear();
            CodeScan.ScoreQuery(db, queryTables.Slice(q * table, table), queryTableScale, probes.Slice(q * nprobe, nprobe), biases.Slice(q * nprobe, nprobe),
                filter is null ? default : filter.Bits, filter is not null, ref sink);
            SelectBest([.. sink.Keys], [.. sink.Ids], sink.Keys.Count, k, TopKOrder.Smallest, rows.Slice(q * k, k), scores.Slice(q * k, k));
        }
    }

    private struct ListSink : CodeScan.ICandidateSink
    {
        public List<float> Keys;
        public List<int> Ids;

        public readonly void Add(float score, int row)
        {
            Keys.Add(score);
            Ids.Add(row);
        }
    }

    /// <summary>Sorts the first <paramref name="count"/> (key, id) pairs best first (ties to the lower id) and writes the first k, padding with -1.</summary>
    private static void SelectBest(float[] keys, int[] ids, int count, int k, TopKOrder order, Span<int> outIds, Span<float> outValues)
    {
        var pairs = new (float Key, int Id)[count];
        for (int i = 0; i < count; i++) pairs[i] = (keys[i], ids[i]);
        bool largest = order == TopKOrder.Largest;
        Array.Sort(pairs, (x, y) =>
        {
            int c = largest ? y.Key.CompareTo(x.Key) : x.Key.CompareTo(y.Key);
            return c != 0 ? c : x.Id.CompareTo(y.Id);
        });
        for (int i = 0; i < k; i++)
        {
            if (i < count) { outIds[i] = pairs[i].Id; outValues[i] = pairs[i].Key; }
            else { outIds[i] = -1; outValues[i] = order.MissingScore(); }
        }
    }

    private static double Dot(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        double s = 0;
        for (int i = 0; i < x.Length; i++) s += (double)x[i] * y[i];
        return s;
    }

    private static double SumSquares(ReadOnlySpan<float> x) => Dot(x, x);

    private static double Cosine(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        double nx = SumSquares(x), ny = SumSquares(y);
        if (nx == 0 || ny == 0) return 0;
        return Math.Clamp(Dot(x, y) / Math.Sqrt(nx * ny), -1.0, 1.0);
    }

    private static double SquaredDistance(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        double s = 0;
        for (int i = 0; i < x.Length; i++)
        {
            double t = (double)x[i] - y[i];
            s += t * t;
        }
        return s;
    }

    private sealed class ScalarDatabase(ScalarKernels owner, float[] vectors, int count, int dimension)
        : VectorDatabase(owner, count, dimension)
    {
        public float[] Vectors { get; } = vectors;
    }
}

using Vec.Index.Internals;
using Vec.Kernels;

namespace Vec.Index;

/// <summary>
/// Product quantiser: splits a vector into <see cref="SubQuantizers"/> sub-vectors of <see cref="SubDimension"/>
/// values and codes each by the nearest of 2^<see cref="Bits"/> centroids learned by k-means (one byte per code).
/// </summary>
public sealed unsafe class ProductQuantizer
{
    /// <summary>Vectors per parallel work item of <see cref="Encode(ReadOnlySpan{float}, int, Span{byte}, int)"/> and <see cref="Decode"/>.</summary>
    private const int ChunkRows = 256;

    private float[] _centroids = [];
    private float[] _transposed = [];
    private float[] _norms = [];

    /// <summary>Creates an untrained quantiser.</summary>
    /// <param name="dimension">Vector dimension; a multiple of <paramref name="subQuantizers"/>.</param>
    /// <param name="subQuantizers">Number of sub-quantisers M.</param>
    /// <param name="bits">Bits per code, 1..8 (8 is standard; 4 for fast scan).</param>
    /// <exception cref="ArgumentException">A non-positive dimension or M, bits outside 1..8, or a dimension that is not a
    /// multiple of M (named <paramref name="subQuantizers"/>).</exception>
    public ProductQuantizer(int dimension, int subQuantizers, int bits = 8)
    {
        Validation.Dimension(dimension);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(subQuantizers);
        ArgumentOutOfRangeException.ThrowIfLessThan(bits, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(bits, 8);
        if (dimension % subQuantizers != 0)
            throw new ArgumentException($"Dimension {dimension} is not a multiple of the number of sub-quantizers {subQuantizers}.", nameof(subQuantizers));
        Dimension = dimension;
        SubQuantizers = subQuantizers;
        Bits = bits;
        SubDimension = dimension / subQuantizers;
        CentroidsPerSubQuantizer = 1 << bits;
    }

    /// <summary>Vector dimension.</summary>
    public int Dimension { get; }

    /// <summary>Number of sub-quantisers M.</summary>
    public int SubQuantizers { get; }

    /// <summary>Bits per code.</summary>
    public int Bits { get; }

    /// <summary>Dimension of each sub-vector (<see cref="Dimension"/> / M).</summary>
    public int SubDimension { get; }

    /// <summary>Centroids per sub-quantiser, 2^<see cref="Bits"/>.</summary>
    public int CentroidsPerSubQuantizer { get; }

    /// <summary>Bytes per encoded vector: M (one byte per code).</summary>
    public int CodeSize => SubQuantizers;

    /// <summary>Whether the codebooks are trained.</summary>
    public bool IsTrained { get; private set; }

    /// <summary>Codebooks: M x 2^bits x SubDimension floats, row-major; empty before training.</summary>
    public ReadOnlySpan<float> Centroids => _centroids;

    /// <summary>SIMD width of the nearest-centroid and table routines: 512, 256 or 0 (scalar); for tests.</summary>
    internal int SimdWidth { get; set; } = PqKernels.BestWidth;

    /// <summary>Sum of squared distances of the (sampled) training sub-vectors to their centroids after training,
    /// summed over the sub-quantisers; 0 before training.</summary>
    public double TrainingObjective { get; private set; }

    /// <summary>Set after <see cref="Train"/> when the training set was small (fewer than
    /// <see cref="KMeansOptions.MinPointsPerCentroid"/> points per centroid); otherwise <see langword="null"/>.</summary>
    public string? TrainingWarning { get; private set; }

    /// <summary>Trains the codebooks by k-means on each sub-space.</summary>
    /// <remarks>At most <see cref="KMeansOptions.MaxPointsPerCentroid"/> x 2^bits vectors (a seeded sample) are used. The
    /// assignment step runs the quantiser's own small-dimension SIMD routine, so <paramref name="kernels"/> is not used by
    /// the CPU implementation. Not safe to call concurrently with other members.</remarks>
    /// <param name="vectors">Row-major training vectors.</param>
    /// <param name="count">Number of training vectors, at least 2^bits.</param>
    /// <param name="options">k-means settings; <see langword="null"/> for the defaults.</param>
    /// <param name="kernels">Kernel backend (unused on the CPU path; accepted for symmetry with <see cref="KMeans"/>).</param>
    public void Train(ReadOnlySpan<float> vectors, int count, KMeansOptions? options = null, IVectorKernels? kernels = null)
    {
        _ = kernels;
        options ??= new KMeansOptions();
        KMeans.CheckOptions(options);
        Validation.Matrix(vectors, count, Dimension, nameof(vectors), nameof(count));
        int ksub = CentroidsPerSubQuantizer;
        if (count < ksub)
            throw new ArgumentException($"Training {ksub} centroids per sub-quantizer needs at least {ksub} vectors, got {count}.", nameof(count));
        int n = (int)Math.Min(count, (long)options.MaxPointsPerCentroid * ksub);
        float[]? sample = n < count ? KMeansCore.Gather(vectors, Dimension, KMeansCore.SampleIndices(count, n, new Random(options.Seed))) : null;
        fixed (float* pv = vectors, ps = sample)
            TrainCore(sample is null ? pv : ps, n, options, hotStart: false);
        TrainingWarning = KMeans.WarningFor(count, ksub, options);
    }

    /// <summary>
    /// Trains on <paramref name="n"/> rows (already sampled). With <paramref name="hotStart"/> the current codebooks are
    /// the initial centroids (OPQ's later iterations).
    /// </summary>
    internal void TrainCore(float* data, int n, KMeansOptions options, bool hotStart)
    {
        int M = SubQuantizers, dsub = SubDimension, ksub = CentroidsPerSubQuantizer, d = Dimension;
        var centroids = new float[M * ksub * dsub];
        var objectives = new double[M];
        float[] previous = _centroids;
        int threads = options.MaxThreads;
        // Enough sub-quantisers to keep every thread busy: one serial k-means per sub-quantiser, in parallel; otherwise
        // the sub-quantisers one after another, each k-means using the threads.
        bool outerParallel = threads > 1 && M >= threads;
        nint addr = (nint)data;
        int width = SimdWidth;
        void One(int m)
        {
            var sub = GC.AllocateUninitializedArray<float>(n * dsub);
            float* src = (float*)addr + m * dsub;
            for (int i = 0; i < n; i++)
                new ReadOnlySpan<float>(src + (long)i * d, dsub).CopyTo(sub.AsSpan(i * dsub, dsub));
            float[]? initial = hotStart ? previous.AsSpan(m * ksub * dsub, ksub * dsub).ToArray() : null;
            var subOptions = options with { Seed = unchecked(options.Seed + 7919 * m) };
            KMeansRun run;
            fixed (float* ps = sub)
                run = KMeansCore.Run(ps, n, dsub, ksub, subOptions, new Assigner(width, outerParallel ? 1 : threads), outerParallel ? 1 : threads, initial);
            run.Centroids.CopyTo(centroids, m * ksub * dsub);
            objectives[m] = run.Objective;
        }
        if (outerParallel) Parallel.For(0, M, new ParallelOptions { MaxDegreeOfParallelism = threads }, One);
        else for (int m = 0; m < M; m++) One(m);
        SetCentroids(centroids);
        TrainingObjective = objectives.Sum();
    }

    private void SetCentroids(float[] centroids)
    {
        int M = SubQuantizers, dsub = SubDimension, ksub = CentroidsPerSubQuantizer, kpad = PqKernels.Padded(ksub);
        var transposed = new float[M * dsub * kpad];
        var norms = new float[M * kpad];
        for (int m = 0; m < M; m++)
            PqKernels.Transpose(centroids.AsSpan(m * ksub * dsub, ksub * dsub), ksub, dsub,
                transposed.AsSpan(m * dsub * kpad, dsub * kpad), norms.AsSpan(m * kpad, kpad));
        _centroids = centroids;
        _transposed = transposed;
        _norms = norms;
        IsTrained = true;
    }

    /// <summary>Encodes vectors into <c>count x CodeSize</c> bytes.</summary>
    /// <param name="vectors">Row-major vectors, exactly <paramref name="count"/> x <see cref="Dimension"/> finite values.</param>
    /// <param name="count">Number of vectors.</param>
    /// <param name="codes">Receives the codes; at least <paramref name="count"/> x <see cref="CodeSize"/> bytes.</param>
    public void Encode(ReadOnlySpan<float> vectors, int count, Span<byte> codes) => Encode(vectors, count, codes, Environment.ProcessorCount);

    /// <summary>Encodes vectors into <c>count x CodeSize</c> bytes on at most <paramref name="maxThreads"/> threads.</summary>
    /// <param name="vectors">Row-major vectors, exactly <paramref name="count"/> x <see cref="Dimension"/> finite values.</param>
    /// <param name="count">Number of vectors.</param>
    /// <param name="codes">Receives the codes; at least <paramref name="count"/> x <see cref="CodeSize"/> bytes.</param>
    /// <param name="maxThreads">Most threads to use (at least 1); the codes do not depend on it.</param>
    public void Encode(ReadOnlySpan<float> vectors, int count, Span<byte> codes, int maxThreads)
    {
        EnsureTrained();
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxThreads);
        Validation.Matrix(vectors, count, Dimension, nameof(vectors), nameof(count));
        long needed = (long)count * CodeSize;
        if (codes.Length < needed) throw new ArgumentException($"Needs room for {count} x {CodeSize} = {needed} code bytes, has {codes.Length}.", nameof(codes));
        if (count == 0) return;
        int M = SubQuantizers, dsub = SubDimension, d = Dimension, kpad = PqKernels.Padded(CentroidsPerSubQuantizer), width = SimdWidth;
        float[] transposed = _transposed, norms = _norms;
        fixed (float* pv = vectors)
        fixed (byte* pc = codes)
        {
            nint av = (nint)pv, ac = (nint)pc;
            void Chunk(int b)
            {
                int start = b * ChunkRows, rows = Math.Min(ChunkRows, count - start);
                int* labels = stackalloc int[ChunkRows];
                float* x = (float*)av + (long)start * d;
                byte* outCodes = (byte*)ac + (long)start * M;
                fixed (float* pt = transposed, pn = norms)
                {
                    for (int m = 0; m < M; m++)
                    {
                        PqKernels.Nearest(x + m * dsub, rows, d, dsub, pt + m * dsub * kpad, pn + m * kpad, kpad, labels, width);
                        for (int i = 0; i < rows; i++) outCodes[(long)i * M + m] = (byte)labels[i];
                    }
                }
            }
            int chunks = (count + ChunkRows - 1) / ChunkRows;
            if (chunks == 1 || maxThreads == 1) for (int b = 0; b < chunks; b++) Chunk(b);
            else Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = maxThreads }, Chunk);
        }
    }

    /// <summary>Reconstructs vectors from codes.</summary>
    /// <param name="codes">Exactly <paramref name="count"/> x <see cref="CodeSize"/> codes, each below 2^bits.</param>
    /// <param name="count">Number of vectors.</param>
    /// <param name="vectors">Receives at least <paramref name="count"/> x <see cref="Dimension"/> floats.</param>
    public void Decode(ReadOnlySpan<byte> codes, int count, Span<float> vectors)
    {
        EnsureTrained();
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        long expected = (long)count * CodeSize;
        if (codes.Length != expected) throw new ArgumentException($"Expected {count} x {CodeSize} = {expected} code bytes, got {codes.Length}.", nameof(codes));
        long needed = (long)count * Dimension;
        if (vectors.Length < needed) throw new ArgumentException($"Needs room for {count} x {Dimension} = {needed} floats, has {vectors.Length}.", nameof(vectors));
        int ksub = CentroidsPerSubQuantizer;
        if (ksub < 256)
        {
            for (int i = 0; i < codes.Length; i++)
                if (codes[i] >= ksub)
                    throw new ArgumentException($"Code {codes[i]} at vector {i / CodeSize}, sub-quantizer {i % CodeSize} is not below 2^{Bits} = {ksub}.", nameof(codes));
        }
        int M = SubQuantizers, dsub = SubDimension, d = Dimension;
        float[] centroids = _centroids;
        fixed (byte* pc = codes)
        fixed (float* pv = vectors)
        {
            nint ac = (nint)pc, av = (nint)pv;
            void Chunk(int b)
            {
                int start = b * ChunkRows, end = Math.Min(count, start + ChunkRows);
                for (int i = start; i < end; i++)
                {
                    byte* code = (byte*)ac + (long)i * M;
                    var row = new Span<float>((float*)av + (long)i * d, d);
                    for (int m = 0; m < M; m++)
                        centroids.AsSpan((m * ksub + code[m]) * dsub, dsub).CopyTo(row.Slice(m * dsub, dsub));
                }
            }
            int chunks = (count + ChunkRows - 1) / ChunkRows;
            if (chunks <= 1) { if (count > 0) Chunk(0); }
            else Parallel.For(0, chunks, Chunk);
        }
    }

    /// <summary>Table of M x 2^bits squared L2 distances between the query's sub-vectors and every centroid.</summary>
    /// <param name="query">One query of exactly <see cref="Dimension"/> finite values.</param>
    /// <param name="table">Receives at least M x 2^bits floats: entry <c>m * 2^bits + c</c> is the distance of sub-vector m to centroid c.</param>
    public void ComputeDistanceTable(ReadOnlySpan<float> query, Span<float> table) => ComputeTable(query, table, innerProduct: false);

    /// <summary>Table of M x 2^bits inner products between the query's sub-vectors and every centroid.</summary>
    /// <param name="query">One query of exactly <see cref="Dimension"/> finite values.</param>
    /// <param name="table">Receives at least M x 2^bits floats: entry <c>m * 2^bits + c</c> is the inner product of sub-vector m with centroid c.</param>
    public void ComputeInnerProductTable(ReadOnlySpan<float> query, Span<float> table) => ComputeTable(query, table, innerProduct: true);

    private void ComputeTable(ReadOnlySpan<float> query, Span<float> table, bool innerProduct)
    {
        EnsureTrained();
        Validation.Matrix(query, 1, Dimension, nameof(query), "count");
        long needed = (long)SubQuantizers * CentroidsPerSubQuantizer;
        if (table.Length < needed) throw new ArgumentException($"Needs room for {SubQuantizers} x {CentroidsPerSubQuantizer} = {needed} table entries, has {table.Length}.", nameof(table));
        ComputeTableUnchecked(query, table, innerProduct);
    }

    /// <summary>
    /// The table computation without argument checks, for callers on a query hot path that validated the query once
    /// (a trained quantiser, a finite query of <see cref="Dimension"/> values, a table of at least M x 2^bits floats).
    /// </summary>
    internal void ComputeTableUnchecked(ReadOnlySpan<float> query, Span<float> table, bool innerProduct)
    {
        int M = SubQuantizers, dsub = SubDimension, ksub = CentroidsPerSubQuantizer, kpad = PqKernels.Padded(ksub);
        float* scratch = stackalloc float[kpad];
        fixed (float* pq = query, pt = _transposed)
        {
            for (int m = 0; m < M; m++)
            {
                PqKernels.Table(pq + m * dsub, dsub, pt + m * dsub * kpad, kpad, scratch, innerProduct, SimdWidth);
                new ReadOnlySpan<float>(scratch, ksub).CopyTo(table.Slice(m * ksub, ksub));
            }
        }
    }

    /// <summary>Rebuilds a trained quantiser from its codebooks (for loading).</summary>
    /// <exception cref="InvalidDataException">The shape is invalid, the codebook length does not match it or a value is not finite.</exception>
    internal static ProductQuantizer FromCentroids(int dimension, int subQuantizers, int bits, float[] centroids)
    {
        ArgumentNullException.ThrowIfNull(centroids);
        ProductQuantizer pq;
        try { pq = new ProductQuantizer(dimension, subQuantizers, bits); }
        catch (ArgumentException e) { throw new InvalidDataException($"Invalid product quantizer shape: {e.Message}", e); }
        long expected = (long)subQuantizers * pq.CentroidsPerSubQuantizer * pq.SubDimension;
        if (centroids.Length != expected)
            throw new InvalidDataException($"Product quantizer codebooks hold {centroids.Length} floats; {subQuantizers} x {pq.CentroidsPerSubQuantizer} x {pq.SubDimension} = {expected} expected.");
        for (int i = 0; i < centroids.Length; i++)
            if (!float.IsFinite(centroids[i]))
                throw new InvalidDataException($"Product quantizer codebook value {i} is not finite ({centroids[i]}).");
        pq.SetCentroids((float[])centroids.Clone());
        return pq;
    }

    private void EnsureTrained()
    {
        if (!IsTrained) throw new InvalidOperationException("The product quantizer is not trained; call Train first.");
    }

    /// <summary>The k-means assignment step by <see cref="PqKernels.Nearest"/>.</summary>
    private sealed class Assigner(int width, int threads) : IKMeansAssigner
    {
        private float[] _transposed = [];
        private float[] _norms = [];

        public void Assign(float* data, int n, int d, float[] centroids, int k, int[] labels)
        {
            int kpad = PqKernels.Padded(k);
            if (_transposed.Length != d * kpad) { _transposed = new float[d * kpad]; _norms = new float[kpad]; }
            PqKernels.Transpose(centroids, k, d, _transposed, _norms);
            fixed (float* pt = _transposed, pn = _norms)
            fixed (int* pl = labels)
            {
                if (threads == 1 || n < 4 * ChunkRows)
                {
                    PqKernels.Nearest(data, n, d, d, pt, pn, kpad, pl, width);
                    return;
                }
                nint ad = (nint)data, at = (nint)pt, an = (nint)pn, al = (nint)pl;
                int chunk = 4 * ChunkRows;
                Parallel.For(0, (n + chunk - 1) / chunk, new ParallelOptions { MaxDegreeOfParallelism = threads }, b =>
                {
                    int start = b * chunk, rows = Math.Min(chunk, n - start);
                    PqKernels.Nearest((float*)ad + (long)start * d, rows, d, d, (float*)at, (float*)an, kpad, (int*)al + start, width);
                });
            }
        }
    }
}

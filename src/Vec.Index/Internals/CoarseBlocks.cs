using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Vec.Index.Internals;

/// <summary>
/// The coarse search of an IVF index with a small quantiser (<see cref="MaxFloats"/> floats of centroids at most, such
/// as SIFT10K's 64 x 128): per query, the inner products with all centroids as a matrix-vector product over centroids
/// stored 8 to a block, dimension-major (one broadcast of a query coordinate feeds four blocks' fused multiply-adds),
/// then the nprobe best by insertion. The kernels' batched search packs the queries, runs a matrix product with a
/// top-k heap per tile and merges per-thread heaps; for a quantiser this small that overhead is most of its time
/// (64 x 128 on AVX2: about 0.67 us per query in a batch of 100 and 1.45 us for one query, against about 0.25 us here).
/// </summary>
internal sealed class CoarseBlocks
{
    /// <summary>The largest quantiser (lists x dimension floats) served here; larger ones are matrix-product work, which
    /// the kernels' search does better.</summary>
    public const int MaxFloats = 1 << 16;

    private const int Lanes = 8;
    private readonly float[] _blocks;
    private readonly float[] _norms;

    private CoarseBlocks(ReadOnlySpan<float> centroids, int lists, int dimension)
    {
        Lists = lists;
        Dimension = dimension;
        Blocks = (lists + Lanes - 1) / Lanes;
        _blocks = new float[Blocks * dimension * Lanes];
        _norms = new float[Blocks * Lanes];
        for (int c = 0; c < lists; c++)
        {
            ReadOnlySpan<float> row = centroids.Slice(c * dimension, dimension);
            int block = c / Lanes, lane = c % Lanes;
            double norm = 0;
            for (int j = 0; j < dimension; j++)
            {
                _blocks[(block * dimension + j) * Lanes + lane] = row[j];
                norm += (double)row[j] * row[j];
            }
            _norms[c] = (float)norm;
        }
    }

    /// <summary>Centroids (lists).</summary>
    public int Lists { get; }

    /// <summary>Dimensions.</summary>
    public int Dimension { get; }

    /// <summary>Blocks of 8 centroids (the last padded with zeros).</summary>
    public int Blocks { get; }

    /// <summary>Floats held, for memory accounting.</summary>
    public long Floats => _blocks.LongLength + _norms.LongLength;

    /// <summary>Whether this machine runs the blocked search (256-bit vectors with fused multiply-add).</summary>
    public static bool IsSupported => Vector256.IsHardwareAccelerated && Fma.IsSupported;

    /// <summary>The blocked copy of <paramref name="centroids"/> (row-major lists x dimension) where it is supported and
    /// the quantiser is small enough, else null (the caller uses the kernels' search).</summary>
    public static CoarseBlocks? For(ReadOnlySpan<float> centroids, int lists, int dimension) =>
        IsSupported && lists > 0 && dimension > 0 && (long)lists * dimension <= MaxFloats
            ? new CoarseBlocks(centroids, lists, dimension) : null;

    /// <summary>
    /// For each of <paramref name="count"/> queries (row-major, <see cref="Dimension"/> floats each) the
    /// <paramref name="nprobe"/> best lists, best first (ties to the lower list), into <paramref name="probes"/> and their
    /// scores into <paramref name="scores"/>: the squared L2 distance (<paramref name="l2"/>) or the inner product, as
    /// the kernels' search reports them.
    /// </summary>
    [SkipLocalsInit]
    public void Search(ReadOnlySpan<float> queries, int count, int nprobe, bool l2, Span<int> probes, Span<float> scores)
    {
        int d = Dimension;
        if (nprobe < 1 || nprobe > Lists) throw new ArgumentOutOfRangeException(nameof(nprobe), nprobe, $"nprobe must be 1..{Lists}.");
        if (queries.Length < (long)count * d) throw new ArgumentException($"queries holds {queries.Length} floats, {count} x {d} needed.", nameof(queries));
        if (probes.Length < (long)count * nprobe || scores.Length < (long)count * nprobe)
            throw new ArgumentException($"probes and scores must hold {count} x {nprobe} values.", nameof(probes));
        Span<float> dots = stackalloc float[Blocks * Lanes];
        for (int q = 0; q < count; q++)
        {
            ReadOnlySpan<float> query = queries.Slice(q * d, d);
            Products(query, dots);
            float queryNorm = l2 ? System.Numerics.Tensors.TensorPrimitives.SumOfSquares(query) : 0f;
            Select(dots, queryNorm, l2, probes.Slice(q * nprobe, nprobe), scores.Slice(q * nprobe, nprobe));
        }
    }

    /// <summary>The query's inner products with every centroid (padding lanes too): four blocks per pass, so each
    /// broadcast coordinate feeds four accumulators (eight with the odd coordinates apart). No calls in the loops.</summary>
    private void Products(ReadOnlySpan<float> query, Span<float> dots)
    {
        int d = Dimension, blockFloats = d * Lanes;
        ref float q0 = ref MemoryMarshal.GetReference(query);
        ref float t0 = ref MemoryMarshal.GetArrayDataReference(_blocks);
        ref float o0 = ref MemoryMarshal.GetReference(dots);
        int b = 0;
        for (; b + 4 <= Blocks; b += 4)
        {
            ref float t = ref Unsafe.Add(ref t0, b * blockFloats);
            // Eight accumulators (four blocks x even and odd coordinates): enough independent chains to cover the
            // fused multiply-add's latency.
            Vector256<float> a0 = Vector256<float>.Zero, a1 = a0, a2 = a0, a3 = a0, e0 = a0, e1 = a0, e2 = a0, e3 = a0;
            nuint f1 = (nuint)blockFloats, f2 = 2 * f1, f3 = 3 * f1;
            int j = 0;
            for (; j + 2 <= d; j += 2)
            {
                Vector256<float> x = Vector256.Create(Unsafe.Add(ref q0, j)), y = Vector256.Create(Unsafe.Add(ref q0, j + 1));
                nuint at = (nuint)(j * Lanes), next = at + Lanes;
                a0 = Vector256.FusedMultiplyAdd(x, Vector256.LoadUnsafe(ref t, at), a0);
                a1 = Vector256.FusedMultiplyAdd(x, Vector256.LoadUnsafe(ref t, at + f1), a1);
                a2 = Vector256.FusedMultiplyAdd(x, Vector256.LoadUnsafe(ref t, at + f2), a2);
                a3 = Vector256.FusedMultiplyAdd(x, Vector256.LoadUnsafe(ref t, at + f3), a3);
                e0 = Vector256.FusedMultiplyAdd(y, Vector256.LoadUnsafe(ref t, next), e0);
                e1 = Vector256.FusedMultiplyAdd(y, Vector256.LoadUnsafe(ref t, next + f1), e1);
                e2 = Vector256.FusedMultiplyAdd(y, Vector256.LoadUnsafe(ref t, next + f2), e2);
                e3 = Vector256.FusedMultiplyAdd(y, Vector256.LoadUnsafe(ref t, next + f3), e3);
            }
            if (j < d)
            {
                Vector256<float> x = Vector256.Create(Unsafe.Add(ref q0, j));
                nuint at = (nuint)(j * Lanes);
                a0 = Vector256.FusedMultiplyAdd(x, Vector256.LoadUnsafe(ref t, at), a0);
                a1 = Vector256.FusedMultiplyAdd(x, Vector256.LoadUnsafe(ref t, at + f1), a1);
                a2 = Vector256.FusedMultiplyAdd(x, Vector256.LoadUnsafe(ref t, at + f2), a2);
                a3 = Vector256.FusedMultiplyAdd(x, Vector256.LoadUnsafe(ref t, at + f3), a3);
            }
            (a0 + e0).StoreUnsafe(ref o0, (nuint)(b * Lanes));
            (a1 + e1).StoreUnsafe(ref o0, (nuint)((b + 1) * Lanes));
            (a2 + e2).StoreUnsafe(ref o0, (nuint)((b + 2) * Lanes));
            (a3 + e3).StoreUnsafe(ref o0, (nuint)((b + 3) * Lanes));
        }
        for (; b < Blocks; b++)
        {
            ref float t = ref Unsafe.Add(ref t0, b * blockFloats);
            // Two accumulators over alternate coordinates (the chain of one would wait on each addition).
            Vector256<float> a0 = Vector256<float>.Zero, a1 = a0;
            int j = 0;
            for (; j + 2 <= d; j += 2)
            {
                a0 = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref q0, j)), Vector256.LoadUnsafe(ref t, (nuint)(j * Lanes)), a0);
                a1 = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref q0, j + 1)), Vector256.LoadUnsafe(ref t, (nuint)((j + 1) * Lanes)), a1);
            }
            if (j < d) a0 = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref q0, j)), Vector256.LoadUnsafe(ref t, (nuint)(j * Lanes)), a0);
            (a0 + a1).StoreUnsafe(ref o0, (nuint)(b * Lanes));
        }
    }

    /// <summary>The nprobe best of the first <see cref="Lists"/> scores by insertion into a sorted prefix (a later list
    /// enters only when strictly better, so ties keep the lower list first).</summary>
    private void Select(Span<float> dots, float queryNorm, bool l2, Span<int> probes, Span<float> scores)
    {
        int nprobe = probes.Length, held = 0;
        // Keys, smaller is better: the squared distance, or the negated inner product; 8 at a time.
        ref float k0 = ref MemoryMarshal.GetReference(dots);
        ref float n0 = ref MemoryMarshal.GetArrayDataReference(_norms);
        Vector256<float> qn = Vector256.Create(queryNorm), two = Vector256.Create(2f);
        for (int b = 0; b < Blocks; b++)
        {
            nuint at = (nuint)(b * Lanes);
            Vector256<float> dot = Vector256.LoadUnsafe(ref k0, at);
            Vector256<float> key = l2 ? Vector256.Max(Vector256<float>.Zero, qn + Vector256.LoadUnsafe(ref n0, at) - two * dot) : -dot;
            key.StoreUnsafe(ref k0, at);
        }
        float worst = float.PositiveInfinity;
        for (int c = 0; c < Lists; c++)
        {
            float key = Unsafe.Add(ref k0, c);
            if (held == nprobe && !(key < worst)) continue;
            int i = held < nprobe ? held++ : nprobe - 1;
            while (i > 0 && key < scores[i - 1])
            {
                scores[i] = scores[i - 1];
                probes[i] = probes[i - 1];
                i--;
            }
            scores[i] = key;
            probes[i] = c;
            if (held == nprobe) worst = scores[nprobe - 1];
        }
        if (!l2)
            for (int i = 0; i < nprobe; i++) scores[i] = -scores[i];
    }
}

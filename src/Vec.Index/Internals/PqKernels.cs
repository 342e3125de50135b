using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Vec.Index.Internals;

/// <summary>
/// Small-dimension kernels of the product quantiser. The centroids of one sub-quantiser are stored transposed,
/// <c>dsub x kpad</c> (kpad = ksub rounded up to 16, padding centroids have norm +infinity), so SIMD lanes run over
/// 16 (Vector512) or 8 (Vector256) centroids. Every path computes the same float operations in the same order
/// (<c>|c|^2 + sum_j (-2 x_j) c_j</c> by fused multiply-adds), so the SIMD and scalar paths give identical labels.
/// </summary>
internal static unsafe class PqKernels
{
    /// <summary>Widest path this machine accelerates: 512, 256 or 0 (scalar).</summary>
    public static readonly int BestWidth = Vector512.IsHardwareAccelerated ? 512 : Vector256.IsHardwareAccelerated ? 256 : 0;

    /// <summary>ksub rounded up to a multiple of 16.</summary>
    public static int Padded(int ksub) => (ksub + 15) & ~15;

    /// <summary>
    /// Transposes row-major ksub x dsub centroids into <paramref name="transposed"/> (dsub x kpad) and writes their squared
    /// norms to <paramref name="norms"/> (kpad; +infinity for the padding).
    /// </summary>
    public static void Transpose(ReadOnlySpan<float> centroids, int ksub, int dsub, Span<float> transposed, Span<float> norms)
    {
        int kpad = Padded(ksub);
        transposed[..(dsub * kpad)].Clear();
        norms[..kpad].Fill(float.PositiveInfinity);
        for (int c = 0; c < ksub; c++)
        {
            float s = 0;
            for (int j = 0; j < dsub; j++)
            {
                float v = centroids[c * dsub + j];
                transposed[j * kpad + c] = v;
                s = MathF.FusedMultiplyAdd(v, v, s);
            }
            norms[c] = s;
        }
    }

    /// <summary>
    /// Nearest centroid (squared L2, ties to the lower index) of <paramref name="n"/> sub-vectors of
    /// <paramref name="dsub"/> floats, the i-th at <c>x + i * stride</c>.
    /// </summary>
    public static void Nearest(float* x, int n, int stride, int dsub, float* centT, float* norms, int kpad, int* labels, int width)
    {
        if (width == 512 && Vector512.IsHardwareAccelerated)
        {
            int done = kpad <= LanesMaxCentroids && Avx2.IsSupported ? NearestLanes512(x, n, stride, dsub, centT, norms, kpad, labels) : 0;
            if (done < n) Nearest512(x + (long)done * stride, n - done, stride, dsub, centT, norms, kpad, labels + done);
        }
        else if (width >= 256 && Vector256.IsHardwareAccelerated) Nearest256(x, n, stride, dsub, centT, norms, kpad, labels);
        else NearestScalar(x, n, stride, dsub, centT, norms, kpad, labels);
    }

    public static void NearestScalar(float* x, int n, int stride, int dsub, float* centT, float* norms, int kpad, int* labels)
    {
        float* xs = stackalloc float[dsub];
        for (int i = 0; i < n; i++)
        {
            float* xi = x + (long)i * stride;
            for (int j = 0; j < dsub; j++) xs[j] = -2f * xi[j];
            float best = float.PositiveInfinity;
            int bestIndex = 0;
            for (int c = 0; c < kpad; c++)
            {
                float acc = norms[c];
                for (int j = 0; j < dsub; j++) acc = MathF.FusedMultiplyAdd(xs[j], centT[j * kpad + c], acc);
                if (acc < best) { best = acc; bestIndex = c; }
            }
            labels[i] = bestIndex;
        }
    }

    /// <summary>Largest padded codebook <see cref="NearestLanes512"/> takes: its serial running minimum costs a few cycles
    /// per centroid, which beats the centroids-in-lanes path (and its horizontal reductions) only for small codebooks.</summary>
    private const int LanesMaxCentroids = 64;

    /// <summary>
    /// Points in lanes: sixteen points per block, one per lane (two 8-lane gathers: .NET has no 16-lane gather), and a running minimum over the centroids in
    /// index order, so no horizontal reduction per point; the strict compare keeps the lower index on ties. Each lane
    /// computes <c>|c|^2 + sum_j (-2 x_j) c_j</c> by the same fused multiply-adds in the same order as the other paths.
    /// Returns the points done (a multiple of 16); the caller finishes the rest.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int NearestLanes512(float* x, int n, int stride, int dsub, float* centT, float* norms, int kpad, int* labels)
    {
        if (n < 16 || (long)stride * 7 + dsub > int.MaxValue) return 0;
        Vector512<float>* xs = stackalloc Vector512<float>[dsub];
        var offsets = Vector256<int>.Indices * stride;
        long half = 8L * stride;
        var minusTwo = Vector512.Create(-2f);
        int i = 0;
        for (; i + 16 <= n; i += 16)
        {
            float* block = x + (long)i * stride;
            for (int j = 0; j < dsub; j++)
                xs[j] = Vector512.Create(Avx2.GatherVector256(block + j, offsets, 4), Avx2.GatherVector256(block + half + j, offsets, 4)) * minusTwo;
            var best = Vector512.Create(float.PositiveInfinity);
            var bestIndex = Vector512<int>.Zero;
            for (int c = 0; c < kpad; c++)
            {
                var acc = Vector512.Create(norms[c]);
                float* col = centT + c;
                for (int j = 0; j < dsub; j++) acc = Vector512.FusedMultiplyAdd(xs[j], Vector512.Create(col[(long)j * kpad]), acc);
                var less = Vector512.LessThan(acc, best);
                best = Vector512.ConditionalSelect(less, acc, best);
                bestIndex = Vector512.ConditionalSelect(less.AsInt32(), Vector512.Create(c), bestIndex);
            }
            bestIndex.Store(labels + i);
        }
        return i;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Nearest512(float* x, int n, int stride, int dsub, float* centT, float* norms, int kpad, int* labels)
    {
        float* xs = stackalloc float[8 * dsub];
        var step = Vector512.Create(16);
        var iota = Vector512<int>.Indices;
        var inf = Vector512.Create(float.PositiveInfinity);
        int i = 0;
        // Eight points per block: eight independent FMA chains hide the FMA latency.
        for (; i + 8 <= n; i += 8)
        {
            // Interleaved (xs[j * 8 + p]) so the eight broadcasts of step j read fixed offsets.
            for (int p = 0; p < 8; p++)
            {
                float* xi = x + (long)(i + p) * stride;
                for (int j = 0; j < dsub; j++) xs[j * 8 + p] = -2f * xi[j];
            }
            Vector512<float> b0 = inf, b1 = inf, b2 = inf, b3 = inf, b4 = inf, b5 = inf, b6 = inf, b7 = inf;
            Vector512<int> i0 = default, i1 = default, i2 = default, i3 = default, i4 = default, i5 = default, i6 = default, i7 = default;
            var idx = iota;
            for (int g = 0; g < kpad; g += 16)
            {
                var a0 = Vector512.Load(norms + g);
                Vector512<float> a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
                float* col = centT + g;
                float* xj = xs;
                for (int j = 0; j < dsub; j++, col += kpad, xj += 8)
                {
                    var cv = Vector512.Load(col);
                    a0 = Vector512.FusedMultiplyAdd(Vector512.Create(xj[0]), cv, a0);
                    a1 = Vector512.FusedMultiplyAdd(Vector512.Create(xj[1]), cv, a1);
                    a2 = Vector512.FusedMultiplyAdd(Vector512.Create(xj[2]), cv, a2);
                    a3 = Vector512.FusedMultiplyAdd(Vector512.Create(xj[3]), cv, a3);
                    a4 = Vector512.FusedMultiplyAdd(Vector512.Create(xj[4]), cv, a4);
                    a5 = Vector512.FusedMultiplyAdd(Vector512.Create(xj[5]), cv, a5);
                    a6 = Vector512.FusedMultiplyAdd(Vector512.Create(xj[6]), cv, a6);
                    a7 = Vector512.FusedMultiplyAdd(Vector512.Create(xj[7]), cv, a7);
                }
                var m0 = Vector512.LessThan(a0, b0); b0 = Vector512.ConditionalSelect(m0, a0, b0); i0 = Vector512.ConditionalSelect(m0.AsInt32(), idx, i0);
                var m1 = Vector512.LessThan(a1, b1); b1 = Vector512.ConditionalSelect(m1, a1, b1); i1 = Vector512.ConditionalSelect(m1.AsInt32(), idx, i1);
                var m2 = Vector512.LessThan(a2, b2); b2 = Vector512.ConditionalSelect(m2, a2, b2); i2 = Vector512.ConditionalSelect(m2.AsInt32(), idx, i2);
                var m3 = Vector512.LessThan(a3, b3); b3 = Vector512.ConditionalSelect(m3, a3, b3); i3 = Vector512.ConditionalSelect(m3.AsInt32(), idx, i3);
                var m4 = Vector512.LessThan(a4, b4); b4 = Vector512.ConditionalSelect(m4, a4, b4); i4 = Vector512.ConditionalSelect(m4.AsInt32(), idx, i4);
                var m5 = Vector512.LessThan(a5, b5); b5 = Vector512.ConditionalSelect(m5, a5, b5); i5 = Vector512.ConditionalSelect(m5.AsInt32(), idx, i5);
                var m6 = Vector512.LessThan(a6, b6); b6 = Vector512.ConditionalSelect(m6, a6, b6); i6 = Vector512.ConditionalSelect(m6.AsInt32(), idx, i6);
                var m7 = Vector512.LessThan(a7, b7); b7 = Vector512.ConditionalSelect(m7, a7, b7); i7 = Vector512.ConditionalSelect(m7.AsInt32(), idx, i7);
                idx += step;
            }
            labels[i] = Reduce(b0, i0);
            labels[i + 1] = Reduce(b1, i1);
            labels[i + 2] = Reduce(b2, i2);
            labels[i + 3] = Reduce(b3, i3);
            labels[i + 4] = Reduce(b4, i4);
            labels[i + 5] = Reduce(b5, i5);
            labels[i + 6] = Reduce(b6, i6);
            labels[i + 7] = Reduce(b7, i7);
        }
        for (; i < n; i++)
        {
            float* xi = x + (long)i * stride;
            for (int j = 0; j < dsub; j++) xs[j] = -2f * xi[j];
            Vector512<float> b0 = inf;
            Vector512<int> i0 = default;
            var idx = iota;
            for (int g = 0; g < kpad; g += 16)
            {
                var a0 = Vector512.Load(norms + g);
                float* col = centT + g;
                for (int j = 0; j < dsub; j++, col += kpad)
                    a0 = Vector512.FusedMultiplyAdd(Vector512.Create(xs[j]), Vector512.Load(col), a0);
                var m0 = Vector512.LessThan(a0, b0); b0 = Vector512.ConditionalSelect(m0, a0, b0); i0 = Vector512.ConditionalSelect(m0.AsInt32(), idx, i0);
                idx += step;
            }
            labels[i] = Reduce(b0, i0);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Nearest256(float* x, int n, int stride, int dsub, float* centT, float* norms, int kpad, int* labels)
    {
        float* xs = stackalloc float[2 * dsub];
        var step = Vector256.Create(8);
        var iota = Vector256<int>.Indices;
        var inf = Vector256.Create(float.PositiveInfinity);
        int i = 0;
        for (; i + 2 <= n; i += 2)
        {
            for (int p = 0; p < 2; p++)
            {
                float* xi = x + (long)(i + p) * stride;
                for (int j = 0; j < dsub; j++) xs[p * dsub + j] = -2f * xi[j];
            }
            Vector256<float> b0 = inf, b1 = inf;
            Vector256<int> i0 = default, i1 = default;
            var idx = iota;
            for (int g = 0; g < kpad; g += 8)
            {
                var a0 = Vector256.Load(norms + g);
                var a1 = a0;
                float* col = centT + g;
                for (int j = 0; j < dsub; j++, col += kpad)
                {
                    var cv = Vector256.Load(col);
                    a0 = Vector256.FusedMultiplyAdd(Vector256.Create(xs[j]), cv, a0);
                    a1 = Vector256.FusedMultiplyAdd(Vector256.Create(xs[dsub + j]), cv, a1);
                }
                var m0 = Vector256.LessThan(a0, b0); b0 = Vector256.ConditionalSelect(m0, a0, b0); i0 = Vector256.ConditionalSelect(m0.AsInt32(), idx, i0);
                var m1 = Vector256.LessThan(a1, b1); b1 = Vector256.ConditionalSelect(m1, a1, b1); i1 = Vector256.ConditionalSelect(m1.AsInt32(), idx, i1);
                idx += step;
            }
            labels[i] = Reduce(b0, i0);
            labels[i + 1] = Reduce(b1, i1);
        }
        for (; i < n; i++)
        {
            float* xi = x + (long)i * stride;
            for (int j = 0; j < dsub; j++) xs[j] = -2f * xi[j];
            Vector256<float> b0 = inf;
            Vector256<int> i0 = default;
            var idx = iota;
            for (int g = 0; g < kpad; g += 8)
            {
                var a0 = Vector256.Load(norms + g);
                float* col = centT + g;
                for (int j = 0; j < dsub; j++, col += kpad)
                    a0 = Vector256.FusedMultiplyAdd(Vector256.Create(xs[j]), Vector256.Load(col), a0);
                var m0 = Vector256.LessThan(a0, b0); b0 = Vector256.ConditionalSelect(m0, a0, b0); i0 = Vector256.ConditionalSelect(m0.AsInt32(), idx, i0);
                idx += step;
            }
            labels[i] = Reduce(b0, i0);
        }
    }

    /// <summary>Index of the smallest lane value; among equal values the smallest index.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Reduce(Vector512<float> best, Vector512<int> index)
    {
        var m = Vector256.Min(best.GetLower(), best.GetUpper());
        var m4 = Vector128.Min(m.GetLower(), m.GetUpper());
        float min = MathF.Min(MathF.Min(m4.GetElement(0), m4.GetElement(1)), MathF.Min(m4.GetElement(2), m4.GetElement(3)));
        var eq = Vector512.Equals(best, Vector512.Create(min)).AsInt32();
        var cand = Vector512.ConditionalSelect(eq, index, Vector512.Create(int.MaxValue));
        var c = Vector256.Min(cand.GetLower(), cand.GetUpper());
        var c4 = Vector128.Min(c.GetLower(), c.GetUpper());
        int r = Math.Min(Math.Min(c4.GetElement(0), c4.GetElement(1)), Math.Min(c4.GetElement(2), c4.GetElement(3)));
        return r == int.MaxValue ? 0 : r;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Reduce(Vector256<float> best, Vector256<int> index)
    {
        var m4 = Vector128.Min(best.GetLower(), best.GetUpper());
        float min = MathF.Min(MathF.Min(m4.GetElement(0), m4.GetElement(1)), MathF.Min(m4.GetElement(2), m4.GetElement(3)));
        var eq = Vector256.Equals(best, Vector256.Create(min)).AsInt32();
        var cand = Vector256.ConditionalSelect(eq, index, Vector256.Create(int.MaxValue));
        var c4 = Vector128.Min(cand.GetLower(), cand.GetUpper());
        int r = Math.Min(Math.Min(c4.GetElement(0), c4.GetElement(1)), Math.Min(c4.GetElement(2), c4.GetElement(3)));
        return r == int.MaxValue ? 0 : r;
    }

    /// <summary>
    /// <c>table[c] = sum_j (q_j - c_j)^2</c> (<paramref name="innerProduct"/> false) or <c>sum_j q_j c_j</c> (true) for the
    /// kpad (padded) centroids of one sub-quantiser; <paramref name="table"/> needs kpad entries.
    /// </summary>
    public static void Table(float* q, int dsub, float* centT, int kpad, float* table, bool innerProduct, int width)
    {
        if (width == 512 && Vector512.IsHardwareAccelerated)
        {
            for (int g = 0; g < kpad; g += 16)
            {
                var acc = Vector512<float>.Zero;
                float* col = centT + g;
                for (int j = 0; j < dsub; j++, col += kpad)
                {
                    if (innerProduct) acc = Vector512.FusedMultiplyAdd(Vector512.Load(col), Vector512.Create(q[j]), acc);
                    else
                    {
                        var diff = Vector512.Load(col) - Vector512.Create(q[j]);
                        acc = Vector512.FusedMultiplyAdd(diff, diff, acc);
                    }
                }
                acc.Store(table + g);
            }
        }
        else if (width >= 256 && Vector256.IsHardwareAccelerated)
        {
            for (int g = 0; g < kpad; g += 8)
            {
                var acc = Vector256<float>.Zero;
                float* col = centT + g;
                for (int j = 0; j < dsub; j++, col += kpad)
                {
                    if (innerProduct) acc = Vector256.FusedMultiplyAdd(Vector256.Load(col), Vector256.Create(q[j]), acc);
                    else
                    {
                        var diff = Vector256.Load(col) - Vector256.Create(q[j]);
                        acc = Vector256.FusedMultiplyAdd(diff, diff, acc);
                    }
                }
                acc.Store(table + g);
            }
        }
        else
        {
            for (int c = 0; c < kpad; c++)
            {
                float acc = 0;
                for (int j = 0; j < dsub; j++)
                {
                    float v = centT[j * kpad + c];
                    if (innerProduct) acc = MathF.FusedMultiplyAdd(v, q[j], acc);
                    else
                    {
                        float diff = v - q[j];
                        acc = MathF.FusedMultiplyAdd(diff, diff, acc);
                    }
                }
                table[c] = acc;
            }
        }
    }
}

using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Vec.Index.Internals.FastScan;

/// <summary>Per-query quantisation of a 4-bit PQ look-up table to uint8 for <see cref="Pq4Scanner"/>.</summary>
/// <remarks>
/// <para>
/// Input: a float table of <c>M x 16</c> entries (row m = distance contributions of sub-quantiser m's 16 centroids,
/// smaller is better). Each row has its minimum subtracted (the sum of the minima is the bias), then all rows share one
/// scale <c>s = 255 / max over m of (max_m - min_m)</c>, so every entry becomes <c>q = round((t - min_m) * s)</c> in
/// 0..255 (rounded half up, computed in float as one fused multiply-add, with 512-bit or 256-bit vectors: the same bytes either way). The sum of M such entries is at most <c>M * 255 &lt;= 65280</c> for M &lt;= 256, so uint16 sums never overflow.
/// </para>
/// <para>
/// Distance estimate: <c>d ≈ bias + sum / scale</c>. Error bound: each entry is off by at most half a quantisation step
/// (<c>0.5 / scale</c>), so <c>|bias + sum / scale - d| &lt;= M * 0.5 / scale</c> (plus float rounding, relatively ~1e-7).
/// If every row is constant the scale is 1 and all entries 0 (the estimate is then exact).
/// </para>
/// <para>The output table has <c>Pq4Layout.PaddedM(M) * 16</c> bytes: rows in order, and for odd M a zero row last.</para>
/// </remarks>
internal static class Pq4Lut
{
    /// <summary>Quantises <paramref name="table"/> (<paramref name="m"/> x 16 floats, row-major).</summary>
    public static (byte[] Lut, float Scale, float Bias) Quantize(ReadOnlySpan<float> table, int m)
    {
        Pq4Layout.CheckM(m);
        var lut = new byte[Pq4Layout.PaddedM(m) * 16];
        Quantize(table, m, lut, out float scale, out float bias);
        return (lut, scale, bias);
    }

    /// <summary>Quantises <paramref name="table"/> (<paramref name="m"/> x 16 floats, row-major) into
    /// <paramref name="lut"/> (at least <c>Pq4Layout.PaddedM(m) * 16</c> bytes; the padding row is zeroed), without
    /// allocating: the per-probe form the index uses.</summary>
    public static void Quantize(ReadOnlySpan<float> table, int m, Span<byte> lut, out float scale, out float bias) =>
        Quantize(table, m, lut, out scale, out bias, throwIfNotFinite: true);

    /// <summary>
    /// As <see cref="Quantize(ReadOnlySpan{float}, int, Span{byte}, out float, out float)"/>, but returns
    /// <see langword="false"/> (instead of throwing) when an entry or the bias is not finite: tables of extreme
    /// codebooks or queries that overflow float, which the caller then scores some other way.
    /// </summary>
    public static bool TryQuantize(ReadOnlySpan<float> table, int m, Span<byte> lut, out float scale, out float bias) =>
        Quantize(table, m, lut, out scale, out bias, throwIfNotFinite: false);

    /// <summary>
    /// The per-probe form of the L2 index with precomputed tables, fused: writes <c>table = alpha * a + b</c> (each
    /// entry one fused multiply-add; <paramref name="m"/> x 16 floats) and quantises it into <paramref name="lut"/> in
    /// the same pass over the rows. Returns <see langword="false"/> (as <see cref="TryQuantize"/>) when an entry or the
    /// bias is not finite; <paramref name="table"/> then holds the float table for the caller's fallback.
    /// </summary>
    public static bool TryQuantizeFused(ReadOnlySpan<float> a, float alpha, ReadOnlySpan<float> b, Span<float> table, int m, Span<byte> lut, out float scale, out float bias)
    {
        Pq4Layout.CheckM(m);
        if (a.Length < m * 16) throw new ArgumentException($"a holds {a.Length} floats, {m} x 16 needed.", nameof(a));
        if (b.Length < m * 16) throw new ArgumentException($"b holds {b.Length} floats, {m} x 16 needed.", nameof(b));
        if (table.Length < m * 16) throw new ArgumentException($"table holds {table.Length} floats, {m} x 16 needed.", nameof(table));
        if (lut.Length < Pq4Layout.PaddedM(m) * 16) throw new ArgumentException($"lut holds {lut.Length} bytes, {Pq4Layout.PaddedM(m) * 16} needed.", nameof(lut));
        return Core(a, alpha, b, table, m, lut, out scale, out bias, throwIfNotFinite: false, fused: true, Wide);
    }

    /// <summary>Whether the 512-bit form runs (else two 256-bit registers per row; both give the same bytes).</summary>
    internal static bool Wide { get; } = Vector512.IsHardwareAccelerated && Avx512F.IsSupported;

    /// <summary>For tests: the fused form with the register width chosen (<paramref name="wide"/> needs AVX-512F).</summary>
    internal static bool TryQuantizeFusedWith(bool wide, ReadOnlySpan<float> a, float alpha, ReadOnlySpan<float> b, Span<float> table, int m, Span<byte> lut, out float scale, out float bias) =>
        Core(a, alpha, b, table, m, lut, out scale, out bias, throwIfNotFinite: false, fused: true, wide && Wide);

    /// <summary>For tests: the plain form with the register width chosen (<paramref name="wide"/> needs AVX-512F).</summary>
    internal static bool TryQuantizeWith(bool wide, ReadOnlySpan<float> table, int m, Span<byte> lut, out float scale, out float bias) =>
        Core(default, 0, table, default, m, lut, out scale, out bias, throwIfNotFinite: false, fused: false, wide && Wide);

    private static bool Quantize(ReadOnlySpan<float> table, int m, Span<byte> lut, out float scale, out float bias, bool throwIfNotFinite)
    {
        Pq4Layout.CheckM(m);
        if (table.Length < m * 16) throw new ArgumentException($"table holds {table.Length} floats, {m} x 16 needed.", nameof(table));
        if (lut.Length < Pq4Layout.PaddedM(m) * 16) throw new ArgumentException($"lut holds {lut.Length} bytes, {Pq4Layout.PaddedM(m) * 16} needed.", nameof(lut));
        return Core(default, 0, table, default, m, lut, out scale, out bias, throwIfNotFinite, fused: false, Wide);
    }

    /// <summary>
    /// Both forms: pass 1 makes each row (a 512-bit register, or two 256-bit ones), its minimum and the widest
    /// <c>row - min</c>; pass 2 scales and rounds. With <paramref name="fused"/> the row is <c>alpha * a + b</c> and is
    /// stored to <paramref name="table"/>, else it is read from <paramref name="b"/> (and <paramref name="table"/> is empty).
    /// </summary>
    [SkipLocalsInit]
    private static bool Core(ReadOnlySpan<float> a, float alpha, ReadOnlySpan<float> b, Span<float> table, int m, Span<byte> lut, out float scale, out float bias, bool throwIfNotFinite, bool fused, bool wide)
    {
        ref float a0 = ref MemoryMarshal.GetReference(a);
        ref float b0 = ref MemoryMarshal.GetReference(b);
        ref float t0 = ref MemoryMarshal.GetReference(table);
        ref byte l0 = ref MemoryMarshal.GetReference(lut);
        Span<float> mins = stackalloc float[m + 4]; // every entry is written before it is read (+4: 4-float stores)
        ref float mins0 = ref MemoryMarshal.GetReference(mins);
        float maxRange;
        bool finite;
        // Finiteness: the sum of all entries is finite exactly when they all are, barring an overflow of the sum,
        // which the exact check below then clears.
        if (wide)
        {
            Vector512<float> total = Vector512<float>.Zero, range = Vector512<float>.Zero, scaleBy = Vector512.Create(alpha);
            int s = 0;
            // Four rows at a time: their minima and maxima by a transposing reduction, in-lane shuffles first: 128-bit
            // lane L ends up holding [min r0, min r1, min r2, min r3] over its own four columns, then two swaps of
            // lanes finish the reduction (all lanes equal; the lowest is stored).
            for (; s + 4 <= m; s += 4)
            {
                nuint at = (nuint)(s * 16);
                Vector512<float> r0 = Row(ref a0, ref b0, ref t0, at, scaleBy, fused), r1 = Row(ref a0, ref b0, ref t0, at + 16, scaleBy, fused);
                Vector512<float> r2 = Row(ref a0, ref b0, ref t0, at + 32, scaleBy, fused), r3 = Row(ref a0, ref b0, ref t0, at + 48, scaleBy, fused);
                total += (r0 + r1) + (r2 + r3);
                // Per lane [r0.0, r0.1, r1.0, r1.1] against [r0.2, r0.3, r1.2, r1.3].
                Vector512<float> a01 = Avx512F.Shuffle(r0, r1, 0x44), b01 = Avx512F.Shuffle(r0, r1, 0xEE);
                Vector512<float> a23 = Avx512F.Shuffle(r2, r3, 0x44), b23 = Avx512F.Shuffle(r2, r3, 0xEE);
                Vector512<float> n01 = Vector512.MinNative(a01, b01), n23 = Vector512.MinNative(a23, b23);
                Vector512<float> x01 = Vector512.MaxNative(a01, b01), x23 = Vector512.MaxNative(a23, b23);
                // Per lane [r0, r1, r2, r3] partials: elements 0 and 2 against 1 and 3.
                Vector512<float> lo = Vector512.MinNative(Avx512F.Shuffle(n01, n23, 0x88), Avx512F.Shuffle(n01, n23, 0xDD));
                Vector512<float> hi = Vector512.MaxNative(Avx512F.Shuffle(x01, x23, 0x88), Avx512F.Shuffle(x01, x23, 0xDD));
                lo = Vector512.MinNative(lo, Avx512F.Shuffle4x128(lo, lo, 0x4E));
                lo = Vector512.MinNative(lo, Avx512F.Shuffle4x128(lo, lo, 0xB1));
                hi = Vector512.MaxNative(hi, Avx512F.Shuffle4x128(hi, hi, 0x4E));
                hi = Vector512.MaxNative(hi, Avx512F.Shuffle4x128(hi, hi, 0xB1));
                lo.GetLower().GetLower().StoreUnsafe(ref mins0, (nuint)s);
                range = Vector512.MaxNative(range, hi - lo); // = max over the row of (t - min): rounding is monotonic
            }
            for (; s < m; s++)
            {
                Vector512<float> row = Row(ref a0, ref b0, ref t0, (nuint)(s * 16), scaleBy, fused);
                total += row;
                float lo = HorizontalMin(Vector256.MinNative(row.GetLower(), row.GetUpper()));
                float hi = HorizontalMax(Vector256.MaxNative(row.GetLower(), row.GetUpper()));
                Unsafe.Add(ref mins0, s) = lo;
                range = Vector512.MaxNative(range, Vector512.Create(hi - lo));
            }
            finite = total - total == Vector512<float>.Zero; // x - x is +0 for finite x, NaN otherwise
            maxRange = HorizontalMax(Vector256.MaxNative(range.GetLower(), range.GetUpper()));
        }
        else
        {
            Vector256<float> total = Vector256<float>.Zero, range = Vector256<float>.Zero, scaleBy = Vector256.Create(alpha);
            for (int s = 0; s < m; s++)
            {
                nuint at = (nuint)(s * 16);
                Vector256<float> ra = Vector256.LoadUnsafe(ref b0, at), rb = Vector256.LoadUnsafe(ref b0, at + 8);
                if (fused)
                {
                    ra = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref a0, at), scaleBy, ra);
                    rb = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref a0, at + 8), scaleBy, rb);
                    ra.StoreUnsafe(ref t0, at);
                    rb.StoreUnsafe(ref t0, at + 8);
                }
                total += ra + rb;
                float lo = HorizontalMin(Vector256.MinNative(ra, rb)), hi = HorizontalMax(Vector256.MaxNative(ra, rb));
                Unsafe.Add(ref mins0, s) = lo;
                range = Vector256.MaxNative(range, Vector256.Create(hi - lo));
            }
            finite = total - total == Vector256<float>.Zero;
            maxRange = HorizontalMax(range);
        }
        if (!finite)
        {
            // Rare: find the entry (or see that only the sum overflowed).
            ReadOnlySpan<float> entries = fused ? table : b;
            for (int i = 0; i < m * 16; i++)
            {
                if (float.IsFinite(entries[i])) continue;
                scale = 1;
                bias = 0;
                if (!throwIfNotFinite) return false;
                throw new ArgumentException($"table entry [{i / 16}, {i % 16}] is {entries[i]}; entries must be finite.", nameof(table));
            }
        }
        double sumOfMins = SumOfMins(ref mins0, m, wide);
        double factor = maxRange > 0 ? 255.0 / maxRange : 1.0;
        if (factor > float.MaxValue) factor = float.MaxValue; // ranges below ~1e-36: every entry rounds to 0 or 255
        // q = min(trunc((t - min) * factor + 0.5), 255): round half up (t - min >= 0 exactly, so truncation is floor).
        ref float src = ref fused ? ref t0 : ref b0;
        if (wide)
        {
            Vector512<float> f = Vector512.Create((float)factor), half = Vector512.Create(0.5f);
            for (int s = 0; s < m; s++)
            {
                Vector512<float> row = Vector512.LoadUnsafe(ref src, (nuint)(s * 16)) - Vector512.Create(Unsafe.Add(ref mins0, s));
                Vector512<int> q = Vector512.ConvertToInt32Native(Vector512.FusedMultiplyAdd(row, f, half));
                // vpmovusdb: the min(..., 255) by unsigned saturation (q >= 0), in the narrowing itself.
                Avx512F.ConvertToVector128ByteWithSaturation(q.AsUInt32()).StoreUnsafe(ref l0, (nuint)(s * 16));
            }
        }
        else
        {
            Vector256<float> f = Vector256.Create((float)factor), half = Vector256.Create(0.5f), top = Vector256.Create(255f);
            for (int s = 0; s < m; s++)
            {
                Vector256<float> lo = Vector256.Create(Unsafe.Add(ref mins0, s));
                Vector256<float> ra = Vector256.LoadUnsafe(ref src, (nuint)(s * 16)) - lo, rb = Vector256.LoadUnsafe(ref src, (nuint)(s * 16 + 8)) - lo;
                Vector256<int> qa = Vector256.ConvertToInt32Native(Vector256.MinNative(Vector256.FusedMultiplyAdd(ra, f, half), top));
                Vector256<int> qb = Vector256.ConvertToInt32Native(Vector256.MinNative(Vector256.FusedMultiplyAdd(rb, f, half), top));
                Vector256<short> q16 = Vector256.Narrow(qa, qb); // 0..255: the narrowing is exact
                Vector256.Narrow(q16, q16).AsByte().GetLower().StoreUnsafe(ref l0, (nuint)(s * 16));
            }
        }
        if (m % 2 != 0) lut.Slice(m * 16, 16).Clear();
        scale = (float)factor;
        bias = (float)sumOfMins;
        return float.IsFinite(bias);
    }

    /// <summary>The sum of the <paramref name="m"/> row minima in double, eight at a time (one 512-bit accumulator, or
    /// two 256-bit ones; a dependent chain of m scalar additions cost more than the rest of a 64-row table's
    /// quantisation): the bias, summed in one order by both table forms of a width (<see cref="Pq4GroupTables"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static double SumOfMins(ref float mins0, int m, bool wide)
    {
        double sum = 0;
        int j = 0;
        if (wide)
        {
            Vector512<double> acc = Vector512<double>.Zero;
            for (; j + 8 <= m; j += 8) acc += Avx512F.ConvertToVector512Double(Vector256.LoadUnsafe(ref mins0, (nuint)j));
            sum = Vector512.Sum(acc);
        }
        else
        {
            Vector256<double> low = Vector256<double>.Zero, high = low;
            for (; j + 8 <= m; j += 8)
            {
                Vector256<float> x = Vector256.LoadUnsafe(ref mins0, (nuint)j);
                low += Vector256.WidenLower(x);
                high += Vector256.WidenUpper(x);
            }
            sum = Vector256.Sum(low + high);
        }
        for (; j < m; j++) sum += Unsafe.Add(ref mins0, j);
        return sum;
    }

    /// <summary>Row <paramref name="at"/>/16: <c>alpha * a + b</c> stored to the table (fused), or b.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Row(ref float a0, ref float b0, ref float t0, nuint at, Vector512<float> alpha, bool fused)
    {
        if (!fused) return Vector512.LoadUnsafe(ref b0, at);
        Vector512<float> row = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref a0, at), alpha, Vector512.LoadUnsafe(ref b0, at));
        row.StoreUnsafe(ref t0, at);
        return row;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float HorizontalMin(Vector256<float> v)
    {
        Vector128<float> x = Vector128.MinNative(v.GetLower(), v.GetUpper());
        x = Vector128.MinNative(x, Vector128.Shuffle(x, Vector128.Create(2, 3, 0, 1)));
        return Vector128.MinNative(x, Vector128.Shuffle(x, Vector128.Create(1, 0, 3, 2))).ToScalar();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float HorizontalMax(Vector256<float> v)
    {
        Vector128<float> x = Vector128.MaxNative(v.GetLower(), v.GetUpper());
        x = Vector128.MaxNative(x, Vector128.Shuffle(x, Vector128.Create(2, 3, 0, 1)));
        return Vector128.MaxNative(x, Vector128.Shuffle(x, Vector128.Create(1, 0, 3, 2))).ToScalar();
    }

    /// <summary>
    /// A bound <c>t</c> on the <paramref name="k"/>-th smallest of <paramref name="values"/> (1-based, 1 &lt;= k &lt;=
    /// count): at least k values are &lt;= t, and t is below the k-th smallest plus the bucket width <c>2^s</c>, the
    /// smallest power of two with <c>(max - min) &gt;&gt; s &lt; 256</c> (so t is exact when max - min &lt; 256). One
    /// pass: a 256-bucket histogram of <c>(v - min) &gt;&gt; s</c>, no sort, no data-dependent branch per value.
    /// </summary>
    /// <remarks>Where AVX-512BW runs, the bound is the k-th smallest itself (<see cref="KthSmallestAvx512"/>), which
    /// meets the same contract.</remarks>
    public static int KthSmallestBound(ReadOnlySpan<ushort> values, int k) => KthSmallestBoundWith(ExactKthSupported, values, k);

    /// <summary>Whether this machine runs the exact vector search of <see cref="KthSmallestBound"/> (AVX-512BW: 32
    /// lanes; AVX2: 16).</summary>
    internal static bool ExactKthSupported => Avx512BW.IsSupported || Avx2.IsSupported;

    /// <summary>For tests: <see cref="KthSmallestBound"/> with the exact vector search (<paramref name="simd"/>, where
    /// <see cref="ExactKthSupported"/> and at most 4096 values) or the histogram.</summary>
    [SkipLocalsInit]
    internal static int KthSmallestBoundWith(bool simd, ReadOnlySpan<ushort> values, int k)
    {
        if (k < 1 || k > values.Length) throw new ArgumentOutOfRangeException(nameof(k), k, $"k must be 1..{values.Length}.");
        if (simd && Avx512BW.IsSupported && values.Length <= MaxExactSearch) return KthSmallestAvx512(values, k);
        if (simd && Avx2.IsSupported && values.Length <= MaxExactSearch) return KthSmallestAvx2(values, k);
        int min = TensorPrimitives.Min(values), max = TensorPrimitives.Max(values);
        int shift = 0;
        while ((max - min) >> shift >= 256) shift++;
        Span<int> counts = stackalloc int[256];
        counts.Clear();
        ref int c0 = ref MemoryMarshal.GetReference(counts);
        foreach (ushort v in values) Unsafe.Add(ref c0, (v - min) >> shift)++;
        int bucket = 0, below = 0;
        while (below + counts[bucket] < k) below += counts[bucket++];
        return Math.Min(min + ((bucket + 1) << shift) - 1, max);
    }

    /// <summary><see cref="KthSmallestAvx512"/> with 16-lane registers (AVX2): each lane's compare sets two mask bits, so
    /// the count is halved.</summary>
    [SkipLocalsInit]
    internal static int KthSmallestAvx2(ReadOnlySpan<ushort> values, int k)
    {
        int n = values.Length, registers = (n + 15) / 16;
        Span<ushort> padded = stackalloc ushort[registers * 16];
        values.CopyTo(padded);
        padded[n..].Fill(ushort.MaxValue);
        ref ushort p0 = ref MemoryMarshal.GetReference(padded);
        int lo = TensorPrimitives.Min(values), hi = TensorPrimitives.Max(values);
        while (lo < hi)
        {
            int mid = (lo + hi) >> 1, bits = 0;
            Vector256<ushort> at = Vector256.Create((ushort)mid);
            for (int r = 0; r < registers; r++)
            {
                Vector256<ushort> x = Vector256.LoadUnsafe(ref p0, (nuint)(r * 16));
                // x <= mid exactly when min(x, mid) == x (no unsigned 16-bit compare in AVX2).
                bits += BitOperations.PopCount(Vector256.Equals(Avx2.Min(x, at), x).AsByte().ExtractMostSignificantBits());
            }
            if (bits >> 1 >= k) hi = mid;
            else lo = mid + 1;
        }
        return lo;
    }

    /// <summary>The most values <see cref="KthSmallestAvx512"/> takes (one scan chunk; a copy of them sits on the stack).</summary>
    private const int MaxExactSearch = 4096;

    /// <summary>
    /// The exact k-th smallest: a binary search on the value in [min, max] (at most 16 steps), each step counting the
    /// values at or below the midpoint with 32-lane compares and population counts; no branch per value and no
    /// histogram to clear. The values are copied to the stack with the last register padded by 65535 (never counted:
    /// the midpoint stays below the maximum, so below 65535).
    /// </summary>
    [SkipLocalsInit]
    private static int KthSmallestAvx512(ReadOnlySpan<ushort> values, int k)
    {
        int n = values.Length, registers = (n + 31) / 32;
        Span<ushort> padded = stackalloc ushort[registers * 32];
        values.CopyTo(padded);
        padded[n..].Fill(ushort.MaxValue);
        ref ushort p0 = ref MemoryMarshal.GetReference(padded);
        int lo = TensorPrimitives.Min(values), hi = TensorPrimitives.Max(values);
        // Invariant: fewer than k values are below lo, at least k are at or below hi.
        while (lo < hi)
        {
            int mid = (lo + hi) >> 1, count = 0;
            Vector512<ushort> at = Vector512.Create((ushort)mid);
            for (int r = 0; r < registers; r++)
                count += BitOperations.PopCount(Vector512.LessThanOrEqual(Vector512.LoadUnsafe(ref p0, (nuint)(r * 32)), at).ExtractMostSignificantBits());
            if (count >= k) hi = mid;
            else lo = mid + 1;
        }
        return lo;
    }

    /// <summary>The distance estimate of a uint16 sum: <c>bias + sum * (1 / scale)</c> (see <see cref="Estimate"/>).</summary>
    public static float Distance(ushort sum, float scale, float bias) => Estimate(sum, 1f / scale, bias);

    /// <summary>The distance estimate of a uint16 sum from the reciprocal of the scale, <c>bias + sum * inverseScale</c>:
    /// the form a scan uses (one division per table, not per vector); equal to <see cref="Distance"/> with
    /// <c>inverseScale = 1f / scale</c>.</summary>
    public static float Estimate(ushort sum, float inverseScale, float bias) => bias + sum * inverseScale;

    /// <summary>The documented error bound of <see cref="Distance"/>: <c>M * 0.5 / scale</c>.</summary>
    public static float ErrorBound(int m, float scale) => m * 0.5f / scale;

    /// <summary>The largest uint16 threshold <c>t</c> such that <c>sum &lt; t</c> selects every vector whose estimate is
    /// below <paramref name="distance"/> (for <c>Pq4Scanner.ScanThreshold</c>).</summary>
    public static ushort Threshold(float distance, float scale, float bias)
    {
        double t = Math.Ceiling(((double)distance - bias) * scale);
        return (ushort)Math.Clamp(t, 0, ushort.MaxValue);
    }
}

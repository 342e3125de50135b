using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Vec.Index.Internals.FastScan;

/// <summary>Per-query quantisation of a 4-bit PQ look-up table to uint8 for <see cref="Pq4Scanner"/>.</summary>
/// <remarks>
/// <para>
/// Input: a float table of <c>M x 16</c> entries (row m = distance contributions of sub-quantiser m's 16 centroids,
/// smaller is better). Each row has its minimum subtracted (the sum of the minima is the bias), then all rows share one
/// scale <c>s = 255 / max over m of (max_m - min_m)</c>, so every entry becomes <c>q = round((t - min_m) * s)</c> in
/// 0..255 (rounded half up, computed in float with 256-bit vectors). The sum of M such entries is at most <c>M * 255 &lt;= 65280</c> for M &lt;= 256, so uint16 sums never overflow.
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

    private static bool Quantize(ReadOnlySpan<float> table, int m, Span<byte> lut, out float scale, out float bias, bool throwIfNotFinite)
    {
        Pq4Layout.CheckM(m);
        if (table.Length < m * 16) throw new ArgumentException($"table holds {table.Length} floats, {m} x 16 needed.", nameof(table));
        if (lut.Length < Pq4Layout.PaddedM(m) * 16) throw new ArgumentException($"lut holds {lut.Length} bytes, {Pq4Layout.PaddedM(m) * 16} needed.", nameof(lut));
        // One row is two 256-bit registers; the index calls this once per probed list, so it is vectorised too.
        ref float t0 = ref MemoryMarshal.GetReference(table);
        double maxRange = 0, sumOfMins = 0;
        Span<float> mins = stackalloc float[m];
        Vector256<float> notFinite = Vector256<float>.Zero;
        for (int s = 0; s < m; s++)
        {
            Vector256<float> a = Vector256.LoadUnsafe(ref t0, (nuint)(s * 16)), b = Vector256.LoadUnsafe(ref t0, (nuint)(s * 16 + 8));
            notFinite |= (a - a) | (b - b); // x - x is +0 (no bits set) for finite x, NaN otherwise
            float lo = HorizontalMin(Vector256.MinNative(a, b)), hi = HorizontalMax(Vector256.MaxNative(a, b));
            mins[s] = lo;
            sumOfMins += lo;
            maxRange = Math.Max(maxRange, (double)hi - lo);
        }
        if (notFinite != Vector256<float>.Zero)
        {
            scale = 1;
            bias = 0;
            if (!throwIfNotFinite) return false;
            for (int i = 0; i < m * 16; i++)
                if (!float.IsFinite(table[i])) throw new ArgumentException($"table entry [{i / 16}, {i % 16}] is {table[i]}; entries must be finite.", nameof(table));
        }
        double factor = maxRange > 0 ? 255.0 / maxRange : 1.0;
        if (factor > float.MaxValue) factor = float.MaxValue; // ranges below ~1e-36: every entry rounds to 0 or 255
        // q = min(floor((t - min) * factor + 0.5), 255): round half up (t - min >= 0), in float.
        Vector256<float> f = Vector256.Create((float)factor), half = Vector256.Create(0.5f), top = Vector256.Create(255f);
        ref byte l0 = ref MemoryMarshal.GetReference(lut);
        for (int s = 0; s < m; s++)
        {
            Vector256<float> lo = Vector256.Create(mins[s]);
            Vector256<float> a = Vector256.LoadUnsafe(ref t0, (nuint)(s * 16)), b = Vector256.LoadUnsafe(ref t0, (nuint)(s * 16 + 8));
            Vector256<int> qa = Vector256.ConvertToInt32Native(Vector256.MinNative(Vector256.Floor((a - lo) * f + half), top));
            Vector256<int> qb = Vector256.ConvertToInt32Native(Vector256.MinNative(Vector256.Floor((b - lo) * f + half), top));
            Vector256<short> q16 = Vector256.Narrow(qa, qb); // 0..255: the narrowing is exact
            Vector256.Narrow(q16, q16).AsByte().GetLower().StoreUnsafe(ref l0, (nuint)(s * 16));
        }
        lut[(m * 16)..(Pq4Layout.PaddedM(m) * 16)].Clear();
        scale = (float)factor;
        bias = (float)sumOfMins;
        return float.IsFinite(bias);
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

    /// <summary>The <paramref name="k"/>-th smallest of <paramref name="values"/> (1-based, 1 &lt;= k &lt;= count), by a
    /// histogram of the high bytes and then one of the low bytes within the bucket that holds it (two passes, no sort).</summary>
    public static int KthSmallest(ReadOnlySpan<ushort> values, int k)
    {
        if (k < 1 || k > values.Length) throw new ArgumentOutOfRangeException(nameof(k), k, $"k must be 1..{values.Length}.");
        Span<int> counts = stackalloc int[256];
        foreach (ushort v in values) counts[v >> 8]++;
        int high = 0, below = 0;
        while (below + counts[high] < k) below += counts[high++];
        counts.Clear();
        foreach (ushort v in values)
        {
            if (v >> 8 == high) counts[v & 0xFF]++;
        }

        int low = 0;
        while (below + counts[low] < k) below += counts[low++];
        return (high << 8) | low;
    }

    /// <summary>The distance estimate of a uint16 sum: <c>bias + sum / scale</c>.</summary>
    public static float Distance(ushort sum, float scale, float bias) => bias + sum / scale;

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

namespace Vec.Index.Internals.FastScan;

/// <summary>Per-query quantisation of a 4-bit PQ look-up table to uint8 for <see cref="Pq4Scanner"/>.</summary>
/// <remarks>
/// <para>
/// Input: a float table of <c>M x 16</c> entries (row m = distance contributions of sub-quantiser m's 16 centroids,
/// smaller is better). Each row has its minimum subtracted (the sum of the minima is the bias), then all rows share one
/// scale <c>s = 255 / max over m of (max_m - min_m)</c>, so every entry becomes <c>q = round((t - min_m) * s)</c> in
/// 0..255. The sum of M such entries is at most <c>M * 255 &lt;= 65280</c> for M &lt;= 256, so uint16 sums never overflow.
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
        double maxRange = 0, sumOfMins = 0;
        Span<double> mins = stackalloc double[m];
        for (int s = 0; s < m; s++)
        {
            double lo = double.PositiveInfinity, hi = double.NegativeInfinity;
            for (int c = 0; c < 16; c++)
            {
                float t = table[s * 16 + c];
                if (!float.IsFinite(t))
                {
                    if (throwIfNotFinite) throw new ArgumentException($"table entry [{s}, {c}] is {t}; entries must be finite.", nameof(table));
                    scale = 1;
                    bias = 0;
                    return false;
                }
                lo = Math.Min(lo, t);
                hi = Math.Max(hi, t);
            }
            mins[s] = lo;
            sumOfMins += lo;
            maxRange = Math.Max(maxRange, hi - lo);
        }
        double factor = maxRange > 0 ? 255.0 / maxRange : 1.0;
        if (double.IsInfinity(factor)) factor = float.MaxValue; // ranges below ~1e-36: every entry rounds to 0 or 255
        for (int s = 0; s < m; s++)
            for (int c = 0; c < 16; c++)
            {
                double q = Math.Round((table[s * 16 + c] - mins[s]) * factor, MidpointRounding.AwayFromZero);
                lut[s * 16 + c] = (byte)Math.Clamp(q, 0, 255);
            }
        lut[(m * 16)..(Pq4Layout.PaddedM(m) * 16)].Clear();
        scale = (float)factor;
        bias = (float)sumOfMins;
        return float.IsFinite(bias);
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

using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Vec.Index.Internals.FastScan;

/// <summary>
/// The L2 fast scan's per-probe tables in a group-transposed layout, so that building and quantising a probe's uint8
/// table (<see cref="Pq4Lut"/>'s fused form) needs no horizontal reductions: AVX-512 only (<see cref="IsSupported"/>).
/// </summary>
/// <remarks>
/// <para>
/// A probe's float table is <c>T_l - 2 IP</c>: T_l the list's query-independent term table, IP the query's inner
/// products with the sub-quantiser centroids (<c>M x 16</c>, row m = sub-quantiser m). Quantising it needs each row's
/// minimum and the widest row range. Row-major (one 16-float row per 512-bit register) those are horizontal
/// reductions, shuffles mostly. Here the M rows are padded to <see cref="PaddedM"/> (a multiple of 16, padding rows
/// zero) and stored centroid-major: entry (row r, centroid c) at <c>c * PaddedM + Position(r)</c>, so one register
/// holds centroid c of 16 rows and the minima and maxima of 16 rows are 15 vertical min and max operations.
/// </para>
/// <para>
/// <see cref="Position"/> swaps the two 2-bit halves of a row's index within its group of 16 (lane <c>4a + b</c> holds
/// row <c>4b + a</c>): after the quantised registers are narrowed to bytes and transposed back to rows with in-lane
/// operations only, this order leaves four consecutive rows in each 512-bit register, stored with one write.
/// </para>
/// <para>
/// The quantised bytes, scale and bias equal <see cref="Pq4Lut.TryQuantizeFused"/>'s on the same float inputs bit for
/// bit (the same fused multiply-adds, the same minima and ranges, the bias summed in the same order); the tests check
/// this against the row-major form.
/// </para>
/// </remarks>
internal sealed class Pq4GroupTables
{
    /// <summary>Rows per group (lanes of a 512-bit float register).</summary>
    public const int Group = 16;

    private readonly float[] _terms;
    private readonly float[] _codebooks;
    private readonly int[] _queryMap;

    /// <summary>Whether this machine runs the group form (AVX-512F and BW).</summary>
    public static bool IsSupported => Avx512F.IsSupported && Avx512BW.IsSupported;

    /// <summary>Builds the group-transposed term tables of <paramref name="lists"/> lists from the row-major ones
    /// (<paramref name="termTables"/>: lists x M x 16) and the codebooks of <paramref name="pq"/> (4-bit).</summary>
    public Pq4GroupTables(ProductQuantizer pq, ReadOnlySpan<float> termTables, int lists)
    {
        if (pq.CentroidsPerSubQuantizer != 16) throw new ArgumentException("The group tables need a 4-bit product quantiser.", nameof(pq));
        int m = pq.SubQuantizers, size = m * 16;
        if (termTables.Length < (long)lists * size)
            throw new ArgumentException($"termTables holds {termTables.Length} floats, {lists} x {size} needed.", nameof(termTables));
        M = m;
        PaddedM = (m + Group - 1) / Group * Group;
        SubDimension = pq.SubDimension;
        Lists = lists;
        int mp = PaddedM, dsub = SubDimension;
        _terms = new float[(long)lists * TableFloats];
        for (int l = 0; l < lists; l++)
        {
            ReadOnlySpan<float> src = termTables.Slice(l * size, size);
            Span<float> dst = _terms.AsSpan(l * TableFloats, TableFloats);
            for (int r = 0; r < m; r++)
                for (int c = 0; c < 16; c++) dst[c * mp + Position(r)] = src[r * 16 + c];
        }

        // Codebooks: centroid c, dimension k of every row's sub-vector at (c * dsub + k) * PaddedM + Position(row).
        ReadOnlySpan<float> books = pq.Centroids;
        _codebooks = new float[16 * dsub * mp];
        for (int r = 0; r < m; r++)
            for (int c = 0; c < 16; c++)
                for (int k = 0; k < dsub; k++) _codebooks[(c * dsub + k) * mp + Position(r)] = books[(r * 16 + c) * dsub + k];
        AllFinite = !AnyNonFinite(_terms);
        _queryMap = new int[dsub * mp];
        Array.Fill(_queryMap, -1);
        for (int r = 0; r < m; r++)
            for (int k = 0; k < dsub; k++) _queryMap[k * mp + Position(r)] = r * dsub + k;
    }

    /// <summary>Whether every term is finite: <see cref="TryQuantizeFused"/> relies on it (the index keeps the row-major
    /// form otherwise).</summary>
    public bool AllFinite { get; }

    /// <summary>Sub-quantisers.</summary>
    public int M { get; }

    /// <summary><see cref="M"/> rounded up to a multiple of <see cref="Group"/>.</summary>
    public int PaddedM { get; }

    /// <summary>Dimensions per sub-quantiser.</summary>
    public int SubDimension { get; }

    /// <summary>Lists.</summary>
    public int Lists { get; }

    /// <summary>Floats of one table: 16 x <see cref="PaddedM"/>.</summary>
    public int TableFloats => 16 * PaddedM;

    /// <summary>Bytes of a quantised table this form writes: <see cref="PaddedM"/> x 16 (padding rows zero).</summary>
    public int LutBytes => PaddedM * 16;

    /// <summary>Floats held (term tables and codebooks), for memory accounting.</summary>
    public long Floats => _terms.LongLength + _codebooks.LongLength;

    /// <summary>The position of row <paramref name="row"/> among the 16 lanes of its group (an involution).</summary>
    public static int Position(int row) => (row & ~15) | ((row & 3) << 2) | ((row >> 2) & 3);

    /// <summary>List <paramref name="list"/>'s term table in the group layout.</summary>
    public ReadOnlySpan<float> Terms(int list) => _terms.AsSpan(list * TableFloats, TableFloats);

    /// <summary>
    /// Writes the query's inner products with every centroid, <c>&lt;q_r, p_rc&gt;</c>, in the group layout into
    /// <paramref name="output"/> (<see cref="TableFloats"/>), using <paramref name="queryT"/> (SubDimension x
    /// PaddedM floats) as scratch for the query's sub-vectors regrouped the same way. Returns whether every product is
    /// finite (<see cref="TryQuantizeFused"/> needs finite inputs).
    /// </summary>
    public unsafe bool InnerProducts(ReadOnlySpan<float> query, Span<float> queryT, Span<float> output)
    {
        int mp = PaddedM, dsub = SubDimension;
        if (query.Length < M * dsub) throw new ArgumentException($"query holds {query.Length} floats, {M * dsub} needed.", nameof(query));
        if (queryT.Length < dsub * mp) throw new ArgumentException($"queryT holds {queryT.Length} floats, {dsub * mp} needed.", nameof(queryT));
        if (output.Length < TableFloats) throw new ArgumentException($"output holds {output.Length} floats, {TableFloats} needed.", nameof(output));
        int[] map = _queryMap;
        // Regroup the query: 8-lane gathers by the map (padding rows masked to zero).
        fixed (float* q = query)
        fixed (float* t = queryT)
        fixed (int* indices = map)
        {
            for (int i = 0; i < map.Length; i += 8)
            {
                Vector256<int> index = Vector256.Load(indices + i);
                Vector256<float> mask = Vector256.GreaterThanOrEqual(index, Vector256<int>.Zero).AsSingle();
                Avx2.GatherMaskVector256(Vector256<float>.Zero, q, index, mask, 4).Store(t + i);
            }
        }
        ref float q0 = ref MemoryMarshal.GetReference(queryT);
        ref float b0 = ref MemoryMarshal.GetArrayDataReference(_codebooks);
        ref float o0 = ref MemoryMarshal.GetReference(output);
        Vector512<float> total = Vector512<float>.Zero;
        for (int c = 0; c < 16; c++)
        {
            for (int g = 0; g < mp; g += Group)
            {
                nuint book = (nuint)(c * dsub * mp + g);
                Vector512<float> acc = Vector512.LoadUnsafe(ref q0, (nuint)g) * Vector512.LoadUnsafe(ref b0, book);
                for (int k = 1; k < dsub; k++)
                    acc = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref q0, (nuint)(k * mp + g)), Vector512.LoadUnsafe(ref b0, book + (nuint)(k * mp)), acc);
                acc.StoreUnsafe(ref o0, (nuint)(c * mp + g));
                total += acc;
            }
        }
        // x - x is +0 for finite x, NaN otherwise; a sum that overflowed is cleared by the exact check.
        return total - total == Vector512<float>.Zero || !AnyNonFinite(output[..TableFloats]);
    }

    /// <summary>
    /// The row-major float table <c>alpha * a + b</c> (<see cref="M"/> x 16, one fused multiply-add per entry, as the
    /// quantiser computes it) from group-layout <paramref name="a"/> and <paramref name="b"/>: for the scan's fallback
    /// when <see cref="TryQuantizeFused"/> finds an entry that is not finite.
    /// </summary>
    public void Expand(ReadOnlySpan<float> a, float alpha, ReadOnlySpan<float> b, Span<float> table)
    {
        int mp = PaddedM;
        if (table.Length < M * 16) throw new ArgumentException($"table holds {table.Length} floats, {M * 16} needed.", nameof(table));
        for (int r = 0; r < M; r++)
            for (int c = 0; c < 16; c++)
            {
                int at = c * mp + Position(r);
                table[r * 16 + c] = MathF.FusedMultiplyAdd(a[at], alpha, b[at]);
            }
    }

    /// <summary>
    /// Builds the table <c>alpha * a + b</c> (group layout, <see cref="TableFloats"/> each) and quantises it into
    /// <paramref name="lut"/> (row-major uint8, <see cref="LutBytes"/>) as <see cref="Pq4Lut.TryQuantizeFused"/> does:
    /// per-row minimum subtracted (their sum is <paramref name="bias"/>), one scale for all rows, entries rounded half up.
    /// Returns <see langword="false"/> when an entry or the bias is not finite, or when the widest row range is too
    /// small to scale in float (below about 1e-36; the row-major form clamps the scale there): the caller then scores
    /// with <see cref="Expand"/>'s float table.
    /// </summary>
    /// <remarks><paramref name="a"/> and <paramref name="b"/> must be finite (<see cref="InnerProducts"/>'s result,
    /// <see cref="AllFinite"/>): then an entry can only overflow to an infinity, never be NaN, and an infinite entry
    /// makes its row's range or minimum infinite, which the checks of the range and the bias catch.</remarks>
    public bool TryQuantizeFused(ReadOnlySpan<float> a, float alpha, ReadOnlySpan<float> b, Span<byte> lut, out float scale, out float bias)
    {
        if (!IsSupported) throw new PlatformNotSupportedException("The group tables need AVX-512F and AVX-512BW.");
        if (a.Length < TableFloats) throw new ArgumentException($"a holds {a.Length} floats, {TableFloats} needed.", nameof(a));
        if (b.Length < TableFloats) throw new ArgumentException($"b holds {b.Length} floats, {TableFloats} needed.", nameof(b));
        if (lut.Length < LutBytes) throw new ArgumentException($"lut holds {lut.Length} bytes, {LutBytes} needed.", nameof(lut));
        return Core(ref MemoryMarshal.GetReference(a), alpha, ref MemoryMarshal.GetReference(b), M, PaddedM, ref MemoryMarshal.GetReference(lut), out scale, out bias);
    }

    /// <summary>Pass 1: per group, 16 registers of 16 rows give the rows' minima (stored in row order) and ranges.
    /// Pass 2: scale, round, narrow to bytes and transpose back to rows (see the remarks). No calls in either loop.</summary>
    [SkipLocalsInit]
    private static bool Core(ref float a0, float alpha, ref float b0, int m, int mp, ref byte l0, out float scale, out float bias)
    {
        Span<float> mins = stackalloc float[mp];
        ref float mins0 = ref MemoryMarshal.GetReference(mins);
        // Pass 1 keeps the table (16 x mp floats, at most 16 KB) for pass 2.
        Span<float> values = stackalloc float[16 * mp];
        ref float v0s = ref MemoryMarshal.GetReference(values);
        Vector512<float> al = Vector512.Create(alpha);
        // Lane t of a group register holds row Position(t) of the group, so lane order -> row order is the same
        // permutation (an involution).
        Vector512<int> order = Vector512.Create(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
        Vector512<float> range = Vector512<float>.Zero;
        nuint stride = (nuint)mp;
        for (int g = 0; g < mp; g += Group)
        {
            Vector512<float> lo = Vector512.Create(float.PositiveInfinity), hi = Vector512.Create(float.NegativeInfinity);
            nuint at = (nuint)g;
            for (int c = 0; c < 16; c += 4, at += 4 * stride)
            {
                Vector512<float> v0 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref a0, at), al, Vector512.LoadUnsafe(ref b0, at));
                Vector512<float> v1 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref a0, at + stride), al, Vector512.LoadUnsafe(ref b0, at + stride));
                Vector512<float> v2 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref a0, at + 2 * stride), al, Vector512.LoadUnsafe(ref b0, at + 2 * stride));
                Vector512<float> v3 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref a0, at + 3 * stride), al, Vector512.LoadUnsafe(ref b0, at + 3 * stride));
                v0.StoreUnsafe(ref v0s, at);
                v1.StoreUnsafe(ref v0s, at + stride);
                v2.StoreUnsafe(ref v0s, at + 2 * stride);
                v3.StoreUnsafe(ref v0s, at + 3 * stride);
                lo = Vector512.MinNative(lo, Vector512.MinNative(Vector512.MinNative(v0, v1), Vector512.MinNative(v2, v3)));
                hi = Vector512.MaxNative(hi, Vector512.MaxNative(Vector512.MaxNative(v0, v1), Vector512.MaxNative(v2, v3)));
            }
            Avx512F.PermuteVar16x32(lo, order).StoreUnsafe(ref mins0, (nuint)g);
            range = Vector512.MaxNative(range, hi - lo);
        }

        float maxRange = MaxOf(range); // ranges are >= 0, or +inf (or NaN) from an infinite entry
        double factor = maxRange > 0 ? 255.0 / maxRange : 1.0;
        if (!float.IsFinite(maxRange) || factor > float.MaxValue)
        {
            scale = 1;
            bias = 0;
            return false;
        }

        double sumOfMins = Pq4Lut.SumOfMins(ref mins0, m, wide: true);
        // (v - min) <= maxRange, so (v - min) * f + 0.5 < 256 and truncates to 0..255: no clamp needed.
        Vector512<float> f = Vector512.Create((float)factor), half = Vector512.Create(0.5f);
        // Per lane byte 4 * c + r (c = centroid within 4, r = row within 4) -> byte 4 * r + c.
        Vector512<byte> transpose = Vector512.Create((byte)0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15,
            0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15, 0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15,
            0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
        for (int g = 0; g < mp; g += Group)
        {
            Vector512<float> lo = Avx512F.PermuteVar16x32(Vector512.LoadUnsafe(ref mins0, (nuint)g), order);
            nuint at = (nuint)g;
            Vector512<byte> q0 = Quad(ref v0s, at, stride, lo, f, half);
            Vector512<byte> q1 = Quad(ref v0s, at + 4 * stride, stride, lo, f, half);
            Vector512<byte> q2 = Quad(ref v0s, at + 8 * stride, stride, lo, f, half);
            Vector512<byte> q3 = Quad(ref v0s, at + 12 * stride, stride, lo, f, half);
            // q_i, lane L, dword r: row Position(4L + r) of the group, centroids 4i..4i+3.
            Vector512<uint> d0 = Avx512BW.Shuffle(q0, transpose).AsUInt32(), d1 = Avx512BW.Shuffle(q1, transpose).AsUInt32();
            Vector512<uint> d2 = Avx512BW.Shuffle(q2, transpose).AsUInt32(), d3 = Avx512BW.Shuffle(q3, transpose).AsUInt32();
            Vector512<ulong> t0 = Avx512F.UnpackLow(d0, d1).AsUInt64(), t1 = Avx512F.UnpackHigh(d0, d1).AsUInt64();
            Vector512<ulong> t2 = Avx512F.UnpackLow(d2, d3).AsUInt64(), t3 = Avx512F.UnpackHigh(d2, d3).AsUInt64();
            // u_r lane L: all 16 centroids of row Position(4L + r) = 4r + L: rows 4r..4r+3 of the group, in order.
            nuint row = (nuint)(g * 16);
            Avx512F.UnpackLow(t0, t2).AsByte().StoreUnsafe(ref l0, row);
            Avx512F.UnpackHigh(t0, t2).AsByte().StoreUnsafe(ref l0, row + 64);
            Avx512F.UnpackLow(t1, t3).AsByte().StoreUnsafe(ref l0, row + 128);
            Avx512F.UnpackHigh(t1, t3).AsByte().StoreUnsafe(ref l0, row + 192);
        }
        scale = (float)factor;
        bias = (float)sumOfMins;
        return float.IsFinite(bias);
    }

    /// <summary>Four centroid registers (16 rows each) scaled, rounded and narrowed: lane L holds bytes
    /// <c>4 * c + (t - 4L)</c> for centroid c of the four and lane t of the group in 4L..4L+3.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<byte> Quad(ref float values, nuint at, nuint stride, Vector512<float> lo, Vector512<float> f, Vector512<float> half)
    {
        Vector512<int> x0 = Round(ref values, at, lo, f, half), x1 = Round(ref values, at + stride, lo, f, half);
        Vector512<int> x2 = Round(ref values, at + 2 * stride, lo, f, half), x3 = Round(ref values, at + 3 * stride, lo, f, half);
        return Avx512BW.PackUnsignedSaturate(Avx512BW.PackUnsignedSaturate(x0, x1).AsInt16(), Avx512BW.PackUnsignedSaturate(x2, x3).AsInt16());
    }

    /// <summary><c>trunc((v - min) * f + 0.5)</c> of the table entry v (<c>alpha a + b</c>): the row-major form's rounding.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Round(ref float values, nuint at, Vector512<float> lo, Vector512<float> f, Vector512<float> half) =>
        Vector512.ConvertToInt32Native(Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref values, at) - lo, f, half));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float MaxOf(Vector512<float> v)
    {
        Vector256<float> x = Vector256.Max(v.GetLower(), v.GetUpper());
        Vector128<float> y = Vector128.Max(x.GetLower(), x.GetUpper());
        return MathF.Max(MathF.Max(y[0], y[1]), MathF.Max(y[2], y[3]));
    }

    private static bool AnyNonFinite(ReadOnlySpan<float> values)
    {
        foreach (float x in values)
            if (!float.IsFinite(x)) return true;
        return false;
    }
}

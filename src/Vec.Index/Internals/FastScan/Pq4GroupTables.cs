using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Vec.Index.Internals.FastScan;

/// <summary>
/// The L2 fast scan's per-probe tables in a group-transposed layout, so that building and quantising a probe's uint8
/// table (<see cref="Pq4Lut"/>'s fused form) needs no horizontal reductions: with 512-bit registers where AVX-512
/// exists, 256-bit (AVX2) elsewhere (<see cref="IsSupported"/>).
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

    /// <summary>Whether this machine runs the group form: with 512-bit registers (<see cref="Wide"/>) or with 256-bit
    /// ones (AVX2 and FMA).</summary>
    public static bool IsSupported => Wide || Narrow;

    /// <summary>The 512-bit form runs here: where the row-major form runs 512-bit (<see cref="Pq4Lut.Wide"/>, whose
    /// bias summation order it shares) and AVX-512BW exists.</summary>
    internal static bool Wide { get; } = Pq4Lut.Wide && Avx512BW.IsSupported;

    /// <summary>The 256-bit form runs here (AVX2 and FMA).</summary>
    internal static bool Narrow { get; } = Avx2.IsSupported && Fma.IsSupported;

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
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
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
        // The same products in the same order at either width (one fused multiply-add per lane and dimension).
        bool finite;
        if (Wide)
        {
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
            // x - x is +0 for finite x, NaN otherwise.
            finite = total - total == Vector512<float>.Zero;
        }
        else
        {
            Vector256<float> total = Vector256<float>.Zero;
            for (int c = 0; c < 16; c++)
            {
                for (int g = 0; g < mp; g += 8)
                {
                    nuint book = (nuint)(c * dsub * mp + g);
                    Vector256<float> acc = Vector256.LoadUnsafe(ref q0, (nuint)g) * Vector256.LoadUnsafe(ref b0, book);
                    for (int k = 1; k < dsub; k++)
                        acc = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref q0, (nuint)(k * mp + g)), Vector256.LoadUnsafe(ref b0, book + (nuint)(k * mp)), acc);
                    acc.StoreUnsafe(ref o0, (nuint)(c * mp + g));
                    total += acc;
                }
            }
            finite = total - total == Vector256<float>.Zero;
        }
        // A sum that overflowed is cleared by the exact check.
        return finite || !AnyNonFinite(output[..TableFloats]);
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
    public bool TryQuantizeFused(ReadOnlySpan<float> a, float alpha, ReadOnlySpan<float> b, Span<byte> lut, out float scale, out float bias) =>
        TryQuantizeFusedWith(Wide, a, alpha, b, lut, out scale, out bias);

    /// <summary>For tests: <see cref="TryQuantizeFused"/> with the register width chosen (<paramref name="wide"/> runs
    /// 512-bit only where <see cref="Wide"/>); its bytes, scale and bias equal <see cref="Pq4Lut.TryQuantizeFusedWith"/>'s
    /// at the same width.</summary>
    internal bool TryQuantizeFusedWith(bool wide, ReadOnlySpan<float> a, float alpha, ReadOnlySpan<float> b, Span<byte> lut, out float scale, out float bias)
    {
        if (!IsSupported) throw new PlatformNotSupportedException("The group tables need AVX-512F and AVX-512BW, or AVX2 and FMA.");
        if (a.Length < TableFloats) throw new ArgumentException($"a holds {a.Length} floats, {TableFloats} needed.", nameof(a));
        if (b.Length < TableFloats) throw new ArgumentException($"b holds {b.Length} floats, {TableFloats} needed.", nameof(b));
        if (lut.Length < LutBytes) throw new ArgumentException($"lut holds {lut.Length} bytes, {LutBytes} needed.", nameof(lut));
        return wide && Wide
            ? Core(ref MemoryMarshal.GetReference(a), alpha, ref MemoryMarshal.GetReference(b), M, PaddedM, ref MemoryMarshal.GetReference(lut), out scale, out bias)
            : CoreNarrow(ref MemoryMarshal.GetReference(a), alpha, ref MemoryMarshal.GetReference(b), M, PaddedM, ref MemoryMarshal.GetReference(lut), out scale, out bias);
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

    /// <summary>
    /// <see cref="Core"/> with 256-bit registers (AVX2): pass 1 as there, each group as two halves of 8 rows, minima kept
    /// in lane order (and copied to row order for the bias, summed as the row-major 256-bit form sums it). Pass 2 rounds
    /// and narrows centroids c and c + 8 of a group into one register (c in the low 128-bit lane, c + 8 in the high), so
    /// that three rounds of in-lane unpacks transpose both 8-centroid halves at once and one cross-lane permute joins
    /// them: each result register holds the rows of two lanes t, stored to rows <see cref="Position"/>(t). No calls in
    /// either loop.
    /// </summary>
    [SkipLocalsInit]
    private static bool CoreNarrow(ref float a0, float alpha, ref float b0, int m, int mp, ref byte l0, out float scale, out float bias)
    {
        Span<float> mins = stackalloc float[mp];
        ref float mins0 = ref MemoryMarshal.GetReference(mins);
        Span<float> values = stackalloc float[16 * mp];
        ref float v0s = ref MemoryMarshal.GetReference(values);
        Vector256<float> al = Vector256.Create(alpha);
        Vector256<float> range = Vector256<float>.Zero;
        nuint stride = (nuint)mp;
        for (int h = 0; h < mp; h += 8)
        {
            Vector256<float> lo = Vector256.Create(float.PositiveInfinity), hi = Vector256.Create(float.NegativeInfinity);
            nuint at = (nuint)h;
            for (int c = 0; c < 16; c += 4, at += 4 * stride)
            {
                Vector256<float> v0 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref a0, at), al, Vector256.LoadUnsafe(ref b0, at));
                Vector256<float> v1 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref a0, at + stride), al, Vector256.LoadUnsafe(ref b0, at + stride));
                Vector256<float> v2 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref a0, at + 2 * stride), al, Vector256.LoadUnsafe(ref b0, at + 2 * stride));
                Vector256<float> v3 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref a0, at + 3 * stride), al, Vector256.LoadUnsafe(ref b0, at + 3 * stride));
                v0.StoreUnsafe(ref v0s, at);
                v1.StoreUnsafe(ref v0s, at + stride);
                v2.StoreUnsafe(ref v0s, at + 2 * stride);
                v3.StoreUnsafe(ref v0s, at + 3 * stride);
                lo = Vector256.MinNative(lo, Vector256.MinNative(Vector256.MinNative(v0, v1), Vector256.MinNative(v2, v3)));
                hi = Vector256.MaxNative(hi, Vector256.MaxNative(Vector256.MaxNative(v0, v1), Vector256.MaxNative(v2, v3)));
            }
            lo.StoreUnsafe(ref mins0, (nuint)h); // lane order
            range = Vector256.MaxNative(range, hi - lo);
        }

        Vector128<float> top = Vector128.Max(range.GetLower(), range.GetUpper());
        float maxRange = MathF.Max(MathF.Max(top[0], top[1]), MathF.Max(top[2], top[3]));
        double factor = maxRange > 0 ? 255.0 / maxRange : 1.0;
        if (!float.IsFinite(maxRange) || factor > float.MaxValue)
        {
            scale = 1;
            bias = 0;
            return false;
        }

        // The bias: the minima in row order, summed as Pq4Lut sums them at this width.
        Span<float> rowMins = stackalloc float[m];
        for (int r = 0; r < m; r++) rowMins[r] = Unsafe.Add(ref mins0, Position(r));
        double sumOfMins = Pq4Lut.SumOfMins(ref MemoryMarshal.GetReference(rowMins), m, wide: false);
        Vector256<float> f = Vector256.Create((float)factor), half = Vector256.Create(0.5f);
        // Dword order after packing centroids c and c + 8 (per 128-bit lane): [c t0-3, c t8-11, c+8 t0-3, c+8 t8-11 |
        // c t4-7, c t12-15, c+8 t4-7, c+8 t12-15] -> [c t0-15 | c+8 t0-15].
        Vector256<int> join = Vector256.Create(0, 4, 1, 5, 2, 6, 3, 7);
        for (int g = 0; g < mp; g += Group)
        {
            Vector256<float> lo0 = Vector256.LoadUnsafe(ref mins0, (nuint)g), lo1 = Vector256.LoadUnsafe(ref mins0, (nuint)(g + 8));
            nuint at = (nuint)g;
            Vector256<byte> r0 = Pair(ref v0s, at, 8 * stride, lo0, lo1, f, half, join);
            Vector256<byte> r1 = Pair(ref v0s, at + stride, 8 * stride, lo0, lo1, f, half, join);
            Vector256<byte> r2 = Pair(ref v0s, at + 2 * stride, 8 * stride, lo0, lo1, f, half, join);
            Vector256<byte> r3 = Pair(ref v0s, at + 3 * stride, 8 * stride, lo0, lo1, f, half, join);
            Vector256<byte> r4 = Pair(ref v0s, at + 4 * stride, 8 * stride, lo0, lo1, f, half, join);
            Vector256<byte> r5 = Pair(ref v0s, at + 5 * stride, 8 * stride, lo0, lo1, f, half, join);
            Vector256<byte> r6 = Pair(ref v0s, at + 6 * stride, 8 * stride, lo0, lo1, f, half, join);
            Vector256<byte> r7 = Pair(ref v0s, at + 7 * stride, 8 * stride, lo0, lo1, f, half, join);
            // r_i = [centroid i, lanes t 0..15 | centroid i + 8]. Bytes, then words, then dwords interleaved: w_j lane
            // half holds, per t of (2j, 2j + 1), the 8 bytes of that half's centroids.
            Vector256<ushort> u0 = Avx2.UnpackLow(r0, r1).AsUInt16(), u1 = Avx2.UnpackHigh(r0, r1).AsUInt16();
            Vector256<ushort> u2 = Avx2.UnpackLow(r2, r3).AsUInt16(), u3 = Avx2.UnpackHigh(r2, r3).AsUInt16();
            Vector256<ushort> u4 = Avx2.UnpackLow(r4, r5).AsUInt16(), u5 = Avx2.UnpackHigh(r4, r5).AsUInt16();
            Vector256<ushort> u6 = Avx2.UnpackLow(r6, r7).AsUInt16(), u7 = Avx2.UnpackHigh(r6, r7).AsUInt16();
            Vector256<uint> v0 = Avx2.UnpackLow(u0, u2).AsUInt32(), v1 = Avx2.UnpackHigh(u0, u2).AsUInt32();
            Vector256<uint> v2 = Avx2.UnpackLow(u1, u3).AsUInt32(), v3 = Avx2.UnpackHigh(u1, u3).AsUInt32();
            Vector256<uint> v4 = Avx2.UnpackLow(u4, u6).AsUInt32(), v5 = Avx2.UnpackHigh(u4, u6).AsUInt32();
            Vector256<uint> v6 = Avx2.UnpackLow(u5, u7).AsUInt32(), v7 = Avx2.UnpackHigh(u5, u7).AsUInt32();
            ref byte rows = ref Unsafe.Add(ref l0, g * 16);
            StoreRows(ref rows, Avx2.UnpackLow(v0, v4), 0);
            StoreRows(ref rows, Avx2.UnpackHigh(v0, v4), 2);
            StoreRows(ref rows, Avx2.UnpackLow(v1, v5), 4);
            StoreRows(ref rows, Avx2.UnpackHigh(v1, v5), 6);
            StoreRows(ref rows, Avx2.UnpackLow(v2, v6), 8);
            StoreRows(ref rows, Avx2.UnpackHigh(v2, v6), 10);
            StoreRows(ref rows, Avx2.UnpackLow(v3, v7), 12);
            StoreRows(ref rows, Avx2.UnpackHigh(v3, v7), 14);
        }
        scale = (float)factor;
        bias = (float)sumOfMins;
        return float.IsFinite(bias);
    }

    /// <summary>Centroids c (at <paramref name="at"/>) and c + 8 (<paramref name="eight"/> further) of one group,
    /// rounded and narrowed: <c>[c, lanes 0..15 | c + 8, lanes 0..15]</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> Pair(ref float values, nuint at, nuint eight, Vector256<float> lo0, Vector256<float> lo1, Vector256<float> f, Vector256<float> half, Vector256<int> join)
    {
        Vector256<ushort> c = Avx2.PackUnsignedSaturate(Round(ref values, at, lo0, f, half), Round(ref values, at + 8, lo1, f, half));
        Vector256<ushort> c8 = Avx2.PackUnsignedSaturate(Round(ref values, at + eight, lo0, f, half), Round(ref values, at + eight + 8, lo1, f, half));
        return Avx2.PermuteVar8x32(Avx2.PackUnsignedSaturate(c.AsInt16(), c8.AsInt16()).AsInt32(), join).AsByte();
    }

    /// <summary>Register <paramref name="w"/> holds, per 128-bit lane, the 8 bytes of centroids 0..7 (low lane) or
    /// 8..15 (high) of lanes t and t + 1: joined into the two rows and stored at rows Position(t), Position(t + 1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRows(ref byte rows, Vector256<uint> w, int t)
    {
        Vector256<byte> joined = Avx2.Permute4x64(w.AsUInt64(), 0b11_01_10_00).AsByte();
        joined.GetLower().StoreUnsafe(ref rows, (nuint)(Position(t) * 16));
        joined.GetUpper().StoreUnsafe(ref rows, (nuint)(Position(t + 1) * 16));
    }

    /// <summary><c>trunc((v - min) * f + 0.5)</c>, 256-bit.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Round(ref float values, nuint at, Vector256<float> lo, Vector256<float> f, Vector256<float> half) =>
        Vector256.ConvertToInt32Native(Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref values, at) - lo, f, half));

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

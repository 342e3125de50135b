using System.Numerics;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Vec.Index.Internals.FastScan;

/// <summary>The instruction set a <see cref="Pq4Scanner"/> uses.</summary>
internal enum Pq4ScanKind
{
    /// <summary>Plain loops through <see cref="Pq4Layout.CodeAt"/> (the reference).</summary>
    Scalar,

    /// <summary>AVX2: <c>vpshufb</c> on 256-bit registers, one pair of sub-quantisers x 32 vectors per step.</summary>
    Avx2,

    /// <summary>AVX-512BW: <c>vpshufb</c> on 512-bit registers, four sub-quantisers x 32 vectors per step.</summary>
    Avx512,
}

/// <summary>
/// The 4-bit PQ fast-scan kernel (FAISS IndexIVFPQFastScan style): exact uint16 sums of a uint8 look-up table
/// (<see cref="Pq4Lut"/>) over codes packed by <see cref="Pq4Layout"/>.
/// </summary>
/// <remarks>
/// <para>
/// The SIMD kernels split each 32-byte chunk of codes into low nibbles (vectors 0..15 of the block) and high nibbles
/// (vectors 16..31) and look both up with one byte shuffle each; a 128-bit lane handles one sub-quantiser. Sums are kept
/// in 16-bit lanes without widening: a shuffle result read as uint16 lane k is <c>e + 256 o</c> (e = entry of the
/// even vector 2k, o = entry of the odd vector 2k + 1). Accumulator A adds these raw words (mod 2^16), accumulator O
/// adds <c>word &gt;&gt; 8</c> = o exactly; at the end the even sums are <c>A - (O &lt;&lt; 8)</c> (mod 2^16, exact
/// because the true sums are below 2^16), the odd sums are O, and the per-lane partial sums are added across lanes.
/// </para>
/// <para>The hot loops make no calls (so the JIT keeps the accumulators in registers).</para>
/// </remarks>
internal static unsafe class Pq4Scanner
{
    /// <summary>The fastest supported kind.</summary>
    public static Pq4ScanKind Best =>
        IsSupported(Pq4ScanKind.Avx512) ? Pq4ScanKind.Avx512 : IsSupported(Pq4ScanKind.Avx2) ? Pq4ScanKind.Avx2 : Pq4ScanKind.Scalar;

    /// <summary>Whether <paramref name="kind"/> runs on this machine.</summary>
    public static bool IsSupported(Pq4ScanKind kind) => kind switch
    {
        Pq4ScanKind.Scalar => true,
        Pq4ScanKind.Avx2 => System.Runtime.Intrinsics.X86.Avx2.IsSupported,
        Pq4ScanKind.Avx512 => Avx512BW.IsSupported,
        _ => false,
    };

    /// <summary>
    /// The kind matching a kernel backend's name, as the index selects it (the backend factory and
    /// <c>VECREC_BACKEND</c> pick the backend): <c>scalar</c> runs the reference, <c>simd256</c> and <c>simd128</c> the
    /// AVX2 kernel, anything else (<c>simd</c>, GPU backends' CPU fallback) the fastest supported; unsupported kinds fall
    /// back through <see cref="Resolve"/>.
    /// </summary>
    public static Pq4ScanKind ForBackend(string backendName) => backendName switch
    {
        "scalar" => Pq4ScanKind.Scalar,
        "simd256" or "simd128" => Resolve(Pq4ScanKind.Avx2),
        _ => Best,
    };

    /// <summary>The supported kind to run for a requested one (falls back AVX-512 -> AVX2 -> scalar).</summary>
    public static Pq4ScanKind Resolve(Pq4ScanKind kind)
    {
        if (kind == Pq4ScanKind.Avx512 && !IsSupported(kind)) kind = Pq4ScanKind.Avx2;
        if (kind == Pq4ScanKind.Avx2 && !IsSupported(kind)) kind = Pq4ScanKind.Scalar;
        return kind is Pq4ScanKind.Avx2 or Pq4ScanKind.Avx512 ? kind : Pq4ScanKind.Scalar;
    }

    /// <summary>
    /// Writes into <paramref name="sums"/>[0..n) the exact sum over sub-quantisers of <paramref name="lut"/> entries for
    /// each of the <paramref name="n"/> vectors in <paramref name="packed"/>.
    /// </summary>
    /// <param name="kind">Instruction set (unsupported ones fall back, see <see cref="Resolve"/>).</param>
    /// <param name="packed">Codes in <see cref="Pq4Layout"/> order (at least <c>Pq4Layout.Bytes(n, m)</c> bytes).</param>
    /// <param name="n">Number of vectors.</param>
    /// <param name="m">Number of sub-quantisers (1..256).</param>
    /// <param name="lut">uint8 table, row-major <c>m x 16</c> (a padded <c>PaddedM(m) x 16</c> table from
    /// <see cref="Pq4Lut"/> is fine; its padding row must be zero).</param>
    /// <param name="sums">Receives the n sums.</param>
    public static void Scan(Pq4ScanKind kind, ReadOnlySpan<byte> packed, int n, int m, ReadOnlySpan<byte> lut, Span<ushort> sums)
    {
        Check(packed, n, m, lut);
        if (sums.Length < n) throw new ArgumentException($"sums holds {sums.Length} values, {n} needed.", nameof(sums));
        if (n == 0) return;
        kind = Resolve(kind);
        if (kind == Pq4ScanKind.Scalar)
        {
            ScanScalar(packed, n, m, lut, sums);
            return;
        }
        Run(kind, packed, n, m, lut, sums, 0, default, default, default);
    }

    /// <summary>
    /// Writes into <paramref name="hits"/> the indices (ascending) of the vectors whose sum is below
    /// <paramref name="threshold"/> and returns their number. Only those lanes leave the SIMD registers.
    /// </summary>
    /// <param name="kind">Instruction set (unsupported ones fall back, see <see cref="Resolve"/>).</param>
    /// <param name="packed">Codes in <see cref="Pq4Layout"/> order.</param>
    /// <param name="n">Number of vectors.</param>
    /// <param name="m">Number of sub-quantisers (1..256).</param>
    /// <param name="lut">uint8 table, row-major <c>m x 16</c>.</param>
    /// <param name="threshold">Exclusive bound on the sum.</param>
    /// <param name="hits">Receives the indices; at least <paramref name="n"/> long.</param>
    public static int ScanThreshold(Pq4ScanKind kind, ReadOnlySpan<byte> packed, int n, int m, ReadOnlySpan<byte> lut, ushort threshold, Span<int> hits) =>
        ScanThreshold(kind, packed, n, m, lut, threshold, hits, default);

    /// <summary>
    /// As <see cref="ScanThreshold(Pq4ScanKind, ReadOnlySpan{byte}, int, int, ReadOnlySpan{byte}, ushort, Span{int})"/>,
    /// and when <paramref name="hitSums"/> is not empty also writes each hit's sum there (aligned with
    /// <paramref name="hits"/>), so the caller needs no second pass over the codes.
    /// </summary>
    /// <param name="kind">Instruction set (unsupported ones fall back, see <see cref="Resolve"/>).</param>
    /// <param name="packed">Codes in <see cref="Pq4Layout"/> order.</param>
    /// <param name="n">Number of vectors.</param>
    /// <param name="m">Number of sub-quantisers (1..256).</param>
    /// <param name="lut">uint8 table, row-major <c>m x 16</c>.</param>
    /// <param name="threshold">Exclusive bound on the sum.</param>
    /// <param name="hits">Receives the indices; at least <paramref name="n"/> long.</param>
    /// <param name="hitSums">Empty, or at least <paramref name="n"/> long: receives the hits' sums.</param>
    public static int ScanThreshold(Pq4ScanKind kind, ReadOnlySpan<byte> packed, int n, int m, ReadOnlySpan<byte> lut, ushort threshold, Span<int> hits, Span<ushort> hitSums)
    {
        Check(packed, n, m, lut);
        if (hits.Length < n) throw new ArgumentException($"hits holds {hits.Length} values, {n} needed.", nameof(hits));
        if (!hitSums.IsEmpty && hitSums.Length < n) throw new ArgumentException($"hitSums holds {hitSums.Length} values, {n} needed.", nameof(hitSums));
        if (n == 0) return 0;
        kind = Resolve(kind);
        if (kind == Pq4ScanKind.Scalar)
        {
            int count = 0;
            bool withSums = !hitSums.IsEmpty;
            for (int i = 0; i < n; i++)
            {
                ushort sum = SumScalar(packed, i, m, lut);
                if (sum >= threshold) continue;
                if (withSums) hitSums[count] = sum;
                hits[count++] = i;
            }
            return count;
        }
        return Run(kind, packed, n, m, lut, default, threshold, hits, default, hitSums);
    }

    /// <summary>
    /// As <see cref="ScanThreshold(Pq4ScanKind, ReadOnlySpan{byte}, int, int, ReadOnlySpan{byte}, ushort, Span{int}, Span{ushort})"/>
    /// with 16-bit indices, for scans of at most <see cref="MaxCompactScan"/> vectors (the index scans lists in chunks of
    /// 1,024): where AVX-512 VBMI2 runs, each block's hits and sums leave the registers by two compressing stores, with no
    /// branch per hit. Both spans must hold <c>n</c> rounded up to a multiple of 32 values (the stores write whole blocks).
    /// </summary>
    /// <param name="kind">Instruction set (unsupported ones fall back, see <see cref="Resolve"/>).</param>
    /// <param name="packed">Codes in <see cref="Pq4Layout"/> order.</param>
    /// <param name="n">Number of vectors (0..<see cref="MaxCompactScan"/>).</param>
    /// <param name="m">Number of sub-quantisers (1..256).</param>
    /// <param name="lut">uint8 table, row-major <c>m x 16</c>.</param>
    /// <param name="threshold">Exclusive bound on the sum.</param>
    /// <param name="hits">Receives the indices (ascending).</param>
    /// <param name="hitSums">Receives the hits' sums, aligned with <paramref name="hits"/>.</param>
    public static int ScanThreshold(Pq4ScanKind kind, ReadOnlySpan<byte> packed, int n, int m, ReadOnlySpan<byte> lut, ushort threshold, Span<ushort> hits, Span<ushort> hitSums)
    {
        Check(packed, n, m, lut);
        if (n > MaxCompactScan) throw new ArgumentOutOfRangeException(nameof(n), n, $"16-bit hit indices cover at most {MaxCompactScan} vectors.");
        int room = (n + Pq4Layout.BlockSize - 1) / Pq4Layout.BlockSize * Pq4Layout.BlockSize;
        if (hits.Length < room) throw new ArgumentException($"hits holds {hits.Length} values, {room} needed.", nameof(hits));
        if (hitSums.Length < room) throw new ArgumentException($"hitSums holds {hitSums.Length} values, {room} needed.", nameof(hitSums));
        if (n == 0) return 0;
        kind = Resolve(kind);
        if (kind == Pq4ScanKind.Scalar)
        {
            int count = 0;
            for (int i = 0; i < n; i++)
            {
                ushort sum = SumScalar(packed, i, m, lut);
                if (sum >= threshold) continue;
                hitSums[count] = sum;
                hits[count++] = (ushort)i;
            }
            return count;
        }
        return Run(kind, packed, n, m, lut, default, threshold, default, hits, hitSums);
    }

    /// <summary>The most vectors one scan with 16-bit hit indices covers.</summary>
    public const int MaxCompactScan = 65536;

    private static void Check(ReadOnlySpan<byte> packed, int n, int m, ReadOnlySpan<byte> lut)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        Pq4Layout.CheckM(m);
        long bytes = Pq4Layout.Bytes(n, m);
        if (packed.Length < bytes) throw new ArgumentException($"packed holds {packed.Length} bytes, {bytes} needed for {n} x {m} codes.", nameof(packed));
        if (lut.Length < m * 16) throw new ArgumentException($"lut holds {lut.Length} bytes, {m} x 16 needed.", nameof(lut));
    }

    private static void ScanScalar(ReadOnlySpan<byte> packed, int n, int m, ReadOnlySpan<byte> lut, Span<ushort> sums)
    {
        for (int i = 0; i < n; i++) sums[i] = SumScalar(packed, i, m, lut);
    }

    private static ushort SumScalar(ReadOnlySpan<byte> packed, int i, int m, ReadOnlySpan<byte> lut)
    {
        int s = 0;
        for (int j = 0; j < m; j++) s += lut[j * 16 + Pq4Layout.CodeAt(packed, i, j, m)];
        return (ushort)s;
    }

    private static int Run(Pq4ScanKind kind, ReadOnlySpan<byte> packed, int n, int m, ReadOnlySpan<byte> lut, Span<ushort> sums, ushort threshold, Span<int> hits,
        Span<ushort> hits16, Span<ushort> hitSums)
    {
        int pairs = Pq4Layout.PaddedM(m) / 2;
        // Odd m: the kernels read a whole last pair of rows, so give them a table whose padding row is zero.
        scoped ReadOnlySpan<byte> table = lut;
        Span<byte> padded = lut.Length < pairs * 32 ? stackalloc byte[pairs * 32] : default;
        if (!padded.IsEmpty)
        {
            padded.Clear();
            lut[..(m * 16)].CopyTo(padded);
            table = padded;
        }
        fixed (byte* c = packed)
        fixed (byte* t = table)
        fixed (ushort* s = sums)
        fixed (int* h = hits)
        fixed (ushort* h16 = hits16)
        fixed (ushort* hs = hitSums)
        {
            return kind == Pq4ScanKind.Avx512
                ? KernelAvx512(c, n, pairs, t, s, threshold, h, h16, hs)
                : KernelAvx2(c, n, pairs, t, s, threshold, h, h16, hs);
        }
    }

    /// <summary>AVX2 kernel. Writes sums when <paramref name="sums"/> is non-null, else threshold hits (and their sums
    /// when <paramref name="hitSums"/> is non-null); returns the hit count.</summary>
    private static int KernelAvx2(byte* codes, int n, int pairs, byte* lut, ushort* sums, ushort threshold, int* hits, ushort* hits16, ushort* hitSums)
    {
        Vector256<byte> nibble = Vector256.Create((byte)0x0F);
        Vector128<ushort> limit = Vector128.Create(threshold);
        ushort* tail = stackalloc ushort[Pq4Layout.BlockSize];
        int blocks = (n + Pq4Layout.BlockSize - 1) / Pq4Layout.BlockSize;
        long blockBytes = pairs * 32L;
        int count = 0;
        for (int b = 0; b < blocks; b++)
        {
            byte* c = codes + b * blockBytes;
            byte* t = lut;
            Vector256<ushort> aLo = Vector256<ushort>.Zero, oLo = aLo, aHi = aLo, oHi = aLo;
            for (int p = 0; p < pairs; p++, c += 32, t += 32)
            {
                Vector256<byte> x = Vector256.Load(c);
                Vector256<byte> table = Vector256.Load(t);
                Vector256<ushort> rLo = System.Runtime.Intrinsics.X86.Avx2.Shuffle(table, x & nibble).AsUInt16();
                Vector256<ushort> rHi = System.Runtime.Intrinsics.X86.Avx2.Shuffle(table, Vector256.ShiftRightLogical(x.AsUInt16(), 4).AsByte() & nibble).AsUInt16();
                aLo += rLo;
                oLo += Vector256.ShiftRightLogical(rLo, 8);
                aHi += rHi;
                oHi += Vector256.ShiftRightLogical(rHi, 8);
            }
            Vector256<ushort> eLo = aLo - Vector256.ShiftLeft(oLo, 8), eHi = aHi - Vector256.ShiftLeft(oHi, 8);
            Vector128<ushort> evenLo = eLo.GetLower() + eLo.GetUpper(), oddLo = oLo.GetLower() + oLo.GetUpper();
            Vector128<ushort> evenHi = eHi.GetLower() + eHi.GetUpper(), oddHi = oHi.GetLower() + oHi.GetUpper();
            Vector128<ushort> s0 = Sse2.UnpackLow(evenLo, oddLo), s1 = Sse2.UnpackHigh(evenLo, oddLo);
            Vector128<ushort> s2 = Sse2.UnpackLow(evenHi, oddHi), s3 = Sse2.UnpackHigh(evenHi, oddHi);
            count = EmitBlock(s0, s1, s2, s3, b * Pq4Layout.BlockSize, n, sums, limit, tail, hits, hits16, hitSums, count);
        }
        return count;
    }

    /// <summary>AVX-512BW kernel: two chunks (four sub-quantisers) per step; an odd last chunk is zero-extended (its
    /// table too, so the upper lanes add zero).</summary>
    private static int KernelAvx512(byte* codes, int n, int pairs, byte* lut, ushort* sums, ushort threshold, int* hits, ushort* hits16, ushort* hitSums)
    {
        Vector512<byte> nibble = Vector512.Create((byte)0x0F);
        Vector128<ushort> limit = Vector128.Create(threshold);
        Vector512<ushort> limit512 = Vector512.Create(threshold), lanes = Vector512<ushort>.Indices;
        ushort* tail = stackalloc ushort[Pq4Layout.BlockSize];
        int blocks = (n + Pq4Layout.BlockSize - 1) / Pq4Layout.BlockSize;
        long blockBytes = pairs * 32L;
        int quads = pairs / 2;
        bool oddPair = (pairs & 1) != 0;
        int count = 0;
        for (int b = 0; b < blocks; b++)
        {
            byte* c = codes + b * blockBytes;
            byte* t = lut;
            Vector512<ushort> aLo = Vector512<ushort>.Zero, oLo = aLo, aHi = aLo, oHi = aLo;
            for (int q = 0; q < quads; q++, c += 64, t += 64)
            {
                Vector512<byte> x = Vector512.Load(c);
                Vector512<byte> table = Vector512.Load(t);
                Vector512<ushort> rLo = Avx512BW.Shuffle(table, x & nibble).AsUInt16();
                Vector512<ushort> rHi = Avx512BW.Shuffle(table, Vector512.ShiftRightLogical(x.AsUInt16(), 4).AsByte() & nibble).AsUInt16();
                aLo += rLo;
                oLo += Vector512.ShiftRightLogical(rLo, 8);
                aHi += rHi;
                oHi += Vector512.ShiftRightLogical(rHi, 8);
            }
            if (oddPair)
            {
                Vector512<byte> x = Vector256.Load(c).ToVector512();
                Vector512<byte> table = Vector256.Load(t).ToVector512();
                Vector512<ushort> rLo = Avx512BW.Shuffle(table, x & nibble).AsUInt16();
                Vector512<ushort> rHi = Avx512BW.Shuffle(table, Vector512.ShiftRightLogical(x.AsUInt16(), 4).AsByte() & nibble).AsUInt16();
                aLo += rLo;
                oLo += Vector512.ShiftRightLogical(rLo, 8);
                aHi += rHi;
                oHi += Vector512.ShiftRightLogical(rHi, 8);
            }
            Vector512<ushort> eLo = aLo - Vector512.ShiftLeft(oLo, 8), eHi = aHi - Vector512.ShiftLeft(oHi, 8);
            Vector256<ushort> eLo2 = eLo.GetLower() + eLo.GetUpper(), oLo2 = oLo.GetLower() + oLo.GetUpper();
            Vector256<ushort> eHi2 = eHi.GetLower() + eHi.GetUpper(), oHi2 = oHi.GetLower() + oHi.GetUpper();
            Vector128<ushort> evenLo = eLo2.GetLower() + eLo2.GetUpper(), oddLo = oLo2.GetLower() + oLo2.GetUpper();
            Vector128<ushort> evenHi = eHi2.GetLower() + eHi2.GetUpper(), oddHi = oHi2.GetLower() + oHi2.GetUpper();
            Vector128<ushort> s0 = Sse2.UnpackLow(evenLo, oddLo), s1 = Sse2.UnpackHigh(evenLo, oddLo);
            Vector128<ushort> s2 = Sse2.UnpackLow(evenHi, oddHi), s3 = Sse2.UnpackHigh(evenHi, oddHi);
            if (Avx512Vbmi2.IsSupported && hits16 != null)
            {
                // The block's 32 sums in one register; lanes below the limit (and inside n) are compressed to the front
                // and stored whole (the caller's buffers have room for the block), indices alike.
                Vector512<ushort> all = Vector512.Create(Vector256.Create(s0, s1), Vector256.Create(s2, s3));
                int first = b * Pq4Layout.BlockSize;
                Vector512<ushort> below = Vector512.LessThan(all, limit512);
                if (n - first < Pq4Layout.BlockSize) below &= Vector512.LessThan(lanes, Vector512.Create((ushort)(n - first)));
                Avx512Vbmi2.Compress(Vector512<ushort>.Zero, below, all).Store(hitSums + count);
                Avx512Vbmi2.Compress(Vector512<ushort>.Zero, below, lanes + Vector512.Create((ushort)first)).Store(hits16 + count);
                count += BitOperations.PopCount(below.ExtractMostSignificantBits());
                continue;
            }
            count = EmitBlock(s0, s1, s2, s3, b * Pq4Layout.BlockSize, n, sums, limit, tail, hits, hits16, hitSums, count);
        }
        return count;
    }

    /// <summary>Appends the lanes of <paramref name="sums"/> (and their <paramref name="indices"/>) selected by the 8-bit
    /// <paramref name="mask"/>, in order, with one shuffle each and whole 16-byte stores.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static int Emit8(Vector128<ushort> sums, Vector128<ushort> indices, uint mask, ref byte order, ushort* hits16, ushort* hitSums, int count)
    {
        Vector128<byte> shuffle = Vector128.LoadUnsafe(ref order, (nuint)(mask * 16));
        Ssse3.Shuffle(sums.AsByte(), shuffle).Store((byte*)(hitSums + count));
        Ssse3.Shuffle(indices.AsByte(), shuffle).Store((byte*)(hits16 + count));
        return count + BitOperations.PopCount(mask);
    }

    /// <summary>Per 8-bit mask, the byte shuffle that moves the selected 16-bit lanes of a 128-bit register to its front,
    /// in order (the rest zero).</summary>
    private static readonly byte[] WordCompaction = BuildWordCompaction();

    private static byte[] BuildWordCompaction()
    {
        var table = new byte[256 * 16];
        Array.Fill(table, (byte)0x80);
        for (int mask = 0; mask < 256; mask++)
        {
            int o = 0;
            for (int lane = 0; lane < 8; lane++)
            {
                if ((mask >> lane & 1) == 0) continue;
                table[mask * 16 + o++] = (byte)(2 * lane);
                table[mask * 16 + o++] = (byte)(2 * lane + 1);
            }
        }
        return table;
    }

    /// <summary>
    /// The end of one 32-vector block, shared by both kernels (inlined, so the kernels stay call-free): either store the
    /// block's sums (s0..s3 hold vectors 0-7, 8-15, 16-23, 24-31) or append the vectors whose sum is below the limit to
    /// the hits (to <paramref name="hits16"/> when it is non-null, else to <paramref name="hits"/>; with their sums when
    /// <paramref name="hitSums"/> is non-null); lanes past <paramref name="n"/> are dropped. Returns the new hit count.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static int EmitBlock(Vector128<ushort> s0, Vector128<ushort> s1, Vector128<ushort> s2, Vector128<ushort> s3, int first, int n,
        ushort* sums, Vector128<ushort> limit, ushort* tail, int* hits, ushort* hits16, ushort* hitSums, int count)
    {
        int valid = Math.Min(Pq4Layout.BlockSize, n - first);
        if (sums != null)
        {
            ushort* dst = valid == Pq4Layout.BlockSize ? sums + first : tail;
            s0.Store(dst);
            s1.Store(dst + 8);
            s2.Store(dst + 16);
            s3.Store(dst + 24);
            if (valid < Pq4Layout.BlockSize)
                for (int i = 0; i < valid; i++) sums[first + i] = tail[i];
            return count;
        }

        uint mask = Vector128.ExtractMostSignificantBits(Vector128.LessThan(s0, limit))
            | (Vector128.ExtractMostSignificantBits(Vector128.LessThan(s1, limit)) << 8)
            | (Vector128.ExtractMostSignificantBits(Vector128.LessThan(s2, limit)) << 16)
            | (Vector128.ExtractMostSignificantBits(Vector128.LessThan(s3, limit)) << 24);
        if (valid < Pq4Layout.BlockSize) mask &= (1u << valid) - 1;
        if (mask != 0 && hits16 != null)
        {
            // 16-bit hits, always with their sums (the caller's buffers hold whole blocks): per 8 lanes, one byte shuffle from a table moves the
            // selected sums and indices to the front, stored whole; no branch per hit.
            ref byte order = ref System.Runtime.InteropServices.MemoryMarshal.GetArrayDataReference(WordCompaction);
            Vector128<ushort> index = Vector128.Create((ushort)first) + Vector128<ushort>.Indices, eight = Vector128.Create((ushort)8);
            count = Emit8(s0, index, mask & 0xFF, ref order, hits16, hitSums, count);
            count = Emit8(s1, index + eight, (mask >> 8) & 0xFF, ref order, hits16, hitSums, count);
            count = Emit8(s2, index + eight + eight, (mask >> 16) & 0xFF, ref order, hits16, hitSums, count);
            return Emit8(s3, index + eight + eight + eight, mask >> 24, ref order, hits16, hitSums, count);
        }
        if (mask != 0 && hitSums != null)
        {
            // 32-bit indices with sums: each hit's sum from the stored block.
            s0.Store(tail);
            s1.Store(tail + 8);
            s2.Store(tail + 16);
            s3.Store(tail + 24);
            while (mask != 0)
            {
                int lane = BitOperations.TrailingZeroCount(mask);
                hitSums[count] = tail[lane];
                hits[count++] = first + lane;
                mask &= mask - 1;
            }
        }

        while (mask != 0)
        {
            hits[count++] = first + BitOperations.TrailingZeroCount(mask);
            mask &= mask - 1;
        }

        return count;
    }
}

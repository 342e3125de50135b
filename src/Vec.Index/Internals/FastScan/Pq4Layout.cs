namespace Vec.Index.Internals.FastScan;

/// <summary>
/// The packed layout of 4-bit product-quantisation codes for the fast-scan kernels (<see cref="Pq4Scanner"/>).
/// </summary>
/// <remarks>
/// <para>
/// Vectors are grouped in blocks of <see cref="BlockSize"/> = 32; the last block is padded with code 0. The number of
/// sub-quantisers M is rounded up to an even <c>Mp</c> (<see cref="PaddedM"/>); a padding sub-quantiser has code 0
/// everywhere (and a zero look-up table row, see <see cref="Pq4Lut"/>). A block holds <c>Mp / 2</c> chunks of 32 bytes,
/// one per pair of sub-quantisers <c>(2p, 2p + 1)</c>; block <c>b</c> starts at byte <c>b * Mp * 16</c> and its chunk
/// <c>p</c> at <c>b * Mp * 16 + p * 32</c>. Inside chunk p, for j in 0..15:
/// </para>
/// <list type="bullet">
/// <item>byte <c>j</c>: low nibble = code of vector <c>j</c> of the block for sub-quantiser <c>2p</c>,
/// high nibble = code of vector <c>16 + j</c> for sub-quantiser <c>2p</c>;</item>
/// <item>byte <c>16 + j</c>: the same for sub-quantiser <c>2p + 1</c>.</item>
/// </list>
/// <para>
/// So one 256-bit load of a chunk puts sub-quantiser 2p in the low 128-bit lane and 2p + 1 in the high lane, matching a
/// 32-byte table register holding look-up rows 2p and 2p + 1 (the row-major <c>Mp x 16</c> uint8 table): <c>vpshufb</c>
/// of the low nibbles gives the table entries of vectors 0..15, of the high nibbles those of vectors 16..31, each lane
/// with its own sub-quantiser. Two consecutive chunks (64 bytes) likewise match four table rows for the 512-bit
/// <c>vpshufb</c>, one sub-quantiser per 128-bit lane, so both kernels share this layout.
/// </para>
/// </remarks>
internal static class Pq4Layout
{
    /// <summary>Vectors per block.</summary>
    public const int BlockSize = 32;

    /// <summary>Largest supported number of sub-quantisers (uint16 sums of uint8 entries cannot overflow).</summary>
    public const int MaxM = 256;

    /// <summary>The number of sub-quantisers rounded up to even.</summary>
    public static int PaddedM(int m) => (m + 1) & ~1;

    /// <summary>Bytes of one block of 32 vectors.</summary>
    public static int BlockBytes(int m) => PaddedM(m) * 16;

    /// <summary>Bytes needed for <paramref name="n"/> vectors of <paramref name="m"/> 4-bit codes (whole blocks).</summary>
    public static long Bytes(int n, int m)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        CheckM(m);
        return (long)((n + BlockSize - 1) / BlockSize) * BlockBytes(m);
    }

    /// <summary>Packs <paramref name="n"/> row-major code vectors (<paramref name="m"/> bytes each, every one 0..15).</summary>
    public static byte[] Pack(ReadOnlySpan<byte> codes, int n, int m)
    {
        var packed = new byte[Bytes(n, m)];
        Pack(codes, n, m, packed);
        return packed;
    }

    /// <summary>Packs <paramref name="n"/> row-major code vectors into <paramref name="packed"/> (all of
    /// <see cref="Bytes"/> is written, padding included).</summary>
    public static void Pack(ReadOnlySpan<byte> codes, int n, int m, Span<byte> packed)
    {
        long bytes = Bytes(n, m);
        if (codes.Length < (long)n * m) throw new ArgumentException($"codes holds {codes.Length} bytes, {n} x {m} needed.", nameof(codes));
        if (packed.Length < bytes) throw new ArgumentException($"packed holds {packed.Length} bytes, {bytes} needed.", nameof(packed));
        packed[..(int)bytes].Clear();
        int blockBytes = BlockBytes(m);
        for (int i = 0; i < n; i++)
        {
            int blockBase = (i / BlockSize) * blockBytes;
            int r = i % BlockSize, j = r & 15, shift = r < 16 ? 0 : 4;
            for (int s = 0; s < m; s++)
            {
                byte c = codes[i * m + s];
                if (c > 15) throw new ArgumentException($"code {c} of vector {i}, sub-quantiser {s} is not a 4-bit code (0..15).", nameof(codes));
                packed[blockBase + (s >> 1) * 32 + (s & 1) * 16 + j] |= (byte)(c << shift);
            }
        }
    }

    /// <summary>Unpacks into row-major codes (<paramref name="n"/> x <paramref name="m"/> bytes).</summary>
    public static void Unpack(ReadOnlySpan<byte> packed, int n, int m, Span<byte> codes)
    {
        long bytes = Bytes(n, m);
        if (packed.Length < bytes) throw new ArgumentException($"packed holds {packed.Length} bytes, {bytes} needed.", nameof(packed));
        if (codes.Length < (long)n * m) throw new ArgumentException($"codes holds {codes.Length} bytes, {n} x {m} needed.", nameof(codes));
        for (int i = 0; i < n; i++)
            for (int s = 0; s < m; s++) codes[i * m + s] = CodeAt(packed, i, s, m);
    }

    /// <summary>
    /// Writes the <paramref name="m"/> codes of vector <paramref name="i"/> (row-major, every one 0..15) into its nibbles,
    /// leaving every other nibble as it is.
    /// </summary>
    /// <remarks>
    /// This is how an inverted list grows in place while searches read it (<c>IvfPqIndex.Add</c>): a byte holds the
    /// nibbles of two vectors of the block (<c>j</c> and <c>16 + j</c>) for one sub-quantiser, so filling vector
    /// <c>16 + j</c> rewrites a byte whose other nibble belongs to vector <c>j</c>, which readers may already see. The
    /// write is a single-byte store of <c>(old &amp; keep) | new</c> computed from the byte itself by the only writer:
    /// a concurrent reader sees either the old or the new byte, and both carry the same nibble for vector <c>j</c>, so
    /// a published vector's codes never change under a reader. Readers ignore the lanes at or beyond their published
    /// count (the scanner masks them), so the half-written new vector is never seen either.
    /// </remarks>
    public static void Write(Span<byte> packed, int i, int m, ReadOnlySpan<byte> code)
    {
        CheckM(m);
        ArgumentOutOfRangeException.ThrowIfNegative(i);
        if (code.Length < m) throw new ArgumentException($"code holds {code.Length} bytes, {m} needed.", nameof(code));
        if (packed.Length < Bytes(i + 1, m)) throw new ArgumentException($"packed holds {packed.Length} bytes, {Bytes(i + 1, m)} needed.", nameof(packed));
        int r = i % BlockSize, j = r & 15;
        int blockBase = (i / BlockSize) * BlockBytes(m);
        bool high = r >= 16;
        for (int s = 0; s < m; s++)
        {
            byte c = code[s];
            if (c > 15) throw new ArgumentException($"code {c} for sub-quantiser {s} is not a 4-bit code (0..15).", nameof(code));
            ref byte b = ref packed[blockBase + (s >> 1) * 32 + (s & 1) * 16 + j];
            b = high ? (byte)((b & 0x0F) | (c << 4)) : (byte)((b & 0xF0) | c);
        }
    }

    /// <summary>Reads the <paramref name="m"/> codes of vector <paramref name="i"/> into row-major form.</summary>
    public static void Read(ReadOnlySpan<byte> packed, int i, int m, Span<byte> code)
    {
        for (int s = 0; s < m; s++) code[s] = CodeAt(packed, i, s, m);
    }

    /// <summary>
    /// Whether every padding nibble is zero: the lanes at or beyond <paramref name="n"/> in the last block and, for odd
    /// <paramref name="m"/>, the padding sub-quantiser of every lane (loaders check files with it).
    /// </summary>
    public static bool PaddingIsZero(ReadOnlySpan<byte> packed, int n, int m)
    {
        int blocks = (n + BlockSize - 1) / BlockSize, mp = PaddedM(m);
        for (int i = n; i < blocks * BlockSize; i++)
            for (int s = 0; s < mp; s++)
                if (CodeAt(packed, i, s, mp) != 0) return false;
        if (mp != m)
            for (int i = 0; i < n; i++)
                if (CodeAt(packed, i, m, mp) != 0) return false;
        return true;
    }

    /// <summary>The code of vector <paramref name="i"/> for sub-quantiser <paramref name="sub"/> of <paramref name="m"/>.</summary>
    public static byte CodeAt(ReadOnlySpan<byte> packed, int i, int sub, int m)
    {
        int r = i % BlockSize;
        byte b = packed[(i / BlockSize) * BlockBytes(m) + (sub >> 1) * 32 + (sub & 1) * 16 + (r & 15)];
        return (byte)(r < 16 ? b & 15 : b >> 4);
    }

    internal static void CheckM(int m, string paramName = "m")
    {
        if (m < 1 || m > MaxM)
            throw new ArgumentOutOfRangeException(paramName, m, $"The number of 4-bit sub-quantisers must be in 1..{MaxM}.");
    }
}

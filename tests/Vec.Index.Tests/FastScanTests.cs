using Vec.Index.Internals.FastScan;
using Xunit;

namespace Vec.Index.Tests;

public sealed class FastScanTests
{
    private static readonly int[] Ns = [0, 1, 31, 32, 33, 63, 64, 100, 1000];
    private static readonly int[] Ms = [1, 2, 3, 8, 15, 16, 32, 64];

    public static TheoryData<int> SimdKinds()
    {
        var data = new TheoryData<int>();
        foreach (Pq4ScanKind kind in Enum.GetValues<Pq4ScanKind>())
            if (kind != Pq4ScanKind.Scalar && Pq4Scanner.IsSupported(kind)) data.Add((int)kind);
        if (data.Count == 0) data.Add((int)Pq4ScanKind.Scalar); // keeps the theory non-empty on machines without AVX2
        return data;
    }

    private static byte[] RandomCodes(Random rng, int n, int m)
    {
        var codes = new byte[n * m];
        for (int i = 0; i < codes.Length; i++) codes[i] = (byte)rng.Next(16);
        return codes;
    }

    private static byte[] RandomLut(Random rng, int m, bool padded)
    {
        var lut = new byte[(padded ? Pq4Layout.PaddedM(m) : m) * 16];
        rng.NextBytes(lut.AsSpan(0, m * 16)); // full 0..255 range: sums up to m * 255
        return lut;
    }

    /// <summary>Plain sum over the unpacked row-major codes (independent of the layout).</summary>
    private static int Expected(byte[] codes, byte[] lut, int i, int m)
    {
        int s = 0;
        for (int j = 0; j < m; j++) s += lut[j * 16 + codes[i * m + j]];
        return s;
    }

    [Fact]
    public void Packer_round_trips_and_code_at_matches()
    {
        foreach (int m in Ms.Append(256))
            foreach (int n in Ns)
            {
                int seed = n * 1000 + m;
                var rng = new Random(seed);
                var codes = RandomCodes(rng, n, m);
                var packed = Pq4Layout.Pack(codes, n, m);
                Assert.Equal((n + 31) / 32 * Pq4Layout.PaddedM(m) * 16, packed.Length);
                var back = new byte[n * m];
                Pq4Layout.Unpack(packed, n, m, back);
                Assert.True(codes.AsSpan().SequenceEqual(back), $"seed {seed}: round trip differs (n {n}, m {m})");
                for (int k = 0; k < Math.Min(50, n * m); k++)
                {
                    int i = rng.Next(n), j = rng.Next(m);
                    Assert.Equal(codes[i * m + j], Pq4Layout.CodeAt(packed, i, j, m));
                }
            }
    }

    [Fact]
    public void Layout_is_the_documented_one()
    {
        // Vector 17 (block 0, high half, j = 1), sub-quantiser 3 (pair 1, high lane) of m = 4: byte 32 + 16 + 1, high nibble.
        const int n = 40, m = 4;
        var codes = new byte[n * m];
        codes[17 * m + 3] = 0xA;
        codes[33 * m + 0] = 0x5; // block 1 (starts at 64), vector 1 of the block, sub-quantiser 0: byte 64 + 1, low nibble
        var packed = Pq4Layout.Pack(codes, n, m);
        Assert.Equal(0xA0, packed[32 + 16 + 1]);
        Assert.Equal(0x05, packed[64 + 1]);
        Assert.Equal(2, packed.Count(b => b != 0));
    }

    [Fact]
    public void Packer_rejects_bad_input()
    {
        Assert.Equal("codes", Assert.Throws<ArgumentException>(() => Pq4Layout.Pack(new byte[] { 16 }, 1, 1)).ParamName);
        Assert.Equal("codes", Assert.Throws<ArgumentException>(() => Pq4Layout.Pack(new byte[3], 2, 2)).ParamName);
        Assert.Equal("m", Assert.Throws<ArgumentOutOfRangeException>(() => Pq4Layout.Pack(new byte[257], 1, 257)).ParamName);
        Assert.Equal("packed", Assert.Throws<ArgumentException>(() =>
            Pq4Scanner.Scan(Pq4ScanKind.Scalar, new byte[10], 1, 1, new byte[16], new ushort[1])).ParamName);
        Assert.Equal("lut", Assert.Throws<ArgumentException>(() =>
            Pq4Scanner.Scan(Pq4ScanKind.Scalar, new byte[32], 1, 1, new byte[15], new ushort[1])).ParamName);
        Assert.Equal("sums", Assert.Throws<ArgumentException>(() =>
            Pq4Scanner.Scan(Pq4ScanKind.Scalar, new byte[64], 2, 1, new byte[16], new ushort[1])).ParamName);
        Assert.Equal("hits", Assert.Throws<ArgumentException>(() =>
            Pq4Scanner.ScanThreshold(Pq4ScanKind.Scalar, new byte[64], 2, 1, new byte[16], 5, new int[1])).ParamName);
    }

    [Fact]
    public void Scalar_equals_the_plain_sum()
    {
        foreach (int m in Ms)
            foreach (int n in Ns)
            {
                int seed = 7 * n + 31 * m;
                var rng = new Random(seed);
                var codes = RandomCodes(rng, n, m);
                var lut = RandomLut(rng, m, padded: false);
                var sums = new ushort[n];
                Pq4Scanner.Scan(Pq4ScanKind.Scalar, Pq4Layout.Pack(codes, n, m), n, m, lut, sums);
                for (int i = 0; i < n; i++)
                    if (sums[i] != Expected(codes, lut, i, m))
                        Assert.Fail($"seed {seed} n {n} m {m}: vector {i} summed {sums[i]}, expected {Expected(codes, lut, i, m)}");
            }
    }

    [Theory]
    [MemberData(nameof(SimdKinds))]
    public void Every_kind_equals_scalar_bit_for_bit(int kindValue)
    {
        var kind = (Pq4ScanKind)kindValue;
        foreach (int m in Ms)
            foreach (int n in Ns)
                foreach (bool padded in new[] { false, true })
                {
                    int seed = n * 7919 + m * 131 + (padded ? 1 : 0) + kindValue * 1_000_003;
                    var rng = new Random(seed);
                    int slack = rng.Next(3); // sums span longer than n must keep its tail untouched
                    var codes = RandomCodes(rng, n, m);
                    var lut = RandomLut(rng, m, padded);
                    var packed = Pq4Layout.Pack(codes, n, m);
                    var expected = new ushort[n + slack];
                    var actual = new ushort[n + slack];
                    expected.AsSpan(n).Fill(0xBEEF);
                    actual.AsSpan(n).Fill(0xBEEF);
                    Pq4Scanner.Scan(Pq4ScanKind.Scalar, packed, n, m, lut, expected);
                    Pq4Scanner.Scan(kind, packed, n, m, lut, actual);
                    for (int i = 0; i < n + slack; i++)
                        if (actual[i] != expected[i])
                            Assert.Fail($"seed {seed} kind {kind} n {n} m {m} padded {padded}: index {i} is {actual[i]}, scalar {expected[i]}");
                }
    }

    [Theory]
    [MemberData(nameof(SimdKinds))]
    public void Random_shapes_agree_with_scalar(int kindValue)
    {
        var kind = (Pq4ScanKind)kindValue;
        var master = new Random(20261123);
        for (int trial = 0; trial < 200; trial++)
        {
            int seed = master.Next();
            var rng = new Random(seed);
            int n = rng.Next(0, 300), m = rng.Next(1, 257);
            var codes = RandomCodes(rng, n, m);
            var lut = RandomLut(rng, m, rng.Next(2) == 0);
            var packed = Pq4Layout.Pack(codes, n, m);
            var expected = new ushort[n];
            var actual = new ushort[n];
            Pq4Scanner.Scan(Pq4ScanKind.Scalar, packed, n, m, lut, expected);
            Pq4Scanner.Scan(kind, packed, n, m, lut, actual);
            if (!expected.AsSpan().SequenceEqual(actual))
                Assert.Fail($"seed {seed} kind {kind} n {n} m {m}: sums differ from scalar");
        }
    }

    [Theory]
    [InlineData((int)Pq4ScanKind.Scalar)]
    [MemberData(nameof(SimdKinds))]
    public void No_overflow_at_m_256_with_all_255_tables(int kindValue)
    {
        const int m = 256, n = 70;
        var rng = new Random(256);
        var codes = RandomCodes(rng, n, m);
        var lut = Enumerable.Repeat((byte)255, m * 16).ToArray();
        var sums = new ushort[n];
        Pq4Scanner.Scan((Pq4ScanKind)kindValue, Pq4Layout.Pack(codes, n, m), n, m, lut, sums);
        Assert.All(sums, s => Assert.Equal(256 * 255, s));
        var hits = new int[n];
        Assert.Equal(n, Pq4Scanner.ScanThreshold((Pq4ScanKind)kindValue, Pq4Layout.Pack(codes, n, m), n, m, lut, 65281, hits));
        Assert.Equal(0, Pq4Scanner.ScanThreshold((Pq4ScanKind)kindValue, Pq4Layout.Pack(codes, n, m), n, m, lut, 65280, hits));
    }

    [Theory]
    [InlineData((int)Pq4ScanKind.Scalar)]
    [MemberData(nameof(SimdKinds))]
    public void Threshold_returns_exactly_the_indices_below(int kindValue)
    {
        var kind = (Pq4ScanKind)kindValue;
        foreach (int m in Ms)
            foreach (int n in Ns)
            {
                int seed = n * 7919 + m * 131 + kindValue * 1_000_003 + 99;
                var rng = new Random(seed);
                var codes = RandomCodes(rng, n, m);
                var lut = RandomLut(rng, m, padded: false);
                var packed = Pq4Layout.Pack(codes, n, m);
                var sums = new ushort[n];
                Pq4Scanner.Scan(Pq4ScanKind.Scalar, packed, n, m, lut, sums);
                foreach (ushort threshold in new ushort[] { 0, 1, (ushort)(m * 64), (ushort)(m * 128), (ushort)(m * 128 + 1), (ushort)(m * 200), 65535 })
                {
                    var hits = new int[n];
                    int count = Pq4Scanner.ScanThreshold(kind, packed, n, m, lut, threshold, hits);
                    var want = Enumerable.Range(0, n).Where(i => sums[i] < threshold).ToArray();
                    if (!want.AsSpan().SequenceEqual(hits.AsSpan(0, count)))
                        Assert.Fail($"seed {seed} kind {kind} n {n} m {m} threshold {threshold}: {count} hits, expected {want.Length}");
                    // The overload that also returns the hits' sums: same hits, and each one's exact sum.
                    var hits2 = new int[n];
                    var hitSums = new ushort[n];
                    int count2 = Pq4Scanner.ScanThreshold(kind, packed, n, m, lut, threshold, hits2, hitSums);
                    if (!want.AsSpan().SequenceEqual(hits2.AsSpan(0, count2)))
                        Assert.Fail($"seed {seed} kind {kind} n {n} m {m} threshold {threshold}: {count2} hits with sums, expected {want.Length}");
                    for (int h = 0; h < count2; h++)
                        if (hitSums[h] != sums[hits2[h]]) Assert.Fail($"seed {seed} kind {kind} n {n} m {m}: hit {h} sum {hitSums[h]}, expected {sums[hits2[h]]}");
                    // 16-bit indices (the index's form; AVX-512 with VBMI2 compresses each block's hits): the same.
                    int room = (n + 31) / 32 * 32;
                    var hits3 = new ushort[room];
                    var hitSums3 = new ushort[room];
                    int count3 = Pq4Scanner.ScanThreshold(kind, packed, n, m, lut, threshold, hits3, hitSums3);
                    if (!want.Select(i => (ushort)i).ToArray().AsSpan().SequenceEqual(hits3.AsSpan(0, count3)))
                        Assert.Fail($"seed {seed} kind {kind} n {n} m {m} threshold {threshold}: {count3} 16-bit hits, expected {want.Length}");
                    for (int h = 0; h < count3; h++)
                        if (hitSums3[h] != sums[hits3[h]]) Assert.Fail($"seed {seed} kind {kind} n {n} m {m}: 16-bit hit {h} sum {hitSums3[h]}, expected {sums[hits3[h]]}");
                }
            }
    }

    [Fact]
    public void Sixteen_bit_hits_reject_long_scans_and_short_buffers()
    {
        var lut = new byte[16];
        var packed = new byte[Pq4Layout.Bytes(70, 1)];
        Assert.Equal("n", Assert.Throws<ArgumentOutOfRangeException>(() =>
            Pq4Scanner.ScanThreshold(Pq4ScanKind.Avx2, new byte[Pq4Layout.Bytes(Pq4Scanner.MaxCompactScan + 1, 1)], Pq4Scanner.MaxCompactScan + 1, 1, lut, 5,
                new ushort[Pq4Scanner.MaxCompactScan + 32], new ushort[Pq4Scanner.MaxCompactScan + 32])).ParamName);
        // Whole blocks: 70 vectors need room for 96.
        Assert.Equal("hits", Assert.Throws<ArgumentException>(() => Pq4Scanner.ScanThreshold(Pq4Scanner.Best, packed, 70, 1, lut, 5, new ushort[70], new ushort[96])).ParamName);
        Assert.Equal("hitSums", Assert.Throws<ArgumentException>(() => Pq4Scanner.ScanThreshold(Pq4Scanner.Best, packed, 70, 1, lut, 5, new ushort[96], new ushort[95])).ParamName);
        Assert.Equal(70, Pq4Scanner.ScanThreshold(Pq4Scanner.Best, packed, 70, 1, lut, 1, new ushort[96], new ushort[96]));
    }

    [Fact]
    public void Quantised_distance_is_within_the_documented_bound()
    {
        foreach (int m in Ms.Append(256))
        {
            int seed = 4242 + m;
            var rng = new Random(seed);
            const int n = 200;
            var table = new float[m * 16];
            for (int j = 0; j < m; j++)
            {
                float offset = (float)(rng.NextDouble() * 10 - 5), spread = (float)(rng.NextDouble() * 3 + 0.01); // rows of different ranges
                for (int c = 0; c < 16; c++) table[j * 16 + c] = offset + spread * (float)rng.NextDouble();
            }
            var (lut, scale, bias) = Pq4Lut.Quantize(table, m);
            Assert.Equal(Pq4Layout.PaddedM(m) * 16, lut.Length);
            Assert.All(lut.AsSpan(m * 16).ToArray(), b => Assert.Equal(0, b));
            Assert.Contains((byte)255, lut); // the widest row spans the full range
            var codes = RandomCodes(rng, n, m);
            var sums = new ushort[n];
            Pq4Scanner.Scan(Pq4Scanner.Best, Pq4Layout.Pack(codes, n, m), n, m, lut, sums);
            float bound = Pq4Lut.ErrorBound(m, scale);
            double worst = 0;
            for (int i = 0; i < n; i++)
            {
                double exact = 0, magnitude = 0;
                for (int j = 0; j < m; j++)
                {
                    exact += table[j * 16 + codes[i * m + j]];
                    magnitude += Math.Abs(table[j * 16 + codes[i * m + j]]);
                }
                double error = Math.Abs(Pq4Lut.Distance(sums[i], scale, bias) - exact);
                worst = Math.Max(worst, error / bound);
                if (error > bound + 1e-5 * (magnitude + 1))
                    Assert.Fail($"seed {seed} m {m}: vector {i} error {error} exceeds bound {bound}");
            }
            Assert.True(worst > 0.01, $"seed {seed} m {m}: errors suspiciously small ({worst} of the bound)");
        }
    }

    [Fact]
    public void Fused_quantiser_equals_the_scalar_reference_at_both_register_widths()
    {
        foreach (int m in Ms.Append(256))
        {
            int seed = 900 + m;
            var rng = new Random(seed);
            var a = new float[m * 16];
            var b = new float[m * 16];
            for (int i = 0; i < a.Length; i++)
            {
                a[i] = (float)(rng.NextDouble() * 40 - 20);
                b[i] = (float)(rng.NextDouble() * 1000 * (i / 16 % 3 + 1)); // rows of different ranges
            }
            // Reference: the documented formula in scalar float (one fused multiply-add per entry, per-row minimum,
            // one scale 255 / widest range (the range in float, the division in double), q = min(floor((t - min) * scale + 0.5), 255)).
            var table = new float[m * 16];
            for (int i = 0; i < table.Length; i++) table[i] = MathF.FusedMultiplyAdd(a[i], -2f, b[i]);
            var mins = new float[m];
            double range = 0, sumOfMins = 0;
            for (int j = 0; j < m; j++)
            {
                mins[j] = table.AsSpan(j * 16, 16).ToArray().Min();
                range = Math.Max(range, table.AsSpan(j * 16, 16).ToArray().Max() - mins[j]); // the range in float
                sumOfMins += mins[j];
            }
            float factor = (float)(255.0 / range);
            var expected = new byte[Pq4Layout.PaddedM(m) * 16];
            for (int i = 0; i < table.Length; i++)
                expected[i] = (byte)MathF.Min(MathF.Floor(MathF.FusedMultiplyAdd(table[i] - mins[i / 16], factor, 0.5f)), 255f);
            foreach (bool wide in new[] { false, true })
            {
                var outTable = new float[m * 16];
                var lut = new byte[Pq4Layout.PaddedM(m) * 16];
                lut.AsSpan().Fill(0xCD);
                Assert.True(Pq4Lut.TryQuantizeFusedWith(wide, a, -2f, b, outTable, m, lut, out float scale, out float bias));
                Assert.True(table.AsSpan().SequenceEqual(outTable), $"seed {seed} m {m} wide {wide}: table differs");
                Assert.True(expected.AsSpan().SequenceEqual(lut), $"seed {seed} m {m} wide {wide}: quantised table differs");
                Assert.Equal(factor, scale);
                Assert.Equal((float)sumOfMins, bias, 1e-6f * Math.Abs((float)sumOfMins) + 1e-6f);
                // The plain form on the same table gives the same bytes.
                var plain = new byte[lut.Length];
                Assert.True(Pq4Lut.TryQuantizeWith(wide, table, m, plain, out float scale2, out float bias2));
                Assert.Equal(lut, plain);
                Assert.Equal((scale, bias), (scale2, bias2));
            }
            // A non-finite entry: refused, and the float table is still written for the fallback.
            var inf = (float[])b.Clone();
            inf[3] = float.PositiveInfinity;
            var t = new float[m * 16];
            Assert.False(Pq4Lut.TryQuantizeFused(a, -2f, inf, t, m, new byte[Pq4Layout.PaddedM(m) * 16], out _, out _));
            Assert.Equal(float.PositiveInfinity, t[3]);
        }
        Assert.Equal("b", Assert.Throws<ArgumentException>(() => Pq4Lut.TryQuantizeFused(new float[32], 1f, new float[31], new float[32], 2, new byte[32], out _, out _)).ParamName);
        Assert.Equal("table", Assert.Throws<ArgumentException>(() => Pq4Lut.TryQuantizeFused(new float[32], 1f, new float[32], new float[16], 2, new byte[32], out _, out _)).ParamName);
    }

    [Fact]
    public void Quantiser_handles_constant_tables_and_rejects_non_finite()
    {
        var (lut, scale, bias) = Pq4Lut.Quantize(Enumerable.Repeat(2.5f, 3 * 16).ToArray(), 3);
        Assert.All(lut, b => Assert.Equal(0, b));
        Assert.Equal(7.5f, bias);
        Assert.Equal(7.5f, Pq4Lut.Distance(0, scale, bias));
        var bad = new float[16];
        bad[3] = float.NaN;
        Assert.Equal("table", Assert.Throws<ArgumentException>(() => Pq4Lut.Quantize(bad, 1)).ParamName);
        Assert.Equal("table", Assert.Throws<ArgumentException>(() => Pq4Lut.Quantize(new float[31], 2)).ParamName);
    }

    [Fact]
    public void In_place_writes_equal_packing_and_leave_other_nibbles_alone()
    {
        foreach (int m in new[] { 1, 3, 8, 16 })
        {
            const int n = 70;
            var rng = new Random(500 + m);
            var codes = RandomCodes(rng, n, m);
            var packed = new byte[Pq4Layout.Bytes(n, m)];
            var before = new byte[packed.Length];
            // Fill in a shuffled order: each write must change only its own vector's nibbles.
            int[] order = Enumerable.Range(0, n).OrderBy(_ => rng.Next()).ToArray();
            var written = new HashSet<int>();
            var back = new byte[m];
            foreach (int i in order)
            {
                packed.CopyTo(before, 0);
                Pq4Layout.Write(packed, i, m, codes.AsSpan(i * m, m));
                written.Add(i);
                foreach (int j in written.Where(j => j != i).Take(20))
                {
                    Pq4Layout.Read(packed, j, m, back);
                    Assert.True(back.AsSpan().SequenceEqual(codes.AsSpan(j * m, m)), $"m {m}: writing {i} changed {j}");
                }
            }
            Assert.Equal(Pq4Layout.Pack(codes, n, m), packed);
            Assert.True(Pq4Layout.PaddingIsZero(packed, n, m));
            Assert.False(Pq4Layout.PaddingIsZero(packed, n - 1, m) && codes.AsSpan((n - 1) * m, m).IndexOfAnyExcept((byte)0) >= 0);
            Assert.Equal("code", Assert.Throws<ArgumentException>(() => Pq4Layout.Write(packed, 0, m, new byte[m - 1])).ParamName);
            Assert.Equal("packed", Assert.Throws<ArgumentException>(() => Pq4Layout.Write(packed, 96, m, new byte[m])).ParamName);
        }
        // Odd M: a non-zero padding sub-quantiser nibble is caught.
        var odd = Pq4Layout.Pack(new byte[3 * 5], 5, 3);
        odd[32 + 16] = 0x01;
        Assert.False(Pq4Layout.PaddingIsZero(odd, 5, 3));
    }

    [Fact]
    public void Quantising_into_a_buffer_equals_the_allocating_form()
    {
        var rng = new Random(77);
        foreach (int m in new[] { 1, 3, 16 })
        {
            var table = new float[m * 16];
            for (int i = 0; i < table.Length; i++) table[i] = (float)(rng.NextDouble() * 10 - 3);
            var (lut, scale, bias) = Pq4Lut.Quantize(table, m);
            var buffer = new byte[Pq4Layout.PaddedM(m) * 16];
            buffer.AsSpan().Fill(0xAB); // the padding row must come back zero
            Pq4Lut.Quantize(table, m, buffer, out float scale2, out float bias2);
            Assert.Equal(lut, buffer);
            Assert.Equal((scale, bias), (scale2, bias2));
        }
        Assert.Equal("lut", Assert.Throws<ArgumentException>(() => Pq4Lut.Quantize(new float[48], 3, new byte[48], out _, out _)).ParamName);
        // Non-finite tables: Quantize throws, TryQuantize says no.
        var inf = new float[32];
        inf[20] = float.PositiveInfinity;
        Assert.Equal("table", Assert.Throws<ArgumentException>(() => Pq4Lut.Quantize(inf, 2, new byte[32], out _, out _)).ParamName);
        Assert.False(Pq4Lut.TryQuantize(inf, 2, new byte[32], out _, out _));
        var huge = Enumerable.Repeat(3e38f, 32).ToArray(); // finite entries whose sum of minima overflows float
        Assert.False(Pq4Lut.TryQuantize(huge, 2, new byte[32], out _, out _));
        Assert.True(Pq4Lut.TryQuantize(new float[32], 2, new byte[32], out _, out _));
    }

    [Fact]
    public void Best_is_supported()
    {
        Assert.True(Pq4Scanner.IsSupported(Pq4Scanner.Best));
        Assert.Equal(Pq4ScanKind.Scalar, Pq4Scanner.Resolve(Pq4ScanKind.Scalar));
    }
}

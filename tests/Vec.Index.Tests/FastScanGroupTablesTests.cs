using Vec.Index.Internals.FastScan;
using Xunit;

namespace Vec.Index.Tests;

/// <summary>
/// The L2 fast scan's group-transposed per-probe tables (<see cref="Pq4GroupTables"/>): the same quantised bytes, scale
/// and bias as the row-major form (<see cref="Pq4Lut.TryQuantizeFused"/>) bit for bit, inner products equal to the
/// product quantiser's, and the documented refusals.
/// </summary>
public sealed class FastScanGroupTablesTests
{
    private static readonly int[] Ms = [1, 2, 3, 8, 15, 16, 17, 31, 32, 33, 64, 96, 256];

    /// <summary>A 4-bit quantiser of <paramref name="m"/> x <paramref name="dsub"/> dimensions with random codebooks,
    /// random term tables for <paramref name="lists"/> lists (rows of different ranges), and their group form.</summary>
    private static (ProductQuantizer Pq, float[] Terms, Pq4GroupTables Group) Make(Random rng, int m, int dsub, int lists)
    {
        var books = new float[m * 16 * dsub];
        for (int i = 0; i < books.Length; i++) books[i] = (float)(rng.NextDouble() * 4 - 2);
        ProductQuantizer pq = ProductQuantizer.FromCentroids(m * dsub, m, 4, books);
        var terms = new float[lists * m * 16];
        for (int i = 0; i < terms.Length; i++) terms[i] = (float)(rng.NextDouble() * 100 * (i / 16 % 5 + 1) - 30);
        return (pq, terms, new Pq4GroupTables(pq, terms, lists));
    }

    /// <summary>The register widths this machine runs: 512-bit where <see cref="Pq4GroupTables.Wide"/>, and always
    /// 256-bit (the AVX2 form).</summary>
    private static readonly bool[] Widths = Pq4GroupTables.Wide ? [true, false] : [false];

    /// <summary>Row-major m x 16 from the group layout.</summary>
    private static float[] RowMajor(Pq4GroupTables group, ReadOnlySpan<float> t)
    {
        var rows = new float[group.M * 16];
        for (int r = 0; r < group.M; r++)
            for (int c = 0; c < 16; c++) rows[r * 16 + c] = t[c * group.PaddedM + Pq4GroupTables.Position(r)];
        return rows;
    }

    [Fact]
    public void Position_is_an_involution_within_each_group_of_16()
    {
        for (int r = 0; r < 512; r++)
        {
            int p = Pq4GroupTables.Position(r);
            Assert.Equal(r / 16, p / 16);
            Assert.Equal(r, Pq4GroupTables.Position(p));
        }
        Assert.Equal(4, Pq4GroupTables.Position(1));
        Assert.Equal(1 + 4 * 2, Pq4GroupTables.Position(2 + 4 * 1)); // row 4a + b sits in lane 4b + a
    }

    [Fact]
    public void Layout_holds_the_row_major_terms_and_zero_padding()
    {
        foreach (int m in Ms)
        {
            var rng = new Random(70 + m);
            var (_, terms, group) = Make(rng, m, 2, 3);
            Assert.Equal((m + 15) / 16 * 16, group.PaddedM);
            for (int l = 0; l < 3; l++)
            {
                ReadOnlySpan<float> t = group.Terms(l);
                Assert.True(RowMajor(group, t).AsSpan().SequenceEqual(terms.AsSpan(l * m * 16, m * 16)), $"m {m} list {l}: terms differ");
                for (int r = m; r < group.PaddedM; r++)
                    for (int c = 0; c < 16; c++) Assert.Equal(0f, t[c * group.PaddedM + Pq4GroupTables.Position(r)]);
            }
        }
    }

    [Fact]
    public void Quantised_tables_equal_the_row_major_form_bit_for_bit()
    {
        if (!Pq4GroupTables.IsSupported) return; // the index keeps the row-major form there (covered by its own tests)
        foreach (int m in Ms)
            foreach (int dsub in new[] { 1, 2, 3 })
            {
                int seed = 1000 * m + dsub;
                var rng = new Random(seed);
                var (pq, _, group) = Make(rng, m, dsub, 4);
                var query = new float[m * dsub];
                for (int i = 0; i < query.Length; i++) query[i] = (float)(rng.NextDouble() * 10 - 5);
                var queryT = new float[group.SubDimension * group.PaddedM];
                var ipT = new float[group.TableFloats];
                Assert.True(group.InnerProducts(query, queryT, ipT));
                // The inner products match the product quantiser's (a different summation order: a tolerance).
                var ip = new float[m * 16];
                pq.ComputeInnerProductTable(query, ip);
                float[] fromGroup = RowMajor(group, ipT);
                for (int i = 0; i < ip.Length; i++)
                    Assert.True(Math.Abs(ip[i] - fromGroup[i]) <= 1e-5f * (1 + Math.Abs(ip[i])), $"seed {seed}: inner product {i} {fromGroup[i]} vs {ip[i]}");
                for (int r = m; r < group.PaddedM; r++)
                    for (int c = 0; c < 16; c++) Assert.Equal(0f, ipT[c * group.PaddedM + Pq4GroupTables.Position(r)]);

                for (int l = 0; l < 4; l++)
                    foreach (bool wide in Widths)
                {
                    // The row-major form on the same floats at the same register width: identical bytes, scale and
                    // bias; Expand gives its float table.
                    float[] a = fromGroup, b = RowMajor(group, group.Terms(l));
                    var table = new float[m * 16];
                    var want = new byte[Pq4Layout.PaddedM(m) * 16];
                    Assert.True(Pq4Lut.TryQuantizeFusedWith(wide, a, -2f, b, table, m, want, out float scale, out float bias));
                    var lut = new byte[group.LutBytes];
                    lut.AsSpan().Fill(0xCD);
                    Assert.True(group.TryQuantizeFusedWith(wide, ipT, -2f, group.Terms(l), lut, out float scale2, out float bias2));
                    Assert.True(want.AsSpan().SequenceEqual(lut.AsSpan(0, want.Length)), $"seed {seed} list {l} wide {wide}: bytes differ");
                    Assert.All(lut.AsSpan(want.Length).ToArray(), x => Assert.Equal(0, x)); // padding rows are zero
                    Assert.Equal(scale, scale2);
                    Assert.Equal(bias, bias2);
                    var expanded = new float[m * 16];
                    group.Expand(ipT, -2f, group.Terms(l), expanded);
                    Assert.True(table.AsSpan().SequenceEqual(expanded), $"seed {seed} list {l}: expanded table differs");
                }
            }
    }

    [Fact]
    public void Refuses_overflow_and_unscalable_ranges_and_keeps_constant_tables()
    {
        if (!Pq4GroupTables.IsSupported) return;
        foreach (bool wide in Widths) RefusalsAt(wide);
    }

    private static void RefusalsAt(bool wide)
    {
        var rng = new Random(5);
        var (_, _, group) = Make(rng, 20, 2, 1);
        var lut = new byte[group.LutBytes];
        var a = new float[group.TableFloats];
        var b = new float[group.TableFloats];
        // Constant rows: range 0, scale 1, all bytes 0, bias the sum of the rows' values.
        for (int r = 0; r < 20; r++)
            for (int c = 0; c < 16; c++) b[c * group.PaddedM + Pq4GroupTables.Position(r)] = r;
        Assert.True(group.TryQuantizeFusedWith(wide, a, -2f, b, lut, out float scale, out float bias));
        Assert.Equal(1f, scale);
        Assert.Equal(190f, bias);
        Assert.All(lut, x => Assert.Equal(0, x));
        // -2 a + b overflows to -infinity in one entry: refused (the caller scores with the float table).
        a[5 * group.PaddedM + 7] = 3e38f;
        Assert.False(group.TryQuantizeFusedWith(wide, a, -2f, b, lut, out _, out _));
        var expanded = new float[20 * 16];
        group.Expand(a, -2f, b, expanded);
        Assert.Equal(float.NegativeInfinity, expanded[Pq4GroupTables.Position(7) * 16 + 5]);
        // +infinity from a large b and a negative a.
        Array.Clear(a);
        a[0] = -2e38f;
        b[0] = 3e38f;
        Assert.False(group.TryQuantizeFusedWith(wide, a, -2f, b, lut, out _, out _));
        // A range too small to scale in float (about 1e-36): refused.
        Array.Clear(a);
        Array.Clear(b);
        b[3 * group.PaddedM] = 1e-40f;
        Assert.False(group.TryQuantizeFusedWith(wide, a, -2f, b, lut, out _, out _));
        // Short spans name the argument.
        Assert.Equal("a", Assert.Throws<ArgumentException>(() => group.TryQuantizeFusedWith(wide, new float[3], -2f, b, lut, out _, out _)).ParamName);
        Assert.Equal("lut", Assert.Throws<ArgumentException>(() => group.TryQuantizeFusedWith(wide, a, -2f, b, new byte[3], out _, out _)).ParamName);
    }

    [Fact]
    public void Non_finite_inner_products_are_reported()
    {
        var rng = new Random(8);
        var (_, _, group) = Make(rng, 16, 1, 1);
        var query = new float[16];
        query[2] = 3e38f; // times a centroid coordinate up to 2: overflows
        var queryT = new float[group.SubDimension * group.PaddedM];
        var ipT = new float[group.TableFloats];
        Assert.False(group.InnerProducts(query, queryT, ipT));
        query[2] = 1;
        Assert.True(group.InnerProducts(query, queryT, ipT));
        Assert.Equal("query", Assert.Throws<ArgumentException>(() => group.InnerProducts(new float[3], queryT, ipT)).ParamName);
    }

    [Fact]
    public void Term_tables_with_a_non_finite_value_are_flagged()
    {
        var rng = new Random(9);
        var (pq, terms, group) = Make(rng, 8, 2, 2);
        Assert.True(group.AllFinite);
        terms[100] = float.PositiveInfinity;
        Assert.False(new Pq4GroupTables(pq, terms, 2).AllFinite);
    }
}

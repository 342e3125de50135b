using FsCheck;
using FsCheck.Fluent;
using Vec.Index.Internals;
using Xunit;

namespace Vec.Index.Tests;

public sealed class PqScannerTests
{
    public static TheoryData<int> Kinds()
    {
        var data = new TheoryData<int>();
        foreach (PqScanKind kind in Enum.GetValues<PqScanKind>())
            if (PqScanner.IsSupported(kind)) data.Add((int)kind);
        return data;
    }

    private static (byte[] Blocked, float[] Lut, float[] Expected) Case(int count, int m, int bits, int seed)
    {
        var rng = new Random(seed);
        int ksub = 1 << bits;
        var lut = new float[m * ksub];
        for (int i = 0; i < lut.Length; i++) lut[i] = (float)(rng.NextDouble() * 4 - 1);
        var blocked = new byte[IvfCodeLayout.Bytes(count, m)];
        rng.NextBytes(blocked); // garbage in unused lanes of the last block must not matter
        var expected = new float[count];
        var code = new byte[m];
        for (int v = 0; v < count; v++)
        {
            for (int j = 0; j < m; j++) code[j] = (byte)rng.Next(ksub);
            IvfCodeLayout.Write(blocked, v, m, code);
            float s = 0.25f;
            for (int j = 0; j < m; j++) s += lut[j * ksub + code[j]];
            expected[v] = s;
        }
        return (blocked, lut, expected);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Every_kind_equals_the_plain_sum_bit_for_bit(int kind)
    {
        Prop.ForAll(Gen.Choose(0, int.MaxValue).ToArbitrary(), seed =>
            {
                var shape = new Random(seed);
                int count = shape.Next(0, 257), m = shape.Next(1, 41), bits = shape.Next(1, 9);
                var (blocked, lut, expected) = Case(count, m, bits, seed);
                var scores = new float[count];
                PqScanner.ScoreAll((PqScanKind)kind, blocked, count, m, 1 << bits, lut, 0.25f, scores);
                for (int v = 0; v < count; v++)
                    if (BitConverter.SingleToInt32Bits(scores[v]) != BitConverter.SingleToInt32Bits(expected[v]))
                        throw new Xunit.Sdk.XunitException($"seed {seed} count {count} m {m} bits {bits}: vector {v} scored {scores[v]}, expected {expected[v]}");
            }).QuickCheckThrowOnFailure();
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Scan_keeps_the_k_smallest_allowed(int kind)
    {
        const int count = 333, m = 7, k = 10;
        var (blocked, lut, expected) = Case(count, m, 8, 99);
        var ids = Enumerable.Range(0, count).Select(i => (long)i * 3).ToArray();
        var heap = new CandidateHeap(k);
        IdFilter filter = IdFilter.Where(id => id % 2 == 0);
        PqScanner.Scan((PqScanKind)kind, blocked, count, m, 256, lut, 0.25f, heap, ids, 5, filter);
        var keys = new float[k];
        var payloads = new long[k];
        Assert.Equal(k, heap.DrainSorted(keys, payloads));
        var truth = Enumerable.Range(0, count).Where(v => ids[v] % 2 == 0).OrderBy(v => expected[v]).Take(k).ToArray();
        Assert.Equal(truth.Select(v => expected[v]), keys);
        Assert.All(payloads, p => Assert.Equal(5, p >> 32));
        Assert.Equal(truth, payloads.Select(p => (int)(uint)p));
    }

    [Fact]
    public void Layout_round_trips()
    {
        var blocked = new byte[IvfCodeLayout.Bytes(37, 5)];
        Assert.Equal(3 * 5 * 16, blocked.Length);
        for (int v = 0; v < 37; v++) IvfCodeLayout.Write(blocked, v, 5, new byte[] { (byte)v, (byte)(v + 1), (byte)(v + 2), 7, 9 });
        var code = new byte[5];
        for (int v = 0; v < 37; v++)
        {
            IvfCodeLayout.Read(blocked, v, 5, code);
            Assert.Equal(new byte[] { (byte)v, (byte)(v + 1), (byte)(v + 2), 7, 9 }, code);
        }
    }
}

using FsCheck;
using FsCheck.Fluent;
using static Vec.Kernels.Tests.TestData;

namespace Vec.Kernels.Tests;

public abstract partial class KernelContractTests
{
    private const float Sentinel = 12345.5f;

    // Pooling cases: M = batch, N = sequence length, D = dimension.
    private Gen<Case> PoolCases =>
        from batch in Case.Size(0, MaxSequenceLength)
        from seq in Case.Size(0, MaxSequenceLength)
        from d in Case.Dimension(MaxDimension)
        from seed in Case.Seeds
        select new Case(batch, seq, d, 0, seed);

    private static IEnumerable<Case> ShrinkPool(Case c) => c.Shrink(0, 0, 0, 0);

    /// <summary>A mask mixing 0 and 1 with other non-zero values (which count as 1); some rows are all zero.</summary>
    private static long[] RandomMask(Random random, int batch, int seq)
    {
        long[] odd = [2, -1, 7, long.MaxValue, long.MinValue];
        var mask = new long[batch * seq];
        for (int b = 0; b < batch; b++)
        {
            int style = random.Next(5);
            for (int t = 0; t < seq; t++)
            {
                mask[b * seq + t] = style switch
                {
                    0 => 0,
                    1 => 1,
                    2 => random.Next(2),
                    3 => t < seq / 2 ? 1 : 0, // padded sequence
                    _ => random.Next(3) == 0 ? 0 : odd[random.Next(odd.Length)],
                };
            }
        }
        return mask;
    }

    [BackendFact]
    public void PoolingEqualsReference() => Property(PoolCases, ShrinkPool, c =>
    {
        var random = new Random(c.Seed);
        int batch = c.M, seq = c.N, d = c.D;
        var kind = KindOf(random);
        float[] tokens = Padded(Matrix(random, batch * seq, d, kind), 3, float.NaN);
        long[] mask = Padded(RandomMask(random, batch, seq), 2, 1L);
        long[] binary = mask.Select(v => v != 0 ? 1L : 0L).ToArray();
        foreach (bool mean in new[] { true, false })
        {
            string op = mean ? "MeanPool" : "MaxPool";
            var actual = Padded(new float[batch * d], 3, Sentinel);
            var expected = new float[batch * d];
            var withBinaryMask = new float[batch * d];
            Pool(Kernels, mean, tokens, mask, batch, seq, d, actual);
            Pool(Reference, mean, tokens, mask, batch, seq, d, expected);
            Pool(Kernels, mean, tokens, binary, batch, seq, d, withBinaryMask);
            for (int b = 0; b < batch; b++)
            {
                int count = 0;
                double maxAbs = 0;
                for (int t = 0; t < seq; t++)
                {
                    if (mask[b * seq + t] == 0) continue;
                    count++;
                    for (int j = 0; j < d; j++) maxAbs = Math.Max(maxAbs, Math.Abs(tokens[(b * seq + t) * d + j]));
                }
                double tol = mean ? 1e-6 * (seq + 1) * maxAbs : 0;
                for (int j = 0; j < d; j++)
                {
                    float v = actual[b * d + j];
                    string at = $"{Tag(c)} {op} kind {kind} row {b} col {j} (unmasked {count})";
                    Check(!float.IsNaN(v), $"{at}: NaN");
                    if (count == 0) Check(v == 0, $"{at}: an all-zero mask must pool to zero, got {v}");
                    if (mean) Close(v, expected[b * d + j], tol, at);
                    else Check(Same(v, expected[b * d + j]), $"{at}: expected {expected[b * d + j]:R}, got {v:R}");
                    Close(v, withBinaryMask[b * d + j], tol, $"{at}: mask values other than 0/1 must count as 1");
                }
            }
            Check(actual.AsSpan(batch * d).ToArray().All(v => v == Sentinel), $"{Tag(c)} {op} wrote past batch x dimension");
        }
    });

    [BackendFact]
    public void PoolingOneUnmaskedTokenGivesThatToken() => Property(PoolCases, ShrinkPool, c =>
    {
        var random = new Random(c.Seed);
        int batch = c.M, seq = Math.Max(c.N, 1), d = c.D;
        float[] tokens = Matrix(random, batch * seq, d, KindOf(random));
        var mask = new long[batch * seq];
        var chosen = new int[batch];
        for (int b = 0; b < batch; b++)
        {
            chosen[b] = random.Next(seq);
            mask[b * seq + chosen[b]] = random.Next(2) == 0 ? 1 : random.Next(2, 100);
        }
        foreach (bool mean in new[] { true, false })
        {
            var actual = new float[batch * d];
            Pool(Kernels, mean, tokens, mask, batch, seq, d, actual);
            for (int b = 0; b < batch; b++)
                for (int j = 0; j < d; j++)
                {
                    float token = tokens[(b * seq + chosen[b]) * d + j];
                    Check(Same(actual[b * d + j], token),
                        $"{Tag(c)} {(mean ? "MeanPool" : "MaxPool")} row {b} col {j}: one unmasked token (t={chosen[b]}) must pool to itself: expected {token:R}, got {actual[b * d + j]:R}");
                }
        }
    });

    private static void Pool(IVectorKernels kernels, bool mean, float[] tokens, long[] mask, int batch, int seq, int d, float[] destination)
    {
        if (mean) kernels.MeanPool(tokens, mask, batch, seq, d, destination);
        else kernels.MaxPool(tokens, mask, batch, seq, d, destination);
    }

    // Normalisation cases: M = rows, D = dimension.
    private Gen<Case> NormalizeCases =>
        from count in Case.Size(0, MaxRows)
        from d in Case.Dimension(MaxDimension)
        from seed in Case.Seeds
        select new Case(count, 0, d, 0, seed);

    [BackendFact]
    public void L2NormalizeEqualsReference() => Property(NormalizeCases, c => c.Shrink(0, 0, 0, 0), c =>
    {
        var random = new Random(c.Seed);
        int count = c.M, d = c.D;
        var kind = KindOf(random);
        float[] source = Padded(Matrix(random, count, d, kind), 2, float.NaN);
        float[] sourceCopy = (float[])source.Clone();
        var expected = new float[count * d];
        Reference.L2Normalize(source, expected, count, d);

        var copied = Padded(new float[count * d], 2, Sentinel);
        Kernels.L2Normalize(source, copied, count, d);
        Check(source.AsSpan().SequenceEqual(sourceCopy), $"{Tag(c)}: L2Normalize(source, destination) modified source");
        Check(copied.AsSpan(count * d).ToArray().All(v => v == Sentinel), $"{Tag(c)}: L2Normalize wrote past count x dimension");

        float[] inPlace = (float[])source.Clone();
        Kernels.L2Normalize(inPlace, count, d);
        Check(float.IsNaN(inPlace[count * d]), $"{Tag(c)}: in-place L2Normalize wrote past count x dimension");

        double tol = 4e-6 * Math.Sqrt(d + 1);
        foreach ((string how, float[] result) in new[] { ("src->dst", copied), ("in place", inPlace) })
        {
            for (int i = 0; i < count; i++)
            {
                bool zero = SquaredNorm(source, i, d) == 0;
                for (int j = 0; j < d; j++)
                {
                    string at = $"{Tag(c)} {how} kind {kind} row {i} col {j}";
                    Check(!float.IsNaN(result[i * d + j]), $"{at}: NaN");
                    if (zero) Check(result[i * d + j] == 0, $"{at}: a zero row must stay zero");
                    Close(result[i * d + j], expected[i * d + j], tol, at);
                }
                if (!zero) Close(Math.Sqrt(SquaredNorm(result, i, d)), 1, tol, $"{Tag(c)} {how} row {i}: norm");
            }
        }
    });

    [BackendFact]
    public void L2NormalizeHandlesExtremeMagnitudes()
    {
        // Sums of squares that underflow (1e-25²) or overflow (1e25²) in float must still give unit rows.
        const int d = 37;
        float[] rows = new float[4 * d];
        for (int j = 0; j < d; j++)
        {
            rows[j] = 1e-25f * (j + 1);
            rows[d + j] = 1e25f * (j % 3 - 1);
            rows[2 * d + j] = j == 5 ? float.Epsilon : 0f;
            rows[3 * d + j] = j == 0 ? float.MaxValue : 0f;
        }
        var expected = new float[rows.Length];
        Reference.L2Normalize(rows, expected, 4, d);
        var actual = new float[rows.Length];
        Kernels.L2Normalize(rows, actual, 4, d);
        for (int i = 0; i < 4; i++)
        {
            Close(Math.Sqrt(SquaredNorm(actual, i, d)), 1, 1e-5, $"[{BackendName}] extreme row {i}: norm");
            for (int j = 0; j < d; j++) Close(actual[i * d + j], expected[i * d + j], 1e-5, $"[{BackendName}] extreme row {i} col {j}");
        }
    }
}

using Vec.Index.Internals;
using Xunit;

namespace Vec.Index.Tests;

/// <summary>The blocked coarse search of small IVF quantisers (<see cref="CoarseBlocks"/>) against a plain double
/// reference: the same probes in the same order (ties to the lower list) and the same scores within rounding.</summary>
public sealed class CoarseBlocksTests
{
    [Theory]
    [InlineData(1, 1)]
    [InlineData(7, 3)]
    [InlineData(8, 128)]
    [InlineData(31, 17)]
    [InlineData(32, 1)]
    [InlineData(33, 64)]
    [InlineData(64, 128)]
    [InlineData(100, 5)]
    [InlineData(512, 128)]
    public void Probes_and_scores_match_a_plain_reference(int lists, int dimension)
    {
        if (!CoarseBlocks.IsSupported) return; // the index uses the kernels' search there
        foreach (bool l2 in new[] { true, false })
            for (int seed = 0; seed < 4; seed++)
            {
                var rng = new Random(seed * 31 + lists * 7 + dimension);
                var centroids = new float[lists * dimension];
                // Integer coordinates on even seeds: exact products, so distances tie and the tie order is checked.
                for (int i = 0; i < centroids.Length; i++) centroids[i] = seed % 2 == 0 ? rng.Next(-2, 3) : (float)(rng.NextDouble() * 2 - 1);
                CoarseBlocks coarse = CoarseBlocks.For(centroids, lists, dimension)!;
                Assert.NotNull(coarse);
                const int queries = 5;
                var q = new float[queries * dimension];
                for (int i = 0; i < q.Length; i++) q[i] = seed % 2 == 0 ? rng.Next(-2, 3) : (float)(rng.NextDouble() * 2 - 1);
                foreach (int nprobe in new[] { 1, Math.Min(3, lists), lists })
                {
                    var probes = new int[queries * nprobe];
                    var scores = new float[probes.Length];
                    coarse.Search(q, queries, nprobe, l2, probes, scores);
                    for (int qi = 0; qi < queries; qi++)
                    {
                        var exact = new (double Key, int List)[lists];
                        for (int c = 0; c < lists; c++)
                        {
                            double dot = 0, dist = 0;
                            for (int j = 0; j < dimension; j++)
                            {
                                double a = q[qi * dimension + j], b = centroids[c * dimension + j];
                                dot += a * b;
                                dist += (a - b) * (a - b);
                            }
                            exact[c] = (l2 ? dist : -dot, c);
                        }
                        var order = exact.OrderBy(e => e.Key).ThenBy(e => e.List).ToArray();
                        string where = $"lists {lists} d {dimension} l2 {l2} seed {seed} nprobe {nprobe} query {qi}";
                        for (int p = 0; p < nprobe; p++)
                        {
                            int got = probes[qi * nprobe + p];
                            double want = order[p].Key, have = l2 ? scores[qi * nprobe + p] : -scores[qi * nprobe + p];
                            Assert.True(Math.Abs(have - want) <= 1e-4 * (1 + Math.Abs(want)), $"{where}: score {p} {have} vs {want}");
                            // Continuous data: the same list; integer data: exact ties, so the same list too (lower first).
                            if (seed % 2 == 0) Assert.True(order[p].List == got, $"{where}: probe {p} is {got}, expected {order[p].List}");
                            else Assert.True(Math.Abs(exact[got].Key - want) <= 1e-4 * (1 + Math.Abs(want)), $"{where}: probe {p} list {got} is not among the best");
                        }
                    }
                }
            }
    }

    [Fact]
    public void Large_quantisers_and_bad_arguments_are_refused()
    {
        Assert.Null(CoarseBlocks.For(new float[CoarseBlocks.MaxFloats + 128], CoarseBlocks.MaxFloats / 128 + 1, 128));
        if (!CoarseBlocks.IsSupported) return;
        CoarseBlocks coarse = CoarseBlocks.For(new float[16 * 4], 16, 4)!;
        Assert.Equal("nprobe", Assert.Throws<ArgumentOutOfRangeException>(() => coarse.Search(new float[4], 1, 17, true, new int[17], new float[17])).ParamName);
        Assert.Equal("queries", Assert.Throws<ArgumentException>(() => coarse.Search(new float[3], 1, 2, true, new int[2], new float[2])).ParamName);
        Assert.Equal("probes", Assert.Throws<ArgumentException>(() => coarse.Search(new float[4], 1, 2, true, new int[1], new float[2])).ParamName);
    }
}

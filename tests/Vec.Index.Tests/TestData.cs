using Xunit;
using Vec.Kernels;

namespace Vec.Index.Tests;

/// <summary>Deterministic test data and a brute-force reference.</summary>
internal static class TestData
{
    /// <summary>Gaussian vectors, n x d.</summary>
    public static float[] Gaussian(int n, int d, int seed)
    {
        var rng = new Random(seed);
        var x = new float[n * d];
        for (int i = 0; i < x.Length; i++) x[i] = Normal(rng);
        return x;
    }

    /// <summary>
    /// Vectors of low intrinsic dimension: clustered points on a random <paramref name="intrinsic"/>-dimensional
    /// subspace embedded in d dimensions, plus small noise (what real embeddings look like to an ANN index).
    /// </summary>
    public static float[] LowIntrinsic(int n, int d, int intrinsic, int seed, int clusters = 32, float noise = 0.05f)
    {
        var rng = new Random(seed);
        var basis = new float[intrinsic * d];
        for (int i = 0; i < basis.Length; i++) basis[i] = Normal(rng) / MathF.Sqrt(intrinsic);
        var centres = new float[clusters * intrinsic];
        for (int i = 0; i < centres.Length; i++) centres[i] = 3f * Normal(rng);
        var x = new float[n * d];
        var z = new float[intrinsic];
        for (int i = 0; i < n; i++)
        {
            int c = rng.Next(clusters);
            for (int j = 0; j < intrinsic; j++) z[j] = centres[c * intrinsic + j] + Normal(rng);
            for (int t = 0; t < d; t++)
            {
                float s = noise * Normal(rng);
                for (int j = 0; j < intrinsic; j++) s += z[j] * basis[j * d + t];
                x[i * d + t] = s;
            }
        }
        return x;
    }

    public static float Normal(Random rng)
    {
        double u1 = 1.0 - rng.NextDouble(), u2 = rng.NextDouble();
        return (float)(Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2));
    }

    /// <summary>Exact score in double precision.</summary>
    public static double Score(ReadOnlySpan<float> q, ReadOnlySpan<float> x, Metric metric)
    {
        double dot = 0, qq = 0, xx = 0, l2 = 0;
        for (int i = 0; i < q.Length; i++)
        {
            dot += (double)q[i] * x[i];
            qq += (double)q[i] * q[i];
            xx += (double)x[i] * x[i];
            double diff = (double)q[i] - x[i];
            l2 += diff * diff;
        }
        return metric switch
        {
            Metric.InnerProduct => dot,
            Metric.Cosine => qq == 0 || xx == 0 ? 0 : dot / Math.Sqrt(qq * xx),
            _ => l2,
        };
    }

    /// <summary>Exact top-k ids per query over (ids, vectors), optionally restricted to allowed ids.</summary>
    public static long[][] BruteForce(float[] queries, int m, long[] ids, float[] vectors, int d, int k, Metric metric, Func<long, bool>? allowed = null)
    {
        bool largest = metric != Metric.L2;
        var result = new long[m][];
        for (int q = 0; q < m; q++)
        {
            var scored = new List<(double S, long Id)>();
            for (int i = 0; i < ids.Length; i++)
            {
                if (allowed is not null && !allowed(ids[i])) continue;
                scored.Add((Score(queries.AsSpan(q * d, d), vectors.AsSpan(i * d, d), metric), ids[i]));
            }
            scored.Sort((a, b) => a.S != b.S ? (largest ? b.S.CompareTo(a.S) : a.S.CompareTo(b.S)) : a.Id.CompareTo(b.Id));
            result[q] = scored.Take(k).Select(t => t.Id).ToArray();
        }
        return result;
    }

    /// <summary>Mean fraction of the true top-k found in the returned top-k.</summary>
    public static double Recall(SearchResult result, long[][] truth, int k)
    {
        double sum = 0;
        for (int q = 0; q < result.QueryCount; q++)
        {
            var found = new HashSet<long>(result.IdsOf(q).ToArray().Take(k));
            int hits = truth[q].Take(k).Count(found.Contains);
            sum += truth[q].Length == 0 ? 1 : hits / (double)Math.Min(k, truth[q].Length);
        }
        return sum / result.QueryCount;
    }

    /// <summary>
    /// Asserts that <paramref name="result"/> is exact search: per query the same ids as brute force (in any order among
    /// ties) and each rank's score within 1e-4 relative of the exact score. <paramref name="ids"/> must be a contiguous
    /// range (as <see cref="Range"/> makes) so an id maps back to its row of <paramref name="x"/>.
    /// </summary>
    public static void AssertEqualsExactSearch(SearchResult result, float[] queries, int nq, long[] ids, float[] x, int d, int k, Metric metric)
    {
        long[][] truth = BruteForce(queries, nq, ids, x, d, k, metric);
        for (int q = 0; q < nq; q++)
        {
            for (int r = 0; r < k; r++)
            {
                double expected = Score(queries.AsSpan(q * d, d), x.AsSpan((int)(truth[q][r] - ids[0]) * d, d), metric);
                float actual = result.ScoresOf(q)[r];
                Assert.True(Math.Abs(expected - actual) <= 1e-4 * (1 + Math.Abs(expected)), $"query {q} rank {r}: {actual} vs {expected}");
            }

            Assert.Equal(truth[q].Order(), result.IdsOf(q).ToArray().Order());
        }
    }

    public static long[] Range(long first, int n) => Enumerable.Range(0, n).Select(i => first + i).ToArray();
}

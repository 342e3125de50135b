using Vec.Kernels;
using Xunit;

namespace Vec.Kernels.Tests;

/// <summary>Compressed database storage (<see cref="VectorStorage"/>) with exact re-scoring.</summary>
public class CompressedStorageTests
{
    public static TheoryData<string> SimdBackends()
    {
        var data = new TheoryData<string>();
        foreach (var b in KernelBackends.Available)
            if (b.Name.StartsWith("simd", StringComparison.Ordinal)) data.Add(b.Name);
        return data;
    }

    /// <summary>Every SIMD backend with each compressed storage; Int8 both with the AVX-VNNI kernel (where the CPU has it)
    /// and forced to the float-widening kernels.</summary>
    public static TheoryData<string, VectorStorage, bool> SimdBackendsAndStorages()
    {
        var data = new TheoryData<string, VectorStorage, bool>();
        foreach (var b in KernelBackends.Available)
            if (b.Name.StartsWith("simd", StringComparison.Ordinal))
            {
                data.Add(b.Name, VectorStorage.Float16, true);
                data.Add(b.Name, VectorStorage.Int8, true);
                data.Add(b.Name, VectorStorage.Int8, false);
            }
        return data;
    }

    private static IVectorKernels Create(string backend, bool vnni)
    {
        var kernels = KernelBackends.Create(backend);
        if (kernels is Vec.Kernels.Internals.CpuSimd.CpuSimdKernels simd) simd.PreferVnni = vnni;
        return kernels;
    }

    [Fact]
    public void UnknownStorageIsRejectedByEveryBackend()
    {
        float[] x = Data.Clustered(10, 8, seed: 1);
        foreach (var b in KernelBackends.Available.Where(b => !b.IsGpu))
        {
            using var kernels = KernelBackends.Create(b.Name);
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => kernels.CreateDatabase(x, 10, 8, (VectorStorage)7));
            Assert.Equal("storage", e.ParamName);
        }
    }

    [Fact]
    public void NegativeRescoreFactorIsRejectedByEveryBackend()
    {
        float[] x = Data.Clustered(10, 8, seed: 2);
        foreach (var b in KernelBackends.Available.Where(b => !b.IsGpu))
        {
            using var kernels = KernelBackends.Create(b.Name);
            using var db = kernels.CreateDatabase(x, 10, 8, VectorStorage.Int8);
            var e = Assert.Throws<ArgumentOutOfRangeException>(() =>
                kernels.Search(db, x.AsSpan(0, 8), 1, 3, Metric.Cosine, new int[3], new float[3], rescoreFactor: -1));
            Assert.Equal("rescoreFactor", e.ParamName);
        }
    }

    [Fact]
    public void ScalarBackendStoresFloat32AndSaysSo()
    {
        using var kernels = KernelBackends.Create("scalar");
        using var db = kernels.CreateDatabase(Data.Clustered(10, 8, seed: 3), 10, 8, VectorStorage.Int8);
        Assert.Equal(VectorStorage.Float32, db.Storage);
    }

    [Theory]
    [MemberData(nameof(SimdBackendsAndStorages))]
    public void SimdBackendReportsTheStorage(string backend, VectorStorage storage, bool vnni)
    {
        using var kernels = Create(backend, vnni);
        using var db = kernels.CreateDatabase(Data.Clustered(10, 8, seed: 4), 10, 8, storage);
        Assert.Equal(storage, db.Storage);
        using var plain = kernels.CreateDatabase(Data.Clustered(10, 8, seed: 4), 10, 8);
        Assert.Equal(VectorStorage.Float32, plain.Storage);
    }

    /// <summary>With enough candidates to re-score every allowed row, compressed search is exact search: compared with the
    /// scalar reference for every metric, with and without a filter, on an odd dimension and a partial last panel.</summary>
    [Theory]
    [MemberData(nameof(SimdBackendsAndStorages))]
    public void FullRescoringEqualsTheReferenceForEveryMetricAndFilter(string backend, VectorStorage storage, bool vnni)
    {
        const int n = 300, d = 37, m = 3, k = 12;
        float[] x = Data.Gaussian(n * d, seed: 5, scale: 3f);
        float[] q = Data.Gaussian(m * d, seed: 6, scale: 2f);
        using var kernels = Create(backend, vnni);
        using var reference = KernelBackends.Create("scalar");
        using var db = kernels.CreateDatabase(x, n, d, storage);
        using var refDb = reference.CreateDatabase(x, n, d);
        var filter = RowFilter.FromPredicate(n, r => r % 3 != 1 && r < 250);
        foreach (Metric metric in new[] { Metric.InnerProduct, Metric.Cosine, Metric.L2 })
            foreach (RowFilter? f in new[] { null, filter })
            {
                var (ids, scores) = Search(kernels, db, q, m, k, metric, f, rescoreFactor: n);
                var (refIds, refScores) = Search(reference, refDb, q, m, k, metric, f, rescoreFactor: 0);
                AssertSameRanking(refIds, refScores, ids, scores, $"{metric} filter={f is not null}");
                if (f is not null) Assert.All(ids, id => Assert.True(f.IsAllowed(id), $"row {id} is filtered out"));
            }
    }

    /// <summary>Default factor: returned scores are the exact scores of the returned rows, for every metric and a filter.</summary>
    [Theory]
    [MemberData(nameof(SimdBackendsAndStorages))]
    public void ReturnedScoresAreExact(string backend, VectorStorage storage, bool vnni)
    {
        const int n = 2000, d = 48, m = 5, k = 10;
        float[] x = Data.Clustered(n, d, seed: 7);
        float[] q = Data.Clustered(m, d, seed: 8);
        using var kernels = Create(backend, vnni);
        using var db = kernels.CreateDatabase(x, n, d, storage);
        var filter = RowFilter.FromPredicate(n, r => r % 2 == 0);
        foreach (Metric metric in new[] { Metric.InnerProduct, Metric.Cosine, Metric.L2 })
            foreach (RowFilter? f in new[] { null, filter })
            {
                var (ids, scores) = Search(kernels, db, q, m, k, metric, f, rescoreFactor: 0);
                for (int i = 0; i < m; i++)
                    for (int j = 0; j < k; j++)
                    {
                        int id = ids[i * k + j];
                        Assert.InRange(id, 0, n - 1);
                        if (f is not null) Assert.True(f.IsAllowed(id));
                        double exact = Data.Score(metric, q.AsSpan(i * d, d), x.AsSpan(id * d, d));
                        Assert.True(Math.Abs(scores[i * k + j] - exact) <= 1e-5 * Math.Max(1, Math.Abs(exact)),
                            $"{metric}: row {id} scored {scores[i * k + j]}, exact {exact}");
                        if (j > 0)
                        {
                            float prev = scores[i * k + j - 1], cur = scores[i * k + j];
                            Assert.True(metric == Metric.L2 ? prev <= cur : prev >= cur, "results are not best first");
                        }
                    }
            }
    }

    /// <summary>Recall@10 against exact float32 search with the default factor on a 20k x 128 normalised set of low
    /// intrinsic dimension (the case compressed storage is for), single queries and small batches.</summary>
    [Theory]
    [MemberData(nameof(SimdBackendsAndStorages))]
    public void DefaultFactorRecallAtTenIsAtLeast99Percent(string backend, VectorStorage storage, bool vnni)
    {
        const int n = 20_000, d = 128, m = 40, k = 10;
        float[] x = Data.Clustered(n, d, seed: 9);
        float[] q = Data.Clustered(m, d, seed: 10);
        using var kernels = Create(backend, vnni);
        using var exactDb = kernels.CreateDatabase(x, n, d);
        using var db = kernels.CreateDatabase(x, n, d, storage);
        foreach (Metric metric in new[] { Metric.Cosine, Metric.L2 })
        {
            int hits = 0, queries = 0;
            for (int i = 0, batch = 1; i < m; i += batch, batch = batch == 1 ? 4 : 1)
            {
                var qs = q.AsSpan(i * d, batch * d).ToArray();
                var (exactIds, _) = Search(kernels, exactDb, qs, batch, k, metric, null, 0);
                var (ids, _) = Search(kernels, db, qs, batch, k, metric, null, 0);
                for (int b = 0; b < batch; b++)
                    hits += ids.AsSpan(b * k, k).ToArray().Intersect(exactIds.AsSpan(b * k, k).ToArray()).Count();
                queries += batch;
            }
            double recall = hits / (double)(queries * k);
            Assert.True(recall >= 0.99, $"{storage} {metric}: recall@10 = {recall:F4}");
        }
    }

    /// <summary>Rows of very different norms around an offset: the cosine and L2 keys weight rows differently, so a
    /// query-quantisation error that is the same for every row no longer cancels and must be corrected.</summary>
    [Theory]
    [MemberData(nameof(SimdBackendsAndStorages))]
    public void UnnormalisedOffsetRowsKeepRecall(string backend, VectorStorage storage, bool vnni)
    {
        const int n = 5000, d = 61, m = 20, k = 10; // d odd and not a multiple of 4: kernel tails and VNNI padding
        float[] x = Data.Clustered(n, d, seed: 17);
        var rng = new Random(18);
        for (int r = 0; r < n; r++)
        {
            float norm = (float)Math.Exp(rng.NextDouble() * 2 - 1);
            for (int j = 0; j < d; j++) x[r * d + j] = x[r * d + j] * norm + 0.3f;
        }
        float[] q = Data.Clustered(m, d, seed: 19);
        for (int i = 0; i < q.Length; i++) q[i] += 0.3f;
        using var kernels = Create(backend, vnni);
        using var exactDb = kernels.CreateDatabase(x, n, d);
        using var db = kernels.CreateDatabase(x, n, d, storage);
        foreach (Metric metric in new[] { Metric.Cosine, Metric.L2, Metric.InnerProduct })
        {
            int hits = 0;
            for (int i = 0; i < m; i++)
            {
                var qi = q.AsSpan(i * d, d).ToArray();
                var (exactIds, _) = Search(kernels, exactDb, qi, 1, k, metric, null, 0);
                var (ids, _) = Search(kernels, db, qi, 1, k, metric, null, 0);
                hits += ids.Intersect(exactIds).Count();
            }
            double recall = hits / (double)(m * k);
            Assert.True(recall >= 0.99, $"{storage} {metric}: recall@10 = {recall:F4}");
        }
    }

    /// <summary>Every scan kernel the CPU can run computes, for each of a panel's 64 rows, the dot of the (pre-scaled) query
    /// with the decoded codes: compared with the same sum in double, on an odd dimension (kernel tails, VNNI padding).</summary>
    [Theory]
    [InlineData(VectorStorage.Int8, false)]
    [InlineData(VectorStorage.Int8, true)]
    [InlineData(VectorStorage.Float16, false)]
    public unsafe void ScanKernelsMatchTheDecodedDot(VectorStorage storage, bool interleaved)
    {
        const int n = 64, d = 37;
        float[] x = Data.Gaussian(n * d, seed: 21, scale: 2f);
        for (int i = 0; i < x.Length; i += 3) x[i] += 1.5f;
        var rows = Vec.Kernels.Internals.CpuSimd.CompressedRows.Create(x, n, d, storage, 1, interleaved);
        Assert.Equal(interleaved, rows.Interleaved);
        float[] q = Data.Gaussian(d, seed: 22, scale: 1f);

        // Reference: the decoded rows, dotted in double.
        double[] expected = new double[n], magnitude = new double[n];
        for (int j = 0; j < n; j++)
            for (int k = 0; k < d; k++)
            {
                double v = storage == VectorStorage.Float16
                    ? (double)BitConverter.UInt16BitsToHalf(BitConverter.ToUInt16(rows.Codes, 2 * (k * 64 + j))) * rows.Scale
                    : rows.Min[k] + (double)rows.Step[k] * rows.Codes[interleaved ? (k >> 2) * 256 + j * 4 + (k & 3) : k * 64 + j];
                expected[j] += q[k] * v;
                magnitude[j] += Math.Abs(q[k] * v);
            }

        int stride = interleaved ? rows.Groups * 4 : d;
        float[] scaled = new float[stride];
        double bias = 0;
        float scale = storage == VectorStorage.Float16 ? rows.Scale : 1f;
        for (int k = 0; k < d; k++)
        {
            scaled[k] = storage == VectorStorage.Int8 ? q[k] * rows.Step[k] : q[k];
            if (storage == VectorStorage.Int8) bias += (double)q[k] * rows.Min[k];
        }
        float[] tile = new float[64];
        fixed (float* pq = scaled)
        fixed (byte* codes = rows.Codes)
        fixed (float* pt = tile)
        {
            if (interleaved)
            {
                if (!System.Runtime.Intrinsics.X86.AvxVnni.IsSupported) return; // the layout is only used with VNNI
                sbyte[] quantised = new sbyte[stride];
                bias += Vec.Kernels.Internals.CpuSimd.CpuSimdKernels.QuantiseQuery(scaled, quantised, out scale);
                // The kernel's arithmetic is exact in int32: compare with scale·Σ qq_k·c_k + bias.
                for (int j = 0; j < n; j++)
                {
                    long dot = 0;
                    for (int k = 0; k < d; k++) dot += quantised[k] * rows.Codes[(k >> 2) * 256 + j * 4 + (k & 3)];
                    expected[j] = scale * (double)dot + bias;
                    magnitude[j] = Math.Abs(scale * (double)dot) + Math.Abs(bias);
                }
                fixed (sbyte* pqq = quantised)
                    Vec.Kernels.Internals.CpuSimd.CompressedKernels.Int8Vnni256(pqq, codes, rows.Groups, scale, (float)bias, pt);
                AssertClose("Int8Vnni256");
                return;
            }
            if (System.Runtime.Intrinsics.X86.Avx512F.IsSupported)
            {
                if (storage == VectorStorage.Int8) Vec.Kernels.Internals.CpuSimd.CompressedKernels.Int8Vector512(pq, codes, d, scale, (float)bias, pt);
                else Vec.Kernels.Internals.CpuSimd.CompressedKernels.HalfVector512(pq, (ushort*)codes, d, scale, (float)bias, pt);
                AssertClose("Vector512");
            }
            if (System.Runtime.Intrinsics.X86.Avx2.IsSupported)
            {
                if (storage == VectorStorage.Int8) Vec.Kernels.Internals.CpuSimd.CompressedKernels.Int8Vector256(pq, codes, d, scale, (float)bias, pt);
                else Vec.Kernels.Internals.CpuSimd.CompressedKernels.HalfVector256(pq, (ushort*)codes, d, scale, (float)bias, pt);
                AssertClose("Vector256");
            }
            Vec.Kernels.Internals.CpuSimd.CompressedKernels.Scalar(storage, pq, codes, d, scale, (float)bias, pt);
            AssertClose("Scalar");
        }

        void AssertClose(string kernel)
        {
            for (int j = 0; j < n; j++)
                Assert.True(Math.Abs(tile[j] - expected[j]) <= 1e-5 * magnitude[j], $"{kernel} row {j}: {tile[j]}, decoded dot {expected[j]}");
            Array.Clear(tile);
        }
    }

    /// <summary>The VNNI kernel quantises the query to int8; the part of that error shared by every row (codes sit around
    /// 128) is removed exactly, so rows whose codes are all 128 score exactly Σ 128·q_k.</summary>
    [Fact]
    public unsafe void VnniQueryQuantisationErrorIsCorrected()
    {
        if (!System.Runtime.Intrinsics.X86.AvxVnni.IsSupported) return; // the kernel cannot run on this CPU
        const int n = 64, d = 40;
        float[] x = new float[n * d];
        Array.Fill(x, 255f, d, d);          // row 0 all 0, row 1 all 255: min 0, step 1 on every dimension
        Array.Fill(x, 128f, 2 * d, (n - 2) * d);
        var rows = Vec.Kernels.Internals.CpuSimd.CompressedRows.Create(x, n, d, VectorStorage.Int8, 1, interleaved: true);
        Assert.True(rows.Interleaved);
        float[] q = Data.Gaussian(rows.Groups * 4, seed: 20, scale: 1f);
        q.AsSpan(d).Clear();
        sbyte[] quantised = new sbyte[q.Length];
        double bias = Vec.Kernels.Internals.CpuSimd.CpuSimdKernels.QuantiseQuery(q, quantised, out float scale);
        float[] tile = new float[64];
        fixed (sbyte* pq = quantised)
        fixed (byte* codes = rows.Codes)
        fixed (float* pt = tile)
            Vec.Kernels.Internals.CpuSimd.CompressedKernels.Int8Vnni256(pq, codes, rows.Groups, scale, (float)bias, pt);
        double expected = 128.0 * q.Sum(v => (double)v), magnitude = 128.0 * q.Sum(v => Math.Abs((double)v));
        for (int j = 2; j < n; j++)
            Assert.True(Math.Abs(tile[j] - expected) <= 1e-5 * magnitude, $"row {j}: {tile[j]}, exact {expected}");
    }

    [Theory]
    [MemberData(nameof(SimdBackendsAndStorages))]
    public void KLargerThanTheCandidatesIsPadded(string backend, VectorStorage storage, bool vnni)
    {
        const int n = 10, d = 16, k = 15;
        float[] x = Data.Clustered(n, d, seed: 11);
        float[] q = Data.Clustered(1, d, seed: 12);
        using var kernels = Create(backend, vnni);
        using var db = kernels.CreateDatabase(x, n, d, storage);
        foreach (Metric metric in new[] { Metric.InnerProduct, Metric.Cosine, Metric.L2 })
        {
            var (ids, scores) = Search(kernels, db, q, 1, k, metric, null, 0);
            Assert.Equal(Enumerable.Range(0, n).ToArray(), ids.Take(n).Order().ToArray());
            Assert.All(ids.Skip(n), id => Assert.Equal(-1, id));
            Assert.All(scores.Skip(n), s => Assert.Equal(metric.Order().MissingScore(), s));

            var filter = RowFilter.Allow([2, 5, 7], n);
            (ids, scores) = Search(kernels, db, q, 1, k, metric, filter, 1);
            Assert.Equal(new[] { 2, 5, 7 }, ids.Take(3).Order().ToArray());
            Assert.All(ids.Skip(3), id => Assert.Equal(-1, id));
            Assert.All(scores.Skip(3), s => Assert.Equal(metric.Order().MissingScore(), s));

            (ids, _) = Search(kernels, db, q, 1, k, metric, RowFilter.Allow([], n), 0);
            Assert.All(ids, id => Assert.Equal(-1, id));
        }
    }

    /// <summary>Batches at or above the backend's crossover run the exact float32 search, bit for bit, except Int8 with the
    /// VNNI kernel on databases large enough for it, whose batch path is tested in <see cref="CompressedBatchTests"/>.</summary>
    [Theory]
    [MemberData(nameof(SimdBackendsAndStorages))]
    public void LargeBatchesEqualExactSearchExactly(string backend, VectorStorage storage, bool vnni)
    {
        const int n = 3000, d = 64, k = 10;
        int m = Vec.Kernels.Internals.CpuSimd.CpuSimdKernels.CompressedBatchLimit(storage);
        float[] x = Data.Clustered(n, d, seed: 13);
        float[] q = Data.Clustered(m, d, seed: 14);
        using var kernels = Create(backend, vnni);
        var simd = (Vec.Kernels.Internals.CpuSimd.CpuSimdKernels)kernels;
        if (storage == VectorStorage.Int8 && simd.HasInt8Batch && (long)n * d >= simd.Int8BatchMinimumElements) return;
        using var exactDb = kernels.CreateDatabase(x, n, d);
        using var db = kernels.CreateDatabase(x, n, d, storage);
        var filter = RowFilter.FromPredicate(n, r => r % 5 != 0);
        foreach (Metric metric in new[] { Metric.InnerProduct, Metric.Cosine, Metric.L2 })
        {
            var (exactIds, exactScores) = Search(kernels, exactDb, q, m, k, metric, filter, 0);
            var (ids, scores) = Search(kernels, db, q, m, k, metric, filter, 0);
            Assert.Equal(exactIds, ids);
            Assert.Equal(exactScores, scores);
        }
    }

    /// <summary>Float16 keeps values beyond half's range (by a power-of-two scale) and tiny values (flushed to zero, then
    /// re-scored exactly).</summary>
    [Theory]
    [MemberData(nameof(SimdBackends))]
    public void Float16HandlesLargeAndTinyMagnitudes(string backend)
    {
        const int n = 200, d = 20, k = 5;
        using var kernels = KernelBackends.Create(backend);
        using var reference = KernelBackends.Create("scalar");
        foreach (float scale in new[] { 1e6f, 1e-6f })
        {
            float[] x = Data.Gaussian(n * d, seed: 15, scale: scale);
            float[] q = Data.Gaussian(d, seed: 16, scale: 1f);
            using var db = kernels.CreateDatabase(x, n, d, VectorStorage.Float16);
            using var refDb = reference.CreateDatabase(x, n, d);
            var (ids, scores) = Search(kernels, db, q, 1, k, Metric.InnerProduct, null, 8);
            var (refIds, refScores) = Search(reference, refDb, q, 1, k, Metric.InnerProduct, null, 0);
            AssertSameRanking(refIds, refScores, ids, scores, $"scale {scale}");
        }
    }

    internal static (int[] Ids, float[] Scores) Search(IVectorKernels kernels, VectorDatabase db, float[] queries, int m, int k, Metric metric,
        RowFilter? filter, int rescoreFactor)
    {
        var ids = new int[m * k];
        var scores = new float[m * k];
        kernels.Search(db, queries, m, k, metric, ids, scores, filter, rescoreFactor);
        return (ids, scores);
    }

    /// <summary>Same scores (within rounding) and the same ids in the same order, except where reference scores tie.</summary>
    internal static void AssertSameRanking(int[] refIds, float[] refScores, int[] ids, float[] scores, string what)
    {
        Assert.Equal(refIds.Length, ids.Length);
        for (int i = 0; i < ids.Length; i++)
        {
            float tolerance = 1e-5f * Math.Max(1f, Math.Abs(refScores[i]));
            Assert.True(Math.Abs(refScores[i] - scores[i]) <= tolerance || (float.IsInfinity(refScores[i]) && refScores[i] == scores[i]),
                $"{what}: slot {i} scored {scores[i]}, reference {refScores[i]}");
            bool tie = (i > 0 && Math.Abs(refScores[i] - refScores[i - 1]) <= tolerance)
                || (i + 1 < ids.Length && Math.Abs(refScores[i] - refScores[i + 1]) <= tolerance);
            Assert.True(ids[i] == refIds[i] || tie, $"{what}: slot {i} has row {ids[i]}, reference {refIds[i]}");
        }
    }

    internal static class Data
    {
        public static float[] Gaussian(int length, int seed, float scale)
        {
            var rng = new Random(seed);
            var x = new float[length];
            for (int i = 0; i < length; i++) x[i] = (float)(Normal(rng) * scale);
            return x;
        }

        /// <summary>Normalised rows of intrinsic dimension 16: a latent Gaussian times a fixed random projection, plus noise.</summary>
        public static float[] Clustered(int n, int d, int seed)
        {
            const int latent = 16;
            var projection = new Random(12345);
            var p = new double[latent * d];
            for (int i = 0; i < p.Length; i++) p[i] = Normal(projection) / Math.Sqrt(latent);
            var rng = new Random(seed);
            var x = new float[n * d];
            var z = new double[latent];
            for (int r = 0; r < n; r++)
            {
                for (int l = 0; l < latent; l++) z[l] = Normal(rng);
                double norm = 0;
                for (int j = 0; j < d; j++)
                {
                    double v = 0.1 * Normal(rng);
                    for (int l = 0; l < latent; l++) v += z[l] * p[l * d + j];
                    x[r * d + j] = (float)v;
                    norm += v * v;
                }
                float inv = (float)(1 / Math.Sqrt(norm));
                for (int j = 0; j < d; j++) x[r * d + j] *= inv;
            }
            return x;
        }

        public static double Score(Metric metric, ReadOnlySpan<float> a, ReadOnlySpan<float> b)
        {
            double dot = 0, na = 0, nb = 0, l2 = 0;
            for (int i = 0; i < a.Length; i++)
            {
                dot += (double)a[i] * b[i];
                na += (double)a[i] * a[i];
                nb += (double)b[i] * b[i];
                double t = (double)a[i] - b[i];
                l2 += t * t;
            }
            return metric switch
            {
                Metric.InnerProduct => dot,
                Metric.Cosine => na == 0 || nb == 0 ? 0 : dot / Math.Sqrt(na * nb),
                _ => l2,
            };
        }

        private static double Normal(Random rng) =>
            Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
    }
}

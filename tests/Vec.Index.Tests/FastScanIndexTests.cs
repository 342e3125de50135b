using System.Collections.Concurrent;
using Vec.Index.Internals;
using Vec.Index.Internals.FastScan;
using Vec.Kernels;
using Xunit;
using Xunit.Abstractions;

namespace Vec.Index.Tests;

/// <summary>The 4-bit fast-scan path of <see cref="IvfPqIndex"/> (IvfPqOptions.Bits = 4, FastScan on).</summary>
public sealed class FastScanIndexTests(ITestOutputHelper output)
{
    private const int D = 32;

    private static IvfPqOptions Options(int lists = 32, int m = 16, RefineStorage refine = RefineStorage.Float32, bool fastScan = true) =>
        new() { Lists = lists, SubQuantizers = m, Bits = 4, FastScan = fastScan, Refine = refine, MaxThreads = 2 };

    private static IvfPqIndex Build(Metric metric, float[] x, long[] ids, IvfPqOptions options, string backend = "simd", int d = D)
    {
        var index = new IvfPqIndex(d, metric, options, KernelBackends.Create(backend));
        index.Train(x, ids.Length);
        index.Add(ids, x);
        return index;
    }

    public static TheoryData<Metric> Metrics() => new() { Metric.L2, Metric.Cosine, Metric.InnerProduct };

    /// <summary>The scanner kinds this machine runs (scalar always; AVX2 and AVX-512 where supported).</summary>
    private static Pq4ScanKind[] Kinds() => Enum.GetValues<Pq4ScanKind>().Where(Pq4Scanner.IsSupported).ToArray();

    [Theory]
    [MemberData(nameof(Metrics))]
    public void Histogram_threshold_of_the_first_hits_changes_no_result(Metric metric)
    {
        // Without a filter the first list's hits are pre-selected by their k(xR)-th smallest uint16 sum; an allow-all
        // filter takes the plain path (every hit enters the reservoir). Both must return the same results.
        int n = 3000, nq = 40, k = 10;
        float[] x = TestData.LowIntrinsic(n, D, 8, 71);
        long[] ids = TestData.Range(5_000, n);
        using IvfPqIndex index = Build(metric, x, ids, Options(lists: 8));
        float[] queries = TestData.LowIntrinsic(nq, D, 8, 72);
        long[][] truth = TestData.BruteForce(queries, nq, ids, x, D, k, metric);
        foreach (int nprobe in new[] { 1, 3, 8 })
        {
            // With refine the two paths may pass a different one of tied estimates to the re-ranking, so only their recall
            // is compared there.
            var refined = new SearchOptions { NProbe = nprobe, RefineFactor = 4 };
            double r1 = TestData.Recall(index.Search(queries, k, refined), truth, k);
            double r2 = TestData.Recall(index.Search(queries, k, refined with { Filter = IdFilter.Where(_ => true) }), truth, k);
            Assert.True(Math.Abs(r1 - r2) <= 0.02, $"{metric} nprobe {nprobe}: refined recall {r1} vs {r2}");
        }

        foreach (int refine in new[] { 0 })
        {
            foreach (int nprobe in new[] { 1, 3, 8 })
            {
                var options = new SearchOptions { NProbe = nprobe, RefineFactor = refine };
                SearchResult fast = index.Search(queries, k, options);
                SearchResult plain = index.Search(queries, k, options with { Filter = IdFilter.Where(_ => true) });
                // Scores are identical; ids too, except among candidates tied with the k-th score, where either path
                // may keep a different one of equal estimates (as a heap or FAISS's reservoir would).
                Assert.True(fast.Scores.SequenceEqual(plain.Scores), $"{metric} refine {refine} nprobe {nprobe}: scores differ");
                for (int q = 0; q < nq; q++)
                {
                    float last = fast.Scores[q * k + k - 1];
                    var a = Enumerable.Range(q * k, k).Where(i => fast.Scores[i] != last).Select(i => fast.Ids[i]).ToArray();
                    var b = Enumerable.Range(q * k, k).Where(i => plain.Scores[i] != last).Select(i => plain.Ids[i]).ToArray();
                    Assert.True(a.SequenceEqual(b), $"{metric} refine {refine} nprobe {nprobe} query {q}: ids before the k-th score differ");
                }
            }
        }
    }

    [Fact]
    public void Group_tables_and_row_major_tables_give_the_same_results()
    {
        // The L2 fast scan builds its per-probe tables in the group layout where AVX-512 runs; its inner products are
        // summed in another order than the row-major form's, so a quantised entry may differ by one step: the results
        // agree up to that (recall and ids), and exactly once refine re-ranks every candidate.
        int n = 3000, nq = 40, k = 10;
        float[] x = TestData.LowIntrinsic(n, D, 8, 81);
        long[] ids = TestData.Range(0, n);
        using IvfPqIndex index = Build(Metric.L2, x, ids, Options(lists: 8));
        float[] queries = TestData.LowIntrinsic(nq, D, 8, 82);
        long[][] truth = TestData.BruteForce(queries, nq, ids, x, D, k, Metric.L2);
        foreach (int nprobe in new[] { 1, 3, 8 })
        {
            var options = new SearchOptions { NProbe = nprobe };
            index.GroupTablesEnabled = true;
            SearchResult group = index.Search(queries, k, options);
            index.GroupTablesEnabled = false;
            SearchResult rows = index.Search(queries, k, options);
            double r1 = TestData.Recall(group, truth, k), r2 = TestData.Recall(rows, truth, k);
            int same = Enumerable.Range(0, nq * k).Count(i => group.Ids[i] == rows.Ids[i]);
            output.WriteLine($"nprobe {nprobe}: recall {r1:F3} (group) vs {r2:F3} (row-major), {same} of {nq * k} ids equal");
            Assert.True(Math.Abs(r1 - r2) <= 0.01, $"nprobe {nprobe}: recall {r1} vs {r2}");
            Assert.True(same >= nq * k * 95 / 100, $"nprobe {nprobe}: only {same} of {nq * k} ids equal");
        }
        // Refine over every list with k x R >= n re-ranks all vectors exactly: identical to exact search either way.
        var exact = new SearchOptions { NProbe = 8, RefineFactor = n / k };
        index.GroupTablesEnabled = true;
        SearchResult a = index.Search(queries, k, exact);
        index.GroupTablesEnabled = false;
        SearchResult b = index.Search(queries, k, exact);
        Assert.Equal(a.Ids, b.Ids);
        Assert.Equal(1.0, TestData.Recall(a, truth, k), 3);
    }

    [Fact]
    public void Kth_smallest_bound_holds_k_values_and_is_within_one_bucket_of_a_sort()
    {
        var rng = new Random(11);
        foreach (int n in new[] { 1, 2, 31, 32, 33, 200, 1024, 4096, 4097 })
        {
            foreach (int spread in new[] { 3, 255, 256, 300, 65536 })
            {
                ushort[] v = [.. Enumerable.Range(0, n).Select(_ => (ushort)rng.Next(0, spread))];
                ushort[] sorted = [.. v.Order()];
                int range = sorted[^1] - sorted[0], width = 1;
                while (range / width >= 256) width *= 2;
                foreach (int k in new[] { 1, Math.Max(1, n / 3), n })
                    foreach (bool simd in new[] { false, true })
                    {
                        int t = Pq4Lut.KthSmallestBoundWith(simd, v, k);
                        Assert.True(v.Count(x => x <= t) >= k, $"n {n} spread {spread} k {k} simd {simd}: fewer than k values <= {t}");
                        Assert.InRange(t, sorted[k - 1], sorted[k - 1] + width - 1);
                        // Exact when every bucket holds one value, and always on the AVX-512 path (up to 4,096 values).
                        if (range < 256 || (simd && n <= 4096 && Pq4Lut.ExactKthSupported)) Assert.Equal(sorted[k - 1], t);
                    }
                // The AVX2 search directly too (an AVX-512 machine otherwise runs only the 32-lane one).
                if (System.Runtime.Intrinsics.X86.Avx2.IsSupported && n <= 4096)
                    foreach (int k in new[] { 1, Math.Max(1, n / 3), n })
                        Assert.True(sorted[k - 1] == Pq4Lut.KthSmallestAvx2(v, k), $"n {n} spread {spread} k {k}: AVX2 k-th differs");
            }
        }

        Assert.Throws<ArgumentOutOfRangeException>("k", () => Pq4Lut.KthSmallestBound(new ushort[3], 4));
        // Values at the top of the range (65535, the padding value of the vector search) are counted right.
        ushort[] top = [65535, 65535, 3, 65534];
        foreach (bool simd in new[] { false, true })
        {
            Assert.Equal(65535, Pq4Lut.KthSmallestBoundWith(simd, top, 3));
            Assert.Equal(65535, Pq4Lut.KthSmallestBoundWith(simd, top, 4));
            int first = Pq4Lut.KthSmallestBoundWith(simd, top, 1);
            if (simd && Pq4Lut.ExactKthSupported) Assert.Equal(3, first);
            else Assert.InRange(first, 3, 3 + 255); // the histogram's bucket is 256 wide here
        }
        if (System.Runtime.Intrinsics.X86.Avx2.IsSupported)
        {
            Assert.Equal(3, Pq4Lut.KthSmallestAvx2(top, 1));
            Assert.Equal(65535, Pq4Lut.KthSmallestAvx2(top, 3));
        }
    }

    [Theory]
    [MemberData(nameof(Metrics))]
    public void Recall_against_flat_is_above_thresholds_and_close_to_the_generic_4_bit_scan(Metric metric)
    {
        const int n = 4000, k = 10, nq = 100;
        float[] x = TestData.LowIntrinsic(n, D, 8, 61);
        long[] ids = TestData.Range(10_000, n);
        using IvfPqIndex fast = Build(metric, x, ids, Options());
        using IvfPqIndex generic = Build(metric, x, ids, Options(fastScan: false));
        Assert.True(fast.UsesFastScan);
        Assert.False(generic.UsesFastScan);
        float[] queries = TestData.LowIntrinsic(nq, D, 8, 62);
        long[][] truth = TestData.BruteForce(queries, nq, ids, x, D, k, metric);
        double Recall(IvfPqIndex index, int nprobe, int refine) =>
            TestData.Recall(index.Search(queries, k, new SearchOptions { NProbe = nprobe, RefineFactor = refine }), truth, k);
        double f1 = Recall(fast, 1, 0), f8 = Recall(fast, 8, 0), f8r = Recall(fast, 8, 10), g8 = Recall(generic, 8, 0), g8r = Recall(generic, 8, 10);
        output.WriteLine($"{metric}: fast scan nprobe 1 {f1:F3}, nprobe 8 {f8:F3}, nprobe 8 + refine 10 {f8r:F3}; generic 4-bit nprobe 8 {g8:F3}, + refine 10 {g8r:F3}");
        // 16 sub-quantisers of 4 bits on 32 dimensions are coarse codes (cosine ranks normalised points that differ
        // little): the thresholds sit below the measured 0.61 / 0.41 / 0.58, the real check is the generic-path one.
        double floor = metric switch { Metric.L2 => 0.55, Metric.Cosine => 0.35, _ => 0.5 };
        Assert.True(f8 >= f1, "more probes must not lose recall");
        Assert.True(f8 >= floor, $"10-recall@10 at nprobe 8 was {f8:F3}");
        Assert.True(f8 >= g8 - 0.03, $"fast scan {f8:F3} vs generic {g8:F3}: the 8-bit tables lose too much");
        Assert.True(f8r >= 0.9 && f8r >= g8r - 0.02, $"10-recall@10 at nprobe 8 with refine 10 was {f8r:F3} (generic {g8r:F3})");
    }

    [Theory]
    [MemberData(nameof(Metrics))]
    public void All_lists_with_refine_covering_every_vector_equals_exact_search(Metric metric)
    {
        const int n = 600, k = 7, nq = 20;
        float[] x = TestData.LowIntrinsic(n, D, 8, 63);
        long[] ids = TestData.Range(10_000, n);
        using IvfPqIndex index = Build(metric, x, ids, Options(lists: 16, m: 8));
        float[] queries = TestData.Gaussian(nq, D, 64);
        // R = n / k (rounded up): the k x R candidates are every vector.
        SearchResult result = index.Search(queries, k, new SearchOptions { NProbe = 16, RefineFactor = (n + k - 1) / k });
        TestData.AssertEqualsExactSearch(result, queries, nq, ids, x, D, k, metric);
    }

    [Fact]
    public void Filters_and_removals_hold_and_results_stay_filled()
    {
        const int n = 1500, k = 20;
        float[] x = TestData.LowIntrinsic(n, D, 8, 65);
        long[] ids = TestData.Range(10_000, n);
        using IvfPqIndex index = Build(Metric.L2, x, ids, Options(lists: 16, m: 8));
        var rng = new Random(66);
        long[] victims = ids.Where(_ => rng.NextDouble() < 0.3).ToArray();
        Assert.Equal(victims.Length, index.Remove(victims));
        var removed = victims.ToHashSet();
        var all = new SearchOptions { NProbe = 16 };
        foreach (int refine in new[] { 0, 3 })
        {
            var options = all with { RefineFactor = refine };
            SearchResult r = index.Search(x, k, options);
            Assert.DoesNotContain(r.Ids, removed.Contains);
            Assert.DoesNotContain(-1L, r.Ids);

            // Allow: the five allowed live ids, then nothing (a removed id in the allow list never comes back).
            long[] allowed = ids.Where(id => !removed.Contains(id)).Take(5).Append(victims[0]).ToArray();
            SearchResult f = index.Search(x.AsSpan(0, 10 * D), k, options with { Filter = IdFilter.Allow(allowed) });
            for (int q = 0; q < 10; q++)
            {
                long[] got = f.IdsOf(q).ToArray();
                Assert.Equal(allowed.Take(5).Order(), got.Take(5).Order());
                Assert.All(got.Skip(5), id => Assert.Equal(-1, id));
            }

            // Deny and Where: never a filtered id, and k results whenever enough allowed rows exist.
            long[] denied = ids.Where((_, i) => i % 2 == 0).ToArray();
            var deniedSet = denied.ToHashSet();
            SearchResult deny = index.Search(x.AsSpan(0, 10 * D), k, options with { Filter = IdFilter.Deny(denied) });
            Assert.All(deny.Ids, id => Assert.True(id != -1 && !deniedSet.Contains(id) && !removed.Contains(id), $"id {id}"));
            SearchResult where = index.Search(x.AsSpan(0, 10 * D), k, options with { Filter = IdFilter.Where(id => id % 3 != 0) });
            Assert.All(where.Ids, id => Assert.True(id != -1 && id % 3 != 0 && !removed.Contains(id), $"id {id}"));

            // Without refine the filtered result is the unfiltered ranking restricted to the allowed ids.
            if (refine > 0) continue;
            SearchResult wide = index.Search(x.AsSpan(0, 10 * D), n, options);
            for (int q = 0; q < 10; q++)
            {
                long[] wideIds = wide.IdsOf(q).ToArray();
                float[] expected = wide.ScoresOf(q).ToArray().Where((_, i) => wideIds[i] != -1 && wideIds[i] % 3 != 0).Take(k).ToArray();
                Assert.Equal(expected, where.ScoresOf(q).ToArray());
            }
        }
    }

    [Fact]
    public void Add_remove_add_cycles_keep_the_packed_lists_equal_to_one_build()
    {
        const int n = 1300;
        long[] ids = TestData.Range(0, n);
        var options = Options(lists: 8);
        foreach (int m in new[] { 8, 5 }) // even and odd M (odd M has a padding sub-quantiser)
        {
            int d = m * 4;
            float[] xd = TestData.LowIntrinsic(n, d, 6, 68 + m);
            var o = options with { SubQuantizers = m };
            using var cycled = new IvfPqIndex(d, Metric.L2, o, KernelBackends.Create("simd"));
            cycled.Train(xd, n);
            var rng = new Random(69);
            var present = new HashSet<long>();
            int next = 0;
            for (int round = 0; round < 12; round++)
            {
                int add = Math.Min(n - next, rng.Next(1, 170));
                if (add > 0)
                {
                    cycled.Add(ids.AsSpan(next, add), xd.AsSpan(next * d, add * d));
                    for (int i = next; i < next + add; i++) present.Add(i);
                    next += add;
                }
                long[] victims = present.Where(_ => rng.NextDouble() < 0.2).ToArray();
                Assert.Equal(victims.Length, cycled.Remove(victims));
                present.ExceptWith(victims);
                Assert.All(cycled.DumpLists(), list => Assert.True(list.PaddingIsZero));
            }
            long[] live = present.Order().ToArray();
            float[] liveX = live.SelectMany(id => xd.AsSpan((int)id * d, d).ToArray()).ToArray();
            using var once = new IvfPqIndex(d, Metric.L2, o, KernelBackends.Create("simd"));
            once.Train(xd, n);
            once.Add(live, liveX);

            // Same (id, code) pairs in every list, valid padding.
            var a = cycled.DumpLists();
            var b = once.DumpLists();
            for (int l = 0; l < a.Length; l++)
            {
                Assert.True(a[l].PaddingIsZero && b[l].PaddingIsZero);
                Assert.Equal(ToMap(b[l], m), ToMap(a[l], m));
            }
            // And the same scores at every rank (ids may swap within ties: the lists' order differs).
            float[] queries = TestData.Gaussian(10, d, 70);
            var s = new SearchOptions { NProbe = 8 };
            Assert.Equal(once.Search(queries, 10, s).Scores, cycled.Search(queries, 10, s).Scores);
        }

        static Dictionary<long, string> ToMap((long[] Ids, byte[] Codes, bool PaddingIsZero) list, int m) =>
            list.Ids.Select((id, i) => (id, Convert.ToHexString(list.Codes, i * m, m))).ToDictionary(p => p.id, p => p.Item2);
    }

    [Theory]
    [MemberData(nameof(Metrics))]
    public void Every_scanner_kind_gives_bit_identical_results(Metric metric)
    {
        const int n = 2000, nq = 30;
        float[] x = TestData.LowIntrinsic(n, D, 8, 71);
        long[] ids = TestData.Range(0, n);
        using IvfPqIndex index = Build(metric, x, ids, Options(lists: 16, m: 16));
        index.Remove(ids.Where(id => id % 7 == 3).ToArray());
        float[] queries = TestData.LowIntrinsic(nq, D, 8, 72);
        var optionsList = new[]
        {
            new SearchOptions { NProbe = 1 },
            new SearchOptions { NProbe = 5 },
            new SearchOptions { NProbe = 16, RefineFactor = 3 },
            new SearchOptions { NProbe = 4, Filter = IdFilter.Where(id => id % 5 != 0) },
        };
        Pq4ScanKind original = index.FastScanKind;
        var reference = new List<SearchResult>();
        index.FastScanKind = Pq4ScanKind.Scalar;
        foreach (SearchOptions o in optionsList) reference.Add(index.Search(queries, 10, o));
        foreach (Pq4ScanKind kind in Kinds())
        {
            index.FastScanKind = kind;
            for (int i = 0; i < optionsList.Length; i++)
            {
                SearchResult r = index.Search(queries, 10, optionsList[i]);
                Assert.Equal(reference[i].Ids, r.Ids);
                Assert.Equal(reference[i].Scores, r.Scores);
            }
        }
        index.FastScanKind = original;
        output.WriteLine($"kinds compared: {string.Join(", ", Kinds())}");
    }

    [Fact]
    public void The_kernel_follows_the_backend()
    {
        Pq4ScanKind avx2 = Pq4Scanner.Resolve(Pq4ScanKind.Avx2);
        foreach ((string backend, Pq4ScanKind expected) in new[] { ("scalar", Pq4ScanKind.Scalar), ("simd256", avx2), ("simd128", avx2), ("simd", Pq4Scanner.Best) })
        {
            if (!KernelBackends.Available.Any(b => b.Name == backend)) continue;
            Assert.Equal(expected, Pq4Scanner.ForBackend(backend));
            using var index = new IvfPqIndex(D, Metric.L2, Options(), KernelBackends.Create(backend));
            Assert.Equal(expected, index.FastScanKind);
        }
    }

    [Theory]
    [InlineData(Metric.L2, RefineStorage.Float32, 8)]
    [InlineData(Metric.Cosine, RefineStorage.Float16, 5)]
    [InlineData(Metric.InnerProduct, RefineStorage.None, 4)]
    public void Save_and_load_round_trip_gives_identical_results(Metric metric, RefineStorage refine, int m)
    {
        const int n = 700;
        int d = m * 4;
        float[] x = TestData.LowIntrinsic(n, d, 6, 73);
        using var index = new IvfPqIndex(d, metric, Options(lists: 8, m: m, refine: refine), KernelBackends.Create("simd"));
        index.Train(x, n);
        index.Add(TestData.Range(0, n), x);
        index.Remove([3, 4, 500]);
        using var folder = new TempFolder();
        string path = folder.File("fs.vecidx");
        index.Save(path);
        byte[] bytes = File.ReadAllBytes(path);
        Assert.Equal(2u, BitConverter.ToUInt32(bytes, 8));
        Assert.Contains("PQ4F", IndexFileLayout.Sections(bytes).Select(s => s.Tag));
        Assert.DoesNotContain("CODE", IndexFileLayout.Sections(bytes).Select(s => s.Tag));
        using IvfPqIndex loaded = IvfPqIndex.Load(path, KernelBackends.Create("simd"));
        Assert.True(loaded.UsesFastScan);
        Assert.Equal((4, m, true, refine), (loaded.Options.Bits, loaded.Options.SubQuantizers, loaded.Options.FastScan, loaded.Options.Refine));
        Assert.Equal(index.Count, loaded.Count);
        Assert.True(loaded.BytesPerVector <= index.BytesPerVector); // loaded lists have no spare capacity
        float[] q = TestData.Gaussian(12, d, 74);
        var options = new SearchOptions { NProbe = 3, RefineFactor = refine == RefineStorage.None ? 0 : 4, Filter = IdFilter.Where(id => id % 5 != 0) };
        SearchResult a = index.Search(q, 9, options), b = loaded.Search(q, 9, options);
        Assert.Equal(a.Ids, b.Ids);
        Assert.Equal(a.Scores, b.Scores);
        // The loaded lists keep growing and shrinking in place.
        loaded.Add([100_000], x.AsSpan(0, d));
        Assert.Equal(2, loaded.Remove([100_000, 6]));
        Assert.All(loaded.DumpLists(), list => Assert.True(list.PaddingIsZero));
    }

    [Fact]
    public void Bytes_per_vector_counts_half_a_byte_per_code()
    {
        const int n = 3200, m = 16;
        float[] x = TestData.LowIntrinsic(n, D, 8, 75);
        long[] ids = TestData.Range(0, n);
        using IvfPqIndex fast = Build(Metric.L2, x, ids, Options(lists: 4, m: m, refine: RefineStorage.None));
        using IvfPqIndex generic = Build(Metric.L2, x, ids, Options(lists: 4, m: m, refine: RefineStorage.None, fastScan: false));
        output.WriteLine($"bytes per vector: fast scan {fast.BytesPerVector:F2}, generic 4-bit {generic.BytesPerVector:F2}");
        // Codes M / 2 + id 8 + id map 28, plus the lists' slack (spare capacity, the last block's padding).
        Assert.InRange(fast.BytesPerVector, m / 2 + 8 + 28, (m / 2 + 8) * 1.5 + 28 + 1);
        Assert.InRange(generic.BytesPerVector - fast.BytesPerVector, m / 2 * 0.9, m / 2 * 1.6);
    }

    [Fact]
    public async Task Searches_during_adds_see_published_vectors_unchanged()
    {
        const int baseCount = 700, extra = 1500, total = baseCount + extra, nq = 4;
        float[] x = TestData.LowIntrinsic(total, D, 8, 76);
        long[] ids = TestData.Range(0, total);
        using var index = new IvfPqIndex(D, Metric.L2, Options(lists: 4, m: 16, refine: RefineStorage.None), KernelBackends.Create("simd"));
        index.Train(x, total);
        index.Add(ids.AsSpan(0, baseCount), x.AsSpan(0, baseCount * D));
        float[] queries = TestData.LowIntrinsic(nq, D, 8, 77);
        // Every search returns every published vector (k >= total, all lists) with its estimate, which depends only on
        // the query, the vector's list and its codes. So an id must get the same score in every search: a nibble of a
        // published vector changing, even for a moment, while the writer fills the partial block beside it shows up.
        var options = new SearchOptions { NProbe = 4 };
        var seen = Enumerable.Range(0, nq).Select(_ => new Dictionary<long, float>()).ToArray();
        var errors = new ConcurrentQueue<string>();
        int searches = 0;
        using var stop = new CancellationTokenSource();
        Task searcher = Task.Factory.StartNew(() =>
        {
            // One query per call: the search runs inline on this thread (no Parallel.For behind the writer's).
            for (int q = 0; !stop.IsCancellationRequested; q = (q + 1) % nq)
            {
                SearchResult r = index.Search(queries.AsSpan(q * D, D), total, options);
                ReadOnlySpan<long> rid = r.IdsOf(0);
                ReadOnlySpan<float> rs = r.ScoresOf(0);
                for (int i = 0; i < rid.Length && rid[i] != -1; i++)
                {
                    if (!seen[q].TryAdd(rid[i], rs[i]) && seen[q][rid[i]] != rs[i])
                        errors.Enqueue($"search {searches}, query {q}: id {rid[i]} scored {rs[i]}, before {seen[q][rid[i]]}");
                }
                Interlocked.Increment(ref searches);
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        // One vector at a time: every add rewrites bytes of a partial block that searches are reading. When the extra
        // vectors are all in, they are removed (fresh arrays) and added again, until enough searches overlapped.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        int adds = 0;
        while (errors.IsEmpty && (Volatile.Read(ref searches) < 300 || adds < extra) && clock.Elapsed < TimeSpan.FromSeconds(4))
        {
            for (int i = baseCount; i < total && errors.IsEmpty; i++, adds++)
            {
                index.Add(ids.AsSpan(i, 1), x.AsSpan(i * D, D));
                if ((i & 7) == 0) Thread.Yield();
            }
            Assert.Equal(total, index.Count);
            if (Volatile.Read(ref searches) < 300) index.Remove(ids.AsSpan(baseCount, extra));
        }
        stop.Cancel();
        await searcher;
        Assert.True(errors.IsEmpty, string.Join("\n", errors.Take(5)));
        Assert.True(searches > 0);
        Assert.True(seen[0].Count > baseCount, "the searches saw added vectors too");
        output.WriteLine($"{searches} searches during {adds} single adds");
    }

    [Fact]
    public void Loader_rejects_bad_fast_scan_fields()
    {
        const int n = 90, m = 3, d = 9;
        float[] x = TestData.LowIntrinsic(n, d, 4, 80);
        using var folder = new TempFolder();
        string path = folder.File("fs.vecidx");
        using (IvfPqIndex index = Build(Metric.L2, x, TestData.Range(0, n), Options(lists: 3, m: m, refine: RefineStorage.None), d: d)) index.Save(path);
        byte[] valid = File.ReadAllBytes(path);
        var sections = IndexFileLayout.Sections(valid);
        IndexFileLayout.Section parm = sections.Single(s => s.Tag == "PARM"), lists = sections.Single(s => s.Tag == "LSTS"), packed = sections.Single(s => s.Tag == "PQ4F");

        string LoadError(Action<byte[]> corrupt)
        {
            byte[] bytes = (byte[])valid.Clone();
            corrupt(bytes);
            IndexFileLayout.FixChecksums(bytes);
            File.WriteAllBytes(path, bytes);
            return Assert.Throws<InvalidDataException>(() => IvfPqIndex.Load(path, KernelBackends.Create("scalar"))).Message;
        }

        Assert.Contains("fast-scan flag = 2 is out of range", LoadError(b => b[parm.PayloadOffset + 40] = 2));
        // A padding nibble: the lanes past list 0's count in its last block, and the padding sub-quantiser (M = 3).
        int size0 = BitConverter.ToInt32(valid, lists.PayloadOffset);
        Assert.True(size0 % 32 != 0, "list 0 should end in a partial block");
        int lastBlock = packed.PayloadOffset + size0 / 32 * Pq4Layout.BlockBytes(m);
        Assert.Contains("non-zero padding nibble", LoadError(b => b[lastBlock + 15] |= 0x80)); // vector 31 of the block, sub-quantiser 0
        Assert.Contains("non-zero padding nibble", LoadError(b => b[packed.PayloadOffset + 32 + 16] |= 0x01)); // vector 0, sub-quantiser 3
        // The version-2 PARM read as version 1 has 4 bytes left over.
        Assert.Contains("unexpected bytes left over", LoadError(b => b[8] = 1));
        // A bigger list size than the packed section holds.
        Assert.Contains("packed codes of list", LoadError(b =>
        {
            BitConverter.TryWriteBytes(b.AsSpan(lists.PayloadOffset), size0 + 40);
            BitConverter.TryWriteBytes(b.AsSpan(lists.PayloadOffset + 4), BitConverter.ToInt32(valid, lists.PayloadOffset + 4) - 40);
        }));
    }

    [Fact]
    public void Queries_whose_tables_overflow_float_still_search()
    {
        const int n = 300;
        float[] x = TestData.LowIntrinsic(n, D, 8, 81);
        using IvfPqIndex index = Build(Metric.L2, x, TestData.Range(0, n), Options(lists: 4, m: 8));
        float[] q = Enumerable.Repeat(3e37f, D).ToArray(); // finite, but its table entries overflow to infinity
        SearchResult r = index.Search(q, 5, new SearchOptions { NProbe = 4 });
        Assert.Equal(5, r.Ids.Length);
        SearchResult refined = index.Search(q, 5, new SearchOptions { NProbe = 4, RefineFactor = 2 });
        Assert.Equal(5, refined.Ids.Length);
    }

    [Fact]
    public void Bad_options_get_clear_exceptions()
    {
        var e = Assert.Throws<ArgumentException>(() => new IvfPqIndex(512, Metric.L2, new IvfPqOptions { SubQuantizers = 512, Bits = 4 }, KernelBackends.Create("scalar")));
        Assert.Equal("options", e.ParamName);
        using var generic = new IvfPqIndex(512, Metric.L2, new IvfPqOptions { SubQuantizers = 512, Bits = 4, FastScan = false }, KernelBackends.Create("scalar"));
        Assert.False(generic.UsesFastScan);
        using var eight = new IvfPqIndex(512, Metric.L2, new IvfPqOptions { SubQuantizers = 512, Bits = 8 }, KernelBackends.Create("scalar"));
        Assert.False(eight.UsesFastScan);
    }
}

/// <summary>The golden file of the version-2 fast-scan layout (PARM fast-scan flag, PQ4F section).</summary>
public sealed class FastScanGoldenFileTests(ITestOutputHelper output)
{
    private const string GoldenName = "ivfpq4fs-v2.vecidx";
    private const int D = 6;

    private static string GoldenPath => Path.Combine(AppContext.BaseDirectory, "Golden", GoldenName);

    /// <summary>100 points in 6 dimensions around four centres (odd M = 3 exercises the padding sub-quantiser).</summary>
    private static float[] GoldenVectors()
    {
        var x = new float[100 * D];
        for (int i = 0; i < 100; i++)
        {
            int c = i % 4;
            x[i * D + c] = 8 * (c + 1);
            x[i * D + 4] = 0.1f * (i % 7) - 0.3f;
            x[i * D + 5] = 0.05f * (i % 11) - 0.25f;
            x[i * D + (i + 1) % 4] += 0.02f * (i / 4);
        }
        return x;
    }

    /// <summary>The generator: writes the golden file into the source tree (run once, with VECREC_WRITE_GOLDEN=1).</summary>
    private static void WriteGolden([System.Runtime.CompilerServices.CallerFilePath] string file = "")
    {
        float[] x = GoldenVectors();
        using var index = new IvfPqIndex(D, Metric.L2, new IvfPqOptions { Lists = 4, SubQuantizers = 3, Bits = 4, Refine = RefineStorage.Float16 },
            KernelBackends.Create("scalar"));
        index.Train(x, 100);
        index.Add(TestData.Range(2000, 70), x.AsSpan(0, 70 * D));
        index.Remove([2003, 2040, 2041]);
        index.Add(TestData.Range(2070, 30), x.AsSpan(70 * D, 30 * D));
        index.Save(Path.Combine(Path.GetDirectoryName(file)!, "Golden", GoldenName));
    }

    [Fact]
    public void Golden_v2_fast_scan_file_loads_and_searches_as_when_it_was_written()
    {
        if (Environment.GetEnvironmentVariable("VECREC_WRITE_GOLDEN") == "1") WriteGolden();
        byte[] bytes = File.ReadAllBytes(GoldenPath);
        Assert.Equal(2u, BitConverter.ToUInt32(bytes, 8));
        Assert.Equal(new[] { "PARM", "CENT", "PQCB", "LSTS", "IDS ", "PQ4F", "RFNE", "END " }, IndexFileLayout.Sections(bytes).Select(s => s.Tag));
        using IVectorIndex loaded = VectorIndex.Load(GoldenPath, KernelBackends.Create("simd"));
        var index = Assert.IsType<IvfPqIndex>(loaded);
        Assert.True(index.UsesFastScan);
        Assert.Equal(97, index.Count);
        Assert.Equal((D, Metric.L2, 4), (index.Dimension, index.Metric, index.Lists));
        Assert.Equal((3, 4, RefineStorage.Float16, true), (index.Options.SubQuantizers, index.Options.Bits, index.Options.Refine, index.Options.FastScan));
        Assert.False(index.Contains(2040));
        Assert.True(index.Contains(2099));
        Assert.All(index.DumpLists(), list => Assert.True(list.PaddingIsZero));
        float[] x = GoldenVectors();

        // Exact re-ranking over every list (float16 copies): the stored vectors, ids and lists all came back.
        SearchResult exact = index.Search(x.AsSpan(5 * D, D), 3, new SearchOptions { NProbe = 4, RefineFactor = 40 });
        output.WriteLine($"exact: {string.Join(", ", exact.Ids)} / {string.Join(", ", exact.Scores)}");
        Assert.Equal(new long[] { 2005, 2025, 2013 }, exact.Ids);
        Assert.Equal(0f, exact.Scores[0], 4);
        Assert.Equal(0.03f, exact.Scores[1], 4); // 3 x 0.1^2
        Assert.Equal(0.0341f, exact.Scores[2], 4); // 0.1^2 + 0.15^2 + 0.04^2

        // The approximate fast-scan search gives what it gave when the file was written.
        SearchResult approx = index.Search(x.AsSpan(0, 2 * D), 4, new SearchOptions { NProbe = 2 });
        output.WriteLine($"approx: {string.Join(", ", approx.Ids)} / {string.Join(", ", approx.Scores.Select(s => s.ToString("R")))}");
        Assert.Equal(ApproxIds, approx.Ids);
        for (int i = 0; i < ApproxScores.Length; i++) Assert.Equal(ApproxScores[i], approx.Scores[i], 3);
    }

    // Recorded (simd backend) when the file was written; other backends agree to float rounding.
    private static readonly long[] ApproxIds = [2000, 2044, 2016, 2028, 2001, 2037, 2025, 2057];
    private static readonly float[] ApproxScores = [0.002728492f, 0.06528086f, 0.073908776f, 0.08253669f, 0.004998967f, 0.068787545f, 0.08514359f, 0.0867792f];
}

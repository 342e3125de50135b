using System.Collections.Concurrent;
using Vec.Kernels;
using Xunit;

namespace Vec.Index.Tests;

public sealed class ConcurrencyTests
{
    public static TheoryData<string> Kinds() => new() { "flat", "ivfpq", "ivfpq-4bit-fastscan" };

    private static IVectorIndex Create(string kind, int d, float[] train)
    {
        if (kind == "flat") return new FlatIndex(d, Metric.L2, KernelBackends.Create("simd"));
        int bits = kind == "ivfpq-4bit-fastscan" ? 4 : 8;
        var index = new IvfPqIndex(d, Metric.L2, new IvfPqOptions { Lists = 16, SubQuantizers = 4, Bits = bits, Refine = RefineStorage.Float32 }, KernelBackends.Create("simd"));
        index.Train(train, train.Length / d);
        return index;
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Searches_run_while_others_add_and_remove(string kind)
    {
        const int d = 16, baseCount = 2000;
        float[] data = TestData.Gaussian(baseCount * 3, d, 31);
        using IVectorIndex index = Create(kind, d, data.AsSpan(0, baseCount * d).ToArray());
        index.Add(TestData.Range(0, baseCount), data.AsSpan(0, baseCount * d));
        var errors = new ConcurrentQueue<Exception>();
        var present = new ConcurrentDictionary<long, bool>();
        for (long i = 0; i < baseCount; i++) present[i] = true;
        using var stop = new CancellationTokenSource();
        long nextId = baseCount;
        int searches = 0;

        static Task Run(Action body) => Task.Factory.StartNew(body, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

        void Guard(Action body)
        {
            try { while (!stop.IsCancellationRequested) body(); }
            catch (Exception e) { errors.Enqueue(e); stop.Cancel(); }
        }

        var searchers = Enumerable.Range(0, 3).Select(s => Run(() => Guard(() =>
        {
            var rng = new Random(s);
            int q = rng.Next(baseCount * 3);
            SearchResult r = index.Search(data.AsSpan(q * d, d), 25, new SearchOptions { NProbe = 16 });
            long[] ids = r.Ids.Where(id => id >= 0).ToArray();
            if (ids.Distinct().Count() != ids.Length) throw new InvalidOperationException("duplicate id in one result");
            if (ids.Any(id => id < 0 || id >= baseCount * 3)) throw new InvalidOperationException("unknown id");
            Interlocked.Increment(ref searches);
        }))).ToArray();

        // One writer adds batches and removes random ids (writers are serialised by the index; two writer threads check that too).
        var writers = Enumerable.Range(0, 2).Select(w => Run(() => Guard(() =>
        {
            var rng = new Random(100 + w);
            if (rng.NextDouble() < 0.5)
            {
                long first = Interlocked.Add(ref nextId, 10) - 10;
                if (first + 10 > baseCount * 3) { Thread.Sleep(1); return; }
                index.Add(TestData.Range(first, 10), data.AsSpan((int)first * d, 10 * d));
                for (long id = first; id < first + 10; id++) present[id] = true;
            }
            else
            {
                long victim = rng.Next((int)Math.Min(Interlocked.Read(ref nextId), baseCount * 3));
                if (present.TryRemove(victim, out _) && index.Remove([victim]) != 1)
                    throw new InvalidOperationException($"id {victim} was present but not removed");
            }
        }))).ToArray();

        // The clock starts once every loop has its own thread (dedicated threads: a busy thread pool, with other test
        // classes running in parallel, must not delay the loops past the deadline).
        stop.CancelAfter(TimeSpan.FromSeconds(3));
        await Task.WhenAll([.. searchers, .. writers]);
        Assert.True(errors.IsEmpty, string.Join("\n", errors));
        Assert.True(searches > 10, $"only {searches} searches ran");
        Assert.Equal(present.Count, index.Count);
        foreach (long id in present.Keys) Assert.True(index.Contains(id), $"id {id} lost");
        // Every present id is findable with an exhaustive search of its own vector.
        SearchResult all = index.Search(new float[d], (int)index.Count + 5, new SearchOptions { NProbe = 16 });
        var found = all.Ids.Where(id => id >= 0).ToArray();
        Assert.Equal(found.Length, found.Distinct().Count());
        Assert.Equal(present.Keys.Order(), found.Order());
    }
}

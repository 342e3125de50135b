using Vec.Index.Internals;
using Xunit;

namespace Vec.Index.Tests;

/// <summary>The fast scan's candidate reservoir keeps exactly the capacity smallest keys, like the heap it replaces there.</summary>
public class CandidateReservoirTests
{
    [Theory]
    [InlineData(1, 0)]
    [InlineData(1, 500)]
    [InlineData(10, 7)]
    [InlineData(10, 1000)]
    [InlineData(40, 39)]
    [InlineData(40, 5000)]
    [InlineData(100, 2000)]
    public void Keeps_the_capacity_smallest_keys_with_ties_and_any_push_order(int capacity, int pushes)
    {
        for (int seed = 0; seed < 20; seed++)
        {
            var rng = new Random(seed * 7919 + capacity);
            var reservoir = new CandidateReservoir();
            reservoir.Reset(capacity);
            var admitted = new List<(float Key, long Payload)>();
            for (int i = 0; i < pushes; i++)
            {
                // Few distinct values on some seeds (quantised sums tie a lot), continuous on others.
                float key = seed % 2 == 0 ? rng.Next(0, 30) : (float)rng.NextDouble();
                if (key >= reservoir.Threshold) continue;
                reservoir.Push(key, i);
                admitted.Add((key, i));
            }

            var keys = new float[capacity];
            var payloads = new long[capacity];
            int n = reservoir.Drain(keys, payloads, sort: true);
            float[] expected = [.. admitted.Select(a => a.Key).Order().Take(capacity)];
            Assert.True(expected.SequenceEqual(keys[..n]), $"seed {seed}: kept keys differ from the {capacity} smallest admitted");
            for (int i = 0; i < n; i++) Assert.Contains((keys[i], payloads[i]), admitted); // each key travels with its payload
            Assert.Equal(payloads[..n].Length, payloads[..n].Distinct().Count());
            Assert.Equal(0, reservoir.Count);
        }
    }

    [Fact]
    public void Threshold_only_tightens_and_never_drops_a_key_that_belongs_in_the_result()
    {
        var rng = new Random(3);
        var reservoir = new CandidateReservoir();
        reservoir.Reset(5);
        var all = new List<float>();
        float last = float.PositiveInfinity;
        for (int i = 0; i < 1000; i++)
        {
            float key = (float)rng.NextDouble();
            all.Add(key);
            if (key < reservoir.Threshold) reservoir.Push(key, i);
            Assert.True(reservoir.Threshold <= last);
            last = reservoir.Threshold;
            // Every one of the 5 smallest keys seen so far is below the threshold or was admitted.
            Assert.True(all.Order().Take(5).All(k => k <= reservoir.Threshold));
        }

        var keys = new float[5];
        int n = reservoir.Drain(keys, new long[5], sort: false);
        Assert.Equal(all.Order().Take(5).ToArray(), keys[..n].Order().ToArray());
    }

    [Theory]
    [InlineData(0, 5)]
    [InlineData(1, 1)]
    [InlineData(7, 3)]
    [InlineData(40, 10)]
    [InlineData(40, 40)]
    [InlineData(40, 60)]
    [InlineData(200, 10)]
    public void SortSmallest_puts_the_k_smallest_first_in_order_and_the_ties_of_the_kth_next(int n, int k)
    {
        for (int seed = 0; seed < 30; seed++)
        {
            var rng = new Random(seed * 31 + n);
            // Few distinct values on some seeds (ties at the boundary), continuous on others.
            float[] keys = [.. Enumerable.Range(0, n).Select(_ => seed % 2 == 0 ? rng.Next(0, 6) : (float)rng.NextDouble())];
            long[] payloads = [.. Enumerable.Range(0, n).Select(i => (long)i)];
            var pairs = keys.Zip(payloads).ToArray();
            CandidateReservoir.SortSmallest(keys, payloads, k);
            int take = Math.Min(k, n);
            float[] expected = [.. pairs.Select(p => p.First).Order()];
            Assert.True(expected.AsSpan(0, take).SequenceEqual(keys.AsSpan(0, take)), $"seed {seed}: the first {take} are not the smallest in order");
            for (int i = 0; i < n; i++) Assert.Equal(pairs[payloads[i]].First, keys[i]); // payloads travel with their keys
            Assert.Equal(n, payloads.Distinct().Count());
            if (take == 0) continue;
            // Every key equal to the k-th sits in one run from the k-th on.
            int ties = pairs.Count(p => p.First == keys[take - 1]) - keys.AsSpan(0, take).ToArray().Count(x => x == keys[take - 1]);
            for (int i = take; i < take + ties; i++) Assert.Equal(keys[take - 1], keys[i]);
        }
    }
}

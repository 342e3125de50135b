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
        foreach (CandidateReservoir.Path path in CandidateReservoir.Supported)
        for (int seed = 0; seed < 20; seed++)
        {
            var rng = new Random(seed * 7919 + capacity);
            var reservoir = new CandidateReservoir(path);
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
            Assert.True(expected.SequenceEqual(keys[..n]), $"seed {seed} path {path}: kept keys differ from the {capacity} smallest admitted");
            for (int i = 0; i < n; i++) Assert.Contains((keys[i], payloads[i]), admitted); // each key travels with its payload
            Assert.Equal(payloads[..n].Length, payloads[..n].Distinct().Count());
            Assert.Equal(0, reservoir.Count);
        }
    }

    [Theory]
    [InlineData(1, 0)]
    [InlineData(1, 300)]
    [InlineData(10, 15)]
    [InlineData(10, 1000)]
    [InlineData(40, 174)]
    [InlineData(40, 3000)]
    [InlineData(100, 2500)]
    public void PushHits_keeps_the_capacity_smallest_estimates_on_both_paths(int capacity, int hitsTotal)
    {
        foreach (CandidateReservoir.Path path in CandidateReservoir.Supported)
            for (int seed = 0; seed < 10; seed++)
            {
                var rng = new Random(seed * 104729 + capacity * 31 + hitsTotal);
                var reservoir = new CandidateReservoir(path);
                reservoir.Reset(capacity);
                var eligible = new List<(float Key, long Payload)>();
                int done = 0, chunk = 0;
                while (done < hitsTotal)
                {
                    // Chunks of odd sizes (not multiples of 16), each its own scale, bias and sum cap, as lists are.
                    int count = Math.Min(hitsTotal - done, rng.Next(1, 300));
                    var sums = new ushort[(count + 15) & ~15];
                    var hits = new ushort[sums.Length];
                    for (int h = 0; h < count; h++)
                    {
                        sums[h] = (ushort)(seed % 2 == 0 ? rng.Next(0, 40) : rng.Next(0, 65536)); // many ties on even seeds
                        hits[h] = (ushort)(h * 3 + rng.Next(3));
                    }
                    float inverseScale = 0.01f + (float)rng.NextDouble(), bias = (float)(rng.NextDouble() * 100 - 50);
                    int maxSum = rng.Next(4) == 0 ? rng.Next(0, 65536) : ushort.MaxValue;
                    long payloadBase = ((long)chunk << 32) | (uint)rng.Next(0, 1 << 20);
                    float before = reservoir.Threshold;
                    reservoir.PushHits(sums, hits, count, inverseScale, bias, maxSum, payloadBase);
                    for (int h = 0; h < count; h++)
                    {
                        float key = bias + sums[h] * inverseScale;
                        // Eligible: under the chunk's cap and below the threshold when the chunk began (every path
                        // admits at least those that still belong in the result).
                        if (sums[h] <= maxSum && key < before) eligible.Add((key, payloadBase + hits[h]));
                    }
                    done += count;
                    chunk++;
                }

                var keys = new float[4 * capacity + 32];
                var payloads = new long[keys.Length];
                int n = reservoir.Drain(keys, payloads, sort: true);
                float[] expected = [.. eligible.Select(e => e.Key).Order().Take(capacity)];
                Assert.True(expected.SequenceEqual(keys[..n]), $"seed {seed} path {path}: kept {n} keys differ from the {capacity} smallest eligible");
                var byPayload = eligible.ToDictionary(e => e.Payload, e => e.Key);
                for (int i = 0; i < n; i++)
                    Assert.True(byPayload.TryGetValue(payloads[i], out float key) && key == keys[i], $"seed {seed} path {path}: payload {payloads[i]} lost its key");
            }
    }

    [Fact]
    public void PushHits_rejects_short_spans_on_the_vector_path()
    {
        foreach (CandidateReservoir.Path path in CandidateReservoir.Supported.Where(p => p != CandidateReservoir.Path.Scalar))
        {
            // The scalar path reads only count values; the vector paths need count rounded up to 16.
            var reservoir = new CandidateReservoir(path);
            reservoir.Reset(10);
            Assert.Equal("sums", Assert.Throws<ArgumentException>(() => reservoir.PushHits(new ushort[17], new ushort[32], 17, 1, 0, 65535, 0)).ParamName);
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

using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Vec.Cli.Bench;

/// <summary>Timing helpers: warm up, repeat, take the median.</summary>
public static class BenchTimer
{
    /// <summary>Least wall time spent in warm-up calls (when <c>warmup</c> &gt; 0).</summary>
    public const double WarmupSeconds = 0.5;

    /// <summary>Runs <paramref name="body"/> untimed at least <paramref name="warmup"/> times and for at least
    /// <see cref="WarmupSeconds"/>, then <paramref name="repeats"/> times; returns the median seconds.</summary>
    public static double Median(Action body, int warmup, int repeats)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(repeats);
        // Warm up by count and by time: small bodies need dozens of calls before the tiered JIT promotes the code around
        // the kernels, and the promotion compiles on a background thread that would otherwise steal a core mid-measurement.
        long warmStart = Stopwatch.GetTimestamp();
        for (int i = 0; i < warmup || (warmup > 0 && Stopwatch.GetElapsedTime(warmStart).TotalSeconds < WarmupSeconds); i++) body();
        if (warmup > 0)
        {
            Thread.Sleep(300); // let queued tier-1 compilations finish
            body();
        }
        var times = new double[repeats];
        for (int i = 0; i < repeats; i++)
        {
            long start = Stopwatch.GetTimestamp();
            body();
            times[i] = Stopwatch.GetElapsedTime(start).TotalSeconds;
        }
        Array.Sort(times);
        return repeats % 2 == 1 ? times[repeats / 2] : (times[repeats / 2 - 1] + times[repeats / 2]) / 2;
    }

    /// <summary>Runs <paramref name="work"/>(t) on <paramref name="threads"/> dedicated threads released together; returns the wall seconds until the last finishes.</summary>
    public static double OnThreads(int threads, Action<int> work)
    {
        using var start = new Barrier(threads + 1);
        using var done = new CountdownEvent(threads);
        var workers = new Thread[threads];
        for (int t = 0; t < threads; t++)
        {
            int id = t;
            workers[t] = new Thread(() => { start.SignalAndWait(); work(id); done.Signal(); }) { IsBackground = true };
            workers[t].Start();
        }
        start.SignalAndWait();
        long t0 = Stopwatch.GetTimestamp();
        done.Wait();
        double seconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        foreach (var w in workers) w.Join();
        return seconds;
    }
}

/// <summary>The machine's own ceilings, measured: FP32 FMA throughput and memory read bandwidth, on all benchmark threads.</summary>
/// <param name="Threads">Threads used.</param>
/// <param name="VectorBits">Width of the FMA loop (512 with AVX-512, else 256).</param>
/// <param name="PeakGflops">FP32 GFLOP/s of the pure-FMA loop (an FMA counts as 2 flops).</param>
/// <param name="BandwidthGBs">GB/s (10^9 bytes) of a read-and-sum loop over a buffer much larger than the last-level cache.</param>
/// <param name="BandwidthBufferMiB">Size of that buffer.</param>
public sealed record MachinePeak(int Threads, int VectorBits, double PeakGflops, double BandwidthGBs, int BandwidthBufferMiB)
{
    private const int Accumulators = 24;

    /// <summary>Measures both figures (best of repeats: they are ceilings).</summary>
    public static MachinePeak Measure(int threads, bool quick)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(threads);
        int bits = Vector512.IsHardwareAccelerated && Avx512F.IsSupported ? 512 : Fma.IsSupported ? 256 : 0;
        double gflops = bits == 0 ? double.NaN : MeasureFma(threads, bits, quick);
        int mib = quick ? 256 : 1024;
        double gbs = MeasureBandwidth(threads, mib, quick);
        return new MachinePeak(threads, bits, gflops, gbs, mib);
    }

    private static double MeasureFma(int threads, int bits, bool quick)
    {
        long iterations = quick ? 2_000_000 : 20_000_000;
        double flopsPerIteration = Accumulators * (bits / 32) * 2.0;
        var sink = new float[threads];
        Action<int> work = bits == 512
            ? t => sink[t] = FmaLoop512(iterations).ToScalar()
            : t => sink[t] = FmaLoop256(iterations).ToScalar();
        // Compile and warm up (AggressiveOptimization skips tiering), then time the threads' wall time only.
        BenchTimer.OnThreads(threads, work);
        var times = new double[quick ? 3 : 5];
        for (int r = 0; r < times.Length; r++) times[r] = BenchTimer.OnThreads(threads, work);
        Array.Sort(times);
        double seconds = times[0]; // a ceiling: the best repeat (as STREAM reports), so "% of peak" is never flattered
        return threads * iterations * flopsPerIteration / seconds / 1e9;
    }

    /// <summary>24 independent FMA chains on zmm registers; no calls after the loop, so nothing spills.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static Vector512<float> FmaLoop512(long iterations)
    {
        Vector512<float> m = Vector512.Create(0.9999999f), a = Vector512.Create(1e-7f);
        Vector512<float> c0 = Vector512.Create(1f), c1 = c0 + a, c2 = c1 + a, c3 = c2 + a, c4 = c3 + a, c5 = c4 + a;
        Vector512<float> c6 = c5 + a, c7 = c6 + a, c8 = c7 + a, c9 = c8 + a, c10 = c9 + a, c11 = c10 + a;
        Vector512<float> c12 = c11 + a, c13 = c12 + a, c14 = c13 + a, c15 = c14 + a, c16 = c15 + a, c17 = c16 + a;
        Vector512<float> c18 = c17 + a, c19 = c18 + a, c20 = c19 + a, c21 = c20 + a, c22 = c21 + a, c23 = c22 + a;
        for (long i = 0; i < iterations; i++)
        {
            c0 = Avx512F.FusedMultiplyAdd(c0, m, a); c1 = Avx512F.FusedMultiplyAdd(c1, m, a);
            c2 = Avx512F.FusedMultiplyAdd(c2, m, a); c3 = Avx512F.FusedMultiplyAdd(c3, m, a);
            c4 = Avx512F.FusedMultiplyAdd(c4, m, a); c5 = Avx512F.FusedMultiplyAdd(c5, m, a);
            c6 = Avx512F.FusedMultiplyAdd(c6, m, a); c7 = Avx512F.FusedMultiplyAdd(c7, m, a);
            c8 = Avx512F.FusedMultiplyAdd(c8, m, a); c9 = Avx512F.FusedMultiplyAdd(c9, m, a);
            c10 = Avx512F.FusedMultiplyAdd(c10, m, a); c11 = Avx512F.FusedMultiplyAdd(c11, m, a);
            c12 = Avx512F.FusedMultiplyAdd(c12, m, a); c13 = Avx512F.FusedMultiplyAdd(c13, m, a);
            c14 = Avx512F.FusedMultiplyAdd(c14, m, a); c15 = Avx512F.FusedMultiplyAdd(c15, m, a);
            c16 = Avx512F.FusedMultiplyAdd(c16, m, a); c17 = Avx512F.FusedMultiplyAdd(c17, m, a);
            c18 = Avx512F.FusedMultiplyAdd(c18, m, a); c19 = Avx512F.FusedMultiplyAdd(c19, m, a);
            c20 = Avx512F.FusedMultiplyAdd(c20, m, a); c21 = Avx512F.FusedMultiplyAdd(c21, m, a);
            c22 = Avx512F.FusedMultiplyAdd(c22, m, a); c23 = Avx512F.FusedMultiplyAdd(c23, m, a);
        }
        return ((c0 + c1) + (c2 + c3)) + ((c4 + c5) + (c6 + c7)) + ((c8 + c9) + (c10 + c11))
             + ((c12 + c13) + (c14 + c15)) + ((c16 + c17) + (c18 + c19)) + ((c20 + c21) + (c22 + c23));
    }

    /// <summary>The same with 12 ymm chains (16 ymm registers without AVX-512).</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static Vector256<float> FmaLoop256(long iterations)
    {
        Vector256<float> m = Vector256.Create(0.9999999f), a = Vector256.Create(1e-7f);
        Vector256<float> c0 = Vector256.Create(1f), c1 = c0 + a, c2 = c1 + a, c3 = c2 + a, c4 = c3 + a, c5 = c4 + a;
        Vector256<float> c6 = c5 + a, c7 = c6 + a, c8 = c7 + a, c9 = c8 + a, c10 = c9 + a, c11 = c10 + a;
        for (long i = 0; i < 2 * iterations; i++)
        {
            c0 = Fma.MultiplyAdd(c0, m, a); c1 = Fma.MultiplyAdd(c1, m, a);
            c2 = Fma.MultiplyAdd(c2, m, a); c3 = Fma.MultiplyAdd(c3, m, a);
            c4 = Fma.MultiplyAdd(c4, m, a); c5 = Fma.MultiplyAdd(c5, m, a);
            c6 = Fma.MultiplyAdd(c6, m, a); c7 = Fma.MultiplyAdd(c7, m, a);
            c8 = Fma.MultiplyAdd(c8, m, a); c9 = Fma.MultiplyAdd(c9, m, a);
            c10 = Fma.MultiplyAdd(c10, m, a); c11 = Fma.MultiplyAdd(c11, m, a);
        }
        return ((c0 + c1) + (c2 + c3)) + ((c4 + c5) + (c6 + c7)) + ((c8 + c9) + (c10 + c11));
    }

    private static unsafe double MeasureBandwidth(int threads, int mib, bool quick)
    {
        long floats = (long)mib << 18; // MiB * 2^20 bytes / 4
        float[] buffer = GC.AllocateUninitializedArray<float>(checked((int)floats), pinned: true);
        // Touch every page on the thread that will read it (first touch), with values that keep sums finite.
        long chunk = floats / threads / 16 * 16;
        BenchTimer.OnThreads(threads, t => buffer.AsSpan((int)(t * chunk), (int)chunk).Fill(1f / (t + 1)));
        var sink = new float[threads];
        double bytes = (double)chunk * threads * sizeof(float);
        fixed (float* p = buffer)
        {
            nint basePtr = (nint)p;
            Action<int> work = t => sink[t] = ReadSum((float*)basePtr + t * chunk, chunk);
            BenchTimer.OnThreads(threads, work);
            var times = new double[quick ? 3 : 7];
            for (int r = 0; r < times.Length; r++) times[r] = BenchTimer.OnThreads(threads, work);
            Array.Sort(times);
            return bytes / times[0] / 1e9; // best repeat: a ceiling
        }
    }

    /// <summary>Sums <paramref name="count"/> floats (a multiple of 64) with four independent vector accumulators.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static unsafe float ReadSum(float* p, long count)
    {
        if (Vector512.IsHardwareAccelerated)
        {
            Vector512<float> s0 = default, s1 = default, s2 = default, s3 = default;
            for (long i = 0; i + 64 <= count; i += 64)
            {
                s0 += Vector512.Load(p + i); s1 += Vector512.Load(p + i + 16);
                s2 += Vector512.Load(p + i + 32); s3 += Vector512.Load(p + i + 48);
            }
            return Vector512.Sum((s0 + s1) + (s2 + s3));
        }
        Vector256<float> r0 = default, r1 = default, r2 = default, r3 = default;
        for (long i = 0; i + 32 <= count; i += 32)
        {
            r0 += Vector256.Load(p + i); r1 += Vector256.Load(p + i + 8);
            r2 += Vector256.Load(p + i + 16); r3 += Vector256.Load(p + i + 24);
        }
        return Vector256.Sum((r0 + r1) + (r2 + r3));
    }
}

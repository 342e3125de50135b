using System.Diagnostics;
using System.Globalization;
using Vec.Index.Internals;

namespace Vec.Bench;

/// <summary>
/// <c>pqscan</c>: the IVF-PQ hot loop alone. Scores one inverted list of random 8-bit codes against a random look-up
/// table with every scan strategy (plain scalar reference, 8-lane unrolled scalar, AVX2 gathers), keeping a top-10 heap,
/// and prints nanoseconds per vector and table look-ups per second for typical (M, list length) shapes.
/// </summary>
internal static class PqScanBench
{
    public static int Run(string[] args)
    {
        bool quick = args.Contains("--quick");
        var shapes = new (int M, int Count)[] { (8, 10_000), (16, 160), (16, 1_000), (16, 10_000), (32, 1_000), (48, 100), (48, 1_000), (64, 1_000) };
        Console.WriteLine($"# pqscan: IVF-PQ list scan, one thread, 8-bit codes, top-10 heap; {Environment.ProcessorCount} cores; .NET {Environment.Version}");
        Console.WriteLine();
        Console.WriteLine("| M | list length | strategy | ns / vector | G look-ups / s | vs scalar |");
        Console.WriteLine("|---:|---:|---|---:|---:|---:|");
        foreach ((int m, int count) in shapes)
        {
            var rng = new Random(m * 7919 + count);
            const int ksub = 256;
            var lut = new float[m * ksub];
            for (int i = 0; i < lut.Length; i++) lut[i] = (float)rng.NextDouble();
            var codes = new byte[IvfCodeLayout.Bytes(count, m)];
            rng.NextBytes(codes);
            var ids = new long[count];
            double scalar = 0;
            foreach (PqScanKind kind in Enum.GetValues<PqScanKind>())
            {
                if (!PqScanner.IsSupported(kind)) continue;
                var heap = new CandidateHeap(10);
                double seconds = Ann.Best(() =>
                {
                    heap.Reset(10);
                    PqScanner.Scan(kind, codes, count, m, ksub, lut, 0f, heap, ids, 0, null);
                }, quick ? 2 : 5);
                if (kind == PqScanKind.Scalar) scalar = seconds;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {m} | {count} | {kind} | {seconds * 1e9 / count:F2} | {count * (double)m / seconds / 1e9:F2} | {scalar / seconds:F2}x |"));
            }
        }
        return 0;
    }
}

using System.Globalization;
using Vec.Index.Internals;
using Vec.Index.Internals.FastScan;

namespace Vec.Bench;

/// <summary>
/// <c>fastscan</c>: the 4-bit PQ fast-scan kernel alone (<see cref="Pq4Scanner"/>): uint16 sums of a quantised uint8
/// table over codes packed in blocks of 32, for every supported kind, next to the 8-bit <see cref="PqScanner"/>
/// (Unrolled kind, float table, top-10 heap) on the same list length and M. Best of 5; one thread.
/// </summary>
internal static class FastScanBench
{
    public static int Run(string[] args)
    {
        bool quick = args.Contains("--quick");
        int repeats = quick ? 2 : 5;
        var shapes = new (int M, int N)[] { (16, 10_000), (32, 10_000), (48, 1_000), (64, 1_000) };
        Console.WriteLine($"# fastscan: 4-bit PQ fast-scan kernel, one thread, best of {repeats}; {Environment.ProcessorCount} cores; .NET {Environment.Version}");
        Console.WriteLine();
        Console.WriteLine("| M | n | kernel | ns / vector | M codes / s | G look-ups / s | vs 8-bit Unrolled |");
        Console.WriteLine("|---:|---:|---|---:|---:|---:|---:|");
        foreach ((int m, int n) in shapes)
        {
            var rng = new Random(m * 7919 + n);

            // 8-bit baseline, called as PqScanBench does.
            const int ksub = 256;
            var lut8 = new float[m * ksub];
            for (int i = 0; i < lut8.Length; i++) lut8[i] = (float)rng.NextDouble();
            var codes8 = new byte[IvfCodeLayout.Bytes(n, m)];
            rng.NextBytes(codes8);
            var ids = new long[n];
            var heap = new CandidateHeap(10);
            double baseline = Ann.Best(() =>
            {
                heap.Reset(10);
                PqScanner.Scan(PqScanKind.Unrolled, codes8, n, m, ksub, lut8, 0f, heap, ids, 0, null);
            }, repeats);
            Row(m, n, "8-bit PqScanner Unrolled (heap)", baseline, baseline);

            var codes = new byte[n * m];
            for (int i = 0; i < codes.Length; i++) codes[i] = (byte)rng.Next(16);
            var packed = Pq4Layout.Pack(codes, n, m);
            var table = new float[m * 16];
            for (int i = 0; i < table.Length; i++) table[i] = (float)rng.NextDouble();
            var (lut, _, _) = Pq4Lut.Quantize(table, m);
            var sums = new ushort[n];
            var hits = new int[n];
            foreach (Pq4ScanKind kind in Enum.GetValues<Pq4ScanKind>())
            {
                if (!Pq4Scanner.IsSupported(kind)) continue;
                double seconds = Ann.Best(() => Pq4Scanner.Scan(kind, packed, n, m, lut, sums), repeats);
                Row(m, n, $"4-bit {kind} sums", seconds, baseline);
                if (kind == Pq4ScanKind.Scalar) continue;
                // Threshold at about the 1st percentile of the sums: the IVF search case (few survivors).
                Pq4Scanner.Scan(kind, packed, n, m, lut, sums);
                var sorted = (ushort[])sums.Clone();
                Array.Sort(sorted);
                ushort threshold = sorted[n / 100];
                seconds = Ann.Best(() => Pq4Scanner.ScanThreshold(kind, packed, n, m, lut, threshold, hits), repeats);
                Row(m, n, $"4-bit {kind} threshold (1%)", seconds, baseline);
            }
        }
        return 0;
    }

    private static void Row(int m, int n, string kernel, double seconds, double baseline) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {m} | {n} | {kernel} | {seconds * 1e9 / n:F3} | {n / seconds / 1e6:F1} | {n * (double)m / seconds / 1e9:F2} | {baseline / seconds:F2}x |"));
}

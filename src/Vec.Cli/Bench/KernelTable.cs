using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Vec.Internals;
using Vec.Kernels;

namespace Vec.Cli.Bench;

/// <summary>One measured figure of the kernels table.</summary>
/// <param name="Backend">Backend name.</param>
/// <param name="Kernel">What was measured.</param>
/// <param name="Shape">Problem size.</param>
/// <param name="MedianMs">Median milliseconds per call.</param>
/// <param name="Value">Throughput in <paramref name="Unit"/>.</param>
/// <param name="Unit"><c>GFLOP/s</c> or <c>GB/s</c>.</param>
/// <param name="PercentOfPeak">Value as a percentage of the machine's measured FMA peak (GFLOP/s) or read bandwidth (GB/s).</param>
/// <param name="Target">The target from the issue, if this figure has one.</param>
/// <param name="MeetsTarget">Whether the target is met (null without a target).</param>
public sealed record KernelResult(string Backend, string Kernel, string Shape, double MedianMs, double Value, string Unit,
    double PercentOfPeak, string? Target, bool? MeetsTarget);

/// <summary>A whole <c>kernels</c> run as written to JSON.</summary>
public sealed record KernelReport(string Kind, bool Smoke, string TimestampUtc, MachineInfo Machine, MachinePeak Peak, IReadOnlyList<KernelResult> Results);

/// <summary>Where a run happened.</summary>
public sealed record MachineInfo(string Cpu, int LogicalCores, int Threads, string Os, string Runtime, string Backends)
{
    /// <summary>Describes this machine.</summary>
    public static MachineInfo Current(int threads, IEnumerable<string> backends) =>
        new(Data.CpuModel(), Environment.ProcessorCount, threads, RuntimeInformation.OSDescription,
            RuntimeInformation.FrameworkDescription, string.Join(",", backends));
}

/// <summary>Settings of one <c>kernels</c> run.</summary>
/// <param name="Backends">Backends measured, in order.</param>
/// <param name="Threads">Threads for the kernels and the machine peak.</param>
/// <param name="Sizes"><c>full</c> (the reported figures), <c>quick</c> (smoke sizes) or <c>tiny</c> (a few seconds, for tests).</param>
public sealed record KernelRunConfig(IReadOnlyList<string> Backends, int Threads, string Sizes)
{
    /// <summary>True for every size set but <c>full</c>: the report is a smoke run.</summary>
    public bool Smoke => Sizes != "full";
}

/// <summary>The <c>kernels</c> mode (<c>vecrec bench kernels</c>, <c>Vec.Bench kernels</c>): the machine's peaks, then every kernel on every chosen backend.</summary>
public static class KernelTable
{
    private sealed record Sizes(int ProductRows, int SearchQueries, int SearchRows, int SingleRows, int TopKRows, int TopKColumns,
        int PoolBatch, int PoolTokens, int NormalizeRows, int Warmup, int Repeats);

    private static readonly Sizes Full = new(4096, 1000, 100_000, 100_000, 64, 100_000, 64, 256, 100_000, 2, 7);
    private static readonly Sizes Quick = new(512, 100, 10_000, 20_000, 8, 20_000, 16, 128, 10_000, 1, 3);
    private static readonly Sizes Tiny = new(128, 16, 5_000, 5_000, 4, 8_192, 4, 32, 2_000, 0, 1);
    private const int Dimension = 384;

    /// <summary>Measurements per backend (the rows <see cref="Execute"/> yields for each).</summary>
    public const int KernelsPerBackend = 9;

    /// <summary>The size sets: <c>full</c>, <c>quick</c>, <c>tiny</c>.</summary>
    public static readonly string[] SizeNames = ["full", "quick", "tiny"];

    /// <summary>Parses the options and runs the table; returns the exit code.</summary>
    public static int Run(string[] args)
    {
        var backends = new List<string>();
        int threads = Environment.ProcessorCount;
        bool quick = false;
        string? json = null;
        bool save = false;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--backend": backends.Add(BenchCli.Value(args, ref i)); break;
                case "--threads": threads = BenchCli.Positive(args, ref i); break;
                case "--quick": quick = true; break;
                case "--json": json = BenchCli.Value(args, ref i); break;
                case "--save": save = true; break;
                default: throw new ArgumentException($"unknown option '{args[i]}' for kernels", nameof(args));
            }
        }
        if (backends.Count == 0) backends.AddRange(Data.DefaultBackends());
        if (SlowBackendProblem(backends, quick) is { } problem) throw new ArgumentException(problem, nameof(args));

        var report = Execute(new KernelRunConfig(backends, threads, quick ? "quick" : "full"), Console.Out);
        Console.WriteLine();
        Console.WriteLine(Markdown(report));
        if (save) json ??= BenchCli.ResultsPath("kernels", quick);
        if (json is not null) BenchCli.WriteReport(json, report, Markdown(report), Console.Out);
        return 0;
    }

    /// <summary>The error for a slow backend (scalar, ilgpu-cpu) asked for at the full sizes, or <see langword="null"/>.</summary>
    public static string? SlowBackendProblem(IEnumerable<string> backends, bool smallSizes)
    {
        ArgumentNullException.ThrowIfNull(backends);
        foreach (string b in backends.Where(Data.IsSlow))
            if (!smallSizes) return $"backend '{b}' is far too slow for the full sizes; add --quick";
        return null;
    }

    /// <summary>Measures the machine peak and every kernel on every backend of <paramref name="config"/>, logging each row to
    /// <paramref name="log"/> and reporting the fraction done to <paramref name="progress"/>.</summary>
    public static KernelReport Execute(KernelRunConfig config, TextWriter log, IProgress<double>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(log);
        Sizes sizes = config.Sizes switch
        {
            "full" => Full,
            "quick" => Quick,
            "tiny" => Tiny,
            _ => throw new ArgumentException($"unknown size set '{config.Sizes}' (full, quick or tiny)", nameof(config)),
        };
        bool quick = config.Smoke;
        int threads = config.Threads;
        var backends = config.Backends;
        double steps = 1 + KernelsPerBackend * backends.Count, done = 0;
        log.WriteLine($"VecRec kernels benchmark{(quick ? $" (--{(config.Sizes == "tiny" ? "sizes tiny" : "quick")}: smoke sizes, not the reported figures)" : "")}");
        log.WriteLine($"cpu: {Data.CpuModel()}; threads: {threads}; backends: {string.Join(", ", backends)}");
        log.Write("measuring machine peak ... ");
        var peak = MachinePeak.Measure(threads, quick);
        progress?.Report(++done / steps);
        log.WriteLine($"FP32 FMA (Vector{peak.VectorBits}) {peak.PeakGflops:F1} GFLOP/s; read bandwidth {peak.BandwidthGBs:F1} GB/s ({peak.BandwidthBufferMiB} MiB buffer)");

        var results = new List<KernelResult>();
        foreach (string name in backends)
        {
            using IVectorKernels kernels = KernelBackends.Create(name, new KernelOptions { MaxThreads = threads });
            log.WriteLine($"backend {kernels.Name}: {kernels.Description}");
            foreach (var r in Measure(kernels, sizes, peak))
            {
                results.Add(r);
                progress?.Report(++done / steps);
                log.WriteLine("  " + FormatRow(r));
            }
        }

        return new KernelReport("kernels", quick, DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture),
            MachineInfo.Current(threads, backends), peak, results);
    }

    private static IEnumerable<KernelResult> Measure(IVectorKernels kernels, Sizes s, MachinePeak peak)
    {
        int d = Dimension;
        string be = kernels.Name;
        double Ms(double seconds) => seconds * 1e3;
        KernelResult Flops(string kernel, string shape, double seconds, double flops, string? target = null, double? targetValue = null, bool percent = false)
        {
            double gflops = flops / seconds / 1e9, pct = 100 * gflops / peak.PeakGflops;
            bool? meets = targetValue is null ? null : (percent ? pct : gflops) >= targetValue;
            return new(be, kernel, shape, Ms(seconds), gflops, "GFLOP/s", pct, target, meets);
        }
        KernelResult Bytes(string kernel, string shape, double seconds, double bytes, string? target = null, double? targetPercent = null)
        {
            double gbs = bytes / seconds / 1e9, pct = 100 * gbs / peak.BandwidthGBs;
            return new(be, kernel, shape, Ms(seconds), gbs, "GB/s", pct, target, targetPercent is null ? null : pct >= targetPercent);
        }
        double Time(Action body) => BenchTimer.Median(body, s.Warmup, s.Repeats);

        // Products: C = A·Bᵀ and the cosine / squared-L2 matrices, 2·m·n·d flops each.
        {
            int m = s.ProductRows, n = s.ProductRows;
            float[] a = Data.Embeddings(m, d, seed: 1), b = Data.Embeddings(n, d, seed: 2);
            var c = new float[(long)m * n];
            string shape = $"{m} x {n} x {d}";
            double flops = 2.0 * m * n * d;
            yield return Flops("InnerProducts", shape, Time(() => kernels.InnerProducts(a, m, b, n, d, c)), flops,
                ">= 85% of FMA peak", 85, percent: true);
            yield return Flops("CosineSimilarities", shape, Time(() => kernels.CosineSimilarities(a, m, b, n, d, c)), flops);
            yield return Flops("SquaredL2Distances", shape, Time(() => kernels.SquaredL2Distances(a, m, b, n, d, c)), flops);
        }

        // Fused search (batch) and single-query search over a resident database.
        {
            int n = Math.Max(s.SearchRows, s.SingleRows), q = s.SearchQueries, k = 10;
            float[] rows = Data.Embeddings(n, d, seed: 3), queries = Data.Embeddings(q, d, seed: 4);
            using VectorDatabase db = kernels.CreateDatabase(rows, s.SearchRows, d);
            var ids = new int[q * k];
            var scores = new float[q * k];
            yield return Flops("Search IP top-10 (batch)", $"{q} x {s.SearchRows} x {d}",
                Time(() => kernels.Search(db, queries, q, k, Metric.InnerProduct, ids, scores)), 2.0 * q * s.SearchRows * d,
                ">= 300 GFLOP/s", 300);

            using VectorDatabase? own = s.SingleRows == s.SearchRows ? null : kernels.CreateDatabase(rows, s.SingleRows, d);
            VectorDatabase sdb = own ?? db;
            const int perRepeat = 16;
            double seconds = Time(() =>
            {
                for (int i = 0; i < perRepeat; i++)
                    kernels.Search(sdb, queries.AsSpan(i % q * d, d), 1, k, Metric.InnerProduct, ids, scores);
            }) / perRepeat;
            yield return Bytes("Search IP top-10 (1 query)", $"1 x {s.SingleRows} x {d}", seconds, 4.0 * s.SingleRows * d,
                ">= 80% of bandwidth", 80);
        }

        // Top-k of a score matrix: bytes of scores read.
        {
            int rows = s.TopKRows, cols = s.TopKColumns;
            float[] scores = Data.Uniform((long)rows * cols, seed: 5);
            foreach (int k in new[] { 10, 4096 })
            {
                var ids = new int[rows * k];
                var vals = new float[rows * k];
                yield return Bytes($"TopK k={k}", $"{rows} x {cols}",
                    Time(() => kernels.TopK(scores, rows, cols, k, TopKOrder.Largest, ids, vals)), 4.0 * rows * cols);
            }
        }

        // Masked mean pooling: bytes of unmasked token rows, the mask and the output.
        {
            int batch = s.PoolBatch, tokens = s.PoolTokens;
            float[] embeddings = Data.Uniform((long)batch * tokens * d, seed: 6);
            var mask = new long[batch * tokens];
            var rng = new Random(7);
            long unmasked = 0;
            for (int b = 0; b < batch; b++)
            {
                int length = rng.Next(tokens / 2, tokens + 1);
                for (int t = 0; t < length; t++) mask[b * tokens + t] = 1;
                unmasked += length;
            }
            var pooled = new float[batch * d];
            yield return Bytes("MeanPool", $"{batch} x {tokens} x {d}",
                Time(() => kernels.MeanPool(embeddings, mask, batch, tokens, d, pooled)),
                4.0 * unmasked * d + 8.0 * mask.Length + 4.0 * pooled.Length);
        }

        // L2 normalisation (out of place): read + write.
        {
            int n = s.NormalizeRows;
            float[] source = Data.Uniform((long)n * d, seed: 8);
            var destination = new float[source.Length];
            yield return Bytes("L2Normalize", $"{n} x {d}",
                Time(() => kernels.L2Normalize(source, destination, n, d)), 8.0 * n * d);
        }
    }

    private static string FormatRow(KernelResult r) =>
        $"{r.Kernel,-28} {r.Shape,-22} {r.MedianMs,10:F3} ms {BenchCli.Number(r.Value),9} {r.Unit,-7} {r.PercentOfPeak,6:F1}%" +
        BenchCli.TargetNote(r.Target, r.MeetsTarget);

    /// <summary>The report as a markdown table.</summary>
    public static string Markdown(KernelReport report)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"# Kernels{BenchCli.SmokeNote(report.Smoke)}");
        sb.AppendLine();
        sb.AppendLine($"{report.TimestampUtc}; {report.Machine.Cpu}; {report.Machine.Threads} threads of {report.Machine.LogicalCores}; {report.Machine.Runtime}; {report.Machine.Os}");
        sb.AppendLine();
        sb.AppendLine($"Machine peak: FP32 FMA (Vector{report.Peak.VectorBits}, {report.Peak.Threads} threads) **{report.Peak.PeakGflops:F1} GFLOP/s**; " +
                      $"read bandwidth ({report.Peak.BandwidthBufferMiB} MiB buffer) **{report.Peak.BandwidthGBs:F1} GB/s**.");
        sb.AppendLine();
        sb.AppendLine("| backend | kernel | shape | median ms | value | unit | % of peak | target | met |");
        sb.AppendLine("|---|---|---|---:|---:|---|---:|---|---|");
        foreach (var r in report.Results)
            sb.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {r.Backend} | {r.Kernel} | {r.Shape} | {r.MedianMs:F3} | {BenchCli.Number(r.Value)} | {r.Unit} | {r.PercentOfPeak:F1} | {r.Target ?? ""} | {BenchCli.YesNo(r.MeetsTarget)} |"));
        return sb.ToString();
    }
}

/// <summary>Small command-line and output helpers shared by the console modes.</summary>
public static class BenchCli
{
    /// <summary>JSON options for every report: indented, camelCase.</summary>
    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>The value after option <c>args[i]</c>.</summary>
    public static string Value(string[] args, ref int i) =>
        i + 1 < args.Length ? args[++i] : throw new ArgumentException($"option {args[i]} needs a value", nameof(args));

    /// <summary>The positive integer after option <c>args[i]</c>.</summary>
    public static int Positive(string[] args, ref int i)
    {
        string v = Value(args, ref i);
        return int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out int x) && x > 0
            ? x : throw new ArgumentException($"'{v}' is not a positive integer", nameof(args));
    }

    /// <summary>A throughput with three significant digits for small values.</summary>
    public static string Number(double value) =>
        value.ToString(Math.Abs(value) >= 100 ? "F0" : Math.Abs(value) >= 1 ? "F1" : "F3", CultureInfo.InvariantCulture);

    /// <summary>Default report path: <c>bench/results/&lt;cpu-slug&gt;/&lt;kind&gt;[-smoke]-&lt;UTC time&gt;.json</c>.</summary>
    public static string ResultsPath(string kind, bool smoke) =>
        Path.Combine(Data.RepoRoot(), "bench", "results", Data.CpuSlug(),
            $"{kind}{(smoke ? "-smoke" : "")}-{DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture)}.json");

    /// <summary>Heading suffix of a <c>--quick</c> report.</summary>
    public static string SmokeNote(bool smoke) =>
        smoke ? " (SMOKE RUN: --quick sizes on a shared, busy machine; not the reported figures)" : "";

    /// <summary>Console suffix naming a row's target and whether it is met (empty without a target).</summary>
    public static string TargetNote(string? target, bool? met) =>
        target is null ? "" : $"  target {target}: {(met == true ? "met" : "NOT met")}";

    /// <summary>Markdown cell for whether a target is met (empty without a target).</summary>
    public static string YesNo(bool? met) => met is null ? "" : met.Value ? "yes" : "no";

    /// <summary>Writes <paramref name="report"/> as JSON to <paramref name="jsonPath"/> and the markdown next to it (same name,
    /// .md), each atomically (written beside, then moved into place), so no half-written report is ever left; says so on
    /// <paramref name="log"/>.</summary>
    public static void WriteReport<T>(string jsonPath, T report, string markdown, TextWriter log)
    {
        ArgumentNullException.ThrowIfNull(log);
        string full = Path.GetFullPath(jsonPath);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        string markdownPath = Path.ChangeExtension(full, ".md");
        string json = JsonSerializer.Serialize(report, Json);
        AtomicFile.Write(full, s => s.Write(Encoding.UTF8.GetBytes(json)), "--json");
        AtomicFile.Write(markdownPath, s => s.Write(Encoding.UTF8.GetBytes(markdown)), "--json");
        log.WriteLine($"wrote {full} and {markdownPath}");
    }
}

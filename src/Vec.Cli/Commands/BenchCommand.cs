using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using Spectre.Console;
using Vec.Cli.Bench;
using Vec.Cli.Io;
using Vec.Cli.Output;
using Vec.Kernels;

namespace Vec.Cli.Commands;

/// <summary>
/// <c>vecrec bench kernels</c> (kernel throughput against the machine's measured peaks) and <c>vecrec bench ann</c>
/// (an approximate index over TEXMEX files swept over nprobe): the <c>Vec.Bench kernels|ann</c> modes on System.CommandLine,
/// with a Spectre table, <c>--json</c> (the same JSON and .md report as <c>Vec.Bench</c>) and <c>--plot</c>.
/// </summary>
internal static class BenchCommand
{
    public static Command Create(CliContext context)
    {
        var command = new Command("bench", "Benchmarks: kernel throughput (kernels) and approximate search sweeps (ann).")
        {
            KernelsCommand(context),
            AnnCommand(context),
        };
        return command;
    }

    /// <summary>An option's value in a command validator, or <paramref name="fallback"/> when it does not convert (the parser reports that error itself).</summary>
    private static T? Safe<T>(CommandResult r, Option<T> option, T? fallback = default)
    {
        try
        {
            return r.GetValue(option);
        }
        catch (InvalidOperationException)
        {
            return fallback;
        }
    }

    private static string[] BackendNames => KernelBackends.All.Select(b => b.Name).ToArray();

    /// <summary>A validator: every backend named must be available on this machine.</summary>
    private static Option<T> MustBeAvailable<T>(this Option<T> option, Func<T, IEnumerable<string>> names)
    {
        option.Validators.Add(r =>
        {
            if (r.Tokens.Count == 0 || r.GetValueOrDefault<T>() is not { } value) return;
            foreach (string name in names(value))
            {
                var info = KernelBackends.All.FirstOrDefault(b => b.Name == name);
                if (info is null)
                {
                    r.AddError($"unknown value '{name}' for {option.Name} (known: {string.Join(", ", BackendNames)})");
                    return;
                }

                if (!info.IsAvailable)
                {
                    r.AddError($"backend '{name}' of {option.Name} is not available here (see 'vecrec backends')");
                    return;
                }
            }
        });
        return option;
    }

    private static Command KernelsCommand(CliContext context)
    {
        var backend = new Option<string[]>("--backend")
        {
            Description = "Backend to measure; repeat it or give a comma list. Default: every available one except scalar and ilgpu-cpu (allowed with --quick).",
            HelpName = "NAME",
            DefaultValueFactory = _ => [],
            CustomParser = r => r.Tokens.SelectMany(t => t.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToArray(),
        }.MustBeAvailable(v => v);
        var threads = CliOptions.Positive("--threads", "Threads for the kernels and the machine peak.", Environment.ProcessorCount);
        var quick = new Option<bool>("--quick") { Description = "Smoke sizes (seconds, not the reported figures); same as --sizes quick." };
        var sizes = new Option<string>("--sizes")
        {
            Description = "Problem sizes: full (the reported figures), quick (smoke) or tiny (a few seconds; for tests).",
            DefaultValueFactory = _ => "full",
        }.AcceptOnlyFromAmong(KernelTable.SizeNames);
        var save = new Option<bool>("--save") { Description = "Write the report to bench/results/<cpu>/kernels[-smoke]-<utc time>.json (and .md)." };
        var json = CliOptions.Json();
        json.Description = "Also write the report to FILE as JSON and FILE with the extension .md as a markdown table (as Vec.Bench kernels does).";
        var plot = CliOptions.Plot("GFLOP/s (compute kernels) and GB/s (memory-bound kernels) per kernel and backend");

        var command = new Command("kernels", "Kernel throughput: measures the machine's FMA peak and read bandwidth, then every kernel (products, fused search, top-k, pooling, normalisation) on each backend.")
        {
            backend, threads, quick, sizes, save, json, plot,
        };
        command.Validators.Add(r =>
        {
            string[] names = Safe(r, backend) ?? [];
            bool small = Safe(r, quick) || (Safe(r, sizes) ?? "full") is "quick" or "tiny";
            if (names.Length > 0 && KernelTable.SlowBackendProblem(names, small) is { } problem) r.AddError(problem);
            if (Safe(r, save) && r.GetResult(json) is { Implicit: false }) r.AddError("give --json FILE or --save, not both");
        });
        command.SetAction(parsed =>
        {
            string[] names = parsed.GetValue(backend)!;
            if (names.Length == 0) names = [.. Data.DefaultBackends()];
            names = names.Distinct().ToArray();
            string size = parsed.GetValue(sizes)!;
            if (size == "full" && parsed.GetValue(quick)) size = "quick";
            var config = new KernelRunConfig(names, parsed.GetValue(threads), size);
            TextWriter log = context.Verbose && !context.Interactive ? context.Output : TextWriter.Null;
            KernelReport report = Jobs.Run(context, $"Measuring {KernelTable.KernelsPerBackend} kernels on {string.Join(", ", names)} ({size} sizes)",
                progress => KernelTable.Execute(config, log, progress));

            var peak = report.Peak;
            context.Output.WriteLine(CliFiles.Inv($"cpu: {report.Machine.Cpu}; {report.Machine.Threads} threads; {(report.Smoke ? $"{size} sizes: smoke figures, not the reported ones" : "full sizes")}"));
            context.Output.WriteLine(CliFiles.Inv($"machine peak: FP32 FMA (Vector{peak.VectorBits}) {peak.PeakGflops:F1} GFLOP/s; read bandwidth {peak.BandwidthGBs:F1} GB/s ({peak.BandwidthBufferMiB} MiB buffer)"));
            var table = new Table().AddColumns("backend", "kernel", "shape")
                .AddColumn(new TableColumn("median ms").RightAligned())
                .AddColumn(new TableColumn("value").RightAligned())
                .AddColumn("unit")
                .AddColumn(new TableColumn("% of peak").RightAligned())
                .AddColumns("target", "met");
            foreach (KernelResult r in report.Results)
            {
                table.AddRow(Markup.Escape(r.Backend), Markup.Escape(r.Kernel), Markup.Escape(r.Shape), r.MedianMs.ToString("F3", CultureInfo.InvariantCulture),
                    BenchCli.Number(r.Value), Markup.Escape(r.Unit), r.PercentOfPeak.ToString("F1", CultureInfo.InvariantCulture), Markup.Escape(r.Target ?? ""),
                    BenchCli.YesNo(r.MeetsTarget));
            }

            context.Console.Write(table);
            string? jsonPath = parsed.GetValue(json)?.FullName ?? (parsed.GetValue(save) ? BenchCli.ResultsPath("kernels", report.Smoke) : null);
            if (jsonPath is not null) BenchCli.WriteReport(jsonPath, report, KernelTable.Markdown(report), context.Output);
            if (parsed.GetValue(plot) is { } plotFile)
            {
                bool severalBackends = names.Length > 1;
                Plots.Bars(plotFile.FullName,
                    $"VecRec kernels{(report.Smoke ? $" ({size} sizes, smoke)" : "")}: {report.Machine.Cpu}, {report.Machine.Threads} threads",
                    "GFLOP/s (compute) | GB/s (memory-bound)",
                    report.Results.Select(r => $"{r.Kernel}{(severalBackends ? " · " + r.Backend : "")} [{r.Unit}]").ToArray(),
                    report.Results.Select(r => r.Value).ToArray());
                context.Output.WriteLine($"wrote {plotFile.FullName}");
            }

            return 0;
        });
        return command;
    }

    private static Command AnnCommand(CliContext context)
    {
        var basePath = CliOptions.InputFile("--base", "Database vectors (TEXMEX .fvecs).");
        basePath.HelpName = "FILE.fvecs";
        var query = CliOptions.InputFile("--query", "Query vectors (TEXMEX .fvecs), same dimension as --base.");
        query.HelpName = "FILE.fvecs";
        var gt = CliOptions.InputFile("--gt", "Ground truth (.ivecs, at least 10 ids per query); for ip/cosine its _ip/_cosine sibling is used when present. Default: computed exactly with the flat index.", required: false);
        gt.HelpName = "FILE.ivecs";
        var metric = new Option<string>("--metric") { Description = "Distance.", DefaultValueFactory = _ => "l2" }.AcceptOnlyFromAmong("l2", "ip", "cosine");
        var index = new Option<string>("--index") { Description = "Index type.", DefaultValueFactory = _ => "ivfpq" }.AcceptOnlyFromAmong("flat", "ivfpq");
        var nlist = new Option<int>("--nlist") { Description = "IVF lists (default 4 sqrt(n)).", HelpName = "N" }.Must(v => v > 0, "must be a positive integer");
        var m = CliOptions.Positive("--m", "PQ sub-quantisers (must divide the dimension).", 16);
        var nbits = new Option<int>("--nbits") { Description = "Bits per PQ code.", HelpName = "B", DefaultValueFactory = _ => 8 }.Must(v => v is >= 1 and <= 8, "must be in 1..8");
        var nprobe = CliOptions.PositiveList("--nprobe", "nprobe values swept (values above nlist are dropped).", Ann.DefaultNProbes);
        var refine = new Option<int[]>("--refine")
        {
            Description = "Refine factor R (k x R candidates re-ranked exactly), or a comma list swept at search time over one index (e.g. 0,2,8: one plot line each). Default 0.",
            HelpName = "R,R,...",
            DefaultValueFactory = _ => [0],
            CustomParser = r => ParseNonNegativeList(r, "--refine"),
        };
        var refineStorage = new Option<string>("--refine-storage") { Description = "Precision of the refine copies.", DefaultValueFactory = _ => "f32" }.AcceptOnlyFromAmong("f32", "f16");
        var opq = new Option<bool>("--opq") { Description = "Train an OPQ rotation." };
        var k = new Option<int>("--k") { Description = "Results per query (at least 10: 10-recall@10 is reported).", HelpName = "K", DefaultValueFactory = _ => 10 }.Must(v => v >= 10, "must be at least 10 (10-recall@10 is reported)");
        var threads = CliOptions.Positive("--threads", "Threads for the kernels and the index.", Environment.ProcessorCount);
        var backend = new Option<string>("--backend") { Description = "Kernel backend.", HelpName = "NAME", DefaultValueFactory = _ => KernelBackends.DefaultName }.MustBeAvailable(v => [v]);
        var seed = new Option<int>("--seed") { Description = "k-means seed.", HelpName = "S", DefaultValueFactory = _ => 1234 }.Must(v => v >= 0, "must be a non-negative integer");
        var single = new Option<int>("--single-queries") { Description = "Queries timed one call each (default 200, 50 with --quick).", HelpName = "N" }.Must(v => v > 0, "must be a positive integer");
        var quick = new Option<bool>("--quick") { Description = "Smoke run: fewer repeats and single queries." };
        var json = CliOptions.Json();
        json.Description = "Also write the report to FILE as JSON and FILE with the extension .md as a markdown table (as Vec.Bench ann does).";
        var plot = CliOptions.Plot("10-recall@10 against batch queries per second (log scale), one line per refine factor, points labelled by nprobe");

        var command = new Command("ann", "Approximate search sweep over TEXMEX files: recall (FAISS's 1-recall@1, 10-recall@10), batch and single-query QPS, train/add time and memory per vector, for each nprobe.")
        {
            basePath, query, gt, metric, index, nlist, m, nbits, nprobe, refine, refineStorage, opq, k, threads, backend, seed, single, quick, json, plot,
        };
        command.Validators.Add(r =>
        {
            int[] refines = Safe(r, refine) ?? [0];
            if (refines.Any(v => v > 0) && Safe(r, index) == "flat") r.AddError("--refine applies to --index ivfpq only");
            else if (r.GetResult(refineStorage) is { Implicit: false } && !refines.Any(v => v > 0)) r.AddError("--refine-storage needs --refine R > 0");
        });
        command.SetAction(parsed =>
        {
            int[] refines = parsed.GetValue(refine)!;
            bool isQuick = parsed.GetValue(quick);
            var config = new AnnConfig(parsed.GetValue(basePath)!.FullName, parsed.GetValue(query)!.FullName, parsed.GetValue(gt)?.FullName,
                parsed.GetValue(metric)!, parsed.GetValue(index)!, parsed.GetValue(nlist), parsed.GetValue(m), parsed.GetValue(nbits), parsed.GetValue(nprobe)!.Distinct().Order().ToArray(),
                refines.Max(), refines.Max() > 0 ? parsed.GetValue(refineStorage)! : "none", parsed.GetValue(opq), parsed.GetValue(k), parsed.GetValue(threads),
                parsed.GetValue(backend)!, parsed.GetValue(seed), parsed.GetResult(single) is { Implicit: false } ? parsed.GetValue(single) : isQuick ? 50 : 200, isQuick);
            if (Ann.Problem(config) is { } problem) throw new CliException(problem);
            CheckDimensions(config.Base, config.Query);
            TextWriter log = context.Verbose && !context.Interactive ? context.Output : TextWriter.Null;
            AnnReport report = Jobs.Run(context, $"Benchmarking {config.Index} on {Path.GetFileName(config.Base)}",
                progress => Ann.Execute(config, log, progress, refines));

            context.Output.WriteLine(CliFiles.Inv($"{report.Engine}: {Path.GetFileName(report.Config.Base)} {report.Count} x {report.Dimension}, {report.Queries} queries, metric {report.Config.Metric}, backend {report.Config.Backend}, {report.Config.Threads} threads{(report.Smoke ? " (--quick: smoke)" : "")}"));
            context.Output.WriteLine(CliFiles.Inv($"ground truth: {report.GroundTruthSource}; train {report.TrainSeconds:F3} s, add {report.AddSeconds:F3} s; {report.BytesPerVector:F1} bytes/vector + {report.FixedBytes} fixed bytes"));
            if (report.Warning is not null) context.Output.WriteLine($"training warning: {report.Warning}");
            var table = new Table()
                .AddColumn(new TableColumn("nprobe").RightAligned())
                .AddColumn(new TableColumn("refine").RightAligned())
                .AddColumn(new TableColumn("1-recall@1").RightAligned())
                .AddColumn(new TableColumn("10-recall@10").RightAligned())
                .AddColumn(new TableColumn("batch QPS").RightAligned())
                .AddColumn(new TableColumn("single QPS").RightAligned());
            foreach (AnnPoint p in report.Points)
            {
                table.AddRow(p.NProbe == 0 ? "-" : p.NProbe.ToString(CultureInfo.InvariantCulture), p.Refine.ToString(CultureInfo.InvariantCulture),
                    p.Recall1At1.ToString("F4", CultureInfo.InvariantCulture), p.Recall10At10.ToString("F4", CultureInfo.InvariantCulture),
                    p.BatchQps.ToString("F0", CultureInfo.InvariantCulture), p.SingleQps.ToString("F0", CultureInfo.InvariantCulture));
            }

            context.Console.Write(table);
            if (parsed.GetValue(json) is { } jsonFile) BenchCli.WriteReport(jsonFile.FullName, report, Ann.Markdown(report), context.Output);
            if (parsed.GetValue(plot) is { } plotFile)
            {
                var series = report.Points.GroupBy(p => p.Refine).Select(g => new PlotSeries(
                    report.Config.Index == "flat" ? "flat (exact)" : g.Key == 0 ? "no refine" : CliFiles.Inv($"refine R={g.Key} ({report.Config.RefineStorage})"),
                    g.Select(p => p.BatchQps).ToArray(), g.Select(p => p.Recall10At10).ToArray(),
                    g.Select(p => p.NProbe == 0 ? "" : CliFiles.Inv($"{p.NProbe}")).ToArray())).ToArray();
                Plots.Lines(plotFile.FullName,
                    CliFiles.Inv($"{report.Engine}: {Path.GetFileName(report.Config.Base)}, {report.Config.Metric}{(report.Smoke ? " (smoke)" : "")}"),
                    "batch queries per second (log scale); point labels: nprobe", "10-recall@10", series, logX: true);
                context.Output.WriteLine($"wrote {plotFile.FullName}");
            }

            return 0;
        });
        return command;
    }

    /// <summary>Reads the headers of the two .fvecs files and fails with one line when their dimensions differ.</summary>
    private static void CheckDimensions(string basePath, string queryPath)
    {
        int baseDimension = FvecsDimension(basePath), queryDimension = FvecsDimension(queryPath);
        if (baseDimension != queryDimension)
            throw new CliException($"--query has dimension {queryDimension} but --base has dimension {baseDimension} ({Path.GetFileName(queryPath)} vs {Path.GetFileName(basePath)})");
    }

    private static int FvecsDimension(string path)
    {
        using var stream = File.OpenRead(path);
        Span<byte> header = stackalloc byte[4];
        if (stream.ReadAtLeast(header, 4, throwOnEndOfStream: false) < 4) throw new CliException($"'{path}' is not a .fvecs file (shorter than one record header)");
        int d = System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(header);
        return d > 0 ? d : throw new CliException($"'{path}' is not a .fvecs file (dimension {d} in the first record)");
    }

    private static int[] ParseNonNegativeList(ArgumentResult r, string name)
    {
        var values = new List<int>();
        foreach (var token in r.Tokens)
        {
            foreach (string part in token.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (!int.TryParse(part, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) || v < 0)
                {
                    r.AddError($"'{part}' in {name} is not valid: expected non-negative integers");
                    return [];
                }

                values.Add(v);
            }
        }

        if (values.Count == 0) r.AddError($"{name} needs at least one value");
        return values.Distinct().Order().ToArray();
    }
}

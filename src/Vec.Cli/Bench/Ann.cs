using System.Diagnostics;
using System.Globalization;
using System.Text;
using Vec.Index;
using Vec.Index.IO;
using Vec.Kernels;

namespace Vec.Cli.Bench;

/// <summary>Settings of one <c>ann</c> run, as parsed from the command line and echoed into the report.</summary>
/// <param name="Base">.fvecs database vectors.</param>
/// <param name="Query">.fvecs queries.</param>
/// <param name="GroundTruth">.ivecs ground truth given with <c>--gt</c>, or <see langword="null"/>.</param>
/// <param name="Metric"><c>l2</c>, <c>ip</c> or <c>cosine</c>.</param>
/// <param name="Index"><c>flat</c> or <c>ivfpq</c>.</param>
/// <param name="Lists">IVF lists (nlist); 0 = 4 sqrt(n).</param>
/// <param name="SubQuantizers">PQ sub-quantisers (M).</param>
/// <param name="Bits">Bits per PQ code (nbits).</param>
/// <param name="NProbes">nprobe values swept.</param>
/// <param name="Refine">Refine factor R (k x R candidates re-ranked exactly); 0 = none.</param>
/// <param name="RefineStorage"><c>f32</c> or <c>f16</c> copies for refine.</param>
/// <param name="UseOpq">Whether OPQ rotation is trained.</param>
/// <param name="K">Results per query.</param>
/// <param name="Threads">Threads for VecRec (kernels and index).</param>
/// <param name="Backend">Kernel backend.</param>
/// <param name="Seed">k-means seed.</param>
/// <param name="SingleQueries">Queries timed one at a time.</param>
/// <param name="Quick">Smoke run (fewer repeats and single queries).</param>
public sealed record AnnConfig(string Base, string Query, string? GroundTruth, string Metric, string Index, int Lists, int SubQuantizers, int Bits,
    int[] NProbes, int Refine, string RefineStorage, bool UseOpq, int K, int Threads, string Backend, int Seed, int SingleQueries, bool Quick);

/// <summary>One operating point: recall and speed at one nprobe.</summary>
/// <param name="NProbe">Lists probed (0 for the flat index).</param>
/// <param name="Refine">Refine factor used.</param>
/// <param name="Recall1At1">1-recall@1: fraction of queries whose true nearest neighbour is ranked first.</param>
/// <param name="Recall10At10">10-recall@10: mean |top-10 ∩ true top-10| / 10.</param>
/// <param name="BatchQps">Queries per second with all queries in one Search call (best of the repeats).</param>
/// <param name="SingleQps">Queries per second with one query per call from one thread (best of the repeats).</param>
/// <param name="BatchSeconds">Best time of the batch call.</param>
/// <param name="SingleSeconds">Best time of the single-query pass.</param>
public sealed record AnnPoint(int NProbe, int Refine, double Recall1At1, double Recall10At10, double BatchQps, double SingleQps, double BatchSeconds, double SingleSeconds);

/// <summary>A whole <c>ann</c> run as written to JSON.</summary>
/// <param name="Kind">Always <c>ann</c>.</param>
/// <param name="Engine">Index description, e.g. <c>vecrec IVF1024,PQ16x8</c>.</param>
/// <param name="Smoke">True for <c>--quick</c>.</param>
/// <param name="TimestampUtc">When the run finished.</param>
/// <param name="Machine">Machine description.</param>
/// <param name="Config">The settings.</param>
/// <param name="Count">Database vectors.</param>
/// <param name="Queries">Queries.</param>
/// <param name="Dimension">Dimension.</param>
/// <param name="GroundTruthSource">Where the ground truth came from.</param>
/// <param name="TrainSeconds">Training time.</param>
/// <param name="AddSeconds">Time to add all database vectors.</param>
/// <param name="BytesPerVector">Index memory per stored vector (codes, ids, refine copies, id map).</param>
/// <param name="FixedBytes">Memory independent of the vector count (centroids, codebooks, tables).</param>
/// <param name="Warning">Training warning, if any.</param>
/// <param name="Points">One entry per nprobe.</param>
public sealed record AnnReport(string Kind, string Engine, bool Smoke, string TimestampUtc, MachineInfo Machine, AnnConfig Config, int Count, int Queries,
    int Dimension, string GroundTruthSource, double TrainSeconds, double AddSeconds, double BytesPerVector, long FixedBytes, string? Warning,
    IReadOnlyList<AnnPoint> Points)
{
    /// <summary>Train seconds of a second, identical index built right after in the same process (its code already
    /// compiled by the JIT and its memory touched); null in smoke runs.</summary>
    public double? WarmTrainSeconds { get; init; }

    /// <summary>Add seconds of that second index; null in smoke runs.</summary>
    public double? WarmAddSeconds { get; init; }
}

/// <summary>
/// The <c>ann</c> mode (<c>vecrec bench ann</c>): an approximate index over TEXMEX files, swept over nprobe, reporting
/// FAISS's recall figures, batch and single-query QPS, train and add time and memory per vector.
/// </summary>
public static class Ann
{
    /// <summary>Default nprobe sweep.</summary>
    public static readonly int[] DefaultNProbes = [1, 2, 4, 8, 16, 32, 64];

    private const string Usage = """
        usage: Vec.Bench ann --base FILE.fvecs --query FILE.fvecs [--gt FILE.ivecs] [--metric l2|ip|cosine]
                             [--index flat|ivfpq] [--nlist N] [--m M] [--nbits B] [--nprobe 1,2,4,...] [--refine R]
                             [--refine-storage f32|f16] [--opq] [--k K] [--threads T] [--backend NAME] [--seed S]
                             [--single-queries N] [--quick] [--json FILE]
        """;

    /// <summary>Parses the options and runs the benchmark; returns the exit code.</summary>
    public static int Run(string[] args)
    {
        AnnConfig config = Parse(args);
        AnnReport report = Execute(config, Console.Out);
        Console.WriteLine();
        Console.WriteLine(Markdown(report));
        string? json = JsonPath(args);
        if (json is not null) BenchCli.WriteReport(json, report, Markdown(report), Console.Out);
        return 0;
    }

    private static string? JsonPath(string[] args)
    {
        int i = Array.IndexOf(args, "--json");
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    /// <summary>Parses the <c>ann</c> options (everything after the mode name).</summary>
    public static AnnConfig Parse(string[] args)
    {
        string? basePath = null, query = null, gt = null;
        string metric = "l2", index = "ivfpq", refineStorage = "f32", backend = KernelBackends.DefaultName;
        int lists = 0, m = 16, bits = 8, refine = 0, k = 10, threads = Environment.ProcessorCount, seed = 1234, single = 200;
        int[] nprobes = DefaultNProbes;
        bool opq = false, quick = false, singleGiven = false, refineStorageGiven = false;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--base": basePath = BenchCli.Value(args, ref i); break;
                case "--query": query = BenchCli.Value(args, ref i); break;
                case "--gt": gt = BenchCli.Value(args, ref i); break;
                case "--metric":
                    metric = BenchCli.Value(args, ref i);
                    if (metric is not ("l2" or "ip" or "cosine")) throw new ArgumentException($"--metric must be l2, ip or cosine, not '{metric}'", nameof(args));
                    break;
                case "--index":
                    index = BenchCli.Value(args, ref i);
                    if (index is not ("flat" or "ivfpq")) throw new ArgumentException($"--index must be flat or ivfpq, not '{index}'", nameof(args));
                    break;
                case "--nlist": lists = BenchCli.Positive(args, ref i); break;
                case "--m": m = BenchCli.Positive(args, ref i); break;
                case "--nbits": bits = BenchCli.Positive(args, ref i); break;
                case "--nprobe": nprobes = PositiveList(BenchCli.Value(args, ref i), "--nprobe"); break;
                case "--refine": refine = NonNegative(BenchCli.Value(args, ref i), "--refine"); break;
                case "--refine-storage":
                    refineStorage = BenchCli.Value(args, ref i);
                    refineStorageGiven = true;
                    if (refineStorage is not ("f32" or "f16")) throw new ArgumentException($"--refine-storage must be f32 or f16, not '{refineStorage}'", nameof(args));
                    break;
                case "--opq": opq = true; break;
                case "--k": k = BenchCli.Positive(args, ref i); break;
                case "--threads": threads = BenchCli.Positive(args, ref i); break;
                case "--backend": backend = BenchCli.Value(args, ref i); break;
                case "--seed": seed = NonNegative(BenchCli.Value(args, ref i), "--seed"); break;
                case "--single-queries": single = BenchCli.Positive(args, ref i); singleGiven = true; break;
                case "--quick": quick = true; break;
                case "--json": BenchCli.Value(args, ref i); break;
                default: throw new ArgumentException($"unknown option '{args[i]}' for ann\n{Usage}", nameof(args));
            }
        }
        if (basePath is null || query is null) throw new ArgumentException($"ann needs --base and --query\n{Usage}", nameof(args));
        if (refineStorageGiven && refine == 0) throw new ArgumentException("--refine-storage needs --refine R > 0", nameof(args));
        if (quick && !singleGiven) single = 50;
        var config = new AnnConfig(basePath, query, gt, metric, index, lists, m, bits, nprobes, refine, refine > 0 ? refineStorage : "none", opq, k, threads,
            backend, seed, single, quick);
        if (Problem(config) is { } problem) throw new ArgumentException(problem, nameof(args));
        return config;
    }

    /// <summary>What is wrong with a combination of settings (one line naming the option), or <see langword="null"/>.</summary>
    public static string? Problem(AnnConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config.K < 10) return $"--k must be at least 10 (10-recall@10 is reported), not {config.K}";
        if (config.Bits > 8) return $"--nbits must be in 1..8, not {config.Bits}";
        if (config.Refine > 0 && config.Index == "flat") return "--refine applies to --index ivfpq only";
        if (!KernelBackends.All.Any(b => b.Name == config.Backend && b.IsAvailable))
            return $"backend '{config.Backend}' is not available here (see 'vecrec backends')";
        return null;
    }

    private static int[] PositiveList(string text, string option)
    {
        var values = new List<int>();
        foreach (string part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!int.TryParse(part, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) || v <= 0)
                throw new ArgumentException($"{option}: '{part}' is not a positive integer", "args");
            values.Add(v);
        }
        if (values.Count == 0) throw new ArgumentException($"{option} needs at least one value", "args");
        return values.Distinct().Order().ToArray();
    }

    private static int NonNegative(string text, string option) =>
        int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) && v >= 0
            ? v : throw new ArgumentException($"{option}: '{text}' is not a non-negative integer", "args");

    private static Metric ToMetric(string metric) => metric switch { "ip" => Metric.InnerProduct, "cosine" => Metric.Cosine, _ => Metric.L2 };

    /// <summary>Runs the benchmark described by <paramref name="config"/>, logging progress to <paramref name="log"/>.</summary>
    /// <param name="config">The settings.</param>
    /// <param name="log">Where the running log goes.</param>
    /// <param name="progress">Receives the fraction done (ground truth, training, adding, then each operating point).</param>
    /// <param name="refineFactors">Refine factors to sweep at search time (each with every nprobe) over one index built with
    /// refine copies when any is positive; <see langword="null"/> = just <see cref="AnnConfig.Refine"/>. The report's
    /// <see cref="AnnConfig.Refine"/> is then the largest.</param>
    public static AnnReport Execute(AnnConfig config, TextWriter log, IProgress<double>? progress = null, IReadOnlyList<int>? refineFactors = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(log);
        int[] refines = refineFactors is { Count: > 0 } ? refineFactors.Distinct().Order().ToArray() : [config.Refine];
        if (refines[0] < 0) throw new CliException($"--refine: {refines[0]} is negative");
        config = config with { Refine = refines[^1], RefineStorage = refines[^1] > 0 && config.RefineStorage == "none" ? "f32" : config.RefineStorage };
        if (Problem(config) is { } problem) throw new CliException(problem);
        var xb = VectorFiles.ReadFvecs(config.Base);
        var xq = VectorFiles.ReadFvecs(config.Query);
        if (xb.Count == 0 || xq.Count == 0)
            throw new CliException($"'{(xb.Count == 0 ? config.Base : config.Query)}' holds no vectors");
        if (xq.Dimension != xb.Dimension)
            throw new CliException($"query dimension {xq.Dimension} ({Path.GetFileName(config.Query)}) differs from base dimension {xb.Dimension} ({Path.GetFileName(config.Base)})");
        int n = xb.Count, nq = xq.Count, d = xb.Dimension;
        if (config.K > n) throw new CliException($"--k {config.K} exceeds the {n} base vectors");
        Metric metric = ToMetric(config.Metric);
        int lists = config.Lists > 0 ? config.Lists : Math.Max(1, (int)Math.Round(4 * Math.Sqrt(n)));
        if (config.Index == "ivfpq" && d % config.SubQuantizers != 0)
            throw new CliException($"--m {config.SubQuantizers} must divide the dimension {d}");
        config = config with { Lists = config.Index == "ivfpq" ? lists : 0, NProbes = config.Index == "ivfpq" ? config.NProbes.Where(p => p <= lists).DefaultIfEmpty(lists).ToArray() : [0] };
        int repeats = config.Quick ? 2 : 15;
        log.WriteLine($"ann: {Path.GetFileName(config.Base)} {n} x {d}, {nq} queries, metric {config.Metric}, index {config.Index}, " +
                      $"backend {config.Backend}, threads {config.Threads}{(config.Quick ? " (--quick: smoke)" : "")}");

        var (truth, truthWidth, truthSource) = GroundTruth(config, xb, xq, metric, log);
        progress?.Report(0.1);

        using IVectorKernels kernels = KernelBackends.Create(config.Backend, new KernelOptions { MaxThreads = config.Threads });
        IVectorIndex index;
        string engine;
        if (config.Index == "flat")
        {
            index = new FlatIndex(d, metric, kernels);
            engine = "vecrec Flat";
        }
        else
        {
            var options = new IvfPqOptions
            {
                Lists = lists,
                SubQuantizers = config.SubQuantizers,
                Bits = config.Bits,
                UseOpq = config.UseOpq,
                Refine = config.Refine == 0 ? RefineStorage.None : config.RefineStorage == "f16" ? RefineStorage.Float16 : RefineStorage.Float32,
                MaxThreads = config.Threads,
                CoarseKMeans = new IvfPqOptions().CoarseKMeans with { Seed = config.Seed },
                CodebookKMeans = new IvfPqOptions().CodebookKMeans with { Seed = config.Seed },
            };
            index = new IvfPqIndex(d, metric, options, kernels);
            engine = $"vecrec IVF{lists},{(config.UseOpq ? "OPQ" : "")}PQ{config.SubQuantizers}x{config.Bits}{(((IvfPqIndex)index).UsesFastScan ? "fs" : "")}" +
                     (config.Refine > 0 ? $",Refine({config.RefineStorage}) R={string.Join(",", refines)}" : "");
        }
        using (index)
        {
            long start = Stopwatch.GetTimestamp();
            index.Train(xb.Data, n);
            double trainSeconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            progress?.Report(0.3);
            start = Stopwatch.GetTimestamp();
            index.AddRange(0, xb.Data);
            double addSeconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            progress?.Report(0.4);
            (double bytesPerVector, long fixedBytes, string? warning) = index switch
            {
                IvfPqIndex ivf => (ivf.BytesPerVector, ivf.FixedBytes, ivf.TrainingWarning),
                FlatIndex flat => (flat.BytesPerVector, 0L, (string?)null),
                _ => (0.0, 0L, (string?)null),
            };
            log.WriteLine($"  {engine}: train {trainSeconds:F3} s, add {addSeconds:F3} s, {bytesPerVector:F1} bytes/vector + {fixedBytes} fixed bytes" +
                          (warning is null ? "" : $"; warning: {warning}"));
            // The first build in a process includes the JIT compiling its code (a per-process cost of about 0.2 s,
            // which FAISS does not pay); a second, identical build gives the steady-state figure. Both are reported.
            double? warmTrain = null, warmAdd = null;
            if (!config.Quick)
            {
                using IVectorIndex again = index is IvfPqIndex first ? new IvfPqIndex(d, metric, first.Options, kernels) : new FlatIndex(d, metric, kernels);
                start = Stopwatch.GetTimestamp();
                again.Train(xb.Data, n);
                warmTrain = Stopwatch.GetElapsedTime(start).TotalSeconds;
                start = Stopwatch.GetTimestamp();
                again.AddRange(0, xb.Data);
                warmAdd = Stopwatch.GetElapsedTime(start).TotalSeconds;
                log.WriteLine($"  again in the same process: train {warmTrain:F3} s, add {warmAdd:F3} s");
            }

            int k = config.K, single = Math.Min(config.SingleQueries, nq);
            var ids = new long[(long)nq * k];
            var scores = new float[ids.Length];
            var singleIds = new long[k];
            var singleScores = new float[k];
            var points = new List<AnnPoint>();
            log.WriteLine($"  {"nprobe",6} {"R",3} {"1-R@1",7} {"10-R@10",8} {"batch QPS",11} {"single QPS",11}");
            int pointCount = refines.Length * config.NProbes.Length;
            foreach (int refine in refines)
            foreach (int nprobe in config.NProbes)
            {
                var search = new SearchOptions { NProbe = Math.Max(1, nprobe), RefineFactor = refine };
                double batch = Best(() => index.Search(xq.Data, nq, k, ids, scores, search), repeats);
                var (r1, r10) = Recalls(ids, k, truth, truthWidth, nq);
                double singleSeconds = Best(() =>
                {
                    for (int q = 0; q < single; q++)
                        index.Search(xq.Data.AsSpan(q * d, d), 1, k, singleIds, singleScores, search);
                }, repeats);
                var point = new AnnPoint(nprobe, refine, r1, r10, nq / batch, single / singleSeconds, batch, singleSeconds);
                points.Add(point);
                progress?.Report(0.4 + 0.6 * points.Count / pointCount);
                log.WriteLine($"  {(nprobe == 0 ? "-" : nprobe.ToString(CultureInfo.InvariantCulture)),6} {refine,3} {r1,7:F4} {r10,8:F4} {point.BatchQps,11:F0} {point.SingleQps,11:F0}");
            }
            return new AnnReport("ann", engine, config.Quick, DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture),
                MachineInfo.Current(config.Threads, [config.Backend]), config, n, nq, d, truthSource, trainSeconds, addSeconds, bytesPerVector, fixedBytes,
                warning, points) { WarmTrainSeconds = warmTrain, WarmAddSeconds = warmAdd };
        }
    }

    /// <summary>
    /// The ground truth's top-10 per query: from <c>--gt</c> (for cosine its <c>_cosine</c> sibling when that exists;
    /// for inner product its <c>_ip</c> sibling, else computed, since SIFT-style files are L2), or exact with
    /// <see cref="FlatIndex"/>.
    /// </summary>
    private static (int[] Ids, int Width, string Source) GroundTruth(AnnConfig config, VectorFileData<float> xb, VectorFileData<float> xq, Metric metric, TextWriter log)
    {
        string? path = ResolveGroundTruth(config.GroundTruth, config.Metric, log);
        int nq = xq.Count;
        if (path is not null)
        {
            var gt = VectorFiles.ReadIvecs(path);
            if (gt.Count < nq || gt.Dimension < 10)
                throw new CliException($"ground truth '{path}' has {gt.Count} x {gt.Dimension}; need at least {nq} x 10");
            foreach (int id in gt.Data.AsSpan(0, nq * gt.Dimension))
                if (id < 0 || id >= xb.Count) throw new CliException($"ground truth '{path}' holds id {id} outside the {xb.Count} base vectors");
            return (gt.Data, gt.Dimension, path);
        }
        long start = Stopwatch.GetTimestamp();
        int[] exact = ExactNeighbours(xb.Data, xb.Count, xq.Data, nq, xb.Dimension, metric, 10, config.Backend, config.Threads);
        log.WriteLine($"  exact ground truth (FlatIndex, {config.Metric}) in {Stopwatch.GetElapsedTime(start).TotalSeconds:F2} s");
        return (exact, 10, $"exact (FlatIndex {config.Metric})");
    }

    /// <summary>The ground-truth file to use for <paramref name="metric"/> given <c>--gt</c>, or <see langword="null"/> to compute it.</summary>
    public static string? ResolveGroundTruth(string? given, string metric, TextWriter log)
    {
        ArgumentNullException.ThrowIfNull(log);
        if (given is null) return null;
        if (!File.Exists(given)) throw new CliException($"ground truth '{given}' does not exist");
        if (metric == "l2") return given;
        string stem = Path.Combine(Path.GetDirectoryName(given) ?? "", Path.GetFileNameWithoutExtension(given));
        if (stem.EndsWith("_" + metric, StringComparison.Ordinal)) return given;
        string sibling = $"{stem}_{metric}{Path.GetExtension(given)}";
        if (File.Exists(sibling))
        {
            log.WriteLine($"  ground truth for {metric}: {sibling}");
            return sibling;
        }
        log.WriteLine($"  note: no {metric} ground truth beside {given} ({sibling}); computing it exactly");
        return null;
    }

    /// <summary>Exact top-<paramref name="k"/> ids of every query with <see cref="FlatIndex"/>.</summary>
    public static int[] ExactNeighbours(float[] xb, int n, float[] xq, int nq, int d, Metric metric, int k, string backend, int threads)
    {
        using IVectorKernels kernels = KernelBackends.Create(backend, new KernelOptions { MaxThreads = threads });
        using var flat = new FlatIndex(d, metric, kernels);
        flat.AddRange(0, xb.AsSpan(0, n * d));
        var ids = new long[(long)nq * k];
        var scores = new float[ids.Length];
        flat.Search(xq.AsSpan(0, nq * d), nq, k, ids, scores);
        return ids.Select(id => checked((int)id)).ToArray();
    }

    /// <summary>
    /// FAISS's definitions: 1-recall@1 = fraction of queries whose true nearest neighbour is ranked first;
    /// 10-recall@10 = mean |found top-10 ∩ true top-10| / 10.
    /// </summary>
    public static (double Recall1At1, double Recall10At10) Recalls(ReadOnlySpan<long> found, int k, ReadOnlySpan<int> truth, int truthWidth, int queries)
    {
        if (k < 10 || truthWidth < 10) throw new ArgumentException("recall@10 needs 10 results and 10 true neighbours per query", nameof(k));
        int first = 0, hits = 0;
        for (int q = 0; q < queries; q++)
        {
            ReadOnlySpan<long> f = found.Slice(q * k, 10);
            ReadOnlySpan<int> t = truth.Slice(q * truthWidth, 10);
            if (f[0] == t[0]) first++;
            foreach (long id in f)
                if (id >= 0 && t.Contains((int)id)) hits++;
        }
        return ((double)first / queries, (double)hits / (10.0 * queries));
    }

    /// <summary>
    /// Best (least) seconds per call over <paramref name="repeats"/> timed rounds. Warm-up: calls for at least 0.5 s,
    /// then a 0.3 s pause so the JIT's background tier-1 compilation finishes. Each round repeats the call until it has
    /// lasted at least 0.04 s, so short calls are not timed one by one (timer and thread-pool wake-up noise); many short
    /// rounds (15 in a full run) let the least of them skip bursts of other load on a shared machine.
    /// </summary>
    public static double Best(Action body, int repeats)
    {
        ArgumentNullException.ThrowIfNull(body);
        long warm = Stopwatch.GetTimestamp();
        do body(); while (Stopwatch.GetElapsedTime(warm).TotalSeconds < 0.5);
        Thread.Sleep(300);
        double best = double.MaxValue;
        for (int i = 0; i < repeats; i++)
        {
            int calls = 0;
            long start = Stopwatch.GetTimestamp();
            double elapsed;
            do
            {
                body();
                calls++;
                elapsed = Stopwatch.GetElapsedTime(start).TotalSeconds;
            }
            while (elapsed < 0.04);
            best = Math.Min(best, elapsed / calls);
        }
        return best;
    }

    /// <summary>The report as a markdown table.</summary>
    public static string Markdown(AnnReport r)
    {
        ArgumentNullException.ThrowIfNull(r);
        var sb = new StringBuilder();
        var c = r.Config;
        sb.AppendLine($"# VecRec ann: {r.Engine}{BenchCli.SmokeNote(r.Smoke)}");
        sb.AppendLine();
        sb.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"{r.TimestampUtc}; {r.Machine.Cpu}; {c.Threads} threads of {r.Machine.LogicalCores}; {r.Machine.Runtime}; backend {c.Backend}"));
        sb.AppendLine();
        sb.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"data: {Path.GetFileName(c.Base)} ({r.Count} x {r.Dimension}), {r.Queries} queries, metric {c.Metric}, k = {c.K}; ground truth: {r.GroundTruthSource}"));
        sb.AppendLine();
        sb.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"train {r.TrainSeconds:F3} s, add {r.AddSeconds:F3} s (train + add {r.TrainSeconds + r.AddSeconds:F3} s); {r.BytesPerVector:F1} bytes per vector + {r.FixedBytes} fixed bytes{(r.Warning is null ? "" : "; training warning: " + r.Warning)}"));
        sb.AppendLine();
        sb.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"batch = all {r.Queries} queries in one Search call; single = {Math.Min(c.SingleQueries, r.Queries)} queries one call each from one thread; best of the repeats after warm-up."));
        sb.AppendLine();
        sb.AppendLine("| nprobe | refine | 1-recall@1 | 10-recall@10 | batch QPS | single QPS |");
        sb.AppendLine("|---:|---:|---:|---:|---:|---:|");
        foreach (var p in r.Points)
            sb.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {(p.NProbe == 0 ? "-" : p.NProbe.ToString(CultureInfo.InvariantCulture))} | {p.Refine} | {p.Recall1At1:F4} | {p.Recall10At10:F4} | {p.BatchQps:F0} | {p.SingleQps:F0} |"));
        return sb.ToString();
    }
}

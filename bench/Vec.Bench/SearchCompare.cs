using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Vec.Kernels;

namespace Vec.Bench;

/// <summary>A prepared exact-search engine over one database, as the comparison times it.</summary>
public interface IFlatSearcher : IDisposable
{
    /// <summary>Top-<paramref name="k"/> of each of <paramref name="count"/> queries under <paramref name="metric"/>.</summary>
    void Search(ReadOnlySpan<float> queries, int count, int k, Metric metric, Span<int> ids, Span<float> scores);
}

/// <summary>One VecRec configuration in the comparison. Adding a storage format (float16, int8) is one more entry in <see cref="SearchCompare.Variants"/>.</summary>
/// <param name="Name">Label in the tables, e.g. <c>vecrec simd f32</c>.</param>
/// <param name="Build">Builds the searcher from [count, dimension] float rows.</param>
public sealed record SearchVariant(string Name, Func<float[], int, int, IFlatSearcher> Build);

/// <summary>One line of the comparison.</summary>
/// <param name="Dataset">Data set label.</param>
/// <param name="Metric"><c>ip</c> or <c>l2</c>.</param>
/// <param name="Mode"><c>batch</c> (all queries in one call) or <c>single</c> (one query per call).</param>
/// <param name="Engine">FAISS index type or VecRec variant.</param>
/// <param name="Queries">Queries timed.</param>
/// <param name="MedianMs">Median milliseconds for all <paramref name="Queries"/>.</param>
/// <param name="Qps">Queries per second.</param>
/// <param name="RatioToFaiss">QPS divided by FAISS's QPS in the same mode (1 for FAISS itself).</param>
/// <param name="RecallVsFaiss">Mean |top-10 ∩ FAISS top-10| / 10 (batch results).</param>
/// <param name="RecallVsGroundTruth">Recall@10 against the data set's ground truth, where it has one for this metric.</param>
/// <param name="Target">Target from the issue, if any.</param>
/// <param name="MeetsTarget">Whether the target is met.</param>
public sealed record CompareResult(string Dataset, string Metric, string Mode, string Engine, int Queries, double MedianMs, double Qps,
    double RatioToFaiss, double? RecallVsFaiss, double? RecallVsGroundTruth, string? Target, bool? MeetsTarget);

/// <summary>A whole <c>search-compare</c> run as written to JSON.</summary>
public sealed record CompareReport(string Kind, bool Smoke, string TimestampUtc, MachineInfo Machine, string FaissVersion, IReadOnlyList<CompareResult> Results);

/// <summary>
/// The <c>search-compare</c> mode: VecRec's fused exact search against FAISS IndexFlatIP / IndexFlatL2 (Python peer
/// <c>bench/peers/faiss_flat.py</c>) on identical data and thread counts, in one run: QPS of both, their ratio, and
/// recall@10 of VecRec against FAISS (and against the ground truth of SIFT10K for L2).
/// </summary>
public static class SearchCompare
{
    private const int K = 10;
    private const double TargetRatio = 1.2;

    private sealed record Dataset(string Name, string BasePath, string QueryPath, string[] Metrics, string? GroundTruthL2Path);

    /// <summary>The VecRec configurations compared with FAISS: one f32 entry per backend, plus float16 and int8 row storage
    /// (exact re-scoring of the best candidates, default factor) on the widest SIMD backend, which implements them.</summary>
    public static IReadOnlyList<SearchVariant> Variants(IEnumerable<string> backends, int threads)
    {
        var variants = new List<SearchVariant>();
        foreach (string b in backends)
        {
            variants.Add(Variant(b, VectorStorage.Float32, threads));
            if (b == "simd")
            {
                variants.Add(Variant(b, VectorStorage.Float16, threads));
                variants.Add(Variant(b, VectorStorage.Int8, threads));
            }
        }
        return variants;
    }

    private static SearchVariant Variant(string backend, VectorStorage storage, int threads) =>
        new($"vecrec {backend} {storage switch { VectorStorage.Float16 => "f16", VectorStorage.Int8 => "i8", _ => "f32" }}",
            (rows, n, d) => new KernelSearcher(KernelBackends.Create(backend, new KernelOptions { MaxThreads = threads }), rows, n, d, storage));

    /// <summary>Parses the options and runs the comparison; returns the exit code.</summary>
    public static int Run(string[] args)
    {
        var backends = new List<string>();
        int threads = Environment.ProcessorCount;
        bool quick = false;
        string? json = null;
        string python = "/usr/bin/python3";
        bool save = false;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--backend": backends.Add(BenchCli.Value(args, ref i)); break;
                case "--threads": threads = BenchCli.Positive(args, ref i); break;
                case "--quick": quick = true; break;
                case "--json": json = BenchCli.Value(args, ref i); break;
                case "--python": python = BenchCli.Value(args, ref i); break;
                case "--save": save = true; break;
                default: throw new ArgumentException($"unknown option '{args[i]}' for search-compare", nameof(args));
            }
        }
        if (backends.Count == 0) backends.AddRange(Data.DefaultBackends());
        int repeats = quick ? 3 : 7;
        int syntheticRows = quick ? 20_000 : 100_000, syntheticQueries = quick ? 200 : 1000, dim = 384;
        string peer = Path.Combine(Data.RepoRoot(), "bench", "peers", "faiss_flat.py");
        string sift = Path.Combine(Data.SharedDirectory(), "data", "ann", "siftsmall");
        string temp = Directory.CreateTempSubdirectory("vecrec-bench-").FullName;
        try
        {
            Console.WriteLine($"search-compare{(quick ? " (--quick: smoke sizes)" : "")}: threads {threads}; VecRec variants vs FAISS flat; k = {K}");
            string synBase = Path.Combine(temp, "synthetic_base.fvecs"), synQuery = Path.Combine(temp, "synthetic_query.fvecs");
            Data.WriteFvecs(synBase, Data.Embeddings(syntheticRows, dim, seed: 3), syntheticRows, dim);
            Data.WriteFvecs(synQuery, Data.Embeddings(syntheticQueries, dim, seed: 4), syntheticQueries, dim);
            var datasets = new List<Dataset>();
            if (File.Exists(Path.Combine(sift, "siftsmall_base.fvecs")))
                datasets.Add(new("siftsmall 10k x 128", Path.Combine(sift, "siftsmall_base.fvecs"), Path.Combine(sift, "siftsmall_query.fvecs"),
                    ["ip", "l2"], Path.Combine(sift, "siftsmall_groundtruth.ivecs")));
            else
                Console.Error.WriteLine($"warning: {sift} not found (set VECREC_SHARED); skipping SIFT10K");
            datasets.Add(new($"synthetic {syntheticRows / 1000}k x {dim}", synBase, synQuery, ["ip"], null));

            var variants = Variants(backends, threads);
            var results = new List<CompareResult>();
            string faissVersion = "?";
            foreach (var ds in datasets)
            {
                var (rows, n, d) = Data.ReadFvecs(ds.BasePath);
                var (queries, nq, qd) = Data.ReadFvecs(ds.QueryPath);
                if (qd != d) throw new ArgumentException($"{ds.Name}: query dimension {qd} differs from base dimension {d}", nameof(args));
                int single = Math.Min(nq, 100);
                foreach (string metric in ds.Metrics)
                {
                    string idsPath = Path.Combine(temp, "faiss_ids.ivecs");
                    using JsonDocument f = RunPeer(python, peer, ds, metric, threads, repeats, single, idsPath);
                    JsonElement root = f.RootElement;
                    faissVersion = root.GetProperty("faiss_version").GetString() ?? "?";
                    string engine = "faiss " + root.GetProperty("engine").GetString();
                    double faissBatchS = root.GetProperty("batch").GetProperty("median_s").GetDouble();
                    double faissSingleS = root.GetProperty("single").GetProperty("median_s").GetDouble();
                    int[] faissIds = Data.ReadIvecs(idsPath).Rows;
                    int[]? truth = metric == "l2" && ds.GroundTruthL2Path is not null ? GroundTruth(ds.GroundTruthL2Path, nq) : null;

                    void Add(string mode, string eng, int count, double seconds, double faissSeconds, int[]? ids)
                    {
                        bool isFaiss = eng == engine;
                        string? target = mode == "batch" && metric == "ip" && !isFaiss ? $">= {TargetRatio}x FAISS" : null;
                        double ratio = faissSeconds / seconds;
                        var r = new CompareResult(ds.Name, metric, mode, eng, count, seconds * 1e3, count / seconds, ratio,
                            ids is null ? null : Recall(ids, faissIds, count), ids is null || truth is null ? null : Recall(ids, truth, count),
                            target, target is null ? null : ratio >= TargetRatio);
                        results.Add(r);
                        Console.WriteLine("  " + FormatRow(r));
                    }
                    Add("batch", engine, nq, faissBatchS, faissBatchS, faissIds);
                    Add("single", engine, single, faissSingleS, faissSingleS, null);

                    foreach (var variant in variants)
                    {
                        using IFlatSearcher searcher = variant.Build(rows, n, d);
                        Metric m = metric == "ip" ? Metric.InnerProduct : Metric.L2;
                        var ids = new int[nq * K];
                        var scores = new float[nq * K];
                        double batchS = BenchTimer.Median(() => searcher.Search(queries, nq, K, m, ids, scores), warmup: 1, repeats);
                        var singleIds = new int[single * K];
                        var singleScores = new float[single * K];
                        double singleS = BenchTimer.Median(() =>
                        {
                            for (int q = 0; q < single; q++)
                                searcher.Search(queries.AsSpan(q * d, d), 1, K, m, singleIds.AsSpan(q * K, K), singleScores.AsSpan(q * K, K));
                        }, warmup: 1, Math.Max(3, repeats / 2));
                        Add("batch", variant.Name, nq, batchS, faissBatchS, ids);
                        Add("single", variant.Name, single, singleS, faissSingleS, singleIds);
                    }
                }
            }

            var report = new CompareReport("search-compare", quick, DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture),
                MachineInfo.Current(threads, backends), faissVersion, results);
            Console.WriteLine();
            Console.WriteLine(Markdown(report));
            if (save) json ??= BenchCli.ResultsPath("search-compare", quick);
            if (json is not null) BenchCli.WriteReport(json, report, Markdown(report), Console.Out);
            return 0;
        }
        finally
        {
            Directory.Delete(temp, recursive: true);
        }
    }

    private static JsonDocument RunPeer(string python, string script, Dataset ds, string metric, int threads, int repeats, int single, string idsPath)
    {
        var psi = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in new[] { script, "--base", ds.BasePath, "--query", ds.QueryPath, "--metric", metric, "--k", K.ToString(CultureInfo.InvariantCulture),
                     "--threads", threads.ToString(CultureInfo.InvariantCulture), "--repeats", repeats.ToString(CultureInfo.InvariantCulture),
                     "--single-queries", single.ToString(CultureInfo.InvariantCulture), "--ids", idsPath })
            psi.ArgumentList.Add(a);
        // Same threads as VecRec; the core type lets OpenBLAS use its AVX-512 sgemm (FAISS's batch path) where the CPU has it.
        string t = threads.ToString(CultureInfo.InvariantCulture);
        psi.Environment["OMP_NUM_THREADS"] = t;
        psi.Environment["OPENBLAS_NUM_THREADS"] = t;
        psi.Environment["OPENBLAS_CORETYPE"] = Data.BlasCoreType;
        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {python}");
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"FAISS peer failed (exit {process.ExitCode}); install it with " +
                $"'apt-get install -y python3-faiss libopenblas0-openmp':\n{stderr.Result}");
        return JsonDocument.Parse(stdout);
    }

    private static int[] GroundTruth(string path, int queries)
    {
        var (rows, count, width) = Data.ReadIvecs(path);
        if (count < queries || width < K) throw new ArgumentException($"{path}: ground truth has {count} x {width}, need {queries} x {K}", nameof(path));
        var top = new int[queries * K];
        for (int q = 0; q < queries; q++) rows.AsSpan(q * width, K).CopyTo(top.AsSpan(q * K));
        return top;
    }

    /// <summary>Mean over queries of |found ∩ reference| / k, both [queries, k].</summary>
    private static double Recall(int[] found, int[] reference, int queries)
    {
        int hits = 0;
        for (int q = 0; q < queries; q++)
        {
            var set = new HashSet<int>(reference.AsSpan(q * K, K).ToArray());
            foreach (int id in found.AsSpan(q * K, K)) if (set.Contains(id)) hits++;
        }
        return (double)hits / (queries * K);
    }

    private static string FormatRow(CompareResult r) =>
        $"{r.Dataset,-20} {r.Metric,-3} {r.Mode,-6} {r.Engine,-24} {r.Qps,12:F0} QPS  x{r.RatioToFaiss,5:F2}" +
        (r.RecallVsFaiss is null ? "" : $"  recall@10 vs faiss {r.RecallVsFaiss:F4}") +
        (r.RecallVsGroundTruth is null ? "" : $"  vs truth {r.RecallVsGroundTruth:F4}") +
        BenchCli.TargetNote(r.Target, r.MeetsTarget);

    /// <summary>The report as a markdown table.</summary>
    public static string Markdown(CompareReport report)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"# VecRec vs FAISS flat{BenchCli.SmokeNote(report.Smoke)}");
        sb.AppendLine();
        sb.AppendLine($"{report.TimestampUtc}; {report.Machine.Cpu}; {report.Machine.Threads} threads of {report.Machine.LogicalCores}; {report.Machine.Runtime}; FAISS {report.FaissVersion}; k = {K}");
        sb.AppendLine();
        sb.AppendLine("| data set | metric | mode | engine | queries | median ms | QPS | x FAISS | recall@10 vs FAISS | recall@10 vs truth | target | met |");
        sb.AppendLine("|---|---|---|---|---:|---:|---:|---:|---:|---:|---|---|");
        foreach (var r in report.Results)
            sb.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {r.Dataset} | {r.Metric} | {r.Mode} | {r.Engine} | {r.Queries} | {r.MedianMs:F3} | {r.Qps:F0} | {r.RatioToFaiss:F2} | {r.RecallVsFaiss?.ToString("F4", CultureInfo.InvariantCulture) ?? ""} | {r.RecallVsGroundTruth?.ToString("F4", CultureInfo.InvariantCulture) ?? ""} | {r.Target ?? ""} | {BenchCli.YesNo(r.MeetsTarget)} |"));
        return sb.ToString();
    }

    /// <summary>VecRec's fused search over a float32 database on one backend.</summary>
    private sealed class KernelSearcher : IFlatSearcher
    {
        private readonly IVectorKernels _kernels;
        private readonly VectorDatabase _database;

        public KernelSearcher(IVectorKernels kernels, float[] rows, int count, int dimension, VectorStorage storage)
        {
            _kernels = kernels;
            _database = kernels.CreateDatabase(rows, count, dimension, storage);
        }

        public void Search(ReadOnlySpan<float> queries, int count, int k, Metric metric, Span<int> ids, Span<float> scores) =>
            _kernels.Search(_database, queries, count, k, metric, ids, scores);

        public void Dispose()
        {
            _database.Dispose();
            _kernels.Dispose();
        }
    }
}

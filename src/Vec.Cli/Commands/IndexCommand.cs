using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Vec.Cli.Io;
using Vec.Cli.Output;
using Vec.Index;
using Vec.Index.IO;
using Vec.Kernels;

namespace Vec.Cli.Commands;

/// <summary><c>vecrec index build</c> and <c>vecrec index search</c>: .fvecs files to a saved index, and queries against it.</summary>
internal static class IndexCommand
{
    /// <summary>Vectors added per call (and per progress step).</summary>
    private const int AddChunk = 16_384;

    /// <summary>What <c>index build --json</c> holds.</summary>
    internal sealed record BuildReport(string Input, string Output, string Type, string Metric, int Count, int Dimension, string Backend,
        int? Lists, int? SubQuantizers, int? Bits, bool? Opq, string? Refine, int? TrainSize, int? Seed,
        double TrainSeconds, double AddSeconds, long FileBytes, double BytesPerVector, double MemoryBytesPerVector, string? TrainingWarning);

    /// <summary>What <c>index search --json</c> holds.</summary>
    internal sealed record SearchReport(string Index, string Query, string Type, string Metric, long Count, int Dimension, int Queries, int K,
        int NProbe, int Refine, double Seconds, double Qps, double? RecallAt1, double? RecallAt10, string? GroundTruth, string? Output);

    public static Command Create(CliContext context)
    {
        var command = new Command("index", "Build and search vector indexes over .fvecs files.");
        command.Subcommands.Add(CreateBuild(context));
        command.Subcommands.Add(CreateSearch(context));
        return command;
    }

    private static Option<string?> Backend() => new("--backend")
    {
        Description = $"Kernel backend (see 'vecrec backends'); default: ${KernelBackends.EnvironmentVariable}, else the best available.",
        HelpName = "NAME",
    };

    private static Command CreateBuild(CliContext context)
    {
        var input = CliOptions.InputFile("--input", "Vectors to index (.fvecs).");
        var output = CliOptions.OutputFile("--output", "Index file to write (.vecidx), atomically.");
        var type = new Option<string>("--type")
        {
            Description = "flat: exact search (every vector scored); ivfpq: inverted lists + product quantisation (FAISS IndexIVFPQ), compact and fast, approximate.",
            DefaultValueFactory = _ => "flat",
        }.AcceptOnlyFromAmong("flat", "ivfpq");
        var metric = new Option<string>("--metric")
        {
            Description = "cosine (similarity), ip (inner product) or l2 (squared Euclidean distance).",
            DefaultValueFactory = _ => "cosine",
        }.AcceptOnlyFromAmong("cosine", "ip", "l2");
        var ids = CliOptions.InputFile("--ids", "Ids of the vectors, one per line (as written by 'vecrec embed'); default 0..n-1.", required: false);
        var nlist = Nullable("--nlist", "IVF lists. Default: 4·sqrt(n) rounded to a power of two, at most (training vectors)/39 so each list trains on FAISS's minimum of 39 points.");
        var m = Nullable("--m", "PQ sub-quantisers M (bytes per vector at 8 bits); must divide the dimension d. Default: the largest divisor of d that is at most min(64, d/4), i.e. sub-vectors of 4 or more dimensions.");
        var nbits = Nullable("--nbits", "Bits per PQ code, 1..8. Default 8 (256 centroids per sub-quantiser), fewer when there are under 256 training vectors.")
            .Must(v => v is null or <= 8, "must be in 1..8");
        var opq = new Option<bool>("--opq") { Description = "Learn an OPQ rotation before quantising (better codes, slower training)." };
        var refine = new Option<string>("--refine")
        {
            Description = "Full-precision copies kept for re-ranking ('index search --refine R'): none, f32 or f16.",
            DefaultValueFactory = _ => "none",
        }.AcceptOnlyFromAmong("none", "f32", "f16");
        var trainSize = Nullable("--train-size", "Train on a seeded sample of this many vectors. Default: all of them (k-means samples at most 256 per centroid itself).");
        var seed = new Option<int>("--seed") { Description = "Seed of the training sample and of k-means.", DefaultValueFactory = _ => 1234 };
        var backend = Backend();
        var json = CliOptions.Json();
        var command = new Command("build", "Build an index from an .fvecs file: train (ivfpq), add in chunks, save atomically.")
        {
            input, output, type, metric, ids, nlist, m, nbits, opq, refine, trainSize, seed, backend, json,
        };
        command.SetAction(parsed =>
        {
            string inputPath = parsed.GetValue(input)!.FullName, outputPath = parsed.GetValue(output)!.FullName;
            string kind = parsed.GetValue(type)!;
            Metric metricValue = ParseMetric(parsed.GetValue(metric)!);
            VectorFileData<float> data = Jobs.Run(context, "Reading vectors", _ => VectorFiles.ReadFvecs(inputPath));
            int n = data.Count, d = data.Dimension;
            context.Output.WriteLine(CliFiles.Inv($"read {n} vectors of dimension {d} from {inputPath}"));
            long[] idList;
            if (parsed.GetValue(ids) is { } idFile)
            {
                idList = CliFiles.ReadIds(idFile.FullName);
                if (idList.Length != n) throw new CliException($"--ids has {idList.Length} ids but --input has {n} vectors");
            }
            else
            {
                idList = new long[n];
                for (int i = 0; i < n; i++) idList[i] = i;
            }

            if (kind == "flat")
            {
                foreach (var (option, name) in new[] { ((Option)nlist, "--nlist"), (m, "--m"), (nbits, "--nbits"), (trainSize, "--train-size"), (opq, "--opq") })
                {
                    if (parsed.GetResult(option) is { Implicit: false }) throw new CliException($"{name} applies to --type ivfpq only");
                }

                if (parsed.GetValue(refine) != "none") throw new CliException("--refine applies to --type ivfpq only");
            }

            string? backendName = parsed.GetValue(backend);
            using IVectorKernels? kernels = backendName is null ? null : KernelBackends.Create(backendName);
            int? lists = null, subQuantizers = null, bits = null, train = null;
            RefineStorage? refineStorage = null;
            int seedValue = parsed.GetValue(seed);
            IVectorIndex index;
            double trainSeconds = 0;
            if (kind == "ivfpq")
            {
                train = parsed.GetValue(trainSize) ?? n;
                if (train > n) throw new CliException($"--train-size {train} is larger than the {n} vectors of --input");
                bits = parsed.GetValue(nbits) ?? Math.Clamp((int)Math.Floor(Math.Log2(train.Value)), 1, 8);
                if (1 << bits.Value > train) throw new CliException($"--nbits {bits} needs at least {1 << bits.Value} training vectors; there are {train} (lower --nbits or use --type flat)");
                lists = parsed.GetValue(nlist) ?? DefaultLists(n, train.Value);
                if (lists > train) throw new CliException($"--nlist {lists} needs at least {lists} training vectors; there are {train}");
                subQuantizers = parsed.GetValue(m) ?? DefaultSubQuantizers(d);
                if (d % subQuantizers != 0) throw new CliException($"--m {subQuantizers} must divide the dimension {d}");
                refineStorage = parsed.GetValue(refine) switch { "f32" => RefineStorage.Float32, "f16" => RefineStorage.Float16, _ => RefineStorage.None };
                var options = new IvfPqOptions
                {
                    Lists = lists.Value,
                    SubQuantizers = subQuantizers.Value,
                    Bits = bits.Value,
                    UseOpq = parsed.GetValue(opq),
                    Refine = refineStorage.Value,
                    CoarseKMeans = new KMeansOptions { Iterations = 10, Seed = seedValue },
                    CodebookKMeans = new KMeansOptions { Iterations = 25, Init = KMeansInit.Random, Seed = seedValue },
                };
                var ivf = new IvfPqIndex(d, metricValue, options, kernels);
                index = ivf;
                float[] sample = Sample(data.Data, n, d, train.Value, seedValue);
                var watch = Stopwatch.StartNew();
                Jobs.Run(context, CliFiles.Inv($"Training IVF-PQ (nlist {lists}, M {subQuantizers}, {bits} bits{(options.UseOpq ? ", OPQ" : "")}) on {train:N0} vectors"),
                    p => { ivf.Train(sample, train.Value); p.Report(1); });
                trainSeconds = watch.Elapsed.TotalSeconds;
                if (ivf.TrainingWarning is { } warning) context.Output.WriteLine($"warning: {warning}");
            }
            else
            {
                index = new FlatIndex(d, metricValue, kernels);
            }

            using (index)
            {
                var addWatch = Stopwatch.StartNew();
                Jobs.Run(context, CliFiles.Inv($"Adding {n:N0} vectors"), p =>
                {
                    for (int start = 0; start < n; start += AddChunk)
                    {
                        int count = Math.Min(AddChunk, n - start);
                        index.Add(idList.AsSpan(start, count), data.Data.AsSpan(start * d, count * d));
                        p.Report((double)(start + count) / n);
                    }
                });
                double addSeconds = addWatch.Elapsed.TotalSeconds;
                Jobs.Run(context, "Saving", _ => index.Save(outputPath));
                long fileBytes = new FileInfo(outputPath).Length;
                double perVector = (double)fileBytes / n;
                double memory = index switch { IvfPqIndex ivf => ivf.BytesPerVector, FlatIndex flat => flat.BytesPerVector, _ => 0 };
                string backendUsed = index switch { IvfPqIndex ivf => ivf.Kernels.Name, FlatIndex flat => flat.Kernels.Name, _ => "?" };
                string shape = kind == "ivfpq"
                    ? CliFiles.Inv($"ivfpq (nlist {lists}, M {subQuantizers}, {bits} bits{(parsed.GetValue(opq) ? ", OPQ" : "")}, refine {parsed.GetValue(refine)})")
                    : "flat";
                context.Output.WriteLine(CliFiles.Inv($"index: {shape}, metric {parsed.GetValue(metric)}, {n} vectors of dimension {d}, backend {backendUsed}"));
                context.Output.WriteLine(CliFiles.Inv($"train {trainSeconds:F2} s, add {addSeconds:F2} s"));
                context.Output.WriteLine(CliFiles.Inv($"size on disk {CliFiles.Bytes(fileBytes)} ({fileBytes} bytes), {perVector:F1} bytes/vector on disk, {memory:F1} bytes/vector in memory"));
                context.Output.WriteLine($"wrote {outputPath}");
                if (parsed.GetValue(json) is { } jsonFile)
                {
                    CliJson.Write(context, jsonFile.FullName, new BuildReport(inputPath, outputPath, kind, parsed.GetValue(metric)!, n, d, backendUsed,
                        lists, subQuantizers, bits, kind == "ivfpq" ? parsed.GetValue(opq) : null, kind == "ivfpq" ? parsed.GetValue(refine) : null,
                        train, kind == "ivfpq" ? seedValue : null, trainSeconds, addSeconds, fileBytes, perVector, memory,
                        (index as IvfPqIndex)?.TrainingWarning));
                }
            }

            return 0;
        });
        return command;
    }

    private static Command CreateSearch(CliContext context)
    {
        var indexFile = CliOptions.InputFile("--index", "Index file written by 'vecrec index build'.");
        var query = CliOptions.InputFile("--query", "Query vectors (.fvecs) of the index's dimension.");
        var k = CliOptions.Positive("--k", "Results per query.", 10);
        var nprobe = CliOptions.Positive("--nprobe", "IVF lists scanned per query (ivfpq; more is slower and more accurate; clamped to nlist).", 16);
        var refine = new Option<int>("--refine")
        {
            Description = "Refine factor R (ivfpq built with --refine f32|f16): re-rank the best k·R candidates with the stored vectors; 0 for none.",
            DefaultValueFactory = _ => 0,
            HelpName = "R",
        }.Must(v => v >= 0, "must be 0 or a positive integer");
        var gt = CliOptions.InputFile("--gt", "Ground truth (.ivecs, the true neighbours' ids per query, nearest first): prints 1-recall@1 and 10-recall@10.", required: false);
        var output = CliOptions.OutputFile("--output", "Write the results as TSV: query<TAB>rank<TAB>id<TAB>score (ranks from 1; missing results have id -1).", required: false);
        var backend = Backend();
        var json = CliOptions.Json();
        var command = new Command("search", "Search an index with .fvecs queries: queries per second, and recall against a ground truth.")
        {
            indexFile, query, k, nprobe, refine, gt, output, backend, json,
        };
        command.SetAction(parsed =>
        {
            string indexPath = parsed.GetValue(indexFile)!.FullName, queryPath = parsed.GetValue(query)!.FullName;
            string? backendName = parsed.GetValue(backend);
            using IVectorKernels? kernels = backendName is null ? null : KernelBackends.Create(backendName);
            using IVectorIndex index = Jobs.Run(context, "Loading the index", _ => VectorIndex.Load(indexPath, kernels));
            VectorFileData<float> queries = VectorFiles.ReadFvecs(queryPath);
            if (queries.Dimension != index.Dimension)
                throw new CliException($"queries have dimension {queries.Dimension} but the index has {index.Dimension}");
            VectorFileData<int>? truth = null;
            if (parsed.GetValue(gt) is { } gtFile)
            {
                truth = VectorFiles.ReadIvecs(gtFile.FullName);
                if (truth.Count < queries.Count)
                    throw new CliException($"--gt has {truth.Count} rows but there are {queries.Count} queries");
            }

            int kValue = parsed.GetValue(k), probes = parsed.GetValue(nprobe), refineFactor = parsed.GetValue(refine);
            int kSearch = truth is null ? kValue : Math.Max(kValue, 10);
            var options = new SearchOptions { NProbe = probes, RefineFactor = refineFactor };
            int q = queries.Count;
            // Warm-up (JIT, thread pool, scratch buffers) on a few queries, so QPS measures the search itself.
            index.Search(queries.Data.AsSpan(0, Math.Min(q, 16) * queries.Dimension), kSearch, options);
            var watch = Stopwatch.StartNew();
            SearchResult result = Jobs.Run(context, CliFiles.Inv($"Searching {q:N0} queries"), _ => index.Search(queries.Data, kSearch, options));
            double seconds = watch.Elapsed.TotalSeconds;
            double qps = seconds > 0 ? q / seconds : double.PositiveInfinity;
            double? r1 = null, r10 = null;
            if (truth is not null)
            {
                (r1, r10) = Recall(result, truth, q);
            }

            string type = index switch { IvfPqIndex ivf => CliFiles.Inv($"ivfpq (nlist {ivf.Lists})"), FlatIndex => "flat", _ => index.GetType().Name };
            context.Output.WriteLine(CliFiles.Inv($"index: {type}, {index.Count} vectors of dimension {index.Dimension}, metric {MetricName(index.Metric)}"));
            context.Output.WriteLine(CliFiles.Inv($"searched {q} queries (k {kValue}, nprobe {probes}, refine {refineFactor}) in {seconds:F3} s: {qps:F0} QPS"));
            if (r1 is not null)
            {
                string at10 = r10 is null ? "10-recall@10 n/a (the ground truth has fewer than 10 neighbours per query)" : CliFiles.Inv($"10-recall@10 {r10:F4}");
                context.Output.WriteLine(CliFiles.Inv($"1-recall@1 {r1:F4}, {at10}"));
            }

            for (int i = 0; i < Math.Min(q, 3); i++)
            {
                var parts = new List<string>();
                for (int j = 0; j < Math.Min(kValue, 5); j++)
                {
                    long id = result.IdsOf(i)[j];
                    parts.Add(id < 0 ? "-1" : CliFiles.Inv($"{id} ({result.ScoresOf(i)[j]:G4})"));
                }

                context.Output.WriteLine(CliFiles.Inv($"query {i}: {string.Join(", ", parts)}{(kValue > 5 ? ", ..." : "")}"));
            }

            string? outputPath = parsed.GetValue(output)?.FullName;
            if (outputPath is not null)
            {
                var sb = new StringBuilder("query\trank\tid\tscore\n");
                for (int i = 0; i < q; i++)
                {
                    for (int j = 0; j < kValue; j++)
                    {
                        sb.Append(CliFiles.Inv($"{i}\t{j + 1}\t{result.IdsOf(i)[j]}\t{result.ScoresOf(i)[j].ToString("R", CultureInfo.InvariantCulture)}\n"));
                    }
                }

                CliFiles.WriteText(outputPath, sb.ToString(), "--output");
                context.Output.WriteLine($"wrote {outputPath}");
            }

            if (parsed.GetValue(json) is { } jsonFile)
            {
                CliJson.Write(context, jsonFile.FullName, new SearchReport(indexPath, queryPath, index is IvfPqIndex ? "ivfpq" : "flat", MetricName(index.Metric),
                    index.Count, index.Dimension, q, kValue, probes, refineFactor, seconds, qps, r1, r10, parsed.GetValue(gt)?.FullName, outputPath));
            }

            return 0;
        });
        return command;
    }

    /// <summary>
    /// FAISS's definitions: 1-recall@1 is the share of queries whose first result is the true nearest neighbour;
    /// 10-recall@10 is the mean share of the 10 true nearest neighbours among the first 10 results (null when the ground
    /// truth has fewer than 10 columns).
    /// </summary>
    internal static (double R1, double? R10) Recall(SearchResult result, VectorFileData<int> truth, int queries)
    {
        if (queries == 0) return (0, truth.Dimension >= 10 ? 0 : null);
        int hits1 = 0;
        long hits10 = 0;
        var set = new HashSet<long>();
        for (int i = 0; i < queries; i++)
        {
            ReadOnlySpan<long> ids = result.IdsOf(i);
            ReadOnlySpan<int> row = truth.Row(i);
            if (ids[0] == row[0]) hits1++;
            if (truth.Dimension >= 10 && result.K >= 10)
            {
                set.Clear();
                for (int j = 0; j < 10; j++) set.Add(row[j]);
                for (int j = 0; j < 10; j++)
                {
                    if (ids[j] >= 0 && set.Contains(ids[j])) hits10++;
                }
            }
        }

        double? r10 = truth.Dimension >= 10 && result.K >= 10 ? hits10 / (10.0 * queries) : null;
        return ((double)hits1 / queries, r10);
    }

    /// <summary>Default nlist: 4·sqrt(n) rounded to a power of two, at most train/39 and at least 1.</summary>
    internal static int DefaultLists(int n, int train)
    {
        double target = 4 * Math.Sqrt(n);
        int lists = 1 << (int)Math.Round(Math.Log2(Math.Max(1, target)));
        return Math.Max(1, Math.Min(lists, train / 39));
    }

    /// <summary>Default M: the largest divisor of d that is at most min(64, d/4) (1 for d &lt; 8).</summary>
    internal static int DefaultSubQuantizers(int d)
    {
        for (int m = Math.Max(1, Math.Min(64, d / 4)); m > 1; m--)
        {
            if (d % m == 0) return m;
        }

        return 1;
    }

    private static Option<int?> Nullable(string name, string description) =>
        new Option<int?>(name) { Description = description, HelpName = "N" }.Must(v => v is > 0, "must be a positive integer");

    private static Metric ParseMetric(string s) => s switch
    {
        "cosine" => Metric.Cosine,
        "ip" => Metric.InnerProduct,
        "l2" => Metric.L2,
        _ => throw new CliException($"unknown --metric '{s}' (cosine, ip or l2)"),
    };

    private static string MetricName(Metric m) => m switch { Metric.Cosine => "cosine", Metric.InnerProduct => "ip", _ => "l2" };

    private static float[] Sample(float[] data, int n, int d, int count, int seed)
    {
        if (count >= n) return data;
        var order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        var random = new Random(seed);
        for (int i = 0; i < count; i++)
        {
            int j = random.Next(i, n);
            (order[i], order[j]) = (order[j], order[i]);
        }

        Array.Sort(order, 0, count);
        var sample = new float[(long)count * d];
        for (int i = 0; i < count; i++) data.AsSpan(order[i] * d, d).CopyTo(sample.AsSpan(i * d, d));
        return sample;
    }
}

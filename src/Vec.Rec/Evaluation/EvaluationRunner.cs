using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Vec.Embed;
using Vec.Kernels;

namespace Vec.Rec.Evaluation;

/// <summary>How the rating log is split and which items are ranked.</summary>
public enum EvaluationProtocol
{
    /// <summary>
    /// The Microsoft Recommenders benchmark: item-stratified 75/25 split, candidates = items with training interactions,
    /// seen items removed (recsys-protocols.md §5.1).
    /// </summary>
    Msr,

    /// <summary>
    /// Item cold start: 20% of the catalog's items are cold and all their ratings are test; evaluated twice, ranking the
    /// cold items only (<c>cold</c>) and cold plus warm unseen items (<c>mixed</c>) (recsys-protocols.md §5.2).
    /// </summary>
    ColdItems,
}

/// <summary>What <see cref="EvaluationRunner.Run"/> evaluates.</summary>
public sealed record EvaluationOptions
{
    /// <summary>The data folder (for example <c>shared/data/movielens-100k</c>).</summary>
    public required string DataDirectory { get; init; }

    /// <summary>Data layout: <c>ml100k</c> (default) or <c>mlcsv</c>.</summary>
    public string Format { get; init; } = "ml100k";

    /// <summary>The protocol (default <see cref="EvaluationProtocol.Msr"/>).</summary>
    public EvaluationProtocol Protocol { get; init; } = EvaluationProtocol.Msr;

    /// <summary>Names from <see cref="RecommenderRegistry.Names"/>; empty for all of them.</summary>
    public IReadOnlyList<string> Algorithms { get; init; } = [];

    /// <summary>List length (default 10).</summary>
    public int K { get; init; } = 10;

    /// <summary>Text-encoder model folder for content and hybrid models; null to let <see cref="TextEncoders.CreateDefault"/> look for one.</summary>
    public string? ModelDirectory { get; init; }

    /// <summary>Seed of the split and of the models (default 42, the benchmark's).</summary>
    public int Seed { get; init; } = 42;

    /// <summary>Kernels shared by the models; null for the best CPU backend (created and disposed by the run).</summary>
    public IVectorKernels? Kernels { get; init; }
}

/// <summary>Sizes of the evaluated data, to check a run against the protocol's published checksums.</summary>
/// <param name="TrainRows">Training ratings.</param>
/// <param name="TestRows">Test ratings.</param>
/// <param name="Users">Users in the user map.</param>
/// <param name="Items">Items in the item map (the catalog and any rated item).</param>
/// <param name="TrainItems">Items with at least one training rating.</param>
/// <param name="ColdItems">Cold items (0 under <see cref="EvaluationProtocol.Msr"/>).</param>
public sealed record DataChecksums(int TrainRows, int TestRows, int Users, int Items, int TrainItems, int ColdItems);

/// <summary>One algorithm's figures.</summary>
/// <param name="Algorithm">Registry name.</param>
/// <param name="Candidates">Which items were ranked: <c>train-items</c>, <c>cold</c> or <c>mixed</c>.</param>
/// <param name="Metrics">The ranking metrics.</param>
/// <param name="FitSeconds">Wall time of <see cref="Recommender.Fit"/>.</param>
/// <param name="RecommendSeconds">Wall time of recommending top-k for every test user.</param>
public sealed record AlgorithmResult(string Algorithm, string Candidates, RankingMetrics Metrics, double FitSeconds, double RecommendSeconds);

/// <summary>The outcome of an evaluation run.</summary>
/// <param name="DataDirectory">The data folder (full path).</param>
/// <param name="Format">Data layout.</param>
/// <param name="Protocol"><c>msr</c> or <c>cold-items</c>.</param>
/// <param name="K">List length.</param>
/// <param name="Seed">Seed of the split and the models.</param>
/// <param name="Data">Data checksums.</param>
/// <param name="Results">One row per algorithm (two per algorithm under the cold-item protocol: cold, then mixed).</param>
public sealed record EvaluationReport(string DataDirectory, string Format, string Protocol, int K, int Seed, DataChecksums Data,
    IReadOnlyList<AlgorithmResult> Results)
{
    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>The report as indented camelCase JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Reads a report written by <see cref="ToJson"/>.</summary>
    /// <param name="json">The JSON text.</param>
    /// <exception cref="JsonException">Malformed JSON.</exception>
    public static EvaluationReport FromJson(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        return JsonSerializer.Deserialize<EvaluationReport>(json, Json) ?? throw new JsonException("The JSON holds null, not a report.");
    }

    /// <summary>Writes <see cref="ToJson"/> to a file atomically (a temporary file beside it, then a rename).</summary>
    /// <param name="path">The file; its folder must exist.</param>
    public void WriteJson(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string full = Path.GetFullPath(path);
        string dir = Path.GetDirectoryName(full) ?? throw new ArgumentException($"'{path}' has no folder.", nameof(path));
        if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"Folder '{dir}' of the JSON report does not exist.");
        string temp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            File.WriteAllText(temp, ToJson(), new UTF8Encoding(false));
            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    /// <summary>A plain-text table: the data checksums, then one line per result with the metrics (6 decimals) and times.</summary>
    public string ToTable()
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine(c, $"data: {DataDirectory} ({Format}); protocol {Protocol}; k {K}; seed {Seed}");
        sb.AppendLine(c, $"train {Data.TrainRows} rows, test {Data.TestRows} rows; {Data.Users} users, {Data.Items} items ({Data.TrainItems} with training data, {Data.ColdItems} cold)");
        sb.AppendLine(c, $"{"algorithm",-12} {"candidates",-11} {"users",5} {"MAP",9} {"nDCG@k",9} {"P@k",9} {"R@k",9} {"MAP@k",9} {"hit",9} {"F1",9} {"coverage",9} {"novelty",9} {"fit s",8} {"rec s",8}");
        foreach (AlgorithmResult r in Results)
        {
            RankingMetrics m = r.Metrics;
            sb.AppendLine(c, $"{r.Algorithm,-12} {r.Candidates,-11} {m.Users,5} {m.Map,9:F6} {m.Ndcg,9:F6} {m.Precision,9:F6} {m.Recall,9:F6} {m.MapAtK,9:F6} {m.HitRate,9:F6} {m.F1,9:F6} {m.Coverage,9:F6} {m.Novelty,9:F4} {r.FitSeconds,8:F3} {r.RecommendSeconds,8:F3}");
        }

        return sb.ToString();
    }
}

/// <summary>
/// Loads a data set, splits it by a protocol, fits each named algorithm and evaluates it: the library entry behind
/// <c>vecrec eval</c>.
/// </summary>
public static class EvaluationRunner
{
    /// <summary>Parses a protocol name: <c>msr</c> or <c>cold-items</c>.</summary>
    /// <param name="name">The name.</param>
    /// <exception cref="ArgumentException">Unknown name.</exception>
    public static EvaluationProtocol ParseProtocol(string name) => name switch
    {
        "msr" => EvaluationProtocol.Msr,
        "cold-items" => EvaluationProtocol.ColdItems,
        _ => throw new ArgumentException($"Unknown protocol '{name}' (msr or cold-items).", nameof(name)),
    };

    /// <summary>The command-line name of a protocol.</summary>
    /// <param name="protocol">The protocol.</param>
    public static string ProtocolName(EvaluationProtocol protocol) => protocol switch
    {
        EvaluationProtocol.Msr => "msr",
        EvaluationProtocol.ColdItems => "cold-items",
        _ => throw new ArgumentOutOfRangeException(nameof(protocol), protocol, "Unknown protocol."),
    };

    /// <summary>Runs the evaluation.</summary>
    /// <param name="options">What to evaluate.</param>
    /// <param name="cancellationToken">Checked between algorithms and passed to fitting.</param>
    /// <returns>The report.</returns>
    /// <exception cref="ArgumentException">An unknown algorithm (the message lists the known ones), format or protocol, or k below 1.</exception>
    /// <exception cref="DirectoryNotFoundException">No data folder.</exception>
    /// <exception cref="FileNotFoundException">A data file is missing.</exception>
    /// <exception cref="InvalidDataException">Malformed data.</exception>
    public static EvaluationReport Run(EvaluationOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.DataDirectory, nameof(options));
        if (options.K < 1) throw new ArgumentOutOfRangeException(nameof(options), options.K, "k must be at least 1.");
        if (options.Format is not ("ml100k" or "mlcsv")) throw new ArgumentException($"Unknown data format '{options.Format}' (ml100k or mlcsv).", nameof(options));
        string protocol = ProtocolName(options.Protocol);
        IReadOnlyList<string> algorithms = options.Algorithms.Count == 0 ? RecommenderRegistry.Names : options.Algorithms;
        foreach (string name in algorithms)
        {
            if (!RecommenderRegistry.Names.Contains(name))
                throw new ArgumentException($"Unknown algorithm '{name}'; known: {string.Join(", ", RecommenderRegistry.Names)}.", nameof(options));
        }

        if (algorithms.Distinct(StringComparer.Ordinal).Count() != algorithms.Count) throw new ArgumentException("An algorithm is named twice.", nameof(options));

        RatingDataset data = MovieLens.Load(options.DataDirectory, options.Format);
        IReadOnlyList<Rating> trainRows, testRows;
        IReadOnlyList<long>? coldIds = null;
        if (options.Protocol == EvaluationProtocol.Msr)
        {
            RatingSplit split = Splits.Stratified(data.Ratings, seed: unchecked((uint)options.Seed));
            (trainRows, testRows) = (split.Train, split.Test);
        }
        else
        {
            ColdItemSplit split = Splits.ColdItems(data.Ratings, data.Items().Ids, seed: unchecked((uint)options.Seed));
            (trainRows, testRows, coldIds) = (split.Train, split.Test, split.ColdItems);
        }

        (Interactions train, Interactions test) = data.ToMatrices(trainRows, testRows);
        IdMap users = train.Users, items = train.Items;
        bool[]? cold = null;
        if (coldIds is not null)
        {
            cold = new bool[items.Count];
            foreach (long id in coldIds) cold[items.IndexOf(id)] = true;
        }
        bool[] trainItems = Evaluator.TrainItems(train);
        var checksums = new DataChecksums(trainRows.Count, testRows.Count, users.Count, items.Count, trainItems.Count(t => t), cold?.Count(c => c) ?? 0);

        var candidateSets = new List<(string Name, bool[] Candidates)>();
        if (cold is null)
        {
            candidateSets.Add(("train-items", trainItems));
        }
        else
        {
            candidateSets.Add(("cold", cold));
            candidateSets.Add(("mixed", [.. cold.Select((c, i) => c || trainItems[i])]));
        }

        int[] testUsers = [.. Enumerable.Range(0, test.UserCount).Where(u => test.ItemsOf(u).Length > 0)];
        IVectorKernels? ownedKernels = options.Kernels is null ? KernelBackends.Create(KernelBackends.BestCpuName) : null;
        TextEncoder? encoder = null;
        try
        {
            if (algorithms.Any(NeedsEncoder))
                encoder = TextEncoders.CreateDefault(options.ModelDirectory, data.Catalog.Items.Select(i => i.EmbeddingText));
            var context = new RecommenderContext { Kernels = options.Kernels ?? ownedKernels, Encoder = encoder, Seed = options.Seed };
            var results = new List<AlgorithmResult>();
            foreach (string name in algorithms)
            {
                cancellationToken.ThrowIfCancellationRequested();
                using Recommender model = RecommenderRegistry.Create(name, context);
                var sw = Stopwatch.StartNew();
                model.Fit(train, data.Catalog, cancellationToken);
                double fit = sw.Elapsed.TotalSeconds;
                foreach (var (candidateName, candidates) in candidateSets)
                {
                    sw.Restart();
                    RecommendationBatch recs = model.RecommendBatch(testUsers, options.K, excludeSeen: true, candidates);
                    double recommend = sw.Elapsed.TotalSeconds;
                    RankingMetrics metrics = Metrics.Compute(recs, test, train, candidates.Count(c => c));
                    results.Add(new AlgorithmResult(name, candidateName, metrics, fit, recommend));
                }
            }

            return new EvaluationReport(data.Source, options.Format, protocol, options.K, options.Seed, checksums, results);
        }
        finally
        {
            encoder?.Dispose();
            ownedKernels?.Dispose();
        }
    }

    /// <summary>Content and hybrid models embed item text, so the run creates a text encoder for them.</summary>
    private static bool NeedsEncoder(string name) =>
        name.StartsWith("content", StringComparison.Ordinal) || name.StartsWith("hybrid", StringComparison.Ordinal);
}

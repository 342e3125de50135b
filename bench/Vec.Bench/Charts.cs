using System.Text.Json;
using Vec.Cli.Output;

namespace Vec.Bench;

/// <summary>
/// The <c>charts</c> mode: draws the PNG charts of docs/benchmarks.md and docs/index.md from the recorded result files
/// in bench/results (no measuring; the figures come from the JSON the benchmark runs wrote).
/// </summary>
public static class Charts
{
    /// <summary>Writes every chart whose input file exists into <c>--out</c> (default docs/img); returns the exit code.</summary>
    public static int Run(string[] args)
    {
        string root = Data.RepoRoot();
        string results = Path.Combine(root, "bench", "results");
        string output = Path.Combine(root, "docs", "img");
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--results": results = BenchCli.Value(args, ref i); break;
                case "--out": output = BenchCli.Value(args, ref i); break;
                default: throw new ArgumentException($"unknown option '{args[i]}' (charts [--results DIR] [--out DIR])");
            }
        }

        Directory.CreateDirectory(output);
        int written = 0;
        foreach (string set in new[] { "siftsmall", "lowdim384" })
        {
            string file = Path.Combine(results, "ann", $"ann-{set}.json");
            if (!File.Exists(file)) continue;
            Ann(file, set, Path.Combine(output, $"ann-{set}.png"));
            written++;
        }

        string? kernels = Directory.Exists(Path.Combine(results, "amd-epyc"))
            ? Directory.GetFiles(Path.Combine(results, "amd-epyc"), "kernels-*.json").Order(StringComparer.Ordinal).LastOrDefault()
            : null;
        if (kernels is not null)
        {
            Kernels(kernels, Path.Combine(output, "kernels.png"));
            written++;
        }

        string eval = Path.Combine(results, "rec", "eval-msr-ml100k.json");
        if (File.Exists(eval))
        {
            Recommenders(eval, Path.Combine(output, "rec-ml100k.png"));
            written++;
        }

        string embed = Path.Combine(results, "embed", "embed-minilm-2t.json");
        if (File.Exists(embed))
        {
            Embeddings(embed, Path.Combine(output, "embed-minilm.png"));
            written++;
        }

        Console.WriteLine($"wrote {written} charts to {output}");
        return written > 0 ? 0 : 1;
    }

    private static void Ann(string file, string set, string png)
    {
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(file));
        var series = new List<PlotSeries>();
        foreach (JsonElement run in doc.RootElement.GetProperty("vecrec").EnumerateArray())
        {
            var points = run.GetProperty("points").EnumerateArray().OrderBy(p => p.GetProperty("nProbe").GetInt32()).ToArray();
            series.Add(new PlotSeries(run.GetProperty("engine").GetString()!,
                points.Select(p => p.GetProperty("batchQps").GetDouble()).ToArray(),
                points.Select(p => p.GetProperty("recall10At10").GetDouble()).ToArray()));
        }

        foreach (var group in doc.RootElement.GetProperty("peers").GetProperty("results").EnumerateArray()
                     .GroupBy(r => r.GetProperty("engine").GetString()!))
        {
            var points = group.OrderBy(p => p.GetProperty("recall_10_at_10").GetDouble()).ToArray();
            series.Add(new PlotSeries(group.Key,
                points.Select(p => p.GetProperty("batch_qps").GetDouble()).ToArray(),
                points.Select(p => p.GetProperty("recall_10_at_10").GetDouble()).ToArray()));
        }

        Plots.Lines(png, $"{set}: 10-recall@10 against batch QPS (2 threads, one run beside the peers)", "queries per second (batch, log scale)",
            "10-recall@10", series, logX: true);
    }

    private static void Kernels(string file, string png)
    {
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(file));
        var rows = doc.RootElement.GetProperty("results").EnumerateArray()
            .Where(r => r.GetProperty("unit").GetString() == "GFLOP/s")
            .ToArray();
        Plots.Bars(png, "Kernels: GFLOP/s per backend (2 threads; FMA peak " +
                        doc.RootElement.GetProperty("peak").GetProperty("peakGflops").GetDouble().ToString("F0", System.Globalization.CultureInfo.InvariantCulture) + ")",
            "GFLOP/s",
            rows.Select(r => $"{r.GetProperty("backend").GetString()} {Short(r.GetProperty("kernel").GetString()!)}").ToArray(),
            rows.Select(r => r.GetProperty("value").GetDouble()).ToArray());

        static string Short(string kernel) => kernel.Replace("Similarities", "", StringComparison.Ordinal)
            .Replace("SquaredL2Distances", "L2", StringComparison.Ordinal).Replace("InnerProducts", "IP", StringComparison.Ordinal)
            .Replace(" top-10 (batch)", "", StringComparison.Ordinal);
    }

    private static void Recommenders(string file, string png)
    {
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(file));
        var rows = doc.RootElement.GetProperty("results").EnumerateArray().ToList();
        var labels = rows.Select(r => r.GetProperty("algorithm").GetString()!).Append("BiVAE (published)").ToArray();
        var values = rows.Select(r => r.GetProperty("metrics").GetProperty("ndcg").GetDouble()).Append(0.475077).ToArray();
        Plots.Bars(png, "MovieLens-100k, Microsoft Recommenders protocol: nDCG@10", "nDCG@10", labels, values);
    }

    private static void Embeddings(string file, string png)
    {
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(file));
        var series = new List<PlotSeries>();
        foreach (var set in doc.RootElement.GetProperty("rows").EnumerateArray()
                     .Where(r => r.GetProperty("dynamicPadding").GetBoolean() && r.TryGetProperty("peerTextsPerSecond", out var p) && p.ValueKind == JsonValueKind.Number)
                     .GroupBy(r => r.GetProperty("set").GetString()!))
        {
            var rows = set.OrderBy(r => r.GetProperty("batchSize").GetInt32()).GroupBy(r => r.GetProperty("batchSize").GetInt32()).Select(g => g.First()).ToArray();
            double[] x = rows.Select(r => (double)r.GetProperty("batchSize").GetInt32()).ToArray();
            series.Add(new PlotSeries(set.Key, x, rows.Select(r => r.GetProperty("textsPerSecond").GetDouble() / r.GetProperty("peerTextsPerSecond").GetDouble()).ToArray(),
                rows.Select(r => r.GetProperty("textsPerSecond").GetDouble().ToString("F0", System.Globalization.CultureInfo.InvariantCulture) + "/s").ToArray()));
        }

        Plots.Lines(png, "all-MiniLM-L6-v2 on 2 cores: VecRec throughput / PyTorch peer (labels: VecRec texts/s)", "batch size (log scale)",
            "speed-up over the peer (x)", series, logX: true, legend: ScottPlot.Alignment.UpperRight);
    }
}

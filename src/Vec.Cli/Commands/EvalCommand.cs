using System.CommandLine;
using Vec.Cli.Output;
using Vec.Rec;
using Vec.Rec.Evaluation;

namespace Vec.Cli.Commands;

/// <summary>
/// <c>vecrec eval</c>: splits a MovieLens data set by a protocol, fits the named recommenders, prints a table of the
/// ranking metrics and optionally writes them as JSON.
/// </summary>
internal static class EvalCommand
{
    public static Command Create(CliContext context)
    {
        var data = CliOptions.InputFolder("--data", "MovieLens folder (u.data + u.item, or ratings.csv + movies.csv). Default: $VECREC_SHARED/data/movielens-100k.", required: false);
        var format = new Option<string>("--format") { Description = "Data format.", DefaultValueFactory = _ => "ml100k" }.AcceptOnlyFromAmong("ml100k", "mlcsv");
        var protocol = new Option<string>("--protocol")
        {
            Description = "msr: the Microsoft Recommenders ML-100k protocol (stratified 75/25 split per user); cold-items: 20% of items held out entirely.",
            DefaultValueFactory = _ => "msr",
        }.AcceptOnlyFromAmong("msr", "cold-items");
        var algo = CliOptions.NameList("--algo", "Recommenders to evaluate (default: pop, sar, itemknn, ease, als).", [], RecommenderRegistry.Names.ToArray());
        var k = CliOptions.Positive("--k", "Cut-off of the ranking metrics.", 10);
        var model = CliOptions.InputFolder("--model", "Sentence-transformers model folder for the content and hybrid models (default: the hashing encoder).", required: false);
        var seed = new Option<int>("--seed") { Description = "Split seed.", DefaultValueFactory = _ => 42 };
        var json = CliOptions.Json();
        var plot = CliOptions.Plot("each model's nDCG@k");

        var command = new Command("eval", "Evaluate recommenders on MovieLens with a standard protocol (defaults reproduce the Microsoft Recommenders ML-100k table).")
        {
            data, format, protocol, algo, k, model, seed, json, plot,
        };
        command.SetAction(parsed =>
        {
            string dataDir = parsed.GetValue(data)?.FullName ?? SharedPaths.MovieLens100K()
                ?? throw new CliException("no --data given and no shared/data/movielens-100k found (set VECREC_SHARED)");
            string[] algorithms = parsed.GetValue(algo)!;
            if (algorithms.Length == 0) algorithms = ["pop", "sar", "itemknn", "ease", "als"];
            var options = new EvaluationOptions
            {
                DataDirectory = dataDir,
                Format = parsed.GetValue(format)!,
                Protocol = EvaluationRunner.ParseProtocol(parsed.GetValue(protocol)!),
                Algorithms = algorithms,
                K = parsed.GetValue(k),
                ModelDirectory = parsed.GetValue(model)?.FullName,
                Seed = parsed.GetValue(seed),
            };
            EvaluationReport report = Jobs.Run(context, $"Evaluating {string.Join(", ", algorithms)}", _ => EvaluationRunner.Run(options));
            context.Output.Write(report.ToTable());
            if (parsed.GetValue(json) is { } jsonFile)
            {
                report.WriteJson(jsonFile.FullName);
                context.Output.WriteLine($"wrote {jsonFile.FullName}");
            }

            if (parsed.GetValue(plot) is { } plotFile)
            {
                Plots.Bars(plotFile.FullName, $"{report.Protocol}: nDCG@{report.K} per model", $"nDCG@{report.K}",
                    report.Results.Select(r => r.Algorithm).ToArray(), report.Results.Select(r => r.Metrics.Ndcg).ToArray());
                context.Output.WriteLine($"wrote {plotFile.FullName}");
            }

            return 0;
        });
        return command;
    }
}

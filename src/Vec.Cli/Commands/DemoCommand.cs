using System.CommandLine;
using System.Globalization;
using Vec.Cli.Demo;
using Vec.Cli.Output;

namespace Vec.Cli.Commands;

/// <summary>
/// <c>vecrec demo</c>: the main job on a generated catalog (or MovieLens with <c>--data</c>): embeddings, an IVF-PQ index,
/// CF, content and hybrid recommenders, warm and cold-start evaluation, sample recommendations and a report folder.
/// </summary>
internal static class DemoCommand
{
    private const long MaxItemsTimesUsers = 500_000_000;

    public static Command Create(CliContext context)
    {
        var items = new Option<int>("--items") { Description = "Items of the generated catalog (not with --data).", DefaultValueFactory = _ => 3000, HelpName = "N" }
            .Must(v => v >= 20 && v <= 100_000, "must be an integer in 20..100000");
        var users = new Option<int>("--users") { Description = "Users of the generated data.", DefaultValueFactory = _ => 1500, HelpName = "N" }
            .Must(v => v >= 2 && v <= 100_000, "must be an integer in 2..100000");
        var seed = new Option<int>("--seed") { Description = "Seed of the generated data and of the splits.", DefaultValueFactory = _ => 42, HelpName = "S" };
        var k = CliOptions.Positive("--k", "Cut-off of the ranking metrics and list length.", 10).Must(v => v <= 1000, "must be at most 1000");
        var model = CliOptions.InputFolder("--model", $"Sentence-transformers ONNX model folder (default: ${Vec.Embed.TextEncoders.ModelDirectoryVariable}, then the model cache, else the hashing encoder).", required: false);
        var hashing = new Option<bool>("--hashing") { Description = "Use the model-free hashing TF-IDF encoder even when a model is available." };
        var data = CliOptions.InputFolder("--data", "Run on MovieLens instead of generated data: a folder with u.data + u.item (100K) or ratings.csv + movies.csv.", required: false);
        var output = new Option<DirectoryInfo>("--out")
        {
            Description = "Report folder (report.md, PNG charts, results.json); created if missing.",
            DefaultValueFactory = _ => new DirectoryInfo("vecrec-demo-report"),
            HelpName = "DIR",
        };
        output.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<DirectoryInfo>() is { } dir && File.Exists(dir.FullName)) r.AddError($"--out '{dir.FullName}' is a file, not a folder");
        });
        var backend = new Option<string?>("--backend") { Description = "Kernel backend (see 'vecrec backends'); default: the best available.", HelpName = "NAME" };
        var query = new Option<string?>("--query") { Description = "Free-text query to show (default: a space-adventure query).", HelpName = "TEXT" };
        var cf = new Option<string>("--cf")
        {
            Description = "Collaborative model, shown alone and inside the hybrid.",
            DefaultValueFactory = _ => "als",
            HelpName = "NAME",
        }.AcceptOnlyFromAmong(DemoPipeline.CfModels);
        var json = CliOptions.Json();

        var command = new Command("demo", "Run the main job: generated catalog (or MovieLens with --data), embeddings, IVF-PQ, CF + content + hybrid recommenders, evaluation and a report folder.")
        {
            items, users, seed, k, model, hashing, data, output, backend, query, cf, json,
        };
        command.SetAction(parsed =>
        {
            var started = System.Diagnostics.Stopwatch.StartNew();
            string? dataDir = parsed.GetValue(data)?.FullName;
            if (dataDir is not null && (IsGiven(parsed, items) || IsGiven(parsed, users)))
                throw new CliException("--items and --users shape the generated catalog; they cannot be combined with --data");
            if (dataDir is null && (long)parsed.GetValue(items) * parsed.GetValue(users) > MaxItemsTimesUsers)
                throw new CliException(string.Create(CultureInfo.InvariantCulture, $"--items x --users must be at most {MaxItemsTimesUsers:N0} (every user weighs every item when the data is generated)"));
            if (parsed.GetValue(hashing) && parsed.GetValue(model) is not null)
                throw new CliException("--hashing and --model exclude each other");
            string? q = parsed.GetValue(query);
            if (q is not null && string.IsNullOrWhiteSpace(q)) throw new CliException("--query must not be empty");
            var settings = new DemoSettings(parsed.GetValue(items), parsed.GetValue(users), parsed.GetValue(seed), parsed.GetValue(k),
                parsed.GetValue(model)?.FullName, parsed.GetValue(hashing), dataDir, parsed.GetValue(output)!.FullName, parsed.GetValue(backend), q, parsed.GetValue(cf)!);

            DemoResults results = DemoPipeline.Run(context, settings);
            DemoReport.Print(context, results);
            if (parsed.GetValue(json) is { } jsonFile) CliJson.Write(context, jsonFile.FullName, results);
            context.Output.WriteLine($"report: {Path.Combine(results.ReportFolder, DemoReport.Markdown)}");
            context.Output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"total: {started.Elapsed.TotalSeconds:F1} s"));
            return 0;
        });
        return command;
    }

    private static bool IsGiven<T>(ParseResult parsed, Option<T> option) => parsed.GetResult(option) is { Implicit: false };
}

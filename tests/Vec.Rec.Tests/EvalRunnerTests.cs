using System.Globalization;
using System.Text.Json;
using Vec.Rec.Evaluation;
using Vec.Rec.Models;
using Xunit;

namespace Vec.Rec.Tests;

/// <summary>Tests that redirect the process-wide console run one at a time.</summary>
[CollectionDefinition("Console", DisableParallelization = true)]
public sealed class ConsoleCollection;

/// <summary>The evaluation runner, its report formats, and <c>vecrec eval</c>.</summary>
[Collection("Console")]
public sealed class EvalRunnerTests
{
    private static EvaluationReport RunMsr(params string[] algorithms) =>
        EvaluationRunner.Run(new EvaluationOptions { DataDirectory = SharedData.MovieLens100K!, Algorithms = algorithms });

    [MovieLensFact]
    public void Runner_gives_the_numbers_of_the_direct_calls()
    {
        EvaluationReport report = RunMsr("pop", "sar");
        Assert.Equal(new DataChecksums(75_066, 24_934, 943, 1_682, 1_682, 0), report.Data);
        Assert.Equal(("msr", "ml100k", 10, 42), (report.Protocol, report.Format, report.K, report.Seed));
        Assert.Equal(["pop", "sar"], report.Results.Select(r => r.Algorithm));
        Assert.All(report.Results, r => Assert.Equal("train-items", r.Candidates));
        Assert.All(report.Results, r => Assert.True(r.FitSeconds >= 0 && r.RecommendSeconds > 0));

        (Interactions train, Interactions test) = SharedData.Msr;
        using var pop = new MostPopular();
        pop.Fit(train);
        using var sar = new Sar();
        sar.Fit(train);
        Assert.Equal(Evaluator.Evaluate(pop, test), report.Results[0].Metrics);
        Assert.Equal(Evaluator.Evaluate(sar, test), report.Results[1].Metrics);
        Assert.Equal(0.114038, report.Results[1].Metrics.Map, 0.000001);
    }

    [MovieLensFact]
    public void Cold_item_protocol_ranks_cold_then_mixed_candidates()
    {
        EvaluationReport report = EvaluationRunner.Run(new EvaluationOptions
        {
            DataDirectory = SharedData.MovieLens100K!,
            Protocol = EvaluationProtocol.ColdItems,
            Algorithms = ["pop"],
            K = 5,
        });
        Assert.Equal(new DataChecksums(78_762, 21_238, 943, 1_682, 1_346, 336), report.Data);
        Assert.Equal(["cold", "mixed"], report.Results.Select(r => r.Candidates));
        Assert.Equal(5, report.Results[0].Metrics.K);
        // Popularity scores every cold item 0 (no training data), so cold lists are the lowest cold ids: some hits.
        Assert.True(report.Results[0].Metrics.Precision > 0.05);
        // Mixed lists are filled by warm popular items; only cold items are relevant, so no hits.
        Assert.Equal(0, report.Results[1].Metrics.Precision);
    }

    [Fact]
    public void Bad_options_are_rejected_before_loading()
    {
        var e = Assert.Throws<ArgumentException>("options", () => EvaluationRunner.Run(new EvaluationOptions { DataDirectory = "/nonexistent", Algorithms = ["pop", "bogus"] }));
        Assert.Contains("bogus", e.Message);
        Assert.Contains("sar", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>("options", () => EvaluationRunner.Run(new EvaluationOptions { DataDirectory = "/x", K = 0 }));
        Assert.Throws<ArgumentException>("options", () => EvaluationRunner.Run(new EvaluationOptions { DataDirectory = "/x", Format = "csv" }));
        Assert.Throws<ArgumentException>("options", () => EvaluationRunner.Run(new EvaluationOptions { DataDirectory = "/x", Algorithms = ["pop", "pop"] }));
        Assert.Throws<DirectoryNotFoundException>(() => EvaluationRunner.Run(new EvaluationOptions { DataDirectory = "/nonexistent-vecrec", Algorithms = ["pop"] }));
        Assert.Throws<ArgumentException>("name", () => EvaluationRunner.ParseProtocol("random"));
        Assert.Equal(EvaluationProtocol.ColdItems, EvaluationRunner.ParseProtocol("cold-items"));
    }

    [Fact]
    public void Runner_works_on_a_csv_data_set()
    {
        using var dir = new TempFolder();
        // 8 items; every user rates items 1..4 (two ratings per item go to train, so every item has training data).
        var movies = new List<string> { "movieId,title,genres" };
        for (int i = 1; i <= 8; i++) movies.Add($"{i},Movie {i} ({1990 + i}),Drama");
        var ratings = new List<string> { "userId,movieId,rating,timestamp" };
        for (int u = 1; u <= 6; u++)
        {
            for (int i = 1; i <= 8; i++)
            {
                if ((u + i) % 3 != 0) ratings.Add($"{u},{i},{1 + (u * i) % 5},{1000 + u * 10 + i}");
            }
        }

        dir.Write("movies.csv", string.Join("\r\n", movies) + "\r\n");
        dir.Write("ratings.csv", string.Join("\n", ratings) + "\n");
        EvaluationReport report = EvaluationRunner.Run(new EvaluationOptions { DataDirectory = dir.Path, Format = "mlcsv", Algorithms = ["sar"], K = 2 });
        Assert.Equal(ratings.Count - 1, report.Data.TrainRows + report.Data.TestRows);
        Assert.Equal((6, 8), (report.Data.Users, report.Data.Items));
        Assert.Single(report.Results);
        Assert.InRange(report.Results[0].Metrics.Precision, 0, 1);
    }

    [MovieLensFact]
    public void Json_round_trips_and_holds_the_printed_figures()
    {
        EvaluationReport report = RunMsr("pop", "sar");
        using var dir = new TempFolder();
        string path = Path.Combine(dir.Path, "report.json");
        report.WriteJson(path);
        Assert.Equal(["report.json"], Directory.GetFiles(dir.Path).Select(Path.GetFileName));
        string json = File.ReadAllText(path);
        EvaluationReport back = EvaluationReport.FromJson(json);
        Assert.Equal(report.Data, back.Data);
        Assert.Equal(report.Results.Select(r => r.Metrics), back.Results.Select(r => r.Metrics));

        using JsonDocument doc = JsonDocument.Parse(json);
        JsonElement sar = doc.RootElement.GetProperty("results")[1];
        Assert.Equal("sar", sar.GetProperty("algorithm").GetString());
        double map = sar.GetProperty("metrics").GetProperty("map").GetDouble();
        Assert.Equal(24_934, doc.RootElement.GetProperty("data").GetProperty("testRows").GetInt32());

        string table = report.ToTable();
        string sarLine = table.Split('\n').Single(l => l.StartsWith("sar ", StringComparison.Ordinal));
        Assert.Contains(map.ToString("F6", CultureInfo.InvariantCulture), sarLine);
        Assert.Contains("0.114038", sarLine);
        Assert.Contains("0.393819", sarLine);
        Assert.Contains("75066", table);

        Assert.Throws<DirectoryNotFoundException>(() => report.WriteJson(Path.Combine(dir.Path, "missing", "r.json")));
    }
}

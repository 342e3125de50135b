using System.Text.Json;
using Vec.Rec.Evaluation;

namespace Vec.Cli.Tests;

/// <summary><c>vecrec eval</c> on the real MovieLens-100k: the published SAR row, the JSON file and the chart.</summary>
public class EvalCommandTests
{
    [MovieLensFact]
    public void Eval_prints_the_table_writes_json_holding_the_printed_figures_and_plots()
    {
        using var dir = new TempFolder();
        string json = dir.File_("eval.json"), png = dir.File_("eval.png");
        var run = CliRunner.Run("eval", "--data", Shared.MovieLens100K!, "--algo", "pop,sar", "--k", "10", "--json", json, "--plot", png);
        Assert.True(run.Code == 0, run.Stderr);
        Assert.Equal("", run.Stderr);
        foreach (string figure in new[] { "0.114038", "0.393819", "0.340615", "0.185377" })
            Assert.Contains(figure, run.Stdout);
        EvaluationReport report = EvaluationReport.FromJson(File.ReadAllText(json));
        var sar = report.Results.Single(r => r.Algorithm == "sar").Metrics;
        Assert.Equal(0.340615, sar.Precision, 0.000001);
        Assert.Contains(sar.Ndcg.ToString("F6", System.Globalization.CultureInfo.InvariantCulture), run.Stdout);
        using (JsonDocument.Parse(File.ReadAllText(json))) { }
        byte[] head = File.ReadAllBytes(png)[..8];
        Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }, head);
    }
}

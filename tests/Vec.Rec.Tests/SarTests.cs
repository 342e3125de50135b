using System.Diagnostics;
using Vec.Rec.Evaluation;
using Vec.Rec.Models;
using Xunit;
using Xunit.Abstractions;

namespace Vec.Rec.Tests;

/// <summary>SAR: the published benchmark row, the similarity and decay by hand, explanations.</summary>
public sealed class SarTests(ITestOutputHelper output)
{
    private const long Day = 86_400;

    [MovieLensFact]
    public void Reproduces_the_published_benchmark_row()
    {
        RatingDataset data = SharedData.Ml100k;
        RatingSplit split = Splits.Stratified(data.Ratings);
        IdMap users = data.Users(), items = data.Items();
        Interactions train = Interactions.Build(split.Train, users, items), test = Interactions.Build(split.Test, users, items);
        using var sar = new Sar();
        var sw = Stopwatch.StartNew();
        sar.Fit(train);
        double fit = sw.Elapsed.TotalSeconds;
        sw.Restart();
        RankingMetrics m = Evaluator.Evaluate(sar, test);
        double eval = sw.Elapsed.TotalSeconds;
        output.WriteLine($"{m}; fit {fit:F3} s, recommend+evaluate {eval:F3} s");
        Assert.Equal(943, m.Users);
        Assert.Equal(0.114038, m.Map, 0.00001);
        Assert.Equal(0.393819, m.Ndcg, 0.00001);
        Assert.Equal(0.340615, m.Precision, 0.00001);
        Assert.Equal(0.185377, m.Recall, 0.00001);
    }

    [MovieLensFact]
    public void Without_decay_gives_the_computed_reference_row()
    {
        RatingDataset data = SharedData.Ml100k;
        RatingSplit split = Splits.Stratified(data.Ratings);
        IdMap users = data.Users(), items = data.Items();
        Interactions train = Interactions.Build(split.Train, users, items), test = Interactions.Build(split.Test, users, items);
        using var sar = new Sar(new SarOptions { TimeDecay = false });
        sar.Fit(train);
        RankingMetrics m = Evaluator.Evaluate(sar, test);
        output.WriteLine($"{m}");
        // recsys-protocols.md §1.3, "SAR jaccard without time decay" (an independent re-implementation).
        Assert.Equal(0.115363, m.Map, 0.00001);
        Assert.Equal(0.396173, m.Ndcg, 0.00001);
        Assert.Equal(0.342206, m.Precision, 0.00001);
        Assert.Equal(0.186896, m.Recall, 0.00001);
    }
}

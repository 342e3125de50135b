using System.Diagnostics;
using System.Globalization;
using Vec.Rec.Evaluation;
using Vec.Rec.Internals;
using Vec.Rec.Models;
using Xunit;

namespace Vec.Rec.Tests;

/// <summary>A fact that runs only when VECREC_TUNE names an output file (the hyperparameter search; minutes, not a test).</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class TuningFactAttribute : FactAttribute
{
    /// <summary>Sets Skip unless VECREC_TUNE is set and the data is present.</summary>
    public TuningFactAttribute()
    {
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("VECREC_TUNE"))) Skip = "Set VECREC_TUNE=<output file> to run the CF hyperparameter search.";
        else if (SharedData.MovieLens100K is null) Skip = "../shared/data/movielens-100k is absent.";
    }
}

/// <summary>
/// The CF hyperparameter search of docs/recommenders-cf-tuning.md: every setting is fitted on 75 % of each item's TRAIN
/// rows (Splits.Stratified(train, 0.75, seed 43)) and scored on the other 25 % of TRAIN; the setting with the best
/// validation nDCG@10 is then fitted on the full train split and scored once on test.
/// </summary>
public sealed class CfTuning
{
    private static (Interactions Train, Interactions Test, Interactions ValTrain, Interactions Val) Data()
    {
        RatingDataset data = SharedData.Ml100k;
        RatingSplit split = Splits.Stratified(data.Ratings);
        RatingSplit val = Splits.Stratified(split.Train, 0.75, 43);
        IdMap users = data.Users(), items = data.Items();
        return (Interactions.Build(split.Train, users, items), Interactions.Build(split.Test, users, items),
            Interactions.Build(val.Train, users, items), Interactions.Build(val.Test, users, items));
    }

    private static string Fmt(RankingMetrics m) => string.Create(CultureInfo.InvariantCulture,
        $"MAP {m.Map:F6} nDCG {m.Ndcg:F6} P {m.Precision:F6} R {m.Recall:F6}");

    private static void Search<T>(string name, IEnumerable<T> grid, Func<T, Recommender> create)
    {
        string path = Environment.GetEnvironmentVariable("VECREC_TUNE")!;
        var (train, test, valTrain, val) = Data();
        T? best = default;
        double bestNdcg = -1;
        foreach (T setting in grid)
        {
            using Recommender model = create(setting);
            model.Fit(valTrain);
            RankingMetrics m = Evaluator.Evaluate(model, val);
            File.AppendAllText(path, $"{name} val {setting} -> {Fmt(m)}\n");
            if (m.Ndcg > bestNdcg)
            {
                bestNdcg = m.Ndcg;
                best = setting;
            }
        }

        using Recommender final = create(best!);
        var sw = Stopwatch.StartNew();
        final.Fit(train);
        double fit = sw.Elapsed.TotalSeconds;
        sw.Restart();
        final.RecommendBatch([.. Enumerable.Range(0, train.UserCount)], 10);
        double rec = sw.Elapsed.TotalSeconds;
        RankingMetrics t = Evaluator.Evaluate(final, test);
        File.AppendAllText(path, string.Create(CultureInfo.InvariantCulture,
            $"{name} CHOSEN {best} (val nDCG {bestNdcg:F6}) TEST {Fmt(t)} fit {fit:F2}s recommend-all {rec:F3}s\n"));
    }

    [TuningFact]
    public void Tune_itemknn() => Search("itemknn",
        from w in new[] { InteractionWeighting.Binary, InteractionWeighting.TfIdf, InteractionWeighting.Bm25 }
        from k in new[] { 50, 100, 200, 400 }
        from s in new[] { 0f, 10f, 50f, 100f }
        select new ItemKnnOptions { Weighting = w, Neighbors = k, Shrink = s },
        o => new ItemKnn(o));

    [TuningFact]
    public void Tune_userknn() => Search("userknn",
        from w in new[] { InteractionWeighting.Binary, InteractionWeighting.Bm25 }
        from k in new[] { 50, 100, 200, 400 }
        from s in new[] { 0f, 10f }
        select new UserKnnOptions { Weighting = w, Neighbors = k, Shrink = s },
        o => new UserKnn(o));

    [TuningFact]
    public void Tune_rp3b() => Search("rp3b",
        from a in new[] { 0.6f, 0.8f, 1.0f, 1.2f }
        from b in new[] { 0f, 0.2f, 0.3f, 0.4f, 0.5f }
        from k in new[] { 100, 200, 400 }
        from norm in new[] { false, true }
        select new Rp3BetaOptions { Alpha = a, Beta = b, Neighbors = k, NormalizeSimilarity = norm },
        o => new Rp3Beta(o));

    [TuningFact]
    public void Tune_ease() => Search("ease",
        from w in new[] { InteractionWeighting.Binary, InteractionWeighting.Rating }
        from l in new[] { 50f, 100f, 200f, 300f, 500f, 750f, 1000f, 1500f, 2500f }
        select new EaseOptions { Weighting = w, Lambda = w == InteractionWeighting.Rating ? l * 10 : l },
        o => new Ease(o));

    [TuningFact]
    public void Tune_als() => Search("als",
        from f in new[] { 32, 64, 128 }
        from r in new[] { 1f, 10f, 50f }
        from a in new[] { 1f, 5f, 20f }
        select new ImplicitAlsOptions { Factors = f, Regularization = r, Alpha = a },
        o => new ImplicitAls(o));

    // Stage 2: the stage-1 optimum lay on the grid's edge (RP3beta: beta 0.5, 400 neighbours; ALS: regularisation 50),
    // so the grid is extended beyond it.
    [TuningFact]
    public void Tune_rp3b_stage2() => Search("rp3b-2",
        from a in new[] { 0.6f, 0.8f, 1.0f }
        from b in new[] { 0.5f, 0.6f, 0.7f }
        from k in new[] { 400, 800 }
        select new Rp3BetaOptions { Alpha = a, Beta = b, Neighbors = k },
        o => new Rp3Beta(o));

    [TuningFact]
    public void Tune_als_stage2() => Search("als-2",
        from r in new[] { 30f, 50f, 100f, 200f }
        from a in new[] { 3f, 5f, 10f }
        select new ImplicitAlsOptions { Factors = 128, Regularization = r, Alpha = a },
        o => new ImplicitAls(o));
}

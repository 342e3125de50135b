using System.Diagnostics;
using System.Globalization;
using Vec.Rec.Evaluation;
using Vec.Rec;
using Vec.Rec.Models;

namespace Vec.Bench;

/// <summary>
/// The CF hyperparameter search of docs/recommenders-cf-tuning.md: every setting is fitted on 75 % of each item's TRAIN
/// rows (Splits.Stratified(train, 0.75, seed 43)) and scored on the other 25 % of TRAIN; the setting with the best
/// validation nDCG@10 is then fitted on the full train split and scored once on test.
/// </summary>
internal static class CfTuning
{
    /// <summary><c>Vec.Bench tune-cf --out FILE [--model itemknn|userknn|rp3b|ease|als|rp3b-2|als-2]...</c>: runs the grids (minutes).</summary>
    public static int Run(string[] args)
    {
        string? output = null;
        var only = new List<string>();
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--out": output = BenchCli.Value(args, ref i); break;
                case "--model": only.Add(BenchCli.Value(args, ref i)); break;
                default: throw new ArgumentException($"unknown option '{args[i]}' (tune-cf --out FILE [--model NAME]...)", nameof(args));
            }
        }

        _path = Path.GetFullPath(output ?? throw new ArgumentException("tune-cf needs --out FILE", nameof(args)));
        var grids = new (string Name, Action Run)[]
        {
            ("itemknn", Tune_itemknn), ("userknn", Tune_userknn), ("rp3b", Tune_rp3b), ("ease", Tune_ease), ("als", Tune_als),
            ("rp3b-2", Tune_rp3b_stage2), ("als-2", Tune_als_stage2),
        };
        foreach (var (name, run) in grids)
        {
            if (only.Count == 0 || only.Contains(name)) run();
        }

        Console.WriteLine($"wrote {_path}");
        return 0;
    }

    private static string _path = "";

    private static (Interactions Train, Interactions Test, Interactions ValTrain, Interactions Val) Data()
    {
        RatingDataset data = MovieLens.Load100K(Path.Combine(Vec.Cli.Bench.Data.SharedDirectory(), "data", "movielens-100k"));
        RatingSplit split = Splits.Stratified(data.Ratings);
        RatingSplit val = Splits.Stratified(split.Train, 0.75, 43);
        (Interactions train, Interactions test) = data.ToMatrices(split.Train, split.Test);
        (Interactions valTrain, Interactions valTest) = data.ToMatrices(val.Train, val.Test);
        return (train, test, valTrain, valTest);
    }

    private static string Fmt(RankingMetrics m) => string.Create(CultureInfo.InvariantCulture,
        $"MAP {m.Map:F6} nDCG {m.Ndcg:F6} P {m.Precision:F6} R {m.Recall:F6}");

    private static void Search<T>(string name, IEnumerable<T> grid, Func<T, Recommender> create)
    {
        string path = _path;
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

    private static void Tune_itemknn() => Search("itemknn",
        from w in new[] { InteractionWeighting.Binary, InteractionWeighting.TfIdf, InteractionWeighting.Bm25 }
        from k in new[] { 50, 100, 200, 400 }
        from s in new[] { 0f, 10f, 50f, 100f }
        select new ItemKnnOptions { Weighting = w, Neighbors = k, Shrink = s },
        o => new ItemKnn(o));

    private static void Tune_userknn() => Search("userknn",
        from w in new[] { InteractionWeighting.Binary, InteractionWeighting.Bm25 }
        from k in new[] { 50, 100, 200, 400 }
        from s in new[] { 0f, 10f }
        select new UserKnnOptions { Weighting = w, Neighbors = k, Shrink = s },
        o => new UserKnn(o));

    private static void Tune_rp3b() => Search("rp3b",
        from a in new[] { 0.6f, 0.8f, 1.0f, 1.2f }
        from b in new[] { 0f, 0.2f, 0.3f, 0.4f, 0.5f }
        from k in new[] { 100, 200, 400 }
        from norm in new[] { false, true }
        select new Rp3BetaOptions { Alpha = a, Beta = b, Neighbors = k, NormalizeSimilarity = norm },
        o => new Rp3Beta(o));

    private static void Tune_ease() => Search("ease",
        from w in new[] { InteractionWeighting.Binary, InteractionWeighting.Rating }
        from l in new[] { 50f, 100f, 200f, 300f, 500f, 750f, 1000f, 1500f, 2500f }
        select new EaseOptions { Weighting = w, Lambda = w == InteractionWeighting.Rating ? l * 10 : l },
        o => new Ease(o));

    private static void Tune_als() => Search("als",
        from f in new[] { 32, 64, 128 }
        from r in new[] { 1f, 10f, 50f }
        from a in new[] { 1f, 5f, 20f }
        select new ImplicitAlsOptions { Factors = f, Regularization = r, Alpha = a },
        o => new ImplicitAls(o));

    // Stage 2: the stage-1 optimum lay on the grid's edge (RP3beta: beta 0.5, 400 neighbours; ALS: regularisation 50),
    // so the grid is extended beyond it.
    private static void Tune_rp3b_stage2() => Search("rp3b-2",
        from a in new[] { 0.6f, 0.8f, 1.0f }
        from b in new[] { 0.5f, 0.6f, 0.7f }
        from k in new[] { 400, 800 }
        select new Rp3BetaOptions { Alpha = a, Beta = b, Neighbors = k },
        o => new Rp3Beta(o));

    private static void Tune_als_stage2() => Search("als-2",
        from r in new[] { 30f, 50f, 100f, 200f }
        from a in new[] { 3f, 5f, 10f }
        select new ImplicitAlsOptions { Factors = 128, Regularization = r, Alpha = a },
        o => new ImplicitAls(o));
}

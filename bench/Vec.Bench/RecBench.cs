using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Vec.Rec;
using Vec.Rec.Evaluation;
using Vec.Rec.Models;

namespace Vec.Bench;

/// <summary>
/// <c>rec</c>: fit time, recommend-all time (top-10 for every user, seen items removed) and test metrics of every CF
/// recommender on the MovieLens-100k benchmark split, ALS time per sweep, and with <c>--peer</c> the reference NumPy /
/// SciPy formulations of EASE and cosine item-kNN on the same training matrix in the same run
/// (<c>bench/peers/rec_numpy.py</c>), with a check that both sides recommend the same items.
/// </summary>
internal static class RecBench
{
    private const string Usage = "usage: Vec.Bench rec [--data DIR] [--algo pop,sar,...] [--repeats N] [--threads N] [--peer] [--python PATH] [--json FILE]";

    public static int Run(string[] args)
    {
        string data = Path.Combine(Data.SharedDirectory(), "data", "movielens-100k");
        string[] algos = [.. RecommenderRegistry.Names.Where(n => n is not ("content" or "hybrid" or "genre"))];
        int repeats = 5, threads = Math.Min(2, Environment.ProcessorCount);
        bool peer = false;
        string python = "/usr/bin/python3";
        string? json = null;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--data": data = BenchCli.Value(args, ref i); break;
                case "--algo": algos = BenchCli.Value(args, ref i).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries); break;
                case "--repeats": repeats = BenchCli.Positive(args, ref i); break;
                case "--threads": threads = BenchCli.Positive(args, ref i); break;
                case "--peer": peer = true; break;
                case "--python": python = BenchCli.Value(args, ref i); break;
                case "--json": json = BenchCli.Value(args, ref i); break;
                default: throw new ArgumentException($"unknown option '{args[i]}'\n{Usage}", nameof(args));
            }
        }

        RatingDataset ds = MovieLens.Load100K(data);
        RatingSplit split = Splits.Stratified(ds.Ratings);
        (Interactions train, Interactions test) = ds.ToMatrices(split.Train, split.Test);
        int[] all = [.. Enumerable.Range(0, train.UserCount)];
        var rows = new List<RecRow>();
        var notes = new List<string>();
        Console.WriteLine($"# rec: MovieLens-100k, MS Recommenders split (train {split.Train.Count}, test {split.Test.Count}), top-10 for all {all.Length} users; best of {repeats}; {Environment.ProcessorCount} cores");
        Console.WriteLine();
        const string Header = "| model | fit s | recommend-all s | per sweep s | MAP | nDCG@10 | P@10 | R@10 | peer | peer fit s | peer recommend s | fit ratio | recommend ratio | same lists |";
        Console.WriteLine(Header);
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|");

        Dictionary<string, (double Fit, double Rec, string File)>? peerResults = null;
        string dir = Directory.CreateTempSubdirectory("vecrec-rec-peer-").FullName;
        try
        {
            if (peer) peerResults = RunPeer(python, train, threads, repeats, new EaseOptions().Lambda, dir, notes);
            var jobs = algos.Select(a => (Name: a, Make: (Func<Recommender>)(() => RecommenderRegistry.Create(a)), Peer: a == "ease" ? "ease" : null)).ToList();
            // The peer's item-kNN is plain cosine on the binary matrix with all neighbours: run the same configuration.
            jobs.Add(("itemknn-cosine", () => new ItemKnn(new ItemKnnOptions { Neighbors = train.ItemCount, Shrink = 0, Weighting = InteractionWeighting.Binary }), "itemknn-cosine"));
            foreach (var (name, make, peerName) in jobs)
            {
                double fit = double.MaxValue, rec = double.MaxValue;
                Recommender? model = null;
                for (int r = 0; r < repeats; r++)
                {
                    model?.Dispose();
                    model = make();
                    long t0 = Stopwatch.GetTimestamp();
                    model.Fit(train);
                    fit = Math.Min(fit, Stopwatch.GetElapsedTime(t0).TotalSeconds);
                }

                RecommendationBatch batch = model!.RecommendBatch(all, 10);
                for (int r = 0; r < repeats; r++)
                {
                    long t0 = Stopwatch.GetTimestamp();
                    batch = model.RecommendBatch(all, 10);
                    rec = Math.Min(rec, Stopwatch.GetElapsedTime(t0).TotalSeconds);
                }

                RankingMetrics m = Evaluator.Evaluate(model, test);
                double? sweep = model is ImplicitAls als ? fit / als.Options.Iterations : null;
                var row = new RecRow(name, fit, rec, sweep, m.Map, m.Ndcg, m.Precision, m.Recall, null, null, null, null);
                if (peerName is not null && peerResults is not null && peerResults.TryGetValue(peerName, out var p))
                {
                    row = row with { Peer = peerName, PeerFitSeconds = p.Fit, PeerRecommendSeconds = p.Rec, SameLists = SameLists(batch, p.File) };
                }

                model.Dispose();
                rows.Add(row);
                Console.WriteLine(Format(row));
            }
        }
        finally
        {
            Directory.Delete(dir, true);
        }

        foreach (string n in notes) Console.WriteLine(n);
        if (json is not null)
        {
            var sb = new StringBuilder();
            sb.AppendLine("# rec: MovieLens-100k recommenders, MS Recommenders split, top-10 for all 943 users").AppendLine();
            sb.AppendLine(Header).AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|");
            foreach (RecRow r in rows) sb.AppendLine(Format(r));
            foreach (string n in notes) sb.AppendLine().AppendLine(n);
            BenchCli.WriteReport(json, new { Machine = MachineInfo.Current(threads, ["simd"]), Rows = rows, Notes = notes }, sb.ToString(), Console.Out);
        }

        return 0;
    }

    private static string Format(RecRow r) => string.Create(CultureInfo.InvariantCulture,
        $"| {r.Model} | {r.FitSeconds:F3} | {r.RecommendSeconds:F4} | {(r.SecondsPerSweep is double s ? s.ToString("F3", CultureInfo.InvariantCulture) : "")} | {r.Map:F6} | {r.Ndcg:F6} | {r.Precision:F6} | {r.Recall:F6} | {r.Peer} | {Opt(r.PeerFitSeconds, "F3")} | {Opt(r.PeerRecommendSeconds, "F4")} | {(r.PeerFitSeconds is double pf ? (pf / r.FitSeconds).ToString("F2", CultureInfo.InvariantCulture) + "x" : "")} | {(r.PeerRecommendSeconds is double pr ? (pr / r.RecommendSeconds).ToString("F2", CultureInfo.InvariantCulture) + "x" : "")} | {(r.SameLists is double sl ? sl.ToString("P1", CultureInfo.InvariantCulture) : "")} |");

    private static string Opt(double? v, string format) => v is double x ? x.ToString(format, CultureInfo.InvariantCulture) : "";

    /// <summary>Share of users whose top-10 list (as a set) is the same on both sides.</summary>
    private static double SameLists(RecommendationBatch ours, string file)
    {
        byte[] raw = File.ReadAllBytes(file);
        int k = ours.K, same = 0, n = ours.UserIndices.Count;
        for (int u = 0; u < n; u++)
        {
            var theirs = new HashSet<int>();
            for (int j = 0; j < k; j++) theirs.Add(BitConverter.ToInt32(raw, (u * k + j) * 4));
            if (theirs.SetEquals(ours.ItemsOf(u).ToArray())) same++;
        }

        return same / (double)n;
    }

    private static Dictionary<string, (double, double, string)>? RunPeer(string python, Interactions train, int threads, int repeats, float lambda, string dir, List<string> notes)
    {
        string trainPath = Path.Combine(dir, "train.bin"), jsonPath = Path.Combine(dir, "peer.json");
        using (var w = new BinaryWriter(File.Create(trainPath)))
        {
            w.Write(train.UserCount);
            w.Write(train.ItemCount);
            w.Write(train.Count);
            for (int u = 0; u < train.UserCount; u++)
            {
                foreach (int i in train.ItemsOf(u))
                {
                    w.Write(u);
                    w.Write(i);
                    w.Write(1f);
                }
            }
        }

        var psi = new ProcessStartInfo(python) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string a in new[] { Path.Combine(Data.RepoRoot(), "bench", "peers", "rec_numpy.py"), "--train", trainPath, "--threads", threads.ToString(CultureInfo.InvariantCulture),
                     "--repeats", repeats.ToString(CultureInfo.InvariantCulture), "--ease-lambda", lambda.ToString(CultureInfo.InvariantCulture), "--json", jsonPath, "--lists-out", Path.Combine(dir, "lists") })
            psi.ArgumentList.Add(a);
        psi.Environment["OPENBLAS_CORETYPE"] = Data.BlasCoreType;
        using Process p = Process.Start(psi)!;
        p.StandardOutput.ReadToEnd();
        string err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0)
        {
            notes.Add($"NumPy peer failed (exit {p.ExitCode}): {err.Trim().Split('\n').LastOrDefault()}");
            return null;
        }

        using JsonDocument doc = JsonDocument.Parse(File.ReadAllBytes(jsonPath));
        notes.Add($"Peer: {doc.RootElement.GetProperty("peer").GetString()}, {threads} BLAS threads, OPENBLAS_CORETYPE={Data.BlasCoreType}; EASE lambda {lambda.ToString(CultureInfo.InvariantCulture)} on both sides; \"same lists\" = share of users whose top-10 sets are identical.");
        var result = new Dictionary<string, (double, double, string)>();
        foreach (JsonElement r in doc.RootElement.GetProperty("results").EnumerateArray())
            result[r.GetProperty("model").GetString()!] = (r.GetProperty("fit_s").GetDouble(), r.GetProperty("recommend_s").GetDouble(), r.GetProperty("lists_file").GetString()!);
        return result;
    }

    private sealed record RecRow(string Model, double FitSeconds, double RecommendSeconds, double? SecondsPerSweep, double Map, double Ndcg, double Precision, double Recall,
        string? Peer, double? PeerFitSeconds, double? PeerRecommendSeconds, double? SameLists);
}

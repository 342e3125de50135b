using System.Globalization;
using Vec.Rec;
using Vec.Rec.Evaluation;

namespace Vec.Cli;

/// <summary>
/// <c>vecrec eval</c>: splits a MovieLens data set by a protocol, fits the named recommenders, prints a table of the
/// ranking metrics and optionally writes them as JSON.
/// </summary>
internal static class Eval
{
    public static int Run(string[] args)
    {
        string? data = null, json = null, model = null;
        string format = "ml100k", protocol = "msr";
        string[] algorithms = [];
        int k = 10, seed = 42;
        for (int i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"option {args[i]} needs a value");
            int Integer(bool positive)
            {
                string v = Value();
                return int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out int x) && (!positive || x > 0)
                    ? x : throw new ArgumentException($"'{v}' is not a{(positive ? " positive" : "n")} integer");
            }

            switch (args[i])
            {
                case "--data": data = Value(); break;
                case "--format": format = Value(); break;
                case "--protocol": protocol = Value(); break;
                case "--algo": algorithms = Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries); break;
                case "--k": k = Integer(positive: true); break;
                case "--seed": seed = Integer(positive: false); break;
                case "--model": model = Value(); break;
                case "--json": json = Value(); break;
                default: throw new ArgumentException($"unknown option '{args[i]}'");
            }
        }

        foreach (string a in algorithms)
        {
            if (!RecommenderRegistry.Names.Contains(a))
                return Program.Fail($"unknown algorithm '{a}' (known: {string.Join(", ", RecommenderRegistry.Names)})");
        }

        if (format is not ("ml100k" or "mlcsv")) return Program.Fail($"unknown format '{format}' (ml100k or mlcsv)");
        EvaluationProtocol parsed;
        try
        {
            parsed = EvaluationRunner.ParseProtocol(protocol);
        }
        catch (ArgumentException)
        {
            return Program.Fail($"unknown protocol '{protocol}' (msr or cold-items)");
        }

        data ??= DefaultData();
        if (data is null) return Program.Fail("no --data given and no shared/data/movielens-100k found (set VECREC_SHARED)");
        if (!Directory.Exists(data)) return Program.Fail($"data folder '{data}' does not exist");
        if (json is not null)
        {
            string? dir = Path.GetDirectoryName(Path.GetFullPath(json));
            if (dir is null || !Directory.Exists(dir)) return Program.Fail($"folder of --json '{json}' does not exist");
        }

        if (model is not null && !Directory.Exists(model)) return Program.Fail($"model folder '{model}' does not exist");

        EvaluationReport report;
        try
        {
            report = EvaluationRunner.Run(new EvaluationOptions
            {
                DataDirectory = data,
                Format = format,
                Protocol = parsed,
                Algorithms = algorithms,
                K = k,
                ModelDirectory = model,
                Seed = seed,
            });
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            return Program.Fail(OneLine(e.Message));
        }

        Console.Write(report.ToTable());
        if (json is not null)
        {
            try
            {
                report.WriteJson(json);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return Program.Fail(OneLine(e.Message));
            }

            Console.WriteLine($"wrote {Path.GetFullPath(json)}");
        }

        return 0;
    }

    private static string OneLine(string s) => s.ReplaceLineEndings(" ");

    /// <summary>$VECREC_SHARED/data/movielens-100k, VECREC_SHARED defaulting to ../shared beside the current folder or the repository root.</summary>
    private static string? DefaultData()
    {
        static string? Ml(string? shared) => shared is null ? null : Path.Combine(shared, "data", "movielens-100k");
        string? env = Environment.GetEnvironmentVariable("VECREC_SHARED");
        if (!string.IsNullOrEmpty(env)) return Ml(env);
        var roots = new List<string> { Path.GetFullPath(Path.Combine(Environment.CurrentDirectory, "..", "shared")) };
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "VecRec.sln"))) dir = dir.Parent;
        if (dir?.Parent is not null) roots.Add(Path.Combine(dir.Parent.FullName, "shared"));
        dir = new DirectoryInfo(Environment.CurrentDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "VecRec.sln"))) dir = dir.Parent;
        if (dir?.Parent is not null) roots.Add(Path.Combine(dir.Parent.FullName, "shared"));
        return roots.Select(Ml).FirstOrDefault(Directory.Exists);
    }
}

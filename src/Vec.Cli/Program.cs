using System.Diagnostics;
using Vec.Kernels;

namespace Vec.Cli;

/// <summary>Entry point of the <c>vecrec</c> command line.</summary>
public static class Program
{
    /// <summary>Runs a command; returns the process exit code.</summary>
    public static int Main(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help")
        {
            Console.WriteLine("usage: vecrec demo [--items N] [--queries N] [--dim D] [--k K] [--backend NAME]");
            Console.WriteLine("       vecrec backends");
            Console.WriteLine("       vecrec eval [--data DIR] [--format ml100k|mlcsv] [--protocol msr|cold-items] [--algo pop,sar,...]");
            Console.WriteLine("                   [--k K] [--model DIR] [--seed N] [--json FILE]");
            return args.Length == 0 ? 1 : 0;
        }
        try
        {
            return args[0] switch
            {
                "demo" => Demo.Run(args[1..]),
                "backends" => ListBackends(),
                "eval" => Eval.Run(args[1..]),
                _ => Fail($"unknown command '{args[0]}' (try --help)"),
            };
        }
        catch (ArgumentException e)
        {
            return Fail(e.Message);
        }
    }

    internal static int Fail(string message)
    {
        Console.Error.WriteLine($"vecrec: {message}");
        return 2;
    }

    private static int ListBackends()
    {
        foreach (var b in KernelBackends.All)
            Console.WriteLine($"{b.Name,-12} {(b.IsAvailable ? "available" : "unavailable"),-12} {b.Description}");
        Console.WriteLine($"default: {KernelBackends.DefaultName} (set {KernelBackends.EnvironmentVariable} to force one)");
        return 0;
    }
}

/// <summary>
/// The demo at this stage of the library: a deterministic catalogue of item vectors with latent topics, a batch of
/// "user taste" queries, exact top-k retrieval on the default backend checked against the scalar reference, and
/// timings. Later stages add text embedding, IVF-PQ and recommenders to the same command.
/// </summary>
internal static class Demo
{
    public static int Run(string[] args)
    {
        int items = 20_000, queries = 200, dim = 384, k = 10;
        string? backendName = null;
        for (int i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"option {args[i]} needs a value");
            int Positive() { string v = Value(); return int.TryParse(v, out int x) && x > 0 ? x : throw new ArgumentException($"'{v}' is not a positive integer"); }
            switch (args[i])
            {
                case "--items": items = Positive(); break;
                case "--queries": queries = Positive(); break;
                case "--dim": dim = Positive(); break;
                case "--k": k = Positive(); break;
                case "--backend": backendName = Value(); break;
                default: throw new ArgumentException($"unknown option '{args[i]}'");
            }
        }

        using IVectorKernels kernels = backendName is null ? KernelBackends.CreateDefault() : KernelBackends.Create(backendName);
        Console.WriteLine($"backend: {kernels.Name} - {kernels.Description}");
        var (catalog, tastes) = Synthetic.Topics(items, queries, dim, topics: 24, seed: 42);
        kernels.L2Normalize(catalog, items, dim);
        kernels.L2Normalize(tastes, queries, dim);

        var sw = Stopwatch.StartNew();
        using VectorDatabase db = kernels.CreateDatabase(catalog, items, dim);
        double buildMs = sw.Elapsed.TotalMilliseconds;
        var ids = new int[queries * k];
        var scores = new float[queries * k];
        kernels.Search(db, tastes, queries, k, Metric.Cosine, ids, scores); // warm-up
        sw.Restart();
        kernels.Search(db, tastes, queries, k, Metric.Cosine, ids, scores);
        double searchMs = sw.Elapsed.TotalMilliseconds;

        // Check a sample of queries against the scalar reference.
        int check = Math.Min(queries, 20);
        using IVectorKernels reference = KernelBackends.Create("scalar");
        using VectorDatabase refDb = reference.CreateDatabase(catalog, items, dim);
        var refIds = new int[check * k];
        var refScores = new float[check * k];
        reference.Search(refDb, tastes.AsSpan(0, check * dim), check, k, Metric.Cosine, refIds, refScores);
        int agree = 0;
        for (int q = 0; q < check; q++)
            agree += ids.AsSpan(q * k, k).ToArray().Intersect(refIds.AsSpan(q * k, k).ToArray()).Count();

        Console.WriteLine($"catalogue: {items} items x {dim} dims; {queries} taste queries; top {k} by cosine");
        Console.WriteLine($"database build: {buildMs:F1} ms; batch search: {searchMs:F1} ms ({queries / (searchMs / 1000):F0} queries/s, {2.0 * queries * items * dim / (searchMs / 1000) / 1e9:F1} GFLOP/s)");
        Console.WriteLine($"agreement with scalar reference on {check} queries: {100.0 * agree / (check * k):F1}% of top-{k} ids");
        Console.WriteLine("sample recommendations (item id: cosine):");
        for (int q = 0; q < Math.Min(3, queries); q++)
            Console.WriteLine($"  user {q}: " + string.Join(", ", Enumerable.Range(0, Math.Min(k, 5)).Select(i => $"{ids[q * k + i]}: {scores[q * k + i]:F3}")));
        return agree == check * k ? 0 : 1;
    }
}

/// <summary>Deterministic synthetic data of low intrinsic dimension (like FAISS's SyntheticDataset).</summary>
internal static class Synthetic
{
    /// <summary>Items and queries as mixtures of <paramref name="topics"/> random directions plus a little noise.</summary>
    public static (float[] Items, float[] Queries) Topics(int items, int queries, int dim, int topics, int seed)
    {
        var rng = new Random(seed);
        double Gauss() => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
        var basis = new float[topics * dim];
        for (int i = 0; i < basis.Length; i++) basis[i] = (float)Gauss();
        float[] Make(int rows)
        {
            var x = new float[rows * dim];
            var w = new double[topics];
            for (int r = 0; r < rows; r++)
            {
                for (int t = 0; t < topics; t++) w[t] = Gauss();
                for (int j = 0; j < dim; j++)
                {
                    double s = 0.05 * Gauss();
                    for (int t = 0; t < topics; t++) s += w[t] * basis[t * dim + j];
                    x[r * dim + j] = (float)s;
                }
            }
            return x;
        }
        return (Make(items), Make(queries));
    }
}

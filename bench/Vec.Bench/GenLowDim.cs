using System.Diagnostics;
using System.Numerics.Tensors;
using System.Text.Json;
using Vec.Index.IO;
using Vec.Kernels;

namespace Vec.Bench;

/// <summary>
/// The <c>gen-lowdim</c> mode: writes a seeded data set of low intrinsic dimension for the ANN benchmark
/// (<c>base.fvecs</c>, <c>query.fvecs</c>, exact <c>groundtruth.ivecs</c> (L2) and <c>groundtruth_cosine.ivecs</c>,
/// 100 neighbours each, plus <c>info.json</c>).
/// </summary>
/// <remarks>
/// Points are drawn from a mixture of <c>clusters</c> Gaussians in an <c>intrinsic</c>-dimensional latent space: the
/// cluster weights are Zipf-like (some cells crowded, some sparse), every cluster has its own spread (log-uniform over
/// a 6x range, so neighbourhoods cross cell borders and nprobe matters), and the latent axes have a decaying spectrum
/// (like real embeddings). The latent points are mapped to <c>dim</c> dimensions by a fixed random linear map, shifted
/// by a common offset (so cosine and L2 neighbours differ) and given small isotropic noise in all dimensions.
/// Queries come from the same distribution with a separate random stream.
/// </remarks>
public static class GenLowDim
{
    private const int GroundTruthK = 100;

    /// <summary>Parses the options and writes the set; returns the exit code.</summary>
    public static int Run(string[] args)
    {
        int n = 100_000, queries = 1000, dim = 384, intrinsic = 24, clusters = 64, seed = 7;
        string? output = null;
        string backend = KernelBackends.DefaultName;
        int threads = Environment.ProcessorCount;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--n": n = BenchCli.Positive(args, ref i); break;
                case "--queries": queries = BenchCli.Positive(args, ref i); break;
                case "--dim": dim = BenchCli.Positive(args, ref i); break;
                case "--intrinsic": intrinsic = BenchCli.Positive(args, ref i); break;
                case "--clusters": clusters = BenchCli.Positive(args, ref i); break;
                case "--seed": seed = BenchCli.Positive(args, ref i); break;
                case "--out": output = BenchCli.Value(args, ref i); break;
                case "--backend": backend = BenchCli.Value(args, ref i); break;
                case "--threads": threads = BenchCli.Positive(args, ref i); break;
                default:
                    throw new ArgumentException($"unknown option '{args[i]}' for gen-lowdim\nusage: Vec.Bench gen-lowdim --out DIR [--n 100000] [--queries 1000] " +
                                                "[--dim 384] [--intrinsic 24] [--clusters 64] [--seed 7] [--backend NAME] [--threads T]", nameof(args));
            }
        }
        if (output is null) throw new ArgumentException("gen-lowdim needs --out DIR (outside the repository)", nameof(args));
        if (intrinsic > dim) throw new ArgumentException($"--intrinsic {intrinsic} exceeds --dim {dim}", nameof(args));
        if ((long)n * dim > Array.MaxLength) throw new ArgumentException($"--n {n} x --dim {dim} is too large for one array", nameof(args));
        string dir = Path.GetFullPath(output);
        string repo = Data.RepoRoot();
        if (dir.StartsWith(repo + Path.DirectorySeparatorChar, StringComparison.Ordinal) || dir == repo)
            throw new ArgumentException($"--out {dir} is inside the repository {repo}; data must not be committed, write it elsewhere", nameof(args));
        Directory.CreateDirectory(dir);

        long start = Stopwatch.GetTimestamp();
        var (xb, xq) = Generate(n, queries, dim, intrinsic, clusters, seed);
        Console.WriteLine($"gen-lowdim: {n} + {queries} vectors of {dim} dims (intrinsic {intrinsic}, {clusters} clusters, seed {seed}) " +
                          $"in {Stopwatch.GetElapsedTime(start).TotalSeconds:F1} s");
        VectorFiles.WriteFvecs(Path.Combine(dir, "base.fvecs"), xb, n, dim);
        VectorFiles.WriteFvecs(Path.Combine(dir, "query.fvecs"), xq, queries, dim);
        int k = Math.Min(GroundTruthK, n);
        foreach (var (metric, file) in new[] { (Metric.L2, "groundtruth.ivecs"), (Metric.Cosine, "groundtruth_cosine.ivecs") })
        {
            start = Stopwatch.GetTimestamp();
            int[] gt = Ann.ExactNeighbours(xb, n, xq, queries, dim, metric, k, backend, threads);
            VectorFiles.WriteIvecs(Path.Combine(dir, file), gt, queries, k);
            Console.WriteLine($"  {file}: exact top-{k} ({metric}) in {Stopwatch.GetElapsedTime(start).TotalSeconds:F1} s");
        }
        var info = new { n, queries, dim, intrinsic, clusters, seed, groundTruthK = k, generator = "Vec.Bench gen-lowdim" };
        string infoPath = Path.Combine(dir, "info.json");
        File.WriteAllText(infoPath + ".tmp", JsonSerializer.Serialize(info, BenchCli.Json));
        File.Move(infoPath + ".tmp", infoPath, overwrite: true);
        Console.WriteLine($"wrote {dir}/{{base,query}}.fvecs, groundtruth{{,_cosine}}.ivecs, info.json");
        return 0;
    }

    /// <summary>The base and query rows (row-major, <paramref name="dim"/> wide) of the seeded low-intrinsic-dimension mixture.</summary>
    public static (float[] Base, float[] Queries) Generate(int n, int queries, int dim, int intrinsic, int clusters, int seed)
    {
        var rng = new Random(seed);
        // Latent -> ambient map: intrinsic rows of dim values.
        var basis = new float[intrinsic * dim];
        float basisScale = 1f / MathF.Sqrt(dim); // rows of about unit norm, nearly orthogonal: |x| is about |z|
        for (int i = 0; i < basis.Length; i++) basis[i] = Normal(rng) * basisScale;
        // Decaying spectrum of the latent axes.
        var axis = new float[intrinsic];
        for (int j = 0; j < intrinsic; j++) axis[j] = 1f / MathF.Sqrt(1f + j / 4f);
        // Cluster centres, spreads and Zipf-like weights.
        var centres = new float[clusters * intrinsic];
        for (int c = 0; c < clusters; c++)
            for (int j = 0; j < intrinsic; j++) centres[c * intrinsic + j] = 3f * axis[j] * Normal(rng);
        var spread = new float[clusters];
        for (int c = 0; c < clusters; c++) spread[c] = 0.3f * MathF.Exp(rng.NextSingle() * MathF.Log(6f));
        var cumulative = new double[clusters];
        double total = 0;
        int[] rank = Enumerable.Range(0, clusters).OrderBy(_ => rng.Next()).ToArray();
        for (int c = 0; c < clusters; c++) cumulative[c] = total += 1.0 / Math.Pow(rank[c] + 1, 0.7);
        // Common offset (about half the typical latent norm) and ambient noise level.
        float latentNorm = 3f * MathF.Sqrt(axis.Sum(a => a * a));
        var offset = new float[dim];
        for (int t = 0; t < dim; t++) offset[t] = Normal(rng);
        TensorPrimitives.Multiply(offset, 0.5f * latentNorm / TensorPrimitives.Norm(offset), offset);
        float noise = 0.05f * latentNorm / MathF.Sqrt(dim);

        float[] Sample(int count, Random r)
        {
            var rows = new float[(long)count * dim];
            var z = new float[intrinsic];
            for (int i = 0; i < count; i++)
            {
                int c = Array.BinarySearch(cumulative, r.NextDouble() * total);
                c = c < 0 ? Math.Min(~c, clusters - 1) : c;
                for (int j = 0; j < intrinsic; j++) z[j] = centres[c * intrinsic + j] + spread[c] * axis[j] * Normal(r);
                Span<float> row = rows.AsSpan(i * dim, dim);
                for (int t = 0; t < dim; t++) row[t] = offset[t] + noise * Normal(r);
                for (int j = 0; j < intrinsic; j++) TensorPrimitives.MultiplyAdd(basis.AsSpan(j * dim, dim), z[j], row, row);
            }
            return rows;
        }

        float[] xb = Sample(n, new Random(unchecked(seed * 31 + 1)));
        float[] xq = Sample(queries, new Random(unchecked(seed * 31 + 2)));
        return (xb, xq);
    }

    private static float Normal(Random rng) =>
        (float)(Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()));
}

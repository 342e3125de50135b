using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Vec.Index.IO;
using Xunit.Abstractions;

namespace Vec.Cli.Tests;

/// <summary>Checks shared by the bench tests.</summary>
internal static class BenchChecks
{
    /// <summary>Asserts <paramref name="path"/> is a PNG of a plausible size (signature and IHDR dimensions).</summary>
    public static void AssertPng(string path)
    {
        Assert.True(File.Exists(path), $"{path} was not written");
        byte[] bytes = File.ReadAllBytes(path);
        Assert.True(bytes.Length > 2000, $"PNG of {bytes.Length} bytes");
        Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }, bytes[..8]);
        Assert.Equal("IHDR", System.Text.Encoding.ASCII.GetString(bytes, 12, 4));
        int width = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(16)), height = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(20));
        Assert.InRange(width, 400, 4000);
        Assert.InRange(height, 300, 4000);
    }

    /// <summary>The figure as the console table prints it.</summary>
    public static string F(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);
}

/// <summary><c>vecrec bench kernels</c> end to end.</summary>
public class BenchKernelsCommandTests(ITestOutputHelper output)
{
    [Fact]
    public void Quick_kernels_print_a_table_and_write_json_markdown_and_png()
    {
        using var dir = new TempFolder();
        string json = dir.File_("kernels.json"), png = dir.File_("kernels.png");
        var watch = Stopwatch.StartNew();
        var run = CliRunner.Run("bench", "kernels", "--quick", "--backend", "simd", "--json", json, "--plot", png);
        output.WriteLine($"bench kernels --quick --backend simd: {watch.Elapsed.TotalSeconds:F1} s");
        Assert.True(run.Code == 0, run.Stderr + run.Stdout);
        Assert.Equal("", run.Stderr);

        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        var root = doc.RootElement;
        Assert.Equal("kernels", root.GetProperty("kind").GetString());
        Assert.True(root.GetProperty("smoke").GetBoolean());
        Assert.Equal("simd", root.GetProperty("machine").GetProperty("backends").GetString());
        double peak = root.GetProperty("peak").GetProperty("peakGflops").GetDouble();
        Assert.True(peak > 0, $"peak {peak}");
        Assert.Contains(BenchChecks.F(peak, "F1"), run.Stdout);
        var results = root.GetProperty("results").EnumerateArray().ToArray();
        Assert.Equal(9, results.Length);
        foreach (var r in results)
        {
            Assert.Equal("simd", r.GetProperty("backend").GetString());
            string kernel = r.GetProperty("kernel").GetString()!;
            double value = r.GetProperty("value").GetDouble(), ms = r.GetProperty("medianMs").GetDouble();
            Assert.True(value > 0 && double.IsFinite(value), $"{kernel}: {value}");
            Assert.Contains(r.GetProperty("unit").GetString()!, new[] { "GFLOP/s", "GB/s" });
            // The table shows the same figures as the JSON (the kernel name may wrap in the table, the numbers do not).
            Assert.Contains(BenchChecks.F(ms, "F3"), run.Stdout);
            Assert.Contains(Vec.Cli.Bench.BenchCli.Number(value), run.Stdout);
        }

        Assert.Contains("InnerProducts", results.Select(r => r.GetProperty("kernel").GetString()));
        string markdown = File.ReadAllText(Path.ChangeExtension(json, ".md"));
        Assert.StartsWith("# Kernels (SMOKE RUN", markdown);
        Assert.Contains("| simd | InnerProducts |", markdown);
        BenchChecks.AssertPng(png);
    }

    [Theory]
    [InlineData("unknown value 'bogus' for --backend", "--backend", "bogus")]
    [InlineData("unknown value 'bogus' for --backend", "--backend", "simd,bogus")]
    [InlineData("backend 'scalar' is far too slow for the full sizes; add --quick", "--backend", "scalar")]
    [InlineData("--threads must be a positive integer (got '0')", "--threads", "0")]
    [InlineData("Argument 'huge' not recognized", "--sizes", "huge")]
    [InlineData("give --json FILE or --save, not both", "--save", "--json", "x.json")]
    [InlineData("folder of --plot '/nonexistent-vecrec' does not exist", "--plot", "/nonexistent-vecrec/k.png")]
    public void Kernel_mistakes_print_one_line(string expected, params string[] args)
    {
        var run = CliRunner.Run(["bench", "kernels", .. args]);
        CliRunner.AssertOneLineError(run, expected);
        Assert.Equal(VecRecCli.UsageError, run.Code);
    }
}

/// <summary><c>vecrec bench ann</c> end to end on a small generated TEXMEX base/query pair.</summary>
public sealed class BenchAnnCommandTests : IDisposable
{
    private const int Count = 600, Queries = 20, Dimension = 16;
    private readonly TempFolder _dir = new();
    private readonly string _base, _query, _gt;

    public BenchAnnCommandTests()
    {
        // Clustered data (12 centres plus noise), so IVF lists mean something; exact L2 ground truth by brute force.
        var rng = new Random(17);
        var centres = new float[12 * Dimension];
        for (int i = 0; i < centres.Length; i++) centres[i] = rng.NextSingle() * 10;
        float[] Rows(int n)
        {
            var rows = new float[n * Dimension];
            for (int r = 0; r < n; r++)
            {
                int c = rng.Next(12);
                for (int j = 0; j < Dimension; j++) rows[r * Dimension + j] = centres[c * Dimension + j] + (rng.NextSingle() - 0.5f);
            }

            return rows;
        }

        float[] xb = Rows(Count), xq = Rows(Queries);
        _base = _dir.File_("base.fvecs");
        _query = _dir.File_("query.fvecs");
        _gt = _dir.File_("gt.ivecs");
        VectorFiles.WriteFvecs(_base, xb, Count, Dimension);
        VectorFiles.WriteFvecs(_query, xq, Queries, Dimension);
        var gt = new int[Queries * 10];
        for (int q = 0; q < Queries; q++)
        {
            var distances = Enumerable.Range(0, Count).Select(i =>
            {
                double s = 0;
                for (int j = 0; j < Dimension; j++)
                {
                    double d = xb[i * Dimension + j] - xq[q * Dimension + j];
                    s += d * d;
                }

                return (Id: i, Distance: s);
            });
            int[] top = distances.OrderBy(p => p.Distance).ThenBy(p => p.Id).Take(10).Select(p => p.Id).ToArray();
            top.CopyTo(gt, q * 10);
        }

        VectorFiles.WriteIvecs(_gt, gt, Queries, 10);
    }

    public void Dispose() => _dir.Dispose();

    private static JsonElement[] Points(JsonElement root) => root.GetProperty("points").EnumerateArray().ToArray();

    private static void AssertTableHolds(CliRun run, JsonElement[] points)
    {
        foreach (var p in points)
        {
            Assert.Contains(BenchChecks.F(p.GetProperty("recall10At10").GetDouble(), "F4"), run.Stdout);
            Assert.Contains(BenchChecks.F(p.GetProperty("batchQps").GetDouble(), "F0"), run.Stdout);
            Assert.Contains(BenchChecks.F(p.GetProperty("singleQps").GetDouble(), "F0"), run.Stdout);
        }
    }

    [Fact]
    public void Flat_without_gt_computes_the_exact_truth_and_finds_it()
    {
        string json = _dir.File_("flat.json"), png = _dir.File_("flat.png");
        var run = CliRunner.Run("bench", "ann", "--base", _base, "--query", _query, "--index", "flat", "--quick", "--json", json, "--plot", png);
        Assert.True(run.Code == 0, run.Stderr + run.Stdout);
        Assert.Equal("", run.Stderr);
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        var root = doc.RootElement;
        Assert.Equal("ann", root.GetProperty("kind").GetString());
        Assert.Equal("vecrec Flat", root.GetProperty("engine").GetString());
        Assert.Equal(Count, root.GetProperty("count").GetInt32());
        Assert.Equal(Queries, root.GetProperty("queries").GetInt32());
        Assert.StartsWith("exact", root.GetProperty("groundTruthSource").GetString());
        var points = Points(root);
        var point = Assert.Single(points);
        Assert.Equal(0, point.GetProperty("nProbe").GetInt32());
        Assert.Equal(1.0, point.GetProperty("recall10At10").GetDouble(), 6); // exact search against exact truth
        AssertTableHolds(run, points);
        Assert.Contains("| - | 0 | 1.0000 | 1.0000 |", File.ReadAllText(Path.ChangeExtension(json, ".md")));
        BenchChecks.AssertPng(png);
    }

    [Fact]
    public void Ivfpq_with_gt_sweeps_nprobe_and_refine()
    {
        string json = _dir.File_("ivf.json"), png = _dir.File_("ivf.png");
        var run = CliRunner.Run("bench", "ann", "--base", _base, "--query", _query, "--gt", _gt, "--index", "ivfpq", "--nlist", "8", "--m", "4",
            "--nbits", "6", "--nprobe", "1,8", "--refine", "0,4", "--single-queries", "5", "--quick", "--json", json, "--plot", png);
        Assert.True(run.Code == 0, run.Stderr + run.Stdout);
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        var root = doc.RootElement;
        Assert.Equal(Path.GetFullPath(_gt), root.GetProperty("groundTruthSource").GetString());
        Assert.Equal("vecrec IVF8,PQ4x6,Refine(f32) R=0,4", root.GetProperty("engine").GetString());
        Assert.Equal(4, root.GetProperty("config").GetProperty("refine").GetInt32());
        Assert.Equal(5, root.GetProperty("config").GetProperty("singleQueries").GetInt32());
        var points = Points(root);
        Assert.Equal(new[] { (0, 1), (0, 8), (4, 1), (4, 8) },
            points.Select(p => (p.GetProperty("refine").GetInt32(), p.GetProperty("nProbe").GetInt32())).ToArray());
        double Recall(int refine, int nprobe) => points.Single(p => p.GetProperty("refine").GetInt32() == refine && p.GetProperty("nProbe").GetInt32() == nprobe)
            .GetProperty("recall10At10").GetDouble();
        // Probing every list with exact re-ranking of 40 candidates recovers (nearly) the exact top-10; PQ alone is coarser.
        Assert.True(Recall(4, 8) >= 0.9, $"R=4 nprobe=8 recall {Recall(4, 8)}");
        Assert.True(Recall(4, 8) >= Recall(0, 8), $"refine lowered recall: {Recall(4, 8)} < {Recall(0, 8)}");
        AssertTableHolds(run, points);
        BenchChecks.AssertPng(png);
    }

    [Fact]
    public void Ann_mistakes_print_one_line()
    {
        void Fails(string expected, params string[] args)
        {
            var run = CliRunner.Run(["bench", "ann", .. args]);
            CliRunner.AssertOneLineError(run, expected);
            Assert.Equal(VecRecCli.UsageError, run.Code);
        }

        Fails("Option '--base' is required", "--query", _query);
        Fails("'0' in --nprobe is not valid: expected positive integers", "--base", _base, "--query", _query, "--nprobe", "1,0");
        Fails("unknown value 'bogus' for --backend", "--base", _base, "--query", _query, "--backend", "bogus");
        Fails("--k must be at least 10", "--base", _base, "--query", _query, "--k", "5");
        Fails("--nbits must be in 1..8", "--base", _base, "--query", _query, "--nbits", "9");
        Fails("--refine applies to --index ivfpq only", "--base", _base, "--query", _query, "--index", "flat", "--refine", "2");
        Fails("--refine-storage needs --refine R > 0", "--base", _base, "--query", _query, "--refine-storage", "f16");
        Fails("Argument 'hnsw' not recognized", "--base", _base, "--query", _query, "--index", "hnsw", "--refine", "2");
        Fails("'x' in --refine is not valid: expected non-negative integers", "--base", _base, "--query", _query, "--refine", "1,x", "--index", "flat");
        Fails("File does not exist", "--base", _dir.File_("missing.fvecs"), "--query", _query);

        string other = _dir.File_("q8.fvecs");
        VectorFiles.WriteFvecs(other, new float[3 * 8], 3, 8);
        Fails("--query has dimension 8 but --base has dimension 16", "--base", _base, "--query", other);
        Fails("--m 5 must divide the dimension 16", "--base", _base, "--query", _query, "--m", "5");

        string badGt = _dir.File_("bad-gt.ivecs");
        VectorFiles.WriteIvecs(badGt, Enumerable.Repeat(Count + 5, Queries * 10).ToArray(), Queries, 10);
        Fails($"holds id {Count + 5} outside the {Count} base vectors", "--base", _base, "--query", _query, "--gt", badGt, "--index", "flat");
    }
}

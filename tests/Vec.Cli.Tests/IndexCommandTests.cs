using System.Globalization;
using System.Text.Json;
using Vec.Index.IO;

namespace Vec.Cli.Tests;

/// <summary><c>vecrec index build</c> and <c>vecrec index search</c> end to end.</summary>
public class IndexCommandTests
{
    /// <summary>A user mistake: exit 2 and one line on stderr (progress lines printed before the mistake was found may precede it on stdout).</summary>
    internal static void UserError(CliRun run, string expected)
    {
        Assert.True(run.Code == VecRecCli.UsageError, $"exit code {run.Code}; stdout: {run.Stdout}; stderr: {run.Stderr}");
        string line = Assert.Single(run.ErrorLines);
        Assert.StartsWith("vecrec: ", line);
        Assert.Contains(expected, line);
        Assert.DoesNotContain("   at ", run.Stderr);
    }

    private static CliRun Ok(params string[] args)
    {
        var run = CliRunner.Run(args);
        Assert.True(run.Code == 0, $"vecrec {string.Join(' ', args)} failed:\n{run.Stderr}\n{run.Stdout}");
        return run;
    }

    /// <summary>Clustered random vectors and their exact L2 neighbours (the ground truth).</summary>
    private static (float[] Base, float[] Queries, int[] Truth) Clustered(int n, int q, int d, int seed)
    {
        var random = new Random(seed);
        var centres = new float[16 * d];
        for (int i = 0; i < centres.Length; i++) centres[i] = (float)(random.NextDouble() * 10);
        float[] Make(int count)
        {
            var x = new float[count * d];
            for (int i = 0; i < count; i++)
            {
                int c = random.Next(16);
                for (int j = 0; j < d; j++) x[i * d + j] = centres[c * d + j] + (float)(random.NextDouble() - 0.5);
            }

            return x;
        }

        float[] b = Make(n), qs = Make(q);
        var truth = new int[q * 10];
        for (int i = 0; i < q; i++)
        {
            var dist = new (double D, int I)[n];
            for (int r = 0; r < n; r++)
            {
                double s = 0;
                for (int j = 0; j < d; j++) s += Math.Pow(qs[i * d + j] - b[r * d + j], 2);
                dist[r] = (s, r);
            }

            Array.Sort(dist);
            for (int j = 0; j < 10; j++) truth[i * 10 + j] = dist[j].I;
        }

        return (b, qs, truth);
    }

    [Fact]
    public void Round_trip_embed_then_flat_and_ivfpq_indexes_find_each_text_first()
    {
        using var dir = new TempFolder();
        string tsv = dir.Write("texts.tsv", EmbedCommandTests.Tsv(300, i => 1000 + 3L * i));
        string vectors = dir.File_("texts.fvecs"), ids = dir.File_("texts.ids");
        Ok("embed", "--hashing", "--dimension", "64", "--input", tsv, "--output", vectors);
        long[] expected = File.ReadAllLines(ids).Select(s => long.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        Assert.Equal(1000 + 3L * 299, expected[^1]);

        foreach (string[] build in new[]
                 {
                     new[] { "--type", "flat" },
                     ["--type", "ivfpq", "--refine", "f32", "--nlist", "4"],
                 })
        {
            string index = dir.File_("texts.vecidx"), results = dir.File_("results.tsv");
            Ok(["index", "build", "--input", vectors, "--output", index, "--ids", ids, .. build]);
            string[] search = build[1] == "flat" ? [] : ["--nprobe", "4", "--refine", "8"];
            Ok(["index", "search", "--index", index, "--query", vectors, "--k", "3", "--output", results, .. search]);
            string[] lines = File.ReadAllLines(results);
            Assert.Equal("query\trank\tid\tscore", lines[0]);
            Assert.Equal(1 + 300 * 3, lines.Length);
            var firsts = lines.Skip(1).Select(l => l.Split('\t')).Where(f => f[1] == "1").ToArray();
            Assert.Equal(300, firsts.Length);
            for (int i = 0; i < 300; i++)
            {
                Assert.Equal(i.ToString(CultureInfo.InvariantCulture), firsts[i][0]);
                Assert.True(expected[i] == long.Parse(firsts[i][2], CultureInfo.InvariantCulture), $"{build[1]}: query {i} found {firsts[i][2]}, not its own id {expected[i]}");
                Assert.InRange(float.Parse(firsts[i][3], CultureInfo.InvariantCulture), 0.999f, 1.001f);
            }
        }
    }

    [Fact]
    public void Tiny_set_flat_recall_is_exact_and_ivfpq_at_full_nprobe_is_high_and_json_holds_the_figures()
    {
        using var dir = new TempFolder();
        const int d = 16;
        var (b, q, truth) = Clustered(2000, 50, d, seed: 5);
        VectorFiles.WriteFvecs(dir.File_("base.fvecs"), b, 2000, d);
        VectorFiles.WriteFvecs(dir.File_("query.fvecs"), q, 50, d);
        VectorFiles.WriteIvecs(dir.File_("gt.ivecs"), truth, 50, 10);
        string flat = dir.File_("flat.vecidx"), ivf = dir.File_("ivf.vecidx");

        var buildRun = Ok("index", "build", "--input", dir.File_("base.fvecs"), "--output", flat, "--metric", "l2", "--json", dir.File_("b.json"));
        using (var doc = JsonDocument.Parse(File.ReadAllText(dir.File_("b.json"))))
        {
            var root = doc.RootElement;
            Assert.Equal(2000, root.GetProperty("count").GetInt32());
            Assert.Equal(new FileInfo(flat).Length, root.GetProperty("fileBytes").GetInt64());
            Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"{root.GetProperty("bytesPerVector").GetDouble():F1} bytes/vector on disk"), buildRun.Stdout);
            Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"add {root.GetProperty("addSeconds").GetDouble():F2} s"), buildRun.Stdout);
        }

        var run = Ok("index", "search", "--index", flat, "--query", dir.File_("query.fvecs"), "--gt", dir.File_("gt.ivecs"), "--json", dir.File_("s.json"));
        Assert.Contains("1-recall@1 1.0000, 10-recall@10 1.0000", run.Stdout);
        using (var doc = JsonDocument.Parse(File.ReadAllText(dir.File_("s.json"))))
        {
            var root = doc.RootElement;
            Assert.Equal(1.0, root.GetProperty("recallAt1").GetDouble());
            Assert.Equal(1.0, root.GetProperty("recallAt10").GetDouble());
            Assert.Equal(50, root.GetProperty("queries").GetInt32());
            Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"{root.GetProperty("qps").GetDouble():F0} QPS"), run.Stdout);
        }

        var ivfBuild = Ok("index", "build", "--input", dir.File_("base.fvecs"), "--output", ivf, "--type", "ivfpq", "--metric", "l2", "--json", dir.File_("ib.json"));
        Assert.Contains("ivfpq (nlist 51, M 4, 8 bits", ivfBuild.Stdout); // the defaults for n = 2000, d = 16: min(128, 2000 / 39), 16 / 4
        var low = Ok("index", "search", "--index", ivf, "--query", dir.File_("query.fvecs"), "--gt", dir.File_("gt.ivecs"), "--nprobe", "1", "--json", dir.File_("low.json"));
        var high = Ok("index", "search", "--index", ivf, "--query", dir.File_("query.fvecs"), "--gt", dir.File_("gt.ivecs"), "--nprobe", "64", "--json", dir.File_("high.json"));
        double Recall10(string file) => JsonDocument.Parse(File.ReadAllText(file)).RootElement.GetProperty("recallAt10").GetDouble();
        Assert.True(Recall10(dir.File_("high.json")) >= 0.6, high.Stdout);
        Assert.True(Recall10(dir.File_("high.json")) >= Recall10(dir.File_("low.json")), low.Stdout + high.Stdout);
    }

    [SiftFact]
    public void Siftsmall_ivfpq_recall_at_high_nprobe_is_high()
    {
        string sift = Shared.SiftSmall!;

        using var dir = new TempFolder();
        string index = dir.File_("sift.vecidx");
        Ok("index", "build", "--input", Path.Combine(sift, "siftsmall_base.fvecs"), "--output", index, "--type", "ivfpq", "--metric", "l2",
            "--nlist", "64", "--m", "16", "--refine", "f16");
        string[] search = ["index", "search", "--index", index, "--query", Path.Combine(sift, "siftsmall_query.fvecs"), "--gt", Path.Combine(sift, "siftsmall_groundtruth.ivecs"), "--nprobe", "32"];
        var plain = Ok([.. search, "--json", dir.File_("plain.json")]);
        var refined = Ok([.. search, "--refine", "8", "--json", dir.File_("refined.json")]);
        var p = JsonDocument.Parse(File.ReadAllText(dir.File_("plain.json"))).RootElement;
        var r = JsonDocument.Parse(File.ReadAllText(dir.File_("refined.json"))).RootElement;
        Assert.True(p.GetProperty("recallAt10").GetDouble() >= 0.6, plain.Stdout);
        Assert.True(r.GetProperty("recallAt1").GetDouble() >= 0.95, refined.Stdout);
        Assert.True(r.GetProperty("recallAt10").GetDouble() >= 0.95, refined.Stdout);
    }

    [Fact]
    public void Missing_results_are_minus_one_in_the_output()
    {
        using var dir = new TempFolder();
        VectorFiles.WriteFvecs(dir.File_("b.fvecs"), new float[] { 1, 0, 0, 1, 1, 1 }, 3, 2);
        Ok("index", "build", "--input", dir.File_("b.fvecs"), "--output", dir.File_("b.vecidx"));
        Ok("index", "search", "--index", dir.File_("b.vecidx"), "--query", dir.File_("b.fvecs"), "--k", "5", "--output", dir.File_("r.tsv"));
        string[] rows = File.ReadAllLines(dir.File_("r.tsv")).Skip(1).ToArray();
        Assert.Equal(15, rows.Length);
        Assert.Equal(6, rows.Count(l => l.Split('\t')[2] == "-1"));
        Assert.All(rows.Where(l => l.Split('\t')[1] is "4" or "5"), l => Assert.Equal("-1", l.Split('\t')[2]));
    }

    [Fact]
    public void Mistakes_give_one_line()
    {
        using var dir = new TempFolder();
        var (b, _, _) = Clustered(300, 1, 8, seed: 2);
        string base8 = dir.File_("b8.fvecs"), q6 = dir.File_("q6.fvecs");
        VectorFiles.WriteFvecs(base8, b, 300, 8);
        VectorFiles.WriteFvecs(q6, new float[12], 2, 6);
        string index = dir.File_("i.vecidx");
        Ok("index", "build", "--input", base8, "--output", index);
        var mismatch = CliRunner.Run("index", "search", "--index", index, "--query", q6);
        Assert.Equal(VecRecCli.UsageError, mismatch.Code);
        Assert.Equal("vecrec: queries have dimension 6 but the index has 8", mismatch.ErrorLines.Single(l => l.StartsWith("vecrec:", StringComparison.Ordinal)));
        Assert.Single(mismatch.ErrorLines);

        string truncated = dir.File_("t.fvecs");
        File.WriteAllBytes(truncated, File.ReadAllBytes(base8)[..50]);
        UserError(CliRunner.Run("index", "build", "--input", truncated, "--output", dir.File_("x.vecidx")), "truncated");
        Assert.False(File.Exists(dir.File_("x.vecidx")));
        string notIndex = dir.Write("not.vecidx", "hello");
        UserError(CliRunner.Run("index", "search", "--index", notIndex, "--query", base8), "not.vecidx");
        string ids = dir.Write("few.ids", "1\n2\n");
        UserError(CliRunner.Run("index", "build", "--input", base8, "--output", index, "--ids", ids), "--ids has 2 ids but --input has 300 vectors");
        string badIds = dir.Write("bad.ids", "1\nx\n");
        UserError(CliRunner.Run("index", "build", "--input", base8, "--output", index, "--ids", badIds), "bad.ids', line 2");
        UserError(CliRunner.Run("index", "build", "--input", base8, "--output", index, "--type", "ivfpq", "--m", "3"), "--m 3 must divide the dimension 8");
        UserError(CliRunner.Run("index", "build", "--input", base8, "--output", index, "--type", "ivfpq", "--nlist", "500"), "--nlist 500 needs at least 500 training vectors");
        UserError(CliRunner.Run("index", "build", "--input", base8, "--output", index, "--nlist", "4"), "--nlist applies to --type ivfpq only");
        UserError(CliRunner.Run("index", "build", "--input", base8, "--output", index, "--type", "hnsw"), "hnsw");
        UserError(CliRunner.Run("index", "build", "--input", base8, "--output", index, "--type", "ivfpq", "--nbits", "9"), "--nbits must be in 1..8");
        UserError(CliRunner.Run("index", "build", "--input", base8, "--output", index, "--backend", "no-such-backend"), "no-such-backend");
        UserError(CliRunner.Run("index", "search", "--index", index, "--query", base8, "--k", "ten"), "Cannot parse argument 'ten'");
        UserError(CliRunner.Run("index", "search", "--index", index, "--query", base8, "--refine", "-1"), "--refine must be 0 or a positive integer");
        UserError(CliRunner.Run("index", "search", "--index", index), "--query");
        string gt = dir.File_("gt.ivecs");
        VectorFiles.WriteIvecs(gt, new int[10], 1, 10);
        UserError(CliRunner.Run("index", "search", "--index", index, "--query", base8, "--gt", gt), "--gt has 1 rows but there are 300 queries");
    }
}

/// <summary>A fact that skips, with a message, only where shared/data/ann/siftsmall is absent.</summary>
public sealed class SiftFactAttribute : FactAttribute
{
    /// <summary>Sets <see cref="FactAttribute.Skip"/> when the data is missing.</summary>
    public SiftFactAttribute()
    {
        if (Shared.SiftSmall is null) Skip = "shared/data/ann/siftsmall is absent (set VECREC_SHARED)";
    }
}

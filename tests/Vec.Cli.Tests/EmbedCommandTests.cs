using System.Globalization;
using System.Text.Json;
using Vec.Index.IO;

namespace Vec.Cli.Tests;

/// <summary><c>vecrec embed</c> end to end.</summary>
public class EmbedCommandTests
{
    internal static string Tsv(int n, Func<int, long> id) =>
        string.Concat(Enumerable.Range(0, n).Select(i => string.Create(CultureInfo.InvariantCulture,
            $"{id(i)}\titem{i} about topic{i % 7} in colour{i % 5} with note{i * 31 % 11}\n")));

    [Fact]
    public void Tsv_with_hashing_writes_vectors_ids_and_json_with_the_printed_figures()
    {
        using var dir = new TempFolder();
        string input = dir.Write("texts.tsv", "7\tspace adventure with robots\n\n-3\ta romantic comedy in paris\n1000000000000\tcooking pasta\n");
        string output = dir.File_("texts.fvecs"), json = dir.File_("embed.json");
        var run = CliRunner.Run("embed", "--hashing", "--dimension", "64", "--input", input, "--output", output, "--json", json);
        Assert.True(run.Code == 0, run.Stderr);
        Assert.Contains("encoder: hashing-tfidf-d64-ng2 (--hashing)", run.Stdout);
        Assert.Contains("embedded 3 texts: dimension 64", run.Stdout);
        var vectors = VectorFiles.ReadFvecs(output);
        Assert.Equal((3, 64), (vectors.Count, vectors.Dimension));
        for (int r = 0; r < 3; r++)
        {
            double norm = Math.Sqrt(vectors.Row(r).ToArray().Sum(v => (double)v * v));
            Assert.InRange(norm, 0.999, 1.001);
        }

        Assert.Equal(["7", "-3", "1000000000000"], File.ReadAllLines(dir.File_("texts.ids")));
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        var root = doc.RootElement;
        Assert.Equal(3, root.GetProperty("count").GetInt32());
        Assert.Equal(64, root.GetProperty("dimension").GetInt32());
        Assert.Equal("hashing-tfidf-d64-ng2", root.GetProperty("encoder").GetString());
        double seconds = root.GetProperty("seconds").GetDouble(), rate = root.GetProperty("textsPerSecond").GetDouble();
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"{seconds:F2} s, {rate:F0} texts/s"), run.Stdout);
    }

    [Fact]
    public void Txt_numbers_lines_from_zero_and_honours_ids_option()
    {
        using var dir = new TempFolder();
        string input = dir.Write("t.txt", "first line\nsecond line\n\nfourth line\n");
        string ids = dir.File_("custom.ids");
        var run = CliRunner.Run("embed", "--hashing", "--input", input, "--output", dir.File_("t.fvecs"), "--ids", ids);
        Assert.True(run.Code == 0, run.Stderr);
        Assert.Equal(["0", "1", "2", "3"], File.ReadAllLines(ids));
        Assert.Equal(4, VectorFiles.ReadFvecs(dir.File_("t.fvecs")).Count);
        Assert.Equal(1024, VectorFiles.ReadFvecs(dir.File_("t.fvecs")).Dimension);
        Assert.False(File.Exists(dir.File_("t.ids")));
    }

    [Fact]
    public void Without_model_or_hashing_the_default_encoder_is_named()
    {
        using var dir = new TempFolder();
        string input = dir.Write("t.txt", "one\ntwo\n");
        var run = CliRunner.Run("embed", "--input", input, "--output", dir.File_("t.fvecs"));
        Assert.True(run.Code == 0, run.Stderr);
        Assert.Contains("(default: ", run.Stdout);
    }

    [Theory]
    [InlineData("1\tok\nnot-a-number\tbad\n", "line 2: id 'not-a-number' is not an integer")]
    [InlineData("1\tok\n2 no tab here\n", "line 2: expected 'id<TAB>text' but found no tab")]
    [InlineData("1\tok\n1\tagain\n", "line 2: id 1 appears twice")]
    [InlineData("-1\tok\n", "line 1: id -1 is reserved")]
    public void Malformed_tsv_gives_one_line_naming_file_and_line(string content, string expected)
    {
        using var dir = new TempFolder();
        string input = dir.Write("bad.tsv", content);
        var run = CliRunner.Run("embed", "--hashing", "--input", input, "--output", dir.File_("x.fvecs"));
        Assert.Equal(VecRecCli.UsageError, run.Code);
        var line = Assert.Single(run.ErrorLines);
        Assert.Contains("bad.tsv", line);
        Assert.Contains(expected, line);
        Assert.False(File.Exists(dir.File_("x.fvecs")));
        Assert.Empty(Directory.GetFiles(dir.Path, "*.tmp", SearchOption.AllDirectories));
    }

    [Fact]
    public void Mistakes_give_one_line()
    {
        using var dir = new TempFolder();
        string txt = dir.Write("t.txt", "a\n");
        string csv = dir.Write("t.csv", "a\n");
        string empty = dir.Write("e.txt", "");
        CliRunner.AssertOneLineError(CliRunner.Run("embed", "--hashing", "--model", dir.Path, "--input", txt, "--output", dir.File_("o.fvecs")), "--model and --hashing cannot be used together");
        CliRunner.AssertOneLineError(CliRunner.Run("embed", "--hashing", "--input", dir.File_("missing.txt"), "--output", dir.File_("o.fvecs")), "missing.txt");
        CliRunner.AssertOneLineError(CliRunner.Run("embed", "--hashing", "--input", txt, "--output", "/nonexistent-vecrec/o.fvecs"), "folder of --output");
        CliRunner.AssertOneLineError(CliRunner.Run("embed", "--hashing", "--input", txt, "--output", dir.File_("o.fvecs"), "--batch-size", "0"), "--batch-size must be a positive integer");
        CliRunner.AssertOneLineError(CliRunner.Run("embed", "--hashing", "--input", txt, "--output", dir.File_("o.fvecs"), "--max-length", "x"), "--max-length");
        CliRunner.AssertOneLineError(CliRunner.Run("embed", "--hashing", "--input", txt, "--outptu", dir.File_("o.fvecs")), "--outptu");
        var csvRun = CliRunner.Run("embed", "--hashing", "--input", csv, "--output", dir.File_("o.fvecs"));
        Assert.Equal(VecRecCli.UsageError, csvRun.Code);
        Assert.Contains("must be a .txt", Assert.Single(csvRun.ErrorLines));
        var emptyRun = CliRunner.Run("embed", "--hashing", "--input", empty, "--output", dir.File_("o.fvecs"));
        Assert.Equal(VecRecCli.UsageError, emptyRun.Code);
        Assert.Contains("holds no texts", Assert.Single(emptyRun.ErrorLines));
        var noModel = CliRunner.Run("embed", "--model", dir.Path, "--input", txt, "--output", dir.File_("o.fvecs"));
        Assert.Equal(VecRecCli.UsageError, noModel.Code);
        Assert.Single(noModel.ErrorLines);
    }
}

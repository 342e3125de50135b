using Vec.Embed.Tests;
using System.Text.Json;

namespace Vec.Cli.Tests;

/// <summary><c>vecrec model download</c> and <c>vecrec model list</c> against a local fake hub (no network, no environment variables).</summary>
public class ModelCommandTests
{
    [Fact]
    public async Task Download_verifies_into_the_cache_and_list_shows_it()
    {
        await using var hub = new TestHub("acme/tiny-model").WithSentenceTransformerFiles(modelBytes: 200_000);
        using var dir = new TempFolder();
        string cache = Path.Combine(dir.Path, "cache"), json = dir.File_("d.json");
        var run = CliRunner.Run("model", "download", "acme/tiny-model", "--cache", cache, "--endpoint", hub.Endpoint.ToString(), "--json", json);
        Assert.True(run.Code == 0, run.Stderr + run.Stdout);
        Assert.Contains("onnx/model.onnx: 195.3 KB", run.Stdout);
        Assert.Contains("verified", run.Stdout);
        var root = JsonDocument.Parse(File.ReadAllText(json)).RootElement;
        string folder = root.GetProperty("folder").GetString()!;
        Assert.StartsWith(cache, folder);
        Assert.Equal(8, root.GetProperty("files").GetInt32()); // the 8 default files, not README.md nor pytorch_model.bin
        Assert.Equal(hub.Files["onnx/model.onnx"], File.ReadAllBytes(Path.Combine(folder, "onnx", "model.onnx")));
        Assert.False(File.Exists(Path.Combine(folder, "pytorch_model.bin")));
        Assert.True(root.GetProperty("bytes").GetInt64() > 200_000);

        string listJson = dir.File_("l.json");
        var list = CliRunner.Run("model", "list", "--cache", cache, "--json", listJson);
        Assert.True(list.Code == 0, list.Stderr);
        Assert.Contains("acme/tiny-model", list.Stdout);
        Assert.Contains("default encoder:", list.Stdout);
        var models = JsonDocument.Parse(File.ReadAllText(listJson)).RootElement.GetProperty("models").EnumerateArray()
            .Where(m => m.GetProperty("source").GetString() == "cache").ToArray();
        var model = Assert.Single(models);
        Assert.Equal("acme/tiny-model", model.GetProperty("name").GetString());
        Assert.True(model.GetProperty("complete").GetBoolean());
        Assert.Equal(8, model.GetProperty("files").GetInt32());
        Assert.False(model.GetProperty("default").GetBoolean()); // the default encoder looks for all-MiniLM-L6-v2 only
    }

    [Fact]
    public void List_of_an_empty_cache_says_so()
    {
        using var dir = new TempFolder();
        string json = dir.File_("l.json");
        var run = CliRunner.Run("model", "list", "--cache", dir.Path, "--json", json);
        Assert.True(run.Code == 0, run.Stderr);
        var root = JsonDocument.Parse(File.ReadAllText(json)).RootElement;
        Assert.Equal(Path.GetFullPath(dir.Path), root.GetProperty("cache").GetString());
        if (root.GetProperty("models").GetArrayLength() == 0) Assert.Contains("no models", run.Stdout);
    }

    [Fact]
    public void Offline_hub_gives_one_cannot_reach_line()
    {
        using var dir = new TempFolder();
        var run = CliRunner.Run("model", "download", "acme/tiny-model", "--cache", dir.Path, "--endpoint", "http://127.0.0.1:1/");
        IndexCommandTests.UserError(run, "Cannot reach http://127.0.0.1:1");
    }

    [Fact]
    public async Task Missing_repository_and_bad_arguments_give_one_line()
    {
        await using var hub = new TestHub("acme/tiny-model").WithSentenceTransformerFiles(modelBytes: 1000);
        using var dir = new TempFolder();
        IndexCommandTests.UserError(CliRunner.Run("model", "download", "acme/other", "--cache", dir.Path, "--endpoint", hub.Endpoint.ToString()), "HTTP 404");
        CliRunner.AssertOneLineError(CliRunner.Run("model", "download", "x/y", "--endpoint", "ftp://example.org"), "--endpoint 'ftp://example.org' is not an absolute http or https address");
        CliRunner.AssertOneLineError(CliRunner.Run("model", "download", "a/b", "c/d"), "Unrecognized command or argument 'c/d'");
        CliRunner.AssertOneLineError(CliRunner.Run("model", "list", "--cahce", dir.Path), "--cahce");
        IndexCommandTests.UserError(CliRunner.Run("model", "download", "bad name/../x", "--cache", dir.Path, "--endpoint", hub.Endpoint.ToString()), "");
    }
}

using System.Net;
using System.Net.Sockets;
using System.Text;
using Xunit;

namespace Vec.Embed.Tests;

/// <summary>ModelStore against a local fake hub (no internet, temporary cache folders).</summary>
public sealed class ModelStoreTests
{
    private static readonly HttpClient Client = new();

    private static readonly string[] Downloaded =
    [
        "onnx/model.onnx", "vocab.txt", "config.json", "tokenizer_config.json", "special_tokens_map.json",
        "sentence_bert_config.json", "modules.json", "1_Pooling/config.json",
    ];

    private static ModelStore Store(TestHub hub, TempDir cache, int maxRetries = 0, string? token = "") =>
        new(new ModelStoreOptions
        {
            CacheDirectory = cache.Path,
            Endpoint = hub.Endpoint,
            HttpClient = Client,
            Token = token,
            MaxRetries = maxRetries,
            RetryDelay = TimeSpan.Zero,
            ReadTimeout = TimeSpan.FromSeconds(10),
        });

    private static string Partial(string folder, string path) => Path.Combine(folder, path) + ".partial";

    private static HubResponse? CutFirst(HubRequest r, string path, int bytes, ref int served, TestHub hub)
    {
        if (!r.Path.EndsWith("/resolve/main/" + path, StringComparison.Ordinal) || Interlocked.Increment(ref served) > 1)
        {
            return null;
        }

        return new HubResponse { Body = hub.Files[path], CutAfter = bytes };
    }

    [Fact]
    public async Task Download_FetchesDefaultFilesVerifiedIntoRepoLayout()
    {
        await using var hub = new TestHub().WithSentenceTransformerFiles();
        using var cache = new TempDir();
        ModelStore store = Store(hub, cache);

        string folder = await store.DownloadAsync(hub.Repo);

        Assert.Equal(Path.Combine(cache.Path, "acme", "tiny-model", "main"), folder);
        foreach (string path in Downloaded)
        {
            Assert.Equal(hub.Files[path], await File.ReadAllBytesAsync(Path.Combine(folder, path)));
        }

        Assert.False(File.Exists(Path.Combine(folder, "README.md")));
        Assert.False(File.Exists(Path.Combine(folder, "pytorch_model.bin")));
        Assert.Empty(Directory.GetFiles(folder, "*.partial", SearchOption.AllDirectories));
        Assert.Equal(folder, store.TryGetLocal(hub.Repo));
        Assert.Single(hub.Requests, r => r.Path.StartsWith("/api/models/acme/tiny-model/tree/main", StringComparison.Ordinal) && r.Target.Contains("recursive=true", StringComparison.Ordinal));
        Assert.Equal(Downloaded.Length, hub.Requests.Count(r => r.Path.Contains("/resolve/", StringComparison.Ordinal)));
        Assert.All(hub.Requests, r => Assert.Null(r.Header("Authorization")));
    }

    [Fact]
    public async Task Download_FallsBackToRootOnnxAndSkipsMissingOptionalFiles()
    {
        await using var hub = new TestHub().WithSentenceTransformerFiles(onnxFolder: false);
        hub.Files.Remove("1_Pooling/config.json");
        hub.Files.Remove("modules.json");
        using var cache = new TempDir();

        string folder = await Store(hub, cache).DownloadAsync(hub.Repo);

        Assert.Equal(hub.Files["model.onnx"], await File.ReadAllBytesAsync(Path.Combine(folder, "model.onnx")));
        Assert.False(Directory.Exists(Path.Combine(folder, "onnx")));
        Assert.False(File.Exists(Path.Combine(folder, "modules.json")));
        Assert.True(File.Exists(Path.Combine(folder, "vocab.txt")));
    }

    [Theory]
    [InlineData("vocab.txt")]
    [InlineData("config.json")]
    [InlineData("onnx/model.onnx")]
    public async Task Download_MissingRequiredFileFailsClearly(string missing)
    {
        await using var hub = new TestHub().WithSentenceTransformerFiles();
        hub.Files.Remove(missing);
        using var cache = new TempDir();

        var ex = await Assert.ThrowsAsync<ModelStoreException>(() => Store(hub, cache).DownloadAsync(hub.Repo));

        Assert.Contains(missing, ex.Message, StringComparison.Ordinal);
        Assert.Null(Store(hub, cache).TryGetLocal(hub.Repo));
        Assert.DoesNotContain(hub.Requests, r => r.Path.Contains("/resolve/", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Download_CustomFileList()
    {
        await using var hub = new TestHub().WithSentenceTransformerFiles();
        using var cache = new TempDir();
        ModelStore store = Store(hub, cache);

        string folder = await store.DownloadAsync(hub.Repo, files: ["README.md", "pytorch_model.bin"]);

        Assert.Equal(hub.Files["README.md"], await File.ReadAllBytesAsync(Path.Combine(folder, "README.md")));
        Assert.Equal(hub.Files["pytorch_model.bin"], await File.ReadAllBytesAsync(Path.Combine(folder, "pytorch_model.bin")));
        Assert.False(File.Exists(Path.Combine(folder, "vocab.txt")));

        var ex = await Assert.ThrowsAsync<ModelStoreException>(() => store.DownloadAsync(hub.Repo, files: ["nope.bin"]));
        Assert.Contains("nope.bin", ex.Message, StringComparison.Ordinal);
        Assert.Equal("nope.bin", ex.FilePath);
    }

    [Fact]
    public async Task SecondDownload_DoesNotTouchTheNetwork()
    {
        await using var hub = new TestHub().WithSentenceTransformerFiles();
        using var cache = new TempDir();
        string first = await Store(hub, cache).DownloadAsync(hub.Repo);
        int requests = hub.Requests.Count;

        var log = new ProgressLog();
        string second = await Store(hub, cache).DownloadAsync(hub.Repo, progress: log);
        string subset = await Store(hub, cache).DownloadAsync(hub.Repo, files: ["vocab.txt"]);

        Assert.Equal(first, second);
        Assert.Equal(first, subset);
        Assert.Equal(requests, hub.Requests.Count);
        Assert.Equal(Downloaded.Length, log.Reports[^1].FilesTotal);
        Assert.Equal(Downloaded.Length, log.Reports[^1].FilesDone);
    }

    [Fact]
    public async Task ChangedCachedFile_IsFetchedAgainAloneAndOthersAreNotRehashedOrFetched()
    {
        await using var hub = new TestHub().WithSentenceTransformerFiles();
        using var cache = new TempDir();
        string folder = await Store(hub, cache).DownloadAsync(hub.Repo);
        await File.WriteAllTextAsync(Path.Combine(folder, "vocab.txt"), "[PAD]\n");
        Assert.Null(Store(hub, cache).TryGetLocal(hub.Repo));
        hub.Requests.Clear();

        await Store(hub, cache).DownloadAsync(hub.Repo);

        Assert.Equal(hub.Files["vocab.txt"], await File.ReadAllBytesAsync(Path.Combine(folder, "vocab.txt")));
        Assert.Equal(["vocab.txt"], hub.Requests.Where(r => r.Path.Contains("/resolve/", StringComparison.Ordinal)).Select(r => r.Path[(r.Path.LastIndexOf("main/", StringComparison.Ordinal) + 5)..]));
    }

    [Fact]
    public async Task SameSizeFileWithoutRecord_IsRehashedAndReplacedWhenWrong()
    {
        await using var hub = new TestHub().WithSentenceTransformerFiles();
        using var cache = new TempDir();
        ModelStore store = Store(hub, cache);
        string folder = store.GetFolder(hub.Repo);
        Directory.CreateDirectory(folder);
        // A right copy and a same-size wrong copy put there by hand (no record of either).
        await File.WriteAllBytesAsync(Path.Combine(folder, "config.json"), hub.Files["config.json"]);
        byte[] wrong = (byte[])hub.Files["vocab.txt"].Clone();
        wrong[0] ^= 0xFF;
        await File.WriteAllBytesAsync(Path.Combine(folder, "vocab.txt"), wrong);

        await store.DownloadAsync(hub.Repo);

        Assert.Equal(hub.Files["vocab.txt"], await File.ReadAllBytesAsync(Path.Combine(folder, "vocab.txt")));
        Assert.Single(hub.FileRequests("vocab.txt"));
        Assert.Empty(hub.FileRequests("config.json"));
    }

    [Fact]
    public async Task TruncatedDownload_IsRetriedWithRange()
    {
        await using var hub = new TestHub().WithSentenceTransformerFiles();
        int served = 0;
        hub.Override = r => CutFirst(r, "onnx/model.onnx", 100_000, ref served, hub);
        using var cache = new TempDir();

        string folder = await Store(hub, cache, maxRetries: 1).DownloadAsync(hub.Repo);

        Assert.Equal(hub.Files["onnx/model.onnx"], await File.ReadAllBytesAsync(Path.Combine(folder, "onnx/model.onnx")));
        HubRequest[] model = [.. hub.FileRequests("onnx/model.onnx")];
        Assert.Equal(2, model.Length);
        Assert.Null(model[0].Header("Range"));
        Assert.Equal("bytes=100000-", model[1].Header("Range"));
    }

    [Fact]
    public async Task TruncatedDownload_KeepsPartialAndNextCallResumes()
    {
        await using var hub = new TestHub().WithSentenceTransformerFiles();
        int served = 0;
        hub.Override = r => CutFirst(r, "onnx/model.onnx", 120_000, ref served, hub);
        using var cache = new TempDir();
        ModelStore store = Store(hub, cache, maxRetries: 0);

        var ex = await Assert.ThrowsAsync<ModelStoreException>(() => store.DownloadAsync(hub.Repo));
        string folder = store.GetFolder(hub.Repo);
        Assert.Contains("onnx/model.onnx", ex.Message, StringComparison.Ordinal);
        Assert.Equal(120_000, new FileInfo(Partial(folder, "onnx/model.onnx")).Length);
        Assert.False(File.Exists(Path.Combine(folder, "onnx/model.onnx")));
        Assert.Null(store.TryGetLocal(hub.Repo));

        await store.DownloadAsync(hub.Repo);

        Assert.Equal(hub.Files["onnx/model.onnx"], await File.ReadAllBytesAsync(Path.Combine(folder, "onnx/model.onnx")));
        Assert.Equal("bytes=120000-", hub.FileRequests("onnx/model.onnx").Last().Header("Range"));
        Assert.False(File.Exists(Partial(folder, "onnx/model.onnx")));
    }

    [Fact]
    public async Task ServerIgnoringRange_RestartsFromZero()
    {
        await using var hub = new TestHub().WithSentenceTransformerFiles();
        hub.IgnoreRange = true;
        using var cache = new TempDir();
        ModelStore store = Store(hub, cache);
        string folder = store.GetFolder(hub.Repo);
        Directory.CreateDirectory(Path.Combine(folder, "onnx"));
        // Garbage kept from "before": appending the 200 body to it would fail the hash.
        await File.WriteAllBytesAsync(Partial(folder, "onnx/model.onnx"), new byte[50_000]);

        await store.DownloadAsync(hub.Repo);

        Assert.Equal(hub.Files["onnx/model.onnx"], await File.ReadAllBytesAsync(Path.Combine(folder, "onnx/model.onnx")));
        Assert.Equal("bytes=50000-", Assert.Single(hub.FileRequests("onnx/model.onnx")).Header("Range"));
    }

    [Fact]
    public async Task StalePartialThatFailsTheHashAfterResume_IsDownloadedAgainFromZero()
    {
        await using var hub = new TestHub().WithSentenceTransformerFiles();
        using var cache = new TempDir();
        ModelStore store = Store(hub, cache, maxRetries: 1);
        string folder = store.GetFolder(hub.Repo);
        Directory.CreateDirectory(Path.Combine(folder, "onnx"));
        await File.WriteAllBytesAsync(Partial(folder, "onnx/model.onnx"), new byte[50_000]);

        await store.DownloadAsync(hub.Repo);

        Assert.Equal(hub.Files["onnx/model.onnx"], await File.ReadAllBytesAsync(Path.Combine(folder, "onnx/model.onnx")));
        HubRequest[] model = [.. hub.FileRequests("onnx/model.onnx")];
        Assert.Equal(2, model.Length);
        Assert.Equal("bytes=50000-", model[0].Header("Range"));
        Assert.Null(model[1].Header("Range"));
    }

    [Theory]
    [InlineData("onnx/model.onnx", "SHA-256")]
    [InlineData("vocab.txt", "git SHA-1")]
    public async Task CorruptedContent_FailsWithBothHashesAndLeavesNoFile(string path, string kind)
    {
        await using var hub = new TestHub().WithSentenceTransformerFiles();
        byte[] bad = (byte[])hub.Files[path].Clone();
        bad[^1] ^= 0x01;
        hub.Served[path] = bad;
        using var cache = new TempDir();
        ModelStore store = Store(hub, cache, maxRetries: 2);

        var ex = await Assert.ThrowsAsync<ModelStoreException>(() => store.DownloadAsync(hub.Repo));

        string expected = kind == "SHA-256" ? TestHub.Sha256(hub.Files[path]) : TestHub.GitSha1(hub.Files[path]);
        string actual = kind == "SHA-256" ? TestHub.Sha256(bad) : TestHub.GitSha1(bad);
        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        Assert.Contains(kind, ex.Message, StringComparison.Ordinal);
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
        Assert.Contains(actual, ex.Message, StringComparison.Ordinal);
        Assert.Equal(path, ex.FilePath);
        string folder = store.GetFolder(hub.Repo);
        Assert.False(File.Exists(Path.Combine(folder, path)));
        Assert.False(File.Exists(Partial(folder, path)));
        Assert.Single(hub.FileRequests(path));
        Assert.Null(store.TryGetLocal(hub.Repo));
    }

    [Fact]
    public async Task OverlongContent_FailsAndLeavesNoFile()
    {
        await using var hub = new TestHub().WithSentenceTransformerFiles();
        hub.Served["config.json"] = [.. hub.Files["config.json"], .. "   "u8.ToArray()];
        using var cache = new TempDir();
        ModelStore store = Store(hub, cache);

        var ex = await Assert.ThrowsAsync<ModelStoreException>(() => store.DownloadAsync(hub.Repo));

        Assert.Contains("config.json", ex.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(store.GetFolder(hub.Repo), "config.json")));
        Assert.False(File.Exists(Partial(store.GetFolder(hub.Repo), "config.json")));
    }

    [Fact]
    public async Task UnknownRepoOrRevision_Is404WithAClearMessage()
    {
        await using var hub = new TestHub().WithSentenceTransformerFiles();
        using var cache = new TempDir();
        ModelStore store = Store(hub, cache);

        var ex = await Assert.ThrowsAsync<ModelStoreException>(() => store.DownloadAsync("acme/no-such-model"));
        Assert.Equal(404, ex.StatusCode);
        Assert.Contains("acme/no-such-model", ex.Message, StringComparison.Ordinal);
        Assert.Contains("HTTP 404", ex.Message, StringComparison.Ordinal);
        Assert.Contains("VECREC_MODEL_DIR", ex.Message, StringComparison.Ordinal);

        var rev = await Assert.ThrowsAsync<ModelStoreException>(() => store.DownloadAsync(hub.Repo, "v9"));
        Assert.Contains("v9", rev.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(cache.Path, "acme", "no-such-model")));
    }

    [Fact]
    public async Task Unauthorized_MentionsTheTokenAndTheTokenIsSent()
    {
        await using var hub = new TestHub().WithSentenceTransformerFiles();
        hub.Override = r => r.Header("Authorization") == "Bearer hf_secret" ? null : HubResponse.Text(401, "Invalid credentials");
        using var cache = new TempDir();

        var ex = await Assert.ThrowsAsync<ModelStoreException>(() => Store(hub, cache).DownloadAsync(hub.Repo));
        Assert.Equal(401, ex.StatusCode);
        Assert.Contains("HF_TOKEN", ex.Message, StringComparison.Ordinal);

        string folder = await Store(hub, cache, token: "hf_secret").DownloadAsync(hub.Repo);
        Assert.True(File.Exists(Path.Combine(folder, "onnx", "model.onnx")));
    }

    [Fact]
    public async Task ServerErrors_AreRetriedThenReported()
    {
        await using var hub = new TestHub().WithSentenceTransformerFiles();
        int failures = 0;
        hub.Override = r => r.Path.EndsWith("vocab.txt", StringComparison.Ordinal) && Interlocked.Increment(ref failures) <= 2 ? HubResponse.Text(503, "busy") : null;
        using var cache = new TempDir();

        await Store(hub, cache, maxRetries: 2).DownloadAsync(hub.Repo);
        Assert.Equal(3, hub.FileRequests("vocab.txt").Count());

        hub.Override = r => HubResponse.Text(500, "down");
        using var cache2 = new TempDir();
        var ex = await Assert.ThrowsAsync<ModelStoreException>(() => Store(hub, cache2, maxRetries: 1).DownloadAsync(hub.Repo));
        Assert.Contains("HTTP 500", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Redirects_AreFollowed()
    {
        await using var hub = new TestHub().WithSentenceTransformerFiles();
        hub.Override = r => r.Path.EndsWith("/resolve/main/onnx/model.onnx", StringComparison.Ordinal)
            ? new HubResponse { Status = 302, Headers = { ["Location"] = "/cdn/blob-1234" } }
            : r.Path == "/cdn/blob-1234" ? new HubResponse { Body = hub.Files["onnx/model.onnx"] } : null;
        using var cache = new TempDir();

        string folder = await Store(hub, cache).DownloadAsync(hub.Repo);

        Assert.Equal(hub.Files["onnx/model.onnx"], await File.ReadAllBytesAsync(Path.Combine(folder, "onnx/model.onnx")));
        Assert.Single(hub.Requests, r => r.Path == "/cdn/blob-1234");
    }

    [Fact]
    public async Task UnreachableHub_SaysCannotReach()
    {
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
        }

        using var cache = new TempDir();
        // The shared default client (no HttpClient option).
        var store = new ModelStore(new ModelStoreOptions { CacheDirectory = cache.Path, Endpoint = new Uri($"http://127.0.0.1:{port}/"), Token = "" });

        var ex = await Assert.ThrowsAsync<ModelStoreException>(() => store.DownloadAsync("sentence-transformers/all-MiniLM-L6-v2"));

        Assert.StartsWith($"Cannot reach http://127.0.0.1:{port} to download sentence-transformers/all-MiniLM-L6-v2 (", ex.Message, StringComparison.Ordinal);
        Assert.Contains(store.GetFolder("sentence-transformers/all-MiniLM-L6-v2"), ex.Message, StringComparison.Ordinal);
        Assert.Contains("VECREC_MODEL_DIR", ex.Message, StringComparison.Ordinal);
        Assert.IsType<HttpRequestException>(ex.InnerException);
        Assert.Null(ex.StatusCode);
    }

    [Fact]
    public async Task Progress_ReachesTheTotals()
    {
        await using var hub = new TestHub().WithSentenceTransformerFiles(modelBytes: 400_000);
        using var cache = new TempDir();
        var log = new ProgressLog();

        await Store(hub, cache).DownloadAsync(hub.Repo, progress: log);

        Assert.All(log.Reports, p => Assert.Equal(Downloaded.Length, p.FilesTotal));
        Assert.Equal(Downloaded.Length, log.Reports[^1].FilesDone);
        Assert.Equal(log.Reports[^1].BytesTotal, log.Reports[^1].BytesDone);
        ModelDownloadProgress[] model = [.. log.Reports.Where(p => p.FilePath == "onnx/model.onnx")];
        Assert.True(model.Length >= 3, $"only {model.Length} reports for the model");
        Assert.All(model, p => Assert.Equal(400_000, p.BytesTotal));
        Assert.Equal(400_000, model[^1].BytesDone);
        for (int i = 1; i < model.Length; i++)
        {
            Assert.True(model[i].BytesDone >= model[i - 1].BytesDone);
        }

        for (int i = 1; i < log.Reports.Count; i++)
        {
            Assert.True(log.Reports[i].FilesDone >= log.Reports[i - 1].FilesDone);
        }

        Assert.Equal(Downloaded.Length, log.Reports.Select(p => p.FilePath).Distinct().Count());
    }

    [Fact]
    public async Task Cancellation_KeepsThePartialFileForResume()
    {
        await using var hub = new TestHub().WithSentenceTransformerFiles();
        var stall = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int served = 0;
        hub.Override = r => r.Path.EndsWith("/resolve/main/onnx/model.onnx", StringComparison.Ordinal) && Interlocked.Increment(ref served) == 1
            ? new HubResponse { Body = hub.Files["onnx/model.onnx"], CutAfter = 90_000, StallUntil = stall.Task }
            : null;
        using var cache = new TempDir();
        ModelStore store = Store(hub, cache);
        using var cts = new CancellationTokenSource();
        var log = new ProgressLog(p =>
        {
            if (p.FilePath == "onnx/model.onnx" && p.BytesDone >= 90_000)
            {
                cts.Cancel();
            }
        });

        try
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.DownloadAsync(hub.Repo, progress: log, cancellationToken: cts.Token));
        }
        finally
        {
            stall.TrySetResult();
        }

        string folder = store.GetFolder(hub.Repo);
        Assert.Equal(90_000, new FileInfo(Partial(folder, "onnx/model.onnx")).Length);
        Assert.Null(store.TryGetLocal(hub.Repo));

        await store.DownloadAsync(hub.Repo);
        Assert.Equal(hub.Files["onnx/model.onnx"], await File.ReadAllBytesAsync(Path.Combine(folder, "onnx/model.onnx")));
        Assert.Equal("bytes=90000-", hub.FileRequests("onnx/model.onnx").Last().Header("Range"));
    }

    [Fact]
    public async Task CancelledBeforeStart_Throws()
    {
        await using var hub = new TestHub().WithSentenceTransformerFiles();
        using var cache = new TempDir();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Store(hub, cache).DownloadAsync(hub.Repo, cancellationToken: new CancellationToken(true)));
        Assert.Empty(hub.Requests);
    }

    [Theory]
    [InlineData("")]
    [InlineData("no-owner")]
    [InlineData("a/b/c")]
    [InlineData("../x")]
    [InlineData("owner/..")]
    [InlineData("owner/.hidden")]
    [InlineData("/abs/name")]
    [InlineData("owner/")]
    [InlineData("owner/na me")]
    [InlineData("owner\\name")]
    [InlineData("C:/name")]
    public async Task BadRepoIds_AreArgumentExceptionsNamingRepo(string repo)
    {
        await using var hub = new TestHub().WithSentenceTransformerFiles();
        using var cache = new TempDir();
        ModelStore store = Store(hub, cache);

        var ex = await Assert.ThrowsAsync<ArgumentException>(() => store.DownloadAsync(repo));
        Assert.Equal("repo", ex.ParamName);
        Assert.Equal("repo", Assert.Throws<ArgumentException>(() => store.TryGetLocal(repo)).ParamName);
        Assert.Equal("repo", Assert.Throws<ArgumentException>(() => store.Delete(repo)).ParamName);
        Assert.Equal("repo", (await Assert.ThrowsAsync<ArgumentException>(() => store.ListFilesAsync(repo))).ParamName);
        Assert.Equal("repo", (await Assert.ThrowsAsync<ArgumentNullException>(() => store.DownloadAsync(null!))).ParamName);
        Assert.Empty(hub.Requests);
    }

    [Theory]
    [InlineData("", "revision")]
    [InlineData("../main", "revision")]
    [InlineData("a//b", "revision")]
    [InlineData("ma in", "revision")]
    public async Task BadRevisions_AreArgumentExceptionsNamingRevision(string revision, string param)
    {
        await using var hub = new TestHub().WithSentenceTransformerFiles();
        using var cache = new TempDir();
        var ex = await Assert.ThrowsAsync<ArgumentException>(() => Store(hub, cache).DownloadAsync(hub.Repo, revision));
        Assert.Equal(param, ex.ParamName);
    }

    [Theory]
    [InlineData("../secret")]
    [InlineData("/etc/passwd")]
    [InlineData("onnx/../../x")]
    [InlineData("a\\b")]
    [InlineData("")]
    [InlineData(".vecrec-model.json")]
    [InlineData("vocab.txt.partial")]
    public async Task BadFileLists_AreArgumentExceptionsNamingFiles(string path)
    {
        await using var hub = new TestHub().WithSentenceTransformerFiles();
        using var cache = new TempDir();
        var ex = await Assert.ThrowsAsync<ArgumentException>(() => Store(hub, cache).DownloadAsync(hub.Repo, files: [path]));
        Assert.Equal("files", ex.ParamName);
        Assert.Equal("files", (await Assert.ThrowsAsync<ArgumentException>(() => Store(hub, cache).DownloadAsync(hub.Repo, files: []))).ParamName);
    }

    [Theory]
    [InlineData("../evil.txt")]
    [InlineData("/tmp/evil.txt")]
    [InlineData("onnx/../../evil.txt")]
    [InlineData("..\\\\evil.txt")]
    [InlineData("C:/evil.txt")]
    public async Task UnsafeTreeEntries_AreRejectedAndNothingIsDownloaded(string path)
    {
        await using var hub = new TestHub().WithSentenceTransformerFiles();
        hub.ExtraTreeEntries.Add($"{{\"type\":\"file\",\"oid\":\"{new string('a', 40)}\",\"size\":5,\"path\":\"{path}\"}}");
        using var cache = new TempDir();
        ModelStore store = Store(hub, cache);

        var ex = await Assert.ThrowsAsync<ModelStoreException>(() => store.DownloadAsync(hub.Repo));

        Assert.Contains("unsafe", ex.Message, StringComparison.Ordinal);
        Assert.IsType<InvalidDataException>(ex.InnerException);
        Assert.DoesNotContain(hub.Requests, r => r.Path.Contains("/resolve/", StringComparison.Ordinal));
        Assert.False(Directory.Exists(store.GetFolder(hub.Repo)));
    }

    [Fact]
    public async Task MalformedTree_IsRejected()
    {
        await using var hub = new TestHub().WithSentenceTransformerFiles();
        hub.Override = r => r.Path.Contains("/tree/", StringComparison.Ordinal) ? HubResponse.Text(200, "{\"not\":\"an array\"}") : null;
        using var cache = new TempDir();

        var ex = await Assert.ThrowsAsync<ModelStoreException>(() => Store(hub, cache).DownloadAsync(hub.Repo));
        Assert.IsType<InvalidDataException>(ex.InnerException);
    }

    [Fact]
    public async Task PagedTree_IsFollowed()
    {
        await using var hub = new TestHub().WithSentenceTransformerFiles();
        byte[] vocab = hub.Files["vocab.txt"];
        string vocabEntry = $"[{{\"type\":\"file\",\"oid\":\"{TestHub.GitSha1(vocab)}\",\"size\":{vocab.Length},\"path\":\"vocab.txt\"}}]";
        hub.Files.Remove("vocab.txt");
        hub.Override = r =>
        {
            if (!r.Path.Contains("/tree/", StringComparison.Ordinal))
            {
                return r.Path.EndsWith("/vocab.txt", StringComparison.Ordinal) ? new HubResponse { Body = vocab } : null;
            }

            return r.Target.Contains("cursor=2", StringComparison.Ordinal)
                ? HubResponse.Text(200, vocabEntry)
                : new HubResponse { Body = Encoding.UTF8.GetBytes(hub.TreeJson()), Headers = { ["Link"] = $"<{hub.Endpoint}api/models/{hub.Repo}/tree/main?recursive=true&cursor=2>; rel=\"next\"" } };
        };
        using var cache = new TempDir();

        string folder = await Store(hub, cache).DownloadAsync(hub.Repo);

        Assert.Equal(vocab, await File.ReadAllBytesAsync(Path.Combine(folder, "vocab.txt")));
        Assert.Equal(2, hub.Requests.Count(r => r.Path.Contains("/tree/", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task ListLocal_TryGetLocal_Delete()
    {
        await using var hub = new TestHub().WithSentenceTransformerFiles();
        hub.Revisions.Add("v1.0");
        hub.Revisions.Add("refs/pr/1");
        using var cache = new TempDir();
        ModelStore store = Store(hub, cache);
        Assert.Empty(store.ListLocal());
        Assert.Null(store.TryGetLocal(hub.Repo));

        string main = await store.DownloadAsync(hub.Repo);
        string v1 = await store.DownloadAsync(hub.Repo, "v1.0", files: ["vocab.txt"]);
        string pr = await store.DownloadAsync(hub.Repo, "refs/pr/1", files: ["config.json"]);

        Assert.Equal(Path.Combine(cache.Path, "acme", "tiny-model", "refs%2Fpr%2F1"), pr);
        IReadOnlyList<CachedModel> local = store.ListLocal();
        Assert.Equal(["main", "refs/pr/1", "v1.0"], local.Select(m => m.Revision));
        Assert.All(local, m => Assert.Equal(hub.Repo, m.Repo));
        Assert.All(local, m => Assert.True(m.Complete));
        Assert.Equal(main, local[0].Folder);
        long mainBytes = Downloaded.Sum(p => (long)hub.Files[p].Length);
        Assert.InRange(local[0].TotalBytes, mainBytes + 1, mainBytes + 10_000); // files plus the store's small record
        Assert.Equal(v1, store.TryGetLocal(hub.Repo, "v1.0"));
        Assert.Equal(pr, store.TryGetLocal(hub.Repo, "refs/pr/1"));

        Assert.True(store.Delete(hub.Repo, "v1.0"));
        Assert.False(store.Delete(hub.Repo, "v1.0"));
        Assert.Null(store.TryGetLocal(hub.Repo, "v1.0"));
        Assert.Equal(2, store.ListLocal().Count);
        Assert.True(store.Delete(hub.Repo));
        Assert.True(store.Delete(hub.Repo, "refs/pr/1"));
        Assert.Empty(store.ListLocal());
        Assert.Empty(Directory.GetFileSystemEntries(cache.Path));
    }

    [Fact]
    public void Options_OverrideDefaultsAndAreValidated()
    {
        using var cache = new TempDir();
        var store = new ModelStore(new ModelStoreOptions { CacheDirectory = cache.Path, Endpoint = new Uri("http://127.0.0.1:1/") });
        Assert.Equal(cache.Path, store.CacheDirectory);
        Assert.Equal(new Uri("http://127.0.0.1:1/"), store.Endpoint);
        Assert.Equal(Path.Combine(cache.Path, "sentence-transformers", "all-MiniLM-L6-v2", "main"), store.GetFolder("sentence-transformers/all-MiniLM-L6-v2"));

        Assert.Equal("options", Assert.Throws<ArgumentException>(() => new ModelStore(new ModelStoreOptions { Endpoint = new Uri("ftp://x/") })).ParamName);
        Assert.Equal("options", Assert.Throws<ArgumentException>(() => new ModelStore(new ModelStoreOptions { MaxRetries = -1 })).ParamName);
        Assert.Equal("options", Assert.Throws<ArgumentException>(() => new ModelStore(new ModelStoreOptions { ReadTimeout = TimeSpan.Zero })).ParamName);
        Assert.Contains("vocab.txt", ModelStore.DefaultFiles);
    }

    [Fact]
    public void Environment_IsUsedWhenOptionsAreAbsent()
    {
        var env = new Dictionary<string, string?>
        {
            ["VECREC_MODEL_CACHE"] = "/tmp/vecrec-env-cache",
            ["HF_ENDPOINT"] = "https://mirror.example/hf",
            ["HF_TOKEN"] = " hf_env ",
        };
        Func<string, string?> lookup = name => env.GetValueOrDefault(name);

        Assert.Equal(Path.GetFullPath("/tmp/vecrec-env-cache"), ModelStore.ResolveCacheDirectory(null, lookup));
        Assert.Equal(Path.GetFullPath("/tmp/opt"), ModelStore.ResolveCacheDirectory("/tmp/opt", lookup));
        Assert.Equal(new Uri("https://mirror.example/hf/"), ModelStore.ResolveEndpoint(null, lookup));
        Assert.Equal(new Uri("http://127.0.0.1:5/x/"), ModelStore.ResolveEndpoint(new Uri("http://127.0.0.1:5/x"), lookup));
        Assert.Equal("hf_env", ModelStore.ResolveToken(null, lookup));
        Assert.Null(ModelStore.ResolveToken("", lookup));
        Assert.Equal("hf_opt", ModelStore.ResolveToken("hf_opt", lookup));

        Func<string, string?> none = _ => null;
        string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        Assert.Equal(Path.Combine(home, ".cache", "vecrec", "models"), ModelStore.ResolveCacheDirectory(null, none));
        Assert.Equal(new Uri("https://huggingface.co/"), ModelStore.ResolveEndpoint(null, none));
        Assert.Null(ModelStore.ResolveToken(null, none));

        env["HF_ENDPOINT"] = "not a url";
        Assert.Throws<ModelStoreException>(() => ModelStore.ResolveEndpoint(null, lookup));
    }

    [Fact]
    public async Task EndpointUnderAPath_IsKept()
    {
        await using var hub = new TestHub().WithSentenceTransformerFiles();
        using var cache = new TempDir();
        var store = new ModelStore(new ModelStoreOptions { CacheDirectory = cache.Path, Endpoint = new Uri(hub.Endpoint, "hf"), HttpClient = Client, Token = "" });

        var ex = await Assert.ThrowsAsync<ModelStoreException>(() => store.DownloadAsync(hub.Repo));

        // The fake hub serves only unprefixed paths, so it answers 404; what matters is that the request went under /hf/.
        Assert.Equal(404, ex.StatusCode);
        Assert.StartsWith($"/hf/api/models/{hub.Repo}/tree/main", Assert.Single(hub.Requests).Path, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FullLengthPartial_IsVerifiedAndKeptWithoutARequest()
    {
        await using var hub = new TestHub().WithSentenceTransformerFiles();
        using var cache = new TempDir();
        ModelStore store = Store(hub, cache);
        string folder = store.GetFolder(hub.Repo);
        Directory.CreateDirectory(Path.Combine(folder, "onnx"));
        await File.WriteAllBytesAsync(Partial(folder, "onnx/model.onnx"), hub.Files["onnx/model.onnx"]);

        await store.DownloadAsync(hub.Repo);

        Assert.Empty(hub.FileRequests("onnx/model.onnx"));
        Assert.Equal(hub.Files["onnx/model.onnx"], await File.ReadAllBytesAsync(Path.Combine(folder, "onnx/model.onnx")));
        Assert.False(File.Exists(Partial(folder, "onnx/model.onnx")));
    }
}

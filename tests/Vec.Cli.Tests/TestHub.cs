using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Vec.Cli.Tests;

/// <summary>A request the test hub received.</summary>
internal sealed record HubRequest(string Method, string Target, string Path, IReadOnlyDictionary<string, string> Headers)
{
    public string? Header(string name) => Headers.TryGetValue(name, out string? v) ? v : null;
}

/// <summary>What the test hub answers.</summary>
internal sealed class HubResponse
{
    public int Status { get; init; } = 200;

    public byte[] Body { get; init; } = [];

    public Dictionary<string, string> Headers { get; init; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Send only this many body bytes (Content-Length still announces all), then close the connection.</summary>
    public int? CutAfter { get; init; }

    /// <summary>After <see cref="CutAfter"/> bytes, wait for this before closing (a stalled server).</summary>
    public Task? StallUntil { get; init; }

    public static HubResponse Text(int status, string text) => new() { Status = status, Body = Encoding.UTF8.GetBytes(text) };
}

/// <summary>
/// (Copied from tests/Vec.Embed.Tests/TestHub.cs.) A minimal HTTP/1.1 server on 127.0.0.1 (TcpListener, one request per connection) that plays the Hugging Face hub
/// for one repository: the tree API and <c>/resolve/</c> downloads with Range support, plus hooks to misbehave.
/// </summary>
internal sealed class TestHub : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public TestHub(string repo = "acme/tiny-model")
    {
        Repo = repo;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        Endpoint = new Uri($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/");
        _loop = Task.Run(AcceptLoopAsync);
    }

    public Uri Endpoint { get; }

    public string Repo { get; }

    /// <summary>Revisions the repository has.</summary>
    public HashSet<string> Revisions { get; } = new(StringComparer.Ordinal) { "main" };

    /// <summary>Repository files by path.</summary>
    public Dictionary<string, byte[]> Files { get; } = new(StringComparer.Ordinal);

    /// <summary>Paths stored through LFS (listed with an SHA-256).</summary>
    public HashSet<string> Lfs { get; } = new(StringComparer.Ordinal);

    /// <summary>Contents served instead of <see cref="Files"/> (the listing still describes <see cref="Files"/>).</summary>
    public Dictionary<string, byte[]> Served { get; } = new(StringComparer.Ordinal);

    /// <summary>Extra raw entries appended to the tree listing (JSON objects as text).</summary>
    public List<string> ExtraTreeEntries { get; } = [];

    public bool IgnoreRange { get; set; }

    /// <summary>Answers a request before the default routing when it returns non-null.</summary>
    public Func<HubRequest, HubResponse?>? Override { get; set; }

    public ConcurrentQueue<HubRequest> Requests { get; } = new();

    public IEnumerable<HubRequest> FileRequests(string path) => Requests.Where(r => r.Path.EndsWith("/resolve/main/" + path, StringComparison.Ordinal));

    /// <summary>The usual small sentence-transformers repository, with a random <paramref name="modelBytes"/>-byte model.onnx.</summary>
    public TestHub WithSentenceTransformerFiles(int modelBytes = 300_000, bool onnxFolder = true, int seed = 1)
    {
        var model = new byte[modelBytes];
        new Random(seed).NextBytes(model);
        string onnx = onnxFolder ? "onnx/model.onnx" : "model.onnx";
        Files[onnx] = model;
        Lfs.Add(onnx);
        Files["vocab.txt"] = Encoding.UTF8.GetBytes(string.Join('\n', ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "world"]) + "\n");
        Files["config.json"] = Encoding.UTF8.GetBytes("{\"hidden_size\": 8, \"model_type\": \"bert\"}");
        Files["tokenizer_config.json"] = Encoding.UTF8.GetBytes("{\"do_lower_case\": true}");
        Files["special_tokens_map.json"] = Encoding.UTF8.GetBytes("{\"cls_token\": \"[CLS]\"}");
        Files["sentence_bert_config.json"] = Encoding.UTF8.GetBytes("{\"max_seq_length\": 256}");
        Files["modules.json"] = Encoding.UTF8.GetBytes("[{\"idx\": 0, \"path\": \"\"}]");
        Files["1_Pooling/config.json"] = Encoding.UTF8.GetBytes("{\"pooling_mode_mean_tokens\": true}");
        Files["README.md"] = Encoding.UTF8.GetBytes("# tiny model\n");
        Files["pytorch_model.bin"] = new byte[1000];
        Lfs.Add("pytorch_model.bin");
        return this;
    }

    public static string GitSha1(byte[] content)
    {
        byte[] header = Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"blob {content.Length}\0"));
        return Convert.ToHexStringLower(SHA1.HashData([.. header, .. content]));
    }

    public static string Sha256(byte[] content) => Convert.ToHexStringLower(SHA256.HashData(content));

    public string TreeJson()
    {
        var entries = new List<string>();
        foreach (string dir in Files.Keys.Where(p => p.Contains('/')).Select(p => p[..p.LastIndexOf('/')]).Distinct())
        {
            entries.Add($"{{\"type\":\"directory\",\"oid\":\"{new string('0', 40)}\",\"size\":0,\"path\":{JsonSerializer.Serialize(dir)}}}");
        }

        foreach ((string path, byte[] content) in Files)
        {
            if (Lfs.Contains(path))
            {
                byte[] pointer = Encoding.ASCII.GetBytes($"version https://git-lfs.github.com/spec/v1\noid sha256:{Sha256(content)}\nsize {content.Length}\n");
                entries.Add($"{{\"type\":\"file\",\"oid\":\"{GitSha1(pointer)}\",\"size\":{content.Length},\"path\":{JsonSerializer.Serialize(path)},\"lfs\":{{\"oid\":\"{Sha256(content)}\",\"size\":{content.Length},\"pointerSize\":{pointer.Length}}}}}");
            }
            else
            {
                entries.Add($"{{\"type\":\"file\",\"oid\":\"{GitSha1(content)}\",\"size\":{content.Length},\"path\":{JsonSerializer.Serialize(path)}}}");
            }
        }

        entries.AddRange(ExtraTreeEntries);
        return "[" + string.Join(",", entries) + "]";
    }

    private HubResponse Route(HubRequest request)
    {
        if (Override?.Invoke(request) is HubResponse custom)
        {
            return custom;
        }

        string treePrefix = $"/api/models/{Repo}/tree/";
        if (request.Path.StartsWith(treePrefix, StringComparison.Ordinal))
        {
            string revision = Uri.UnescapeDataString(request.Path[treePrefix.Length..]);
            return Revisions.Contains(revision)
                ? new HubResponse { Body = Encoding.UTF8.GetBytes(TreeJson()), Headers = { ["Content-Type"] = "application/json" } }
                : HubResponse.Text(404, "{\"error\":\"Revision not found\"}");
        }

        string resolvePrefix = $"/{Repo}/resolve/";
        if (request.Path.StartsWith(resolvePrefix, StringComparison.Ordinal))
        {
            string rest = request.Path[resolvePrefix.Length..];
            int slash = rest.IndexOf('/');
            string revision = Uri.UnescapeDataString(rest[..slash]);
            string path = Uri.UnescapeDataString(rest[(slash + 1)..]);
            if (!Revisions.Contains(revision) || !Files.TryGetValue(path, out byte[]? content))
            {
                return HubResponse.Text(404, "Entry not found");
            }

            content = Served.GetValueOrDefault(path) ?? content;
            string? range = request.Header("Range");
            if (range is not null && !IgnoreRange && range.StartsWith("bytes=", StringComparison.Ordinal) && range.EndsWith('-'))
            {
                long from = long.Parse(range[6..^1], CultureInfo.InvariantCulture);
                if (from >= content.Length)
                {
                    return new HubResponse { Status = 416, Headers = { ["Content-Range"] = $"bytes */{content.Length}" } };
                }

                return new HubResponse
                {
                    Status = 206,
                    Body = content[(int)from..],
                    Headers = { ["Content-Range"] = $"bytes {from}-{content.Length - 1}/{content.Length}" },
                };
            }

            return new HubResponse { Body = content };
        }

        return HubResponse.Text(404, "Repository not found");
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }

            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using (client)
        {
            try
            {
                NetworkStream net = client.GetStream();
                HubRequest? request = await ReadRequestAsync(net);
                if (request is null)
                {
                    return;
                }

                Requests.Enqueue(request);
                HubResponse response = Route(request);
                var head = new StringBuilder();
                head.Append(CultureInfo.InvariantCulture, $"HTTP/1.1 {response.Status} {ReasonPhrase(response.Status)}\r\n");
                head.Append(CultureInfo.InvariantCulture, $"Content-Length: {response.Body.Length}\r\n");
                head.Append("Connection: close\r\n");
                foreach ((string name, string value) in response.Headers)
                {
                    head.Append(CultureInfo.InvariantCulture, $"{name}: {value}\r\n");
                }

                head.Append("\r\n");
                await net.WriteAsync(Encoding.ASCII.GetBytes(head.ToString()), _stop.Token);
                int count = Math.Min(response.CutAfter ?? response.Body.Length, response.Body.Length);
                await net.WriteAsync(response.Body.AsMemory(0, count), _stop.Token);
                await net.FlushAsync(_stop.Token);
                if (response.StallUntil is Task stall)
                {
                    await stall.WaitAsync(_stop.Token);
                }

                client.Client.Shutdown(SocketShutdown.Send);
            }
            catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
                // The client went away (cancellation tests) or the hub is shutting down.
            }
        }
    }

    private static async Task<HubRequest?> ReadRequestAsync(NetworkStream net)
    {
        var buffer = new List<byte>();
        var one = new byte[1024];
        while (true)
        {
            int n = await net.ReadAsync(one);
            if (n == 0)
            {
                return null;
            }

            buffer.AddRange(one.AsSpan(0, n));
            string text = Encoding.ASCII.GetString([.. buffer]);
            int end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            if (end < 0)
            {
                continue;
            }

            string[] lines = text[..end].Split("\r\n");
            string[] first = lines[0].Split(' ');
            var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (string line in lines.Skip(1))
            {
                int colon = line.IndexOf(':');
                headers[line[..colon].Trim()] = line[(colon + 1)..].Trim();
            }

            string target = first[1];
            int q = target.IndexOf('?');
            return new HubRequest(first[0], target, q < 0 ? target : target[..q], headers);
        }
    }

    private static string ReasonPhrase(int status) => status switch
    {
        200 => "OK",
        206 => "Partial Content",
        302 => "Found",
        401 => "Unauthorized",
        404 => "Not Found",
        416 => "Range Not Satisfiable",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    };

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _loop;
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
    }
}

using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using Vec.Embed.Internals;

namespace Vec.Embed;

/// <summary>
/// Downloads model repositories from the Hugging Face hub into a local cache and verifies them, in the manner of
/// <c>huggingface_hub.snapshot_download</c>.
/// </summary>
/// <remarks>
/// <para><b>Layout.</b> A model lives in <c>&lt;cache&gt;/&lt;owner&gt;/&lt;name&gt;/&lt;revision&gt;/</c> with the
/// repository's relative paths (<c>onnx/model.onnx</c>, <c>1_Pooling/config.json</c>); a revision holding <c>/</c> is
/// stored with it escaped as <c>%2F</c>. The cache is <see cref="ModelStoreOptions.CacheDirectory"/>, else the
/// environment variable <c>VECREC_MODEL_CACHE</c>, else <c>~/.cache/vecrec/models</c>.</para>
/// <para><b>Verification.</b> The file list, sizes and hashes come from
/// <c>GET {endpoint}/api/models/{repo}/tree/{revision}?recursive=true</c>. Every downloaded file is checked for its size
/// and for the SHA-256 of its content (LFS files such as <c>model.onnx</c>) or its git blob SHA-1 (other files); a
/// mismatch deletes it and throws <see cref="ModelStoreException"/> naming the file and both hashes.</para>
/// <para><b>Downloads</b> go to <c>&lt;file&gt;.partial</c> and are renamed into place only once verified, so a final
/// name never holds a half-written or unverified file. An existing <c>.partial</c> (an interrupted or cancelled
/// download) is resumed with <c>Range: bytes=N-</c>; a server that answers 200 instead of 206 is read from the start.
/// Transient failures (the connection dropping or stalling mid-file, HTTP 408/429/5xx) are retried
/// <see cref="ModelStoreOptions.MaxRetries"/> times, each retry resuming.</para>
/// <para><b>What is remembered.</b> Each model folder holds <c>.vecrec-model.json</c>: for every verified file its size,
/// the hub's hash and the file's last write time, and whether a download finished. A file whose size and write time
/// still match its entry is trusted without re-hashing; any other file already present under its final name is
/// re-hashed once (and kept when it matches). Once a download has finished, <see cref="DownloadAsync"/> for the same
/// repository, revision and files returns the folder without any network access: a moving revision such as
/// <c>main</c> is not re-checked; <see cref="Delete"/> it to fetch it again.</para>
/// <para>Instances are safe for concurrent use on different models. Two downloads of the same model at once (in one
/// process or two) are not supported: the second fails on the locked <c>.partial</c> file.</para>
/// </remarks>
public sealed class ModelStore
{
    /// <summary>The default hub.</summary>
    public static readonly Uri DefaultEndpoint = new("https://huggingface.co");

    /// <summary>The revision used when none is given.</summary>
    public const string DefaultRevision = "main";

    private const string OnnxPath = "onnx/model.onnx";
    private const string RootOnnxPath = "model.onnx";
    private const int BufferSize = 1 << 16;

    private static readonly string[] RequiredFiles = [OnnxPath, "vocab.txt", "config.json"];

    private static readonly string[] OptionalFiles =
        ["tokenizer_config.json", "special_tokens_map.json", "sentence_bert_config.json", "modules.json", "1_Pooling/config.json"];

    private static readonly Lazy<HttpClient> SharedClient = new(CreateClient);

    private readonly HttpClient _http;
    private readonly string? _token;
    private readonly int _maxRetries;
    private readonly TimeSpan _retryDelay;
    private readonly TimeSpan _readTimeout;

    /// <summary>Creates a store.</summary>
    /// <param name="options">Settings; null for the defaults (and environment variables).</param>
    /// <exception cref="ArgumentException">An option is out of range (the endpoint is not absolute http(s), a negative retry count or delay, a non-positive read timeout).</exception>
    /// <exception cref="ModelStoreException">The environment variable <c>HF_ENDPOINT</c> is set to something that is not an absolute http(s) address.</exception>
    public ModelStore(ModelStoreOptions? options = null)
    {
        options ??= new ModelStoreOptions();
        if (options.Endpoint is Uri given && (!given.IsAbsoluteUri || (given.Scheme != Uri.UriSchemeHttp && given.Scheme != Uri.UriSchemeHttps)))
        {
            throw new ArgumentException($"The hub endpoint '{given}' must be an absolute http or https address.", nameof(options));
        }

        Func<string, string?> env = Environment.GetEnvironmentVariable;
        CacheDirectory = ResolveCacheDirectory(options.CacheDirectory, env);
        Endpoint = ResolveEndpoint(options.Endpoint, env);

        if (options.MaxRetries < 0)
        {
            throw new ArgumentException($"MaxRetries is {options.MaxRetries}; it must be 0 or more.", nameof(options));
        }

        if (options.RetryDelay < TimeSpan.Zero)
        {
            throw new ArgumentException($"RetryDelay is {options.RetryDelay}; it must not be negative.", nameof(options));
        }

        if (options.ReadTimeout <= TimeSpan.Zero && options.ReadTimeout != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentException($"ReadTimeout is {options.ReadTimeout}; it must be positive (or infinite).", nameof(options));
        }

        _token = ResolveToken(options.Token, env);
        _http = options.HttpClient ?? SharedClient.Value;
        _maxRetries = options.MaxRetries;
        _retryDelay = options.RetryDelay;
        _readTimeout = options.ReadTimeout;
    }

    /// <summary>The cache folder (absolute).</summary>
    public string CacheDirectory { get; }

    /// <summary>The hub address.</summary>
    public Uri Endpoint { get; }

    /// <summary>
    /// The files fetched when none are named: the ONNX model (<c>onnx/model.onnx</c>, or <c>model.onnx</c> where the
    /// repository has no <c>onnx/model.onnx</c>), <c>vocab.txt</c> and <c>config.json</c> (all three required), and
    /// where present <c>tokenizer_config.json</c>, <c>special_tokens_map.json</c>, <c>sentence_bert_config.json</c>,
    /// <c>modules.json</c> and <c>1_Pooling/config.json</c>.
    /// </summary>
    public static IReadOnlyList<string> DefaultFiles { get; } = [.. RequiredFiles, .. OptionalFiles];

    /// <summary>The folder a model copy has (or would have) in the cache; nothing is checked on disk.</summary>
    /// <param name="repo">Repository id, <c>owner/name</c>.</param>
    /// <param name="revision">Branch, tag or commit.</param>
    /// <returns>The absolute folder path.</returns>
    /// <exception cref="ArgumentException"><paramref name="repo"/> or <paramref name="revision"/> is not valid.</exception>
    public string GetFolder(string repo, string revision = DefaultRevision)
    {
        ValidateRepo(repo, revision);
        return FolderOf(repo, revision);
    }

    /// <summary>
    /// Makes sure a model is in the cache and returns its folder: downloads and verifies the files not already there
    /// (see the class remarks), or returns at once, without network access, when an earlier download of the same files
    /// finished.
    /// </summary>
    /// <param name="repo">Repository id, <c>owner/name</c> (for example <c>sentence-transformers/all-MiniLM-L6-v2</c>).</param>
    /// <param name="revision">Branch, tag or commit; default <c>main</c>.</param>
    /// <param name="files">Repository-relative paths to fetch, all required; null for <see cref="DefaultFiles"/>.</param>
    /// <param name="progress">Receives progress synchronously (a <see cref="Progress{T}"/> posts it elsewhere itself).</param>
    /// <param name="cancellationToken">Cancels the download; a partly downloaded file is kept and resumed next time.</param>
    /// <returns>The model folder.</returns>
    /// <exception cref="ArgumentException">A bad <paramref name="repo"/>, <paramref name="revision"/> or entry of <paramref name="files"/> (the exception names it).</exception>
    /// <exception cref="ModelStoreException">The hub cannot be reached, refuses access, lacks the repository or a required file, lists unsafe paths, or a file fails verification.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<string> DownloadAsync(
        string repo,
        string revision = DefaultRevision,
        IReadOnlyList<string>? files = null,
        IProgress<ModelDownloadProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ValidateRepo(repo, revision);
        string[]? wanted = ValidateFiles(files);
        cancellationToken.ThrowIfCancellationRequested();
        string folder = FolderOf(repo, revision);

        ModelManifest? manifest = ModelManifest.TryRead(folder);
        if (manifest is not null && (manifest.Repo != repo || manifest.Revision != revision))
        {
            manifest = null;
        }

        if (manifest is not null && CoversLocally(manifest, folder, wanted))
        {
            List<ManifestEntry> entries = wanted is null ? [.. manifest.Files.Values] : [.. wanted.Select(w => manifest.Files[w])];
            for (int i = 0; i < entries.Count; i++)
            {
                progress?.Report(new ModelDownloadProgress(entries[i].Path, entries[i].Size, entries[i].Size, i + 1, entries.Count));
            }

            return folder;
        }

        IReadOnlyList<ModelFile> listing = await ListFilesAsync(repo, revision, cancellationToken).ConfigureAwait(false);
        List<ModelFile> selected = Select(repo, revision, listing, wanted, folder);

        // Complete stays as it was: it means "a download finished and every file recorded is still there", which a
        // call adding files does not change until one of the recorded files is replaced.
        manifest ??= new ModelManifest { Repo = repo, Revision = revision };
        try
        {
            Directory.CreateDirectory(folder);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ModelStoreException($"Cannot create the model folder {folder} ({ex.Message}); set VECREC_MODEL_CACHE or ModelStoreOptions.CacheDirectory to a writable folder.", repo, null, null, ex);
        }

        for (int i = 0; i < selected.Count; i++)
        {
            ModelFile file = selected[i];
            string local = ModelPaths.Local(folder, file.Path);
            progress?.Report(new ModelDownloadProgress(file.Path, 0, file.Size, i, selected.Count));
            bool present;
            try
            {
                present = await IsPresentAsync(manifest, file, local, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new ModelStoreException($"Cannot check or replace {local} ({ex.Message}); make the model folder writable or delete it.", repo, file.Path, null, ex);
            }

            if (!present)
            {
                await DownloadFileAsync(repo, revision, folder, file, local, i, selected.Count, progress, cancellationToken).ConfigureAwait(false);
            }

            manifest.Files[file.Path] = new ManifestEntry(file.Path, file.Size, file.Sha256 ?? file.GitOid, File.GetLastWriteTimeUtc(local).Ticks);
            if (!present)
            {
                manifest.Write(folder);
            }

            progress?.Report(new ModelDownloadProgress(file.Path, file.Size, file.Size, i + 1, selected.Count));
        }

        manifest.Complete = true;
        manifest.DefaultSet |= wanted is null;
        manifest.Write(folder);
        return folder;
    }

    /// <summary>Lists a repository's files at a revision, from the hub (paged listings are followed).</summary>
    /// <param name="repo">Repository id, <c>owner/name</c>.</param>
    /// <param name="revision">Branch, tag or commit.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>Every file (directories left out).</returns>
    /// <exception cref="ArgumentException">A bad <paramref name="repo"/> or <paramref name="revision"/>.</exception>
    /// <exception cref="ModelStoreException">The hub cannot be reached, refuses access, lacks the repository, or answers a malformed or unsafe listing.</exception>
    public async Task<IReadOnlyList<ModelFile>> ListFilesAsync(string repo, string revision = DefaultRevision, CancellationToken cancellationToken = default)
    {
        ValidateRepo(repo, revision);
        string folder = FolderOf(repo, revision);
        var files = new List<ModelFile>();
        Uri? url = new(Endpoint, $"api/models/{repo}/tree/{Uri.EscapeDataString(revision)}?recursive=true");
        for (int page = 0; url is not null; page++)
        {
            if (page == 10_000)
            {
                throw new ModelStoreException($"{Endpoint} listed more than 10000 pages of files for {repo}; the listing looks broken.", repo, null, null);
            }

            using HttpResponseMessage response = await SendWithRetriesAsync(repo, revision, folder, null, url, cancellationToken).ConfigureAwait(false);
            byte[] body;
            try
            {
                body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (IsNetworkFailure(ex, cancellationToken))
            {
                throw CannotReach(repo, folder, ex);
            }

            try
            {
                HubTree.Parse(body, files);
            }
            catch (Exception ex) when (ex is InvalidDataException or System.Text.Json.JsonException)
            {
                throw new ModelStoreException($"{Endpoint} answered an unusable file listing for {repo} at {revision} ({ex.Message}); it was rejected and nothing was downloaded.", repo, null, (int)response.StatusCode, ex);
            }

            url = HubTree.NextPage(response);
        }

        return files;
    }

    /// <summary>The folder of a finished download of a model, or null; reads only the disk (no network, no hashing).</summary>
    /// <param name="repo">Repository id, <c>owner/name</c>.</param>
    /// <param name="revision">Branch, tag or commit; default <c>main</c>.</param>
    /// <returns>The folder, when a download finished there and every file it recorded is still present with its size.</returns>
    /// <exception cref="ArgumentException">A bad <paramref name="repo"/> or <paramref name="revision"/>.</exception>
    public string? TryGetLocal(string repo, string revision = DefaultRevision)
    {
        ValidateRepo(repo, revision);
        string folder = FolderOf(repo, revision);
        ModelManifest? manifest = ModelManifest.TryRead(folder);
        return manifest is not null && manifest.Repo == repo && manifest.Revision == revision && manifest.Complete
               && AllPresent(manifest.Files.Values, folder)
            ? folder
            : null;
    }

    /// <summary>Lists the model copies in the cache (folders the store has written a record in).</summary>
    /// <returns>The copies, ordered by repository and revision.</returns>
    public IReadOnlyList<CachedModel> ListLocal()
    {
        var result = new List<CachedModel>();
        if (!Directory.Exists(CacheDirectory))
        {
            return result;
        }

        foreach (string owner in Directory.EnumerateDirectories(CacheDirectory))
        {
            foreach (string name in Directory.EnumerateDirectories(owner))
            {
                foreach (string folder in Directory.EnumerateDirectories(name))
                {
                    ModelManifest? m = ModelManifest.TryRead(folder);
                    if (m is null || !string.Equals(FolderOf(m.Repo, m.Revision), Path.GetFullPath(folder), StringComparison.Ordinal))
                    {
                        continue;
                    }

                    long bytes = new DirectoryInfo(folder).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length);
                    bool complete = m.Complete && AllPresent(m.Files.Values, folder);
                    result.Add(new CachedModel(m.Repo, m.Revision, folder, bytes, complete));
                }
            }
        }

        result.Sort((a, b) =>
        {
            int c = string.CompareOrdinal(a.Repo, b.Repo);
            return c != 0 ? c : string.CompareOrdinal(a.Revision, b.Revision);
        });
        return result;
    }

    /// <summary>Deletes a model copy (finished or not) from the cache, and its owner's folders when they become empty.</summary>
    /// <param name="repo">Repository id, <c>owner/name</c>.</param>
    /// <param name="revision">Branch, tag or commit; default <c>main</c>.</param>
    /// <returns>Whether there was a folder to delete.</returns>
    /// <exception cref="ArgumentException">A bad <paramref name="repo"/> or <paramref name="revision"/>.</exception>
    public bool Delete(string repo, string revision = DefaultRevision)
    {
        ValidateRepo(repo, revision);
        string folder = FolderOf(repo, revision);
        if (!Directory.Exists(folder))
        {
            return false;
        }

        Directory.Delete(folder, recursive: true);
        string? parent = Path.GetDirectoryName(folder);
        for (int up = 0; up < 2 && parent is not null && Directory.Exists(parent) && !Directory.EnumerateFileSystemEntries(parent).Any(); up++)
        {
            Directory.Delete(parent);
            parent = Path.GetDirectoryName(parent);
        }

        return true;
    }

    /// <summary>Cache folder: the option, else <c>VECREC_MODEL_CACHE</c>, else <c>~/.cache/vecrec/models</c> (absolute).</summary>
    internal static string ResolveCacheDirectory(string? option, Func<string, string?> env)
    {
        string? chosen = !string.IsNullOrWhiteSpace(option) ? option : env("VECREC_MODEL_CACHE");
        if (string.IsNullOrWhiteSpace(chosen))
        {
            chosen = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "vecrec", "models");
        }

        return Path.GetFullPath(chosen);
    }

    /// <summary>Hub address: the option, else <c>HF_ENDPOINT</c>, else <see cref="DefaultEndpoint"/>; always ending in '/'.</summary>
    internal static Uri ResolveEndpoint(Uri? option, Func<string, string?> env)
    {
        Uri endpoint = option ?? DefaultEndpoint;
        string? text = option is null ? env("HF_ENDPOINT") : null;
        if (!string.IsNullOrWhiteSpace(text))
        {
            if (!Uri.TryCreate(text.Trim(), UriKind.Absolute, out Uri? parsed) || (parsed.Scheme != Uri.UriSchemeHttp && parsed.Scheme != Uri.UriSchemeHttps))
            {
                throw new ModelStoreException($"The environment variable HF_ENDPOINT ('{text}') is not an absolute http or https address; unset it or set it to one such as https://huggingface.co.");
            }

            endpoint = parsed;
        }

        // Relative URLs resolve against the last '/', so a mirror under a path (https://host/hf) needs one at the end.
        return endpoint.AbsolutePath.EndsWith('/') ? endpoint : new Uri(endpoint.GetLeftPart(UriPartial.Path) + "/");
    }

    /// <summary>Token: the option (empty for none), else <c>HF_TOKEN</c>; null when none.</summary>
    internal static string? ResolveToken(string? option, Func<string, string?> env)
    {
        string? token = option ?? env("HF_TOKEN");
        return string.IsNullOrWhiteSpace(token) ? null : token.Trim();
    }

    private static HttpClient CreateClient()
    {
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = true,
            AutomaticDecompression = DecompressionMethods.None,
            ConnectTimeout = TimeSpan.FromSeconds(30),
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        };
        var client = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(100) };
        client.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("vecrec", typeof(ModelStore).Assembly.GetName().Version?.ToString(3) ?? "1.0"));
        return client;
    }

    private static void ValidateRepo(string repo, string revision)
    {
        ArgumentNullException.ThrowIfNull(repo);
        ArgumentNullException.ThrowIfNull(revision);
        if (ModelPaths.RepoProblem(repo) is string problem)
        {
            throw new ArgumentException(problem, nameof(repo));
        }

        if (ModelPaths.RevisionProblem(revision) is string revisionProblem)
        {
            throw new ArgumentException(revisionProblem, nameof(revision));
        }
    }

    private static string[]? ValidateFiles(IReadOnlyList<string>? files)
    {
        if (files is null)
        {
            return null;
        }

        if (files.Count == 0)
        {
            throw new ArgumentException("The file list is empty; pass null for the default files.", nameof(files));
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        var result = new string[files.Count];
        for (int i = 0; i < files.Count; i++)
        {
            string? f = files[i];
            if (f is null)
            {
                throw new ArgumentNullException(nameof(files), $"File {i} of the list is null.");
            }

            if (ModelPaths.RelativePathProblem(f) is string problem)
            {
                throw new ArgumentException(problem, nameof(files));
            }

            if (!seen.Add(f))
            {
                throw new ArgumentException($"File path '{f}' is listed twice.", nameof(files));
            }

            result[i] = f;
        }

        return result;
    }

    private string FolderOf(string repo, string revision)
    {
        int slash = repo.IndexOf('/');
        return Path.Combine(CacheDirectory, repo[..slash], repo[(slash + 1)..], Uri.EscapeDataString(revision));
    }

    private static bool AllPresent(IEnumerable<ManifestEntry> entries, string folder)
    {
        foreach (ManifestEntry e in entries)
        {
            var info = new FileInfo(ModelPaths.Local(folder, e.Path));
            if (!info.Exists || info.Length != e.Size)
            {
                return false;
            }
        }

        return true;
    }

    private static bool CoversLocally(ModelManifest manifest, string folder, string[]? wanted)
    {
        if (!manifest.Complete || !AllPresent(manifest.Files.Values, folder))
        {
            return false;
        }

        return wanted is null ? manifest.DefaultSet : wanted.All(manifest.Files.ContainsKey);
    }

    private List<ModelFile> Select(string repo, string revision, IReadOnlyList<ModelFile> listing, string[]? wanted, string folder)
    {
        var byPath = new Dictionary<string, ModelFile>(StringComparer.Ordinal);
        foreach (ModelFile f in listing)
        {
            byPath[f.Path] = f;
        }

        var selected = new List<ModelFile>();
        if (wanted is not null)
        {
            foreach (string w in wanted)
            {
                selected.Add(byPath.TryGetValue(w, out ModelFile? f) ? f : throw MissingFile(repo, revision, w, folder));
            }

            return selected;
        }

        if (byPath.TryGetValue(OnnxPath, out ModelFile? onnx) || byPath.TryGetValue(RootOnnxPath, out onnx))
        {
            selected.Add(onnx);
        }
        else
        {
            throw new ModelStoreException(
                $"{repo} at {revision} on {Endpoint} has no ONNX model (neither {OnnxPath} nor {RootOnnxPath}); pick a repository with an ONNX export, or export one yourself into {folder} or set VECREC_MODEL_DIR.",
                repo, OnnxPath, null);
        }

        foreach (string path in RequiredFiles.Skip(1))
        {
            selected.Add(byPath.TryGetValue(path, out ModelFile? f) ? f : throw MissingFile(repo, revision, path, folder));
        }

        foreach (string path in OptionalFiles)
        {
            if (byPath.TryGetValue(path, out ModelFile? f))
            {
                selected.Add(f);
            }
        }

        return selected;
    }

    private ModelStoreException MissingFile(string repo, string revision, string path, string folder) =>
        new($"{repo} at {revision} on {Endpoint} has no file {path}; pick a repository that has it, or put the files yourself into {folder} or set VECREC_MODEL_DIR.", repo, path, null);

    private static async Task<bool> IsPresentAsync(ModelManifest manifest, ModelFile file, string local, CancellationToken cancellationToken)
    {
        var info = new FileInfo(local);
        if (!info.Exists)
        {
            return false;
        }

        string? expected = file.Sha256 ?? file.GitOid;
        if (info.Length == file.Size)
        {
            if (manifest.Files.TryGetValue(file.Path, out ManifestEntry? entry) && entry.Hash == expected && ModelManifest.Unchanged(entry, local))
            {
                return true;
            }

            if (expected is null || await FileHasher.HashFileAsync(file, local, cancellationToken).ConfigureAwait(false) == expected)
            {
                return true;
            }
        }

        // Stale (an older revision of a moving branch) or damaged: fetch it again.
        File.Delete(local);
        return false;
    }

    private async Task DownloadFileAsync(
        string repo, string revision, string folder, ModelFile file, string local, int filesDone, int filesTotal,
        IProgress<ModelDownloadProgress>? progress, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(local)!);
        string partial = local + ModelPaths.PartialSuffix;
        string encodedPath = string.Join('/', file.Path.Split('/').Select(Uri.EscapeDataString));
        var url = new Uri(Endpoint, $"{repo}/resolve/{Uri.EscapeDataString(revision)}/{encodedPath}");
        using var hasher = new FileHasher(file);
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                await DownloadAttemptAsync(repo, revision, folder, file, url, partial, hasher, filesDone, filesTotal, progress, cancellationToken).ConfigureAwait(false);
                break;
            }
            catch (TransientException) when (attempt < _maxRetries)
            {
                await Task.Delay(_retryDelay * (attempt + 1), cancellationToken).ConfigureAwait(false);
            }
            catch (TransientException ex)
            {
                cancellationToken.ThrowIfCancellationRequested();
                throw ex.Final ?? new ModelStoreException(
                    $"Downloading {file.Path} of {repo} from {Endpoint} failed {attempt + 1} times ({ex.Message}); the partial file is kept and resumed on the next try, or download the files yourself into {folder} or set VECREC_MODEL_DIR.",
                    repo, file.Path, ex.StatusCode, ex.InnerException ?? ex);
            }
        }

        try
        {
            File.Move(partial, local, overwrite: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ModelStoreException($"Cannot move the downloaded {partial} to {local} ({ex.Message}).", repo, file.Path, null, ex);
        }
    }

    private async Task DownloadAttemptAsync(
        string repo, string revision, string folder, ModelFile file, Uri url, string partial, FileHasher hasher,
        int filesDone, int filesTotal, IProgress<ModelDownloadProgress>? progress, CancellationToken cancellationToken)
    {
        FileStream stream;
        try
        {
            stream = new FileStream(partial, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, BufferSize, useAsync: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ModelStoreException($"Cannot write {partial} ({ex.Message}); another download of {repo} may be running, or the folder is not writable.", repo, file.Path, null, ex);
        }

        bool verified = false;
        try
        {
            await using (stream.ConfigureAwait(false))
            {
                hasher.Reset();
                long have = stream.Length;
                if (have > file.Size)
                {
                    stream.SetLength(0);
                    have = 0;
                }

                bool resumed = have > 0;
                if (have < file.Size || file.Size == 0)
                {
                    (have, resumed) = await ReceiveAsync(repo, revision, folder, file, url, stream, have, hasher, filesDone, filesTotal, progress, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    await hasher.AppendAsync(stream, have, cancellationToken).ConfigureAwait(false);
                }

                if (have < file.Size)
                {
                    throw new TransientException($"the connection closed after {have} of {file.Size} bytes", null, null);
                }

                string actual = hasher.Finish();
                string? expected = file.Sha256 ?? file.GitOid;
                if (expected is not null && actual != expected)
                {
                    stream.SetLength(0);
                    if (resumed)
                    {
                        // The kept bytes may come from another revision of a moving branch: start over once.
                        throw new TransientException($"the resumed {file.Path} did not match its {hasher.Kind}", null, null);
                    }

                    throw new ModelStoreException(
                        $"{file.Path} of {repo} downloaded from {Endpoint} has {hasher.Kind} {actual} but the hub lists {expected}; the file was deleted, try again later or download it yourself into {folder}.",
                        repo, file.Path, null);
                }

                stream.Flush(flushToDisk: true);
                verified = true;
            }
        }
        finally
        {
            // Kept for resuming unless empty (or emptied because its content was wrong).
            if (!verified && File.Exists(partial) && new FileInfo(partial).Length == 0)
            {
                TryDelete(partial);
            }
        }
    }

    /// <summary>
    /// One GET of a file into <paramref name="stream"/> from byte <paramref name="have"/>; returns the bytes now in the
    /// file and whether bytes kept from before were resumed (206) rather than rewritten (200).
    /// </summary>
    private async Task<(long Have, bool Resumed)> ReceiveAsync(
        string repo, string revision, string folder, ModelFile file, Uri url, FileStream stream, long have, FileHasher hasher,
        int filesDone, int filesTotal, IProgress<ModelDownloadProgress>? progress, CancellationToken cancellationToken)
    {
        bool resumed = false;
        using HttpResponseMessage response = await SendOnceAsync(repo, revision, folder, file.Path, url, have > 0 ? have : null, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.PartialContent && have > 0)
        {
            long? start = response.Content.Headers.ContentRange?.From;
            if (start is long s && s != have)
            {
                stream.SetLength(0);
                throw new TransientException($"the server resumed at byte {s} instead of {have}", 206, null);
            }

            await hasher.AppendAsync(stream, have, cancellationToken).ConfigureAwait(false);
            stream.Position = have;
            resumed = true;
        }
        else if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable)
        {
            stream.SetLength(0);
            throw new TransientException("the server could not resume the partial file (HTTP 416)", 416, null);
        }
        else
        {
            // 200 (a server ignoring Range, or no Range sent): start from zero.
            stream.SetLength(0);
            stream.Position = 0;
            have = 0;
            hasher.Reset();
        }

        progress?.Report(new ModelDownloadProgress(file.Path, have, file.Size, filesDone, filesTotal));
        Stream body;
        try
        {
            body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsNetworkFailure(ex, cancellationToken))
        {
            throw new TransientException(Describe(ex), null, ex);
        }

        byte[] buffer = new byte[BufferSize];
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        await using (body.ConfigureAwait(false))
        {
            while (true)
            {
                int n;
                try
                {
                    idle.CancelAfter(_readTimeout);
                    n = await body.ReadAsync(buffer, idle.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
                {
                    throw new TransientException($"nothing arrived for {_readTimeout.TotalSeconds:0.#} s after {have} of {file.Size} bytes", null, ex);
                }
                catch (Exception ex) when (IsNetworkFailure(ex, cancellationToken))
                {
                    throw new TransientException($"{Describe(ex)} after {have} of {file.Size} bytes", null, ex);
                }

                if (n == 0)
                {
                    break;
                }

                if (have + n > file.Size)
                {
                    stream.SetLength(0);
                    throw new ModelStoreException(
                        $"{file.Path} of {repo} from {Endpoint} is longer than the {file.Size} bytes the hub lists; the file was deleted, try again later or download it yourself into {folder}.",
                        repo, file.Path, (int)response.StatusCode);
                }

                try
                {
                    await stream.WriteAsync(buffer.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
                }
                catch (IOException ex)
                {
                    throw new ModelStoreException($"Cannot write {stream.Name} ({ex.Message}).", repo, file.Path, null, ex);
                }

                hasher.Append(buffer.AsSpan(0, n));
                have += n;
                progress?.Report(new ModelDownloadProgress(file.Path, have, file.Size, filesDone, filesTotal));
            }
        }

        return (have, resumed);
    }

    private async Task<HttpResponseMessage> SendWithRetriesAsync(string repo, string revision, string folder, string? filePath, Uri url, CancellationToken cancellationToken)
    {
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                return await SendOnceAsync(repo, revision, folder, filePath, url, null, cancellationToken).ConfigureAwait(false);
            }
            catch (TransientException) when (attempt < _maxRetries)
            {
                await Task.Delay(_retryDelay * (attempt + 1), cancellationToken).ConfigureAwait(false);
            }
            catch (TransientException ex)
            {
                cancellationToken.ThrowIfCancellationRequested();
                throw ex.Final ?? new ModelStoreException(
                    $"{Endpoint} failed {attempt + 1} times to list the files of {repo} ({ex.Message}); try again later, or download the files yourself into {folder} or set VECREC_MODEL_DIR.",
                    repo, filePath, ex.StatusCode, ex.InnerException ?? ex);
            }
        }
    }

    /// <summary>
    /// Sends one GET; returns a success (2xx) response with its headers read. Connection failures become a "Cannot reach"
    /// <see cref="ModelStoreException"/> wrapped as transient for file downloads; 404/401/403 become final
    /// <see cref="ModelStoreException"/>s; 408/429/5xx become <see cref="TransientException"/>.
    /// </summary>
    private async Task<HttpResponseMessage> SendOnceAsync(string repo, string revision, string folder, string? filePath, Uri url, long? from, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (_token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _token);
        }

        if (from is long start)
        {
            request.Headers.Range = new RangeHeaderValue(start, null);
        }

        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsNetworkFailure(ex, cancellationToken))
        {
            ModelStoreException unreachable = CannotReach(repo, folder, ex);
            if (filePath is null)
            {
                throw unreachable;
            }

            throw new TransientException(Describe(ex), null, ex) { Final = unreachable };
        }

        if (response.IsSuccessStatusCode || response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable)
        {
            return response;
        }

        int code = (int)response.StatusCode;
        string reason = string.IsNullOrEmpty(response.ReasonPhrase) ? "" : " " + response.ReasonPhrase;
        response.Dispose();
        string what = filePath is null ? $"{repo} at revision {revision}" : $"{filePath} of {repo} at revision {revision}";
        switch (code)
        {
            case 404:
                throw new ModelStoreException(
                    $"{Endpoint} has no {what} (HTTP 404); check the repository id and revision, or download the files yourself into {folder} or set VECREC_MODEL_DIR.",
                    repo, filePath, code);
            case 401 or 403:
                throw new ModelStoreException(
                    $"{Endpoint} refused access to {what} (HTTP {code}{reason}); check the repository id, and for a private or gated model set HF_TOKEN (or ModelStoreOptions.Token) to a token allowed to read it, or download the files yourself into {folder} or set VECREC_MODEL_DIR.",
                    repo, filePath, code);
            case 408 or 429 or >= 500:
                throw new TransientException($"HTTP {code}{reason}", code, null);
            default:
                throw new ModelStoreException(
                    $"{Endpoint} answered HTTP {code}{reason} for {url}; download the files yourself into {folder} or set VECREC_MODEL_DIR.",
                    repo, filePath, code);
        }
    }

    private ModelStoreException CannotReach(string repo, string folder, Exception ex) =>
        new($"Cannot reach {Endpoint.GetLeftPart(UriPartial.Authority)} to download {repo} ({Describe(ex)}). Download the files yourself into {folder} or set VECREC_MODEL_DIR.",
            repo, null, null, ex);

    private static bool IsNetworkFailure(Exception ex, CancellationToken cancellationToken) =>
        ex is HttpRequestException or IOException
        || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested);

    private static string Describe(Exception ex)
    {
        if (ex is OperationCanceledException)
        {
            return "the request timed out";
        }

        string message = ex.Message;
        for (Exception? inner = ex.InnerException; inner is not null; inner = inner.InnerException)
        {
            if (inner is System.Net.Sockets.SocketException or IOException)
            {
                message = $"{message.TrimEnd('.')}: {inner.Message}";
                break;
            }
        }

        return message.TrimEnd('.');
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <summary>A failure worth retrying; <see cref="Final"/> is what to throw when retries run out.</summary>
    private sealed class TransientException(string message, int? statusCode, Exception? inner) : Exception(message, inner)
    {
        public int? StatusCode { get; } = statusCode;

        public ModelStoreException? Final { get; init; }
    }
}

namespace Vec.Embed;

/// <summary>Settings of a <see cref="ModelStore"/>; every property is optional.</summary>
public sealed class ModelStoreOptions
{
    /// <summary>
    /// Cache folder. When <see langword="null"/>: the environment variable <c>VECREC_MODEL_CACHE</c>, else
    /// <c>~/.cache/vecrec/models</c>.
    /// </summary>
    public string? CacheDirectory { get; set; }

    /// <summary>
    /// Hub address. When <see langword="null"/>: the environment variable <c>HF_ENDPOINT</c>, else
    /// <c>https://huggingface.co</c>.
    /// </summary>
    public Uri? Endpoint { get; set; }

    /// <summary>
    /// Bearer token sent to the hub (not to the hosts it redirects to). When <see langword="null"/>: the environment
    /// variable <c>HF_TOKEN</c>; an empty string sends none.
    /// </summary>
    public string? Token { get; set; }

    /// <summary>
    /// The client to use; it is not disposed by the store. When <see langword="null"/> one shared static client
    /// (redirects followed, 100 s to the response headers) is used.
    /// </summary>
    public HttpClient? HttpClient { get; set; }

    /// <summary>
    /// How many more times a file download is tried after a transient failure (the connection dropped or stalled
    /// mid-file, HTTP 408/429/5xx); each retry resumes from the bytes already received. Default 3.
    /// </summary>
    public int MaxRetries { get; set; } = 3;

    /// <summary>Wait before retry <c>i</c> (1-based) is <c>i x RetryDelay</c>. Default 1 second.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>A download that receives nothing for this long counts as stalled (a transient failure). Default 60 seconds.</summary>
    public TimeSpan ReadTimeout { get; set; } = TimeSpan.FromSeconds(60);
}

/// <summary>Progress of <see cref="ModelStore.DownloadAsync"/>, reported synchronously from the downloading task.</summary>
/// <param name="FilePath">The file, relative to the repository (<c>onnx/model.onnx</c>).</param>
/// <param name="BytesDone">Bytes of that file on disk so far (including bytes resumed from an earlier attempt).</param>
/// <param name="BytesTotal">Size of that file.</param>
/// <param name="FilesDone">Files complete so far (cached ones included).</param>
/// <param name="FilesTotal">Files this call fetches or reuses.</param>
public readonly record struct ModelDownloadProgress(string FilePath, long BytesDone, long BytesTotal, int FilesDone, int FilesTotal);

/// <summary>One file of a model repository as the hub lists it.</summary>
/// <param name="Path">Path relative to the repository, with <c>/</c> separators.</param>
/// <param name="Size">Size in bytes.</param>
/// <param name="GitOid">Git blob SHA-1 (hex) of the file as committed (for LFS files: of the pointer).</param>
/// <param name="Sha256">SHA-256 (hex) of the content for LFS files; <see langword="null"/> for plain git files.</param>
public sealed record ModelFile(string Path, long Size, string? GitOid, string? Sha256)
{
    /// <summary>Whether the file is stored through Git LFS (verified by <see cref="Sha256"/>).</summary>
    public bool IsLfs => Sha256 is not null;
}

/// <summary>A model copy in the cache.</summary>
/// <param name="Repo">Repository id, <c>owner/name</c>.</param>
/// <param name="Revision">Revision (branch, tag or commit) it was downloaded at.</param>
/// <param name="Folder">Its folder.</param>
/// <param name="TotalBytes">Bytes of every file in the folder.</param>
/// <param name="Complete">Whether a download finished there (<see cref="ModelStore.TryGetLocal"/> would return it).</param>
public sealed record CachedModel(string Repo, string Revision, string Folder, long TotalBytes, bool Complete);

/// <summary>
/// A model could not be downloaded or verified: the hub is unreachable, the repository or a file is missing, access was
/// refused, or a file's size or hash does not match the hub's listing. The message is one sentence saying what to do;
/// the cause (a network error, say) is the inner exception.
/// </summary>
public sealed class ModelStoreException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ModelStoreException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What went wrong.</param>
    public ModelStoreException(string message) : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The cause.</param>
    public ModelStoreException(string message, Exception? innerException) : base(message, innerException)
    {
    }

    /// <summary>Creates the exception with details.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="repo">The repository id.</param>
    /// <param name="filePath">The file concerned, when one is.</param>
    /// <param name="statusCode">The HTTP status the hub answered, when it answered.</param>
    /// <param name="innerException">The cause.</param>
    public ModelStoreException(string message, string? repo, string? filePath, int? statusCode, Exception? innerException = null)
        : base(message, innerException)
    {
        Repo = repo;
        FilePath = filePath;
        StatusCode = statusCode;
    }

    /// <summary>The repository id, when known.</summary>
    public string? Repo { get; }

    /// <summary>The file concerned (relative to the repository), when one is.</summary>
    public string? FilePath { get; }

    /// <summary>The HTTP status code the hub answered, when it answered.</summary>
    public int? StatusCode { get; }
}

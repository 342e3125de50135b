using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Vec.Embed.Internals;

/// <summary>
/// The hash the hub lists for a file: SHA-256 of the content for LFS files, else the git blob SHA-1
/// (<c>sha1("blob {size}\0" + content)</c>).
/// </summary>
internal sealed class FileHasher : IDisposable
{
    private readonly ModelFile _file;
    private IncrementalHash _hash;

    public FileHasher(ModelFile file)
    {
        _file = file;
        _hash = Create();
    }

    /// <summary>The hash the hub expects (lower-case hex), or null when it lists none.</summary>
    public string? Expected => _file.Sha256 ?? _file.GitOid;

    /// <summary>"SHA-256" or "git SHA-1".</summary>
    public string Kind => _file.IsLfs ? "SHA-256" : "git SHA-1";

    private IncrementalHash Create()
    {
        if (_file.IsLfs)
        {
            return IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        }

        var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA1);
        hash.AppendData(Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"blob {_file.Size}\0")));
        return hash;
    }

    /// <summary>Starts over.</summary>
    public void Reset()
    {
        _hash.Dispose();
        _hash = Create();
    }

    public void Append(ReadOnlySpan<byte> data) => _hash.AppendData(data);

    /// <summary>Appends the first <paramref name="length"/> bytes of <paramref name="stream"/> (from position 0).</summary>
    public async Task AppendAsync(Stream stream, long length, CancellationToken cancellationToken)
    {
        stream.Position = 0;
        byte[] buffer = new byte[1 << 16];
        long left = length;
        while (left > 0)
        {
            int n = await stream.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, left)), cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                throw new EndOfStreamException("The file is shorter than expected.");
            }

            _hash.AppendData(buffer, 0, n);
            left -= n;
        }
    }

    /// <summary>The hash so far (lower-case hex); resets the hasher.</summary>
    public string Finish() => Convert.ToHexStringLower(_hash.GetHashAndReset());

    /// <summary>Hashes a whole file (lower-case hex).</summary>
    public static async Task<string> HashFileAsync(ModelFile file, string path, CancellationToken cancellationToken)
    {
        using var hasher = new FileHasher(file);
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: true);
        await hasher.AppendAsync(stream, stream.Length, cancellationToken).ConfigureAwait(false);
        return hasher.Finish();
    }

    public void Dispose() => _hash.Dispose();
}

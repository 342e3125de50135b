using System.Text.Json;

namespace Vec.Embed.Internals;

/// <summary>One verified file in a model folder.</summary>
/// <param name="Path">Repository-relative path.</param>
/// <param name="Size">Size in bytes.</param>
/// <param name="Hash">The hub's hash it was verified against (SHA-256 or git SHA-1, hex), or null when the hub listed none.</param>
/// <param name="LastWriteUtcTicks">The file's last write time when it was verified.</param>
internal sealed record ManifestEntry(string Path, long Size, string? Hash, long LastWriteUtcTicks);

/// <summary>
/// The store's record of a model folder (<c>.vecrec-model.json</c>): which files were verified against the hub's
/// listing (size, hash, and the file's write time then), and whether a download finished.
/// </summary>
internal sealed class ModelManifest
{
    public const int Format = 1;

    public required string Repo { get; init; }

    public required string Revision { get; init; }

    /// <summary>A download finished here.</summary>
    public bool Complete { get; set; }

    /// <summary>The finished download fetched the default file set.</summary>
    public bool DefaultSet { get; set; }

    public Dictionary<string, ManifestEntry> Files { get; } = new(StringComparer.Ordinal);

    /// <summary>Reads the folder's manifest; null when absent or unreadable (the files are then re-verified, not trusted).</summary>
    public static ModelManifest? TryRead(string folder)
    {
        string path = Path.Combine(folder, ModelPaths.ManifestName);
        try
        {
            if (!File.Exists(path))
            {
                return null;
            }

            using JsonDocument doc = JsonDocument.Parse(File.ReadAllBytes(path));
            JsonElement root = doc.RootElement;
            if (root.GetProperty("format").GetInt32() != Format)
            {
                return null;
            }

            var manifest = new ModelManifest
            {
                Repo = root.GetProperty("repo").GetString() ?? throw new InvalidDataException(),
                Revision = root.GetProperty("revision").GetString() ?? throw new InvalidDataException(),
                Complete = root.GetProperty("complete").GetBoolean(),
                DefaultSet = root.GetProperty("defaultSet").GetBoolean(),
            };
            if (ModelPaths.RepoProblem(manifest.Repo) is not null || ModelPaths.RevisionProblem(manifest.Revision) is not null)
            {
                return null;
            }

            foreach (JsonElement f in root.GetProperty("files").EnumerateArray())
            {
                string rel = f.GetProperty("path").GetString() ?? throw new InvalidDataException();
                if (ModelPaths.RelativePathProblem(rel) is not null)
                {
                    return null;
                }

                JsonElement hash = f.GetProperty("hash");
                manifest.Files[rel] = new ManifestEntry(
                    rel,
                    f.GetProperty("size").GetInt64(),
                    hash.ValueKind == JsonValueKind.Null ? null : hash.GetString(),
                    f.GetProperty("lastWriteUtcTicks").GetInt64());
            }

            return manifest;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException or InvalidDataException
                                       or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            return null;
        }
    }

    /// <summary>Writes the manifest atomically (temporary file, then rename).</summary>
    public void Write(string folder)
    {
        string path = Path.Combine(folder, ModelPaths.ManifestName);
        string tmp = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
        try
        {
            using (var stream = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
                {
                    w.WriteStartObject();
                    w.WriteNumber("format", Format);
                    w.WriteString("repo", Repo);
                    w.WriteString("revision", Revision);
                    w.WriteBoolean("complete", Complete);
                    w.WriteBoolean("defaultSet", DefaultSet);
                    w.WriteStartArray("files");
                    foreach (ManifestEntry e in Files.Values.OrderBy(e => e.Path, StringComparer.Ordinal))
                    {
                        w.WriteStartObject();
                        w.WriteString("path", e.Path);
                        w.WriteNumber("size", e.Size);
                        w.WriteString("hash", e.Hash);
                        w.WriteNumber("lastWriteUtcTicks", e.LastWriteUtcTicks);
                        w.WriteEndObject();
                    }

                    w.WriteEndArray();
                    w.WriteEndObject();
                }

                stream.Flush(flushToDisk: true);
            }

            File.Move(tmp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp))
            {
                File.Delete(tmp);
            }
        }
    }

    /// <summary>Whether <paramref name="local"/> still is the file verified as <paramref name="entry"/> (size and write time).</summary>
    public static bool Unchanged(ManifestEntry entry, string local)
    {
        var info = new FileInfo(local);
        return info.Exists && info.Length == entry.Size && info.LastWriteTimeUtc.Ticks == entry.LastWriteUtcTicks;
    }
}

using System.Text.Json;

namespace Vec.Embed.Internals;

/// <summary>Parses the hub's <c>/api/models/{repo}/tree/{revision}?recursive=true</c> answer.</summary>
internal static class HubTree
{
    /// <summary>
    /// Reads one page (a JSON array of entries); directories are skipped. Throws <see cref="InvalidDataException"/>
    /// for anything malformed, including unsafe paths.
    /// </summary>
    public static void Parse(ReadOnlySpan<byte> json, List<ModelFile> into)
    {
        using JsonDocument doc = JsonDocument.Parse(json.ToArray());
        if (doc.RootElement.ValueKind != JsonValueKind.Array)
        {
            throw new InvalidDataException("The file listing is not a JSON array.");
        }

        foreach (JsonElement entry in doc.RootElement.EnumerateArray())
        {
            if (entry.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidDataException("An entry of the file listing is not a JSON object.");
            }

            string path = String(entry, "path") ?? throw new InvalidDataException("An entry of the file listing has no path.");
            if (ModelPaths.RelativePathProblem(path) is string problem)
            {
                throw new InvalidDataException($"The file listing holds an unsafe entry: {problem}");
            }

            string? type = String(entry, "type");
            if (type is "directory")
            {
                continue;
            }

            if (type is not "file")
            {
                throw new InvalidDataException($"Entry '{path}' of the file listing has type '{type}'.");
            }

            long size = Size(entry, path);
            string? oid = String(entry, "oid");
            if (oid is not null && !IsHex(oid, 40))
            {
                throw new InvalidDataException($"Entry '{path}' of the file listing has a malformed oid '{oid}'.");
            }

            string? sha256 = null;
            if (entry.TryGetProperty("lfs", out JsonElement lfs) && lfs.ValueKind == JsonValueKind.Object)
            {
                sha256 = String(lfs, "oid") ?? String(lfs, "sha256");
                if (sha256 is null || !IsHex(sha256, 64))
                {
                    throw new InvalidDataException($"Entry '{path}' of the file listing has a malformed LFS oid '{sha256}'.");
                }

                size = Size(lfs, path);
            }

            into.Add(new ModelFile(path, size, oid?.ToLowerInvariant(), sha256?.ToLowerInvariant()));
        }
    }

    private static string? String(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out JsonElement v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static long Size(JsonElement obj, string path)
    {
        if (!obj.TryGetProperty("size", out JsonElement v) || !v.TryGetInt64(out long size) || size < 0)
        {
            throw new InvalidDataException($"Entry '{path}' of the file listing has no valid size.");
        }

        return size;
    }

    private static bool IsHex(string s, int length) => s.Length == length && s.AsSpan().IndexOfAnyExcept("0123456789abcdefABCDEF") < 0;

    /// <summary>The <c>rel="next"</c> address of a <c>Link</c> header, or null.</summary>
    public static Uri? NextPage(HttpResponseMessage response)
    {
        if (!response.Headers.TryGetValues("Link", out IEnumerable<string>? values))
        {
            return null;
        }

        foreach (string value in values)
        {
            foreach (string part in value.Split(','))
            {
                int open = part.IndexOf('<');
                int close = part.IndexOf('>');
                if (open >= 0 && close > open && part.Contains("rel=\"next\"", StringComparison.OrdinalIgnoreCase)
                    && Uri.TryCreate(response.RequestMessage?.RequestUri, part[(open + 1)..close], out Uri? next))
                {
                    return next;
                }
            }
        }

        return null;
    }
}

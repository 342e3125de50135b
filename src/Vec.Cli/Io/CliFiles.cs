using System.Globalization;
using System.Text;
using Vec.Internals;

namespace Vec.Cli.Io;

/// <summary>Texts read by <c>vecrec embed</c>: one per row, with the id each row gets.</summary>
/// <param name="Texts">The texts, in file order.</param>
/// <param name="Ids">One id per text.</param>
internal sealed record TextInput(IReadOnlyList<string> Texts, long[] Ids);

/// <summary>The small text files of the commands: text corpora (.txt / .tsv) and id lists (one id per line).</summary>
internal static class CliFiles
{
    /// <summary>
    /// Reads <c>.txt</c> (one text per line, ids 0..n-1) or <c>.tsv</c> (<c>id&lt;TAB&gt;text</c>, ids long integers,
    /// distinct, not -1; blank lines skipped). A malformed line throws <see cref="InvalidDataException"/> naming the file
    /// and the line.
    /// </summary>
    public static TextInput ReadTexts(string path, string option)
    {
        string ext = Path.GetExtension(path).ToLowerInvariant();
        var texts = new List<string>();
        var ids = new List<long>();
        if (ext == ".txt")
        {
            foreach (string line in File.ReadLines(path, Encoding.UTF8))
            {
                ids.Add(texts.Count);
                texts.Add(line);
            }
        }
        else if (ext == ".tsv")
        {
            var seen = new HashSet<long>();
            int lineNo = 0;
            foreach (string line in File.ReadLines(path, Encoding.UTF8))
            {
                lineNo++;
                if (string.IsNullOrWhiteSpace(line)) continue;
                int tab = line.IndexOf('\t', StringComparison.Ordinal);
                if (tab < 0) throw Bad(path, lineNo, "expected 'id<TAB>text' but found no tab");
                string idText = line[..tab].Trim();
                if (!long.TryParse(idText, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long id))
                    throw Bad(path, lineNo, $"id '{Short(idText)}' is not an integer");
                if (id == -1) throw Bad(path, lineNo, "id -1 is reserved for missing results");
                if (!seen.Add(id)) throw Bad(path, lineNo, $"id {id} appears twice");
                ids.Add(id);
                texts.Add(line[(tab + 1)..]);
            }
        }
        else
        {
            throw new CliException($"{option} '{path}' must be a .txt (one text per line) or .tsv (id<TAB>text) file");
        }

        if (texts.Count == 0) throw new InvalidDataException($"'{path}' holds no texts.");
        return new TextInput(texts, ids.ToArray());
    }

    /// <summary>Reads an id file: one long integer per line (blank lines skipped), distinct and never -1.</summary>
    public static long[] ReadIds(string path)
    {
        var ids = new List<long>();
        var seen = new HashSet<long>();
        int lineNo = 0;
        foreach (string line in File.ReadLines(path, Encoding.UTF8))
        {
            lineNo++;
            string t = line.Trim();
            if (t.Length == 0) continue;
            if (!long.TryParse(t, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long id))
                throw Bad(path, lineNo, $"'{Short(t)}' is not an integer id");
            if (id == -1) throw Bad(path, lineNo, "id -1 is reserved for missing results");
            if (!seen.Add(id)) throw Bad(path, lineNo, $"id {id} appears twice");
            ids.Add(id);
        }

        return ids.ToArray();
    }

    /// <summary>Writes ids, one per line, atomically.</summary>
    public static void WriteIds(string path, ReadOnlySpan<long> ids, string option)
    {
        var sb = new StringBuilder(ids.Length * 8);
        foreach (long id in ids) sb.Append(id.ToString(CultureInfo.InvariantCulture)).Append('\n');
        byte[] bytes = Encoding.UTF8.GetBytes(sb.ToString());
        AtomicFile.Write(path, s => s.Write(bytes), option);
    }

    /// <summary>Writes UTF-8 text atomically.</summary>
    public static void WriteText(string path, string text, string option)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        AtomicFile.Write(path, s => s.Write(bytes), option);
    }

    /// <summary>A byte count for people: <c>812 B</c>, <c>14.2 KB</c>, <c>86.7 MB</c>.</summary>
    public static string Bytes(double bytes)
    {
        string[] units = ["B", "KB", "MB", "GB", "TB"];
        int u = 0;
        while (bytes >= 1024 && u < units.Length - 1)
        {
            bytes /= 1024;
            u++;
        }

        return u == 0 ? string.Create(CultureInfo.InvariantCulture, $"{bytes:0} B") : string.Create(CultureInfo.InvariantCulture, $"{bytes:0.0} {units[u]}");
    }

    /// <summary>Formats with the invariant culture.</summary>
    public static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    private static InvalidDataException Bad(string path, int line, string what) => new($"'{path}', line {line}: {what}.");

    private static string Short(string s) => s.Length <= 40 ? s : s[..40] + "...";
}

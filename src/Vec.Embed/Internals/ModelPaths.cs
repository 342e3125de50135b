namespace Vec.Embed.Internals;

/// <summary>Validation of repository ids, revisions and repository-relative file paths (from callers and from the hub).</summary>
internal static class ModelPaths
{
    /// <summary>Name of the store's record in each model folder.</summary>
    public const string ManifestName = ".vecrec-model.json";

    /// <summary>Suffix of a file being downloaded.</summary>
    public const string PartialSuffix = ".partial";

    private static bool IsNameChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.';

    /// <summary>Checks an <c>owner/name</c> id; returns null when valid, else why not.</summary>
    public static string? RepoProblem(string repo)
    {
        int slash = repo.IndexOf('/');
        if (slash < 0 || slash != repo.LastIndexOf('/'))
        {
            return $"Repository id '{repo}' must have the form owner/name (for example sentence-transformers/all-MiniLM-L6-v2).";
        }

        string? problem = SegmentProblem(repo[..slash], 96) ?? SegmentProblem(repo[(slash + 1)..], 96);
        return problem is null ? null : $"Repository id '{repo}' is not valid: {problem}";
    }

    /// <summary>Checks a revision (branch, tag or commit; slashes allowed between segments).</summary>
    public static string? RevisionProblem(string revision)
    {
        if (revision.Length is 0 or > 255)
        {
            return $"Revision '{revision}' must have 1 to 255 characters.";
        }

        foreach (string segment in revision.Split('/'))
        {
            if (SegmentProblem(segment, 255) is string problem)
            {
                return $"Revision '{revision}' is not valid: {problem}";
            }
        }

        return null;
    }

    private static string? SegmentProblem(string segment, int maxLength)
    {
        if (segment.Length == 0)
        {
            return "a part is empty.";
        }

        if (segment.Length > maxLength)
        {
            return $"a part is longer than {maxLength} characters.";
        }

        foreach (char c in segment)
        {
            if (!IsNameChar(c))
            {
                return $"'{c}' is not allowed (letters, digits, '-', '_' and '.' are).";
            }
        }

        if (segment.Contains("..", StringComparison.Ordinal) || segment[0] == '.')
        {
            return "a part starts with '.' or contains '..'.";
        }

        return null;
    }

    /// <summary>
    /// Checks a repository-relative path (<c>onnx/model.onnx</c>): relative, '/' separated, no empty, '.' or '..'
    /// segment, no backslash, colon or control character, and not one of the store's own file names.
    /// </summary>
    public static string? RelativePathProblem(string path)
    {
        if (path.Length is 0 or > 1024)
        {
            return $"File path '{path}' must have 1 to 1024 characters.";
        }

        if (path[0] == '/' || Path.IsPathRooted(path))
        {
            return $"File path '{path}' is absolute; it must be relative to the repository.";
        }

        foreach (char c in path)
        {
            if (char.IsControl(c) || c is '\\' or ':' or '*' or '?' or '"' or '<' or '>' or '|')
            {
                return $"File path '{path}' contains the character U+{(int)c:X4}, which is not allowed.";
            }
        }

        foreach (string segment in path.Split('/'))
        {
            if (segment.Length == 0 || segment is "." or "..")
            {
                return $"File path '{path}' has an empty, '.' or '..' part.";
            }
        }

        if (path.Equals(ManifestName, StringComparison.OrdinalIgnoreCase) || path.EndsWith(PartialSuffix, StringComparison.OrdinalIgnoreCase))
        {
            return $"File path '{path}' clashes with the store's own files.";
        }

        return null;
    }

    /// <summary>The local path of a validated relative path under <paramref name="folder"/>; checks it stays inside.</summary>
    public static string Local(string folder, string relativePath)
    {
        string root = Path.GetFullPath(folder);
        string full = Path.GetFullPath(Path.Combine(root, relativePath.Replace('/', Path.DirectorySeparatorChar)));
        if (!full.StartsWith(root.EndsWith(Path.DirectorySeparatorChar) ? root : root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"File path '{relativePath}' leaves the model folder.");
        }

        return full;
    }
}

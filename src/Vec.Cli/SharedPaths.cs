namespace Vec.Cli;

/// <summary>Where the shared data and models are: <c>$VECREC_SHARED</c>, else <c>../shared</c> beside the current folder or the repository.</summary>
internal static class SharedPaths
{
    /// <summary>The shared folder, or <see langword="null"/> when none exists.</summary>
    public static string? Root()
    {
        string? env = Environment.GetEnvironmentVariable("VECREC_SHARED");
        if (!string.IsNullOrEmpty(env)) return Directory.Exists(env) ? env : null;
        var roots = new List<string> { Path.GetFullPath(Path.Combine(Environment.CurrentDirectory, "..", "shared")) };
        foreach (string start in new[] { AppContext.BaseDirectory, Environment.CurrentDirectory })
        {
            var dir = new DirectoryInfo(start);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "VecRec.sln"))) dir = dir.Parent;
            if (dir?.Parent is not null) roots.Add(Path.Combine(dir.Parent.FullName, "shared"));
        }

        return roots.FirstOrDefault(Directory.Exists);
    }

    /// <summary>The MovieLens-100k folder under the shared folder, or <see langword="null"/>.</summary>
    public static string? MovieLens100K() =>
        Root() is { } root && Directory.Exists(Path.Combine(root, "data", "movielens-100k")) ? Path.Combine(root, "data", "movielens-100k") : null;
}

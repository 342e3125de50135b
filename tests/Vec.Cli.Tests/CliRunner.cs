namespace Vec.Cli.Tests;

/// <summary>What one <c>vecrec</c> invocation printed and returned.</summary>
/// <param name="Code">Exit code.</param>
/// <param name="Stdout">Output writer content.</param>
/// <param name="Stderr">Error writer content.</param>
public sealed record CliRun(int Code, string Stdout, string Stderr)
{
    /// <summary>The non-empty lines of <see cref="Stderr"/>.</summary>
    public string[] ErrorLines => Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}

/// <summary>Runs the command line in-process on string writers.</summary>
public static class CliRunner
{
    /// <summary>Runs <c>vecrec args...</c>.</summary>
    public static CliRun Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = VecRecCli.Run(args, stdout, stderr);
        return new CliRun(code, stdout.ToString(), stderr.ToString());
    }

    /// <summary>Asserts a user mistake: non-zero exit, nothing on stdout, exactly one line on stderr starting <c>vecrec: </c> and containing <paramref name="expected"/>.</summary>
    public static void AssertOneLineError(CliRun run, string expected)
    {
        Assert.True(run.Code != 0, $"exit code 0; stdout: {run.Stdout}");
        Assert.Equal("", run.Stdout);
        string[] lines = run.ErrorLines;
        Assert.True(lines.Length == 1, $"expected one error line, got {lines.Length}:\n{run.Stderr}");
        Assert.StartsWith("vecrec: ", lines[0]);
        Assert.Contains(expected, lines[0]);
        Assert.DoesNotContain("   at ", run.Stderr);
    }
}

/// <summary>A temporary folder deleted on dispose.</summary>
public sealed class TempFolder : IDisposable
{
    /// <summary>Creates an empty folder under the system temp folder.</summary>
    public TempFolder()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "vecrec-cli-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Path);
    }

    /// <summary>The folder.</summary>
    public string Path { get; }

    /// <summary>Writes a file in the folder and returns its path.</summary>
    public string Write(string name, string content)
    {
        string p = System.IO.Path.Combine(Path, name);
        File.WriteAllText(p, content);
        return p;
    }

    /// <summary>A path in the folder.</summary>
    public string File_(string name) => System.IO.Path.Combine(Path, name);

    /// <inheritdoc/>
    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>The shared folder (<c>VECREC_SHARED</c>, default <c>../shared</c>), for tests that need its data.</summary>
public static class Shared
{
    /// <summary>The shared folder or <see langword="null"/>.</summary>
    public static string? Root => SharedPaths.Root();

    /// <summary>MovieLens-100k or <see langword="null"/>.</summary>
    public static string? MovieLens100K => SharedPaths.MovieLens100K();

    /// <summary>all-MiniLM-L6-v2 or <see langword="null"/>.</summary>
    public static string? MiniLm => Root is { } r && File.Exists(System.IO.Path.Combine(r, "models", "all-MiniLM-L6-v2", "model.onnx"))
        ? System.IO.Path.Combine(r, "models", "all-MiniLM-L6-v2") : null;

    /// <summary>SIFT10K or <see langword="null"/>.</summary>
    public static string? SiftSmall => Root is { } r && Directory.Exists(System.IO.Path.Combine(r, "data", "ann", "siftsmall"))
        ? System.IO.Path.Combine(r, "data", "ann", "siftsmall") : null;
}

/// <summary>A fact that skips, with a message, only where the shared MovieLens-100k folder is absent.</summary>
public sealed class MovieLensFactAttribute : FactAttribute
{
    /// <summary>Sets <see cref="FactAttribute.Skip"/> when the data is missing.</summary>
    public MovieLensFactAttribute()
    {
        if (Shared.MovieLens100K is null) Skip = "shared/data/movielens-100k is absent (set VECREC_SHARED)";
    }
}

using Xunit;

namespace Vec.Embed.Tests;

/// <summary>Locates ../shared (VECREC_SHARED) and the real model used by the fidelity tests.</summary>
internal static class SharedPaths
{
    /// <summary>The shared folder, or null where it is absent.</summary>
    public static string? Shared { get; } = Find();

    /// <summary>The all-MiniLM-L6-v2 folder, or null where it is absent.</summary>
    public static string? MiniLm => Shared is null ? null : Existing(Path.Combine(Shared, "models", "all-MiniLM-L6-v2"));

    /// <summary>The message a test skips with where the shared folder is absent.</summary>
    public const string MissingMessage = "../shared (VECREC_SHARED) is absent: the real-model tests need ../shared/models/all-MiniLM-L6-v2.";

    private static string? Existing(string path) => Directory.Exists(path) ? path : null;

    private static string? Find()
    {
        string? env = Environment.GetEnvironmentVariable("VECREC_SHARED");
        if (!string.IsNullOrEmpty(env))
        {
            return Existing(env);
        }

        // Walk up from the test binary to the repository root, then look beside it.
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "VecRec.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.Parent is null ? null : Existing(Path.Combine(dir.Parent.FullName, "shared"));
    }
}

/// <summary>A fact that needs ../shared/models/all-MiniLM-L6-v2; reported as skipped (with the reason) where it is absent.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class ModelFactAttribute : FactAttribute
{
    /// <summary>Sets <see cref="FactAttribute.Skip"/> where the model is absent.</summary>
    public ModelFactAttribute()
    {
        if (SharedPaths.MiniLm is null)
        {
            Skip = SharedPaths.MissingMessage;
        }
    }
}

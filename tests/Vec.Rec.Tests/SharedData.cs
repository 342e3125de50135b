using Xunit;

namespace Vec.Rec.Tests;

/// <summary>Locates ../shared (VECREC_SHARED) and caches the MovieLens 100K data set for the tests.</summary>
internal static class SharedData
{
    /// <summary>The shared folder, or null where it is absent.</summary>
    public static string? Shared { get; } = Find();

    /// <summary>The MovieLens 100K folder, or null.</summary>
    public static string? MovieLens100K => Existing(Shared is null ? null : Path.Combine(Shared, "data", "movielens-100k"));

    /// <summary>The all-MiniLM-L6-v2 folder, or null.</summary>
    public static string? MiniLm => Existing(Shared is null ? null : Path.Combine(Shared, "models", "all-MiniLM-L6-v2"));

    private static readonly Lazy<RatingDataset> Ml100K = new(() => MovieLens.Load100K(MovieLens100K!));

    /// <summary>MovieLens 100K, loaded once.</summary>
    public static RatingDataset Ml100k => Ml100K.Value;

    private static readonly Lazy<(Interactions Train, Interactions Test)> MsrMatrices = new(() =>
    {
        RatingSplit split = Splits.Stratified(Ml100k.Ratings);
        return Ml100k.ToMatrices(split.Train, split.Test);
    });

    /// <summary>The benchmark split's training and test matrices (Splits.Stratified defaults), built once; immutable.</summary>
    public static (Interactions Train, Interactions Test) Msr => MsrMatrices.Value;

    private static string? Existing(string? path) => path is not null && Directory.Exists(path) ? path : null;

    private static string? Find()
    {
        string? env = Environment.GetEnvironmentVariable("VECREC_SHARED");
        if (!string.IsNullOrEmpty(env)) return Existing(env);
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "VecRec.sln"))) dir = dir.Parent;
        return dir?.Parent is null ? null : Existing(Path.Combine(dir.Parent.FullName, "shared"));
    }
}

/// <summary>A fact that needs ../shared/data/movielens-100k; skipped with the reason where it is absent.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class MovieLensFactAttribute : FactAttribute
{
    /// <summary>Sets Skip where the data is absent.</summary>
    public MovieLensFactAttribute()
    {
        if (SharedData.MovieLens100K is null) Skip = "../shared/data/movielens-100k (VECREC_SHARED) is absent.";
    }
}

/// <summary>A fact that needs MovieLens 100K and the all-MiniLM-L6-v2 model.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class MovieLensModelFactAttribute : FactAttribute
{
    /// <summary>Sets Skip where the data or model is absent.</summary>
    public MovieLensModelFactAttribute()
    {
        if (SharedData.MovieLens100K is null || SharedData.MiniLm is null) Skip = "../shared/data/movielens-100k or ../shared/models/all-MiniLM-L6-v2 (VECREC_SHARED) is absent.";
    }
}

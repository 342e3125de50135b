using System.Globalization;
using Microsoft.Extensions.Options;

namespace Vec.Rec;

/// <summary>
/// How <c>AddVecRecRecommender</c> builds and fits a named recommender: the algorithm, its seed, and where the training
/// data comes from (exactly one of <see cref="TrainingData"/> and <see cref="Dataset"/>).
/// </summary>
public sealed class RecommenderServiceOptions
{
    /// <summary>The algorithm: a name from <see cref="RecommenderRegistry.Names"/> (e.g. <c>ease</c>, <c>als</c>, <c>hybrid</c>). Required.</summary>
    public string? Algorithm { get; set; }

    /// <summary>Seed for models with randomness (<see cref="RecommenderContext.Seed"/>); default 42.</summary>
    public int Seed { get; set; } = 42;

    /// <summary>
    /// Returns the training interactions and the item catalog (content and hybrid models need the catalog; others accept
    /// null). Called once, when the model is first resolved.
    /// </summary>
    public Func<IServiceProvider, (Interactions Train, ItemCatalog? Catalog)>? TrainingData { get; set; }

    /// <summary>
    /// Loads a whole <see cref="RatingDataset"/> (e.g. <c>_ => MovieLens.Load100K(folder)</c>) to fit on all of its
    /// ratings, over its users and every catalog item. Called once, when the model is first resolved.
    /// </summary>
    public Func<IServiceProvider, RatingDataset>? Dataset { get; set; }
}

/// <summary>Checks <see cref="RecommenderServiceOptions"/> when a recommender is first resolved.</summary>
internal sealed class RecommenderServiceOptionsValidator : IValidateOptions<RecommenderServiceOptions>
{
    public ValidateOptionsResult Validate(string? name, RecommenderServiceOptions options)
    {
        const string Type = nameof(RecommenderServiceOptions);
        var failures = new List<string>();
        string label = string.IsNullOrEmpty(name) ? "" : string.Create(CultureInfo.InvariantCulture, $" (recommender '{name}')");
        if (string.IsNullOrWhiteSpace(options.Algorithm))
        {
            failures.Add($"{Type}.{nameof(options.Algorithm)} is required{label}; known: {string.Join(", ", RecommenderRegistry.Names)}.");
        }
        else if (!RecommenderRegistry.Names.Contains(options.Algorithm, StringComparer.Ordinal))
        {
            failures.Add($"{Type}.{nameof(options.Algorithm)} '{options.Algorithm}' is not a known recommender{label}; known: {string.Join(", ", RecommenderRegistry.Names)}.");
        }

        if ((options.TrainingData is null) == (options.Dataset is null))
        {
            failures.Add(options.TrainingData is null
                ? $"{Type}.{nameof(options.TrainingData)} or {Type}.{nameof(options.Dataset)} must be set{label}: the model needs training data."
                : $"{Type}.{nameof(options.TrainingData)} and {Type}.{nameof(options.Dataset)} are both set{label}: set only one.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

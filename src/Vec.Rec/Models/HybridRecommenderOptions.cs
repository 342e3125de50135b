namespace Vec.Rec.Models;

/// <summary>How <see cref="HybridRecommender"/> puts each component's scores on a common scale, per user row.</summary>
public enum ScoreNormalization
{
    /// <summary><c>(s − mean) / std</c> over the row (a constant row becomes 0).</summary>
    ZScore,

    /// <summary><c>(s − min) / (max − min)</c> over the row (a constant row becomes 0).</summary>
    MinMax,
}

/// <summary>Settings of <see cref="HybridRecommender"/>.</summary>
public sealed record HybridRecommenderOptions
{
    /// <summary>
    /// Registry name of the collaborative component; null for the first registered of <c>ease</c>, <c>sar</c>,
    /// <c>itemknn</c>, <c>pop</c>.
    /// </summary>
    public string? CfModel { get; init; }

    /// <summary>Settings of the content component.</summary>
    public ContentRecommenderOptions Content { get; init; } = new();

    /// <summary>A fixed blend weight a in [0, 1]; null to tune it on a validation split of the training data.</summary>
    public double? Alpha { get; init; }

    /// <summary>The values of a tried when tuning.</summary>
    public IReadOnlyList<double> AlphaGrid { get; init; } = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 1];

    /// <summary>Share of the training interactions held out for tuning (item-stratified, as the warm protocol).</summary>
    public double ValidationFraction { get; init; } = 0.2;

    /// <summary>Seed of the validation split.</summary>
    public uint ValidationSeed { get; init; } = 7;

    /// <summary>List length of the validation metric (nDCG@k).</summary>
    public int ValidationK { get; init; } = 10;

    /// <summary>Per-row normalisation of the component scores.</summary>
    public ScoreNormalization Normalization { get; init; } = ScoreNormalization.ZScore;

    internal void Validate(string paramName)
    {
        ArgumentNullException.ThrowIfNull(Content, paramName);
        ArgumentNullException.ThrowIfNull(AlphaGrid, paramName);
        Content.Validate(paramName);
        if (Alpha is double a && !(a >= 0 && a <= 1)) throw new ArgumentOutOfRangeException(paramName, a, "Alpha must lie in [0, 1].");
        if (Alpha is null && (AlphaGrid.Count == 0 || AlphaGrid.Any(x => !(x >= 0 && x <= 1)))) throw new ArgumentOutOfRangeException(paramName, "AlphaGrid must be non-empty with values in [0, 1].");
        if (!(ValidationFraction > 0 && ValidationFraction < 1)) throw new ArgumentOutOfRangeException(paramName, ValidationFraction, "ValidationFraction must lie in (0, 1).");
        if (ValidationK < 1) throw new ArgumentOutOfRangeException(paramName, ValidationK, "ValidationK must be at least 1.");
        if (!Enum.IsDefined(Normalization)) throw new ArgumentOutOfRangeException(paramName, Normalization, "Unknown normalisation.");
    }
}

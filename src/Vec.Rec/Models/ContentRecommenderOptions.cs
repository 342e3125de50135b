using Vec.Rec.Content;

namespace Vec.Rec.Models;

/// <summary>How <see cref="ContentRecommender"/> turns a user's profile into item scores.</summary>
public enum ContentScoring
{
    /// <summary>Cosine between the user's profile (weighted mean of seen items' vectors) and each item's vector.</summary>
    Similarity,

    /// <summary>
    /// Bilinear "content EASE": with item features F (text, genres, year, bias), user features A = X F and a d x d matrix W
    /// fitted by ridge least squares so that A W F_warmᵀ ≈ X, the score of item i is <c>A_u W F_iᵀ</c>. It carries what the
    /// interactions say about warm items (popularity, taste structure) to cold items through their content.
    /// </summary>
    Bilinear,
}

/// <summary>Settings of <see cref="ContentRecommender"/>; the defaults were chosen on pseudo-cold warm items (docs/recommenders-content.md).</summary>
public sealed record ContentRecommenderOptions
{
    /// <summary>Item vectors for profiles, <see cref="ContentScoring.Similarity"/>, free text and explanations.</summary>
    public ItemFeatureOptions Features { get; init; } = new() { GenreWeight = 0.5f, YearWeight = 0f };

    /// <summary>Item features of the <see cref="ContentScoring.Bilinear"/> fit (a constant bias column is appended).</summary>
    public ItemFeatureOptions BilinearFeatures { get; init; } = new() { GenreWeight = 1f, YearWeight = 0.5f };

    /// <summary>The scoring rule.</summary>
    public ContentScoring Scoring { get; init; } = ContentScoring.Bilinear;

    /// <summary>Relative ridge strength of the bilinear fit (see <see cref="LinearModels.Bilinear"/>).</summary>
    public double BilinearLambda { get; init; } = 0.3;

    /// <summary>
    /// c in the profile weight <c>w_ui = (r_ui − r̄_u + c) · 0.5^((T − t_ui) / h)</c>; with c large, ratings barely matter.
    /// </summary>
    public float RatingOffset { get; init; } = 1f;

    /// <summary>h (days) in the profile weight; null for no time decay. T is the latest training timestamp.</summary>
    public double? HalfLifeDays { get; init; }

    /// <summary>Default weight of the user's profile in <see cref="ContentRecommender.RecommendForText"/> (the need gets 1 − blend).</summary>
    public float TextBlend { get; init; } = 0.3f;

    /// <summary>A sentence-transformers model folder to encode with when the context gives no encoder; null for <c>TextEncoders.CreateDefault</c>.</summary>
    public string? ModelFolder { get; init; }

    internal void Validate(string paramName)
    {
        ArgumentNullException.ThrowIfNull(Features, paramName);
        ArgumentNullException.ThrowIfNull(BilinearFeatures, paramName);
        Features.Validate(paramName);
        BilinearFeatures.Validate(paramName);
        if (!Enum.IsDefined(Scoring)) throw new ArgumentOutOfRangeException(paramName, Scoring, "Unknown scoring.");
        if (!(BilinearLambda > 0) || !double.IsFinite(BilinearLambda)) throw new ArgumentOutOfRangeException(paramName, BilinearLambda, "BilinearLambda must be positive and finite.");
        if (!float.IsFinite(RatingOffset)) throw new ArgumentOutOfRangeException(paramName, RatingOffset, "RatingOffset must be finite.");
        if (HalfLifeDays is double h && !(h > 0 && double.IsFinite(h))) throw new ArgumentOutOfRangeException(paramName, h, "HalfLifeDays must be positive and finite.");
        if (!(TextBlend >= 0 && TextBlend <= 1)) throw new ArgumentOutOfRangeException(paramName, TextBlend, "TextBlend must lie in [0, 1].");
    }
}

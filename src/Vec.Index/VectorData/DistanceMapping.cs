using Microsoft.Extensions.VectorData;
using Vec.Kernels;

namespace Vec.Index.VectorData;

/// <summary>How a <see cref="DistanceFunction"/> maps onto an index <see cref="Metric"/> and its scores.</summary>
internal enum ScoreTransform
{
    /// <summary>The index score as is.</summary>
    None,

    /// <summary>Square root of a squared Euclidean distance.</summary>
    Sqrt,

    /// <summary>One minus a cosine similarity (cosine distance).</summary>
    OneMinus,

    /// <summary>The negated score (negative dot product).</summary>
    Negate,
}

internal readonly record struct DistanceMapping(string DistanceFunction, Metric Metric, ScoreTransform Transform, bool HigherIsBetter)
{
    internal const string Supported =
        "CosineSimilarity (the default), CosineDistance, DotProductSimilarity, NegativeDotProductSimilarity, EuclideanSquaredDistance, EuclideanDistance";

    /// <summary>Maps a vector property's distance function (null for the default, cosine similarity).</summary>
    /// <exception cref="NotSupportedException">The distance function has no VecRec metric.</exception>
    public static DistanceMapping For(string? distanceFunction, string propertyName) => distanceFunction switch
    {
        null or Microsoft.Extensions.VectorData.DistanceFunction.CosineSimilarity
            => new(Microsoft.Extensions.VectorData.DistanceFunction.CosineSimilarity, Metric.Cosine, ScoreTransform.None, true),
        Microsoft.Extensions.VectorData.DistanceFunction.CosineDistance
            => new(distanceFunction, Metric.Cosine, ScoreTransform.OneMinus, false),
        Microsoft.Extensions.VectorData.DistanceFunction.DotProductSimilarity
            => new(distanceFunction, Metric.InnerProduct, ScoreTransform.None, true),
        Microsoft.Extensions.VectorData.DistanceFunction.NegativeDotProductSimilarity
            => new(distanceFunction, Metric.InnerProduct, ScoreTransform.Negate, false),
        Microsoft.Extensions.VectorData.DistanceFunction.EuclideanSquaredDistance
            => new(distanceFunction, Metric.L2, ScoreTransform.None, false),
        Microsoft.Extensions.VectorData.DistanceFunction.EuclideanDistance
            => new(distanceFunction, Metric.L2, ScoreTransform.Sqrt, false),
        _ => throw new NotSupportedException(
            $"Distance function '{distanceFunction}' of vector property '{propertyName}' is not supported by VecRec; use one of {Supported}."),
    };

    /// <summary>Converts an index score to the distance function's score.</summary>
    public double Convert(float indexScore) => Transform switch
    {
        ScoreTransform.Sqrt => Math.Sqrt(Math.Max(0.0, indexScore)),
        ScoreTransform.OneMinus => 1.0 - indexScore,
        ScoreTransform.Negate => -(double)indexScore,
        _ => indexScore,
    };

    /// <summary>Whether <paramref name="score"/> passes a score threshold.</summary>
    public bool Passes(double score, double threshold) => HigherIsBetter ? score >= threshold : score <= threshold;
}

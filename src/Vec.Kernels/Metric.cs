namespace Vec.Kernels;

/// <summary>How a query is compared with a database row in <see cref="IVectorKernels.Search"/>.</summary>
public enum Metric
{
    /// <summary>Inner product <c>q·x</c>; larger is closer.</summary>
    InnerProduct = 0,

    /// <summary>Cosine similarity <c>q·x / (|q| |x|)</c> in [-1, 1]; larger is closer. A zero vector scores 0 against everything.
    /// Rows need not be normalised: the kernels normalise internally.</summary>
    Cosine = 1,

    /// <summary>Squared Euclidean distance <c>|q - x|²</c>; smaller is closer.</summary>
    L2 = 2,
}

/// <summary>Which end of a score row <see cref="IVectorKernels.TopK"/> keeps.</summary>
public enum TopKOrder
{
    /// <summary>Keep the k largest scores, in descending order.</summary>
    Largest = 0,

    /// <summary>Keep the k smallest scores, in ascending order.</summary>
    Smallest = 1,
}

/// <summary>Extension helpers for <see cref="Metric"/>.</summary>
public static class MetricExtensions
{
    /// <summary>The top-k order in which a metric ranks: <see cref="TopKOrder.Smallest"/> for distances, otherwise largest.</summary>
    public static TopKOrder Order(this Metric metric) => metric switch
    {
        Metric.L2 => TopKOrder.Smallest,
        Metric.InnerProduct or Metric.Cosine => TopKOrder.Largest,
        _ => throw new ArgumentOutOfRangeException(nameof(metric), metric, "Unknown metric."),
    };

    /// <summary>The score written for a missing result (id -1): -∞ when larger is better, +∞ when smaller is better.</summary>
    public static float MissingScore(this TopKOrder order) =>
        order == TopKOrder.Largest ? float.NegativeInfinity : float.PositiveInfinity;
}

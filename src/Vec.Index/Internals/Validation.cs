using System.Numerics.Tensors;
using Vec.Kernels;

namespace Vec.Index.Internals;

/// <summary>Argument checks shared by every index; exceptions name the public parameter.</summary>
internal static class Validation
{
    public static void Dimension(int dimension, string name = "dimension")
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dimension, name);
    }

    public static void Metric(Metric metric, string name = "metric")
    {
        if (metric is not (Kernels.Metric.InnerProduct or Kernels.Metric.Cosine or Kernels.Metric.L2))
            throw new ArgumentOutOfRangeException(name, metric, "Unknown metric.");
    }

    /// <summary>Checks a row-major matrix: count non-negative, length exactly count x dimension, all values finite.</summary>
    public static void Matrix(ReadOnlySpan<float> values, int count, int dimension, string valuesName, string countName)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count, countName);
        long expected = (long)count * dimension;
        if (values.Length != expected)
            throw new ArgumentException($"Expected {count} x {dimension} = {expected} values, got {values.Length}.", valuesName);
        Finite(values, valuesName, dimension);
    }

    /// <summary>Throws if any value is NaN or infinite, naming the row.</summary>
    public static void Finite(ReadOnlySpan<float> values, string name, int dimension)
    {
        // IsFiniteAll is false for an empty span; the search for the culprit is the arbiter.
        if (!values.IsEmpty && TensorPrimitives.IsFiniteAll(values)) return;
        int i = values.IndexOfAnyExceptInRange(float.MinValue, float.MaxValue);
        if (i < 0) return;
        int d = Math.Max(1, dimension);
        throw new ArgumentException($"Value {values[i]} at row {i / d}, column {i % d} is not finite.", name);
    }

    /// <summary>Checks ids of an add: never -1 and unique within the call.</summary>
    public static void NewIds(ReadOnlySpan<long> ids, string name = "ids")
    {
        var seen = new HashSet<long>(ids.Length);
        for (int i = 0; i < ids.Length; i++)
        {
            if (ids[i] == -1) throw new ArgumentException($"Id -1 (at position {i}) is reserved for missing results.", name);
            if (!seen.Add(ids[i])) throw new ArgumentException($"Id {ids[i]} appears more than once (again at position {i}).", name);
        }
    }

    /// <summary>Checks the arguments of a search.</summary>
    public static void Search(ReadOnlySpan<float> queries, int queryCount, int k, int dimension, int idsLength, int scoresLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(k, "k");
        Matrix(queries, queryCount, dimension, "queries", "queryCount");
        long expected = (long)queryCount * k;
        if (idsLength < expected) throw new ArgumentException($"Needs room for {queryCount} x {k} = {expected} ids, has {idsLength}.", "ids");
        if (scoresLength < expected) throw new ArgumentException($"Needs room for {queryCount} x {k} = {expected} scores, has {scoresLength}.", "scores");
    }
}

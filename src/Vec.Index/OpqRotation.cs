using Vec.Kernels;

namespace Vec.Index;

/// <summary>OPQ rotation (stub in main; implemented on the kmeans branch).</summary>
public sealed class OpqRotation
{
    /// <summary>Stub.</summary>
    public OpqRotation(int dimension, int subQuantizers) => throw new NotImplementedException();

    /// <summary>Stub.</summary>
    public int Dimension { get; }

    /// <summary>Stub.</summary>
    public ReadOnlySpan<float> Matrix => throw new NotImplementedException();

    /// <summary>Stub.</summary>
    public void Train(ReadOnlySpan<float> vectors, int count, int iterations = 25, int seed = 1234, KMeansOptions? pqKMeans = null) => throw new NotImplementedException();

    /// <summary>Stub.</summary>
    public void Apply(ReadOnlySpan<float> x, int count, Span<float> y) => throw new NotImplementedException();

    internal static OpqRotation FromMatrix(int dimension, int subQuantizers, float[] matrix) => throw new NotImplementedException();
}

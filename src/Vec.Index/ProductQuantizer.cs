using Vec.Kernels;

namespace Vec.Index;

/// <summary>
/// Product quantiser: splits a vector into <see cref="SubQuantizers"/> sub-vectors of <see cref="SubDimension"/>
/// values and codes each by the nearest of 2^<see cref="Bits"/> centroids learned by k-means (one byte per code).
/// </summary>
public sealed class ProductQuantizer
{
    /// <summary>Creates an untrained quantiser.</summary>
    /// <param name="dimension">Vector dimension; a multiple of <paramref name="subQuantizers"/>.</param>
    /// <param name="subQuantizers">Number of sub-quantisers M.</param>
    /// <param name="bits">Bits per code, 1..8 (8 is standard; 4 for fast scan).</param>
    public ProductQuantizer(int dimension, int subQuantizers, int bits = 8) => throw new NotImplementedException();

    /// <summary>Vector dimension.</summary>
    public int Dimension { get; }

    /// <summary>Number of sub-quantisers M.</summary>
    public int SubQuantizers { get; }

    /// <summary>Bits per code.</summary>
    public int Bits { get; }

    /// <summary>Dimension of each sub-vector (<see cref="Dimension"/> / M).</summary>
    public int SubDimension { get; }

    /// <summary>Centroids per sub-quantiser, 2^<see cref="Bits"/>.</summary>
    public int CentroidsPerSubQuantizer { get; }

    /// <summary>Bytes per encoded vector: M (one byte per code).</summary>
    public int CodeSize => SubQuantizers;

    /// <summary>Whether the codebooks are trained.</summary>
    public bool IsTrained { get; }

    /// <summary>Codebooks: M x 2^bits x SubDimension floats, row-major; empty before training.</summary>
    public ReadOnlySpan<float> Centroids => throw new NotImplementedException();

    /// <summary>Trains the codebooks by k-means on each sub-space.</summary>
    public void Train(ReadOnlySpan<float> vectors, int count, KMeansOptions? options = null, IVectorKernels? kernels = null) => throw new NotImplementedException();

    /// <summary>Encodes vectors into <c>count x CodeSize</c> bytes.</summary>
    public void Encode(ReadOnlySpan<float> vectors, int count, Span<byte> codes) => throw new NotImplementedException();

    /// <summary>Reconstructs vectors from codes.</summary>
    public void Decode(ReadOnlySpan<byte> codes, int count, Span<float> vectors) => throw new NotImplementedException();

    /// <summary>Table of M x 2^bits squared L2 distances between the query's sub-vectors and every centroid.</summary>
    public void ComputeDistanceTable(ReadOnlySpan<float> query, Span<float> table) => throw new NotImplementedException();

    /// <summary>Table of M x 2^bits inner products between the query's sub-vectors and every centroid.</summary>
    public void ComputeInnerProductTable(ReadOnlySpan<float> query, Span<float> table) => throw new NotImplementedException();

    /// <summary>Rebuilds a trained quantiser from its codebooks (for loading).</summary>
    internal static ProductQuantizer FromCentroids(int dimension, int subQuantizers, int bits, float[] centroids) => throw new NotImplementedException();
}

using BenchmarkDotNet.Attributes;
using Vec.Kernels;

namespace Vec.Bench.Suites;

/// <summary>Matrix products A·Bᵀ, cosine and squared-L2 matrices (2·m·n·d flops each).</summary>
[MemoryDiagnoser]
public class ProductBenchmarks
{
    private IVectorKernels _kernels = null!;
    private float[] _a = [], _b = [], _c = [];

    /// <summary>Backend under test.</summary>
    [ParamsSource(typeof(SuiteBackends), nameof(SuiteBackends.Names))]
    public string Backend { get; set; } = "";

    /// <summary>Rows of A and of B.</summary>
    [Params(1024, 4096)]
    public int Rows { get; set; }

    /// <summary>Vector dimension.</summary>
    public const int Dimension = 384;

    /// <summary>Creates the backend and the inputs.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _kernels = SuiteBackends.Create(Backend);
        _a = Data.Embeddings(Rows, Dimension, seed: 1);
        _b = Data.Embeddings(Rows, Dimension, seed: 2);
        _c = new float[(long)Rows * Rows];
    }

    /// <summary>Releases the backend.</summary>
    [GlobalCleanup]
    public void Cleanup() => _kernels.Dispose();

    /// <summary>Inner products.</summary>
    [Benchmark(Baseline = true)]
    public void InnerProducts() => _kernels.InnerProducts(_a, Rows, _b, Rows, Dimension, _c);

    /// <summary>Cosine similarities.</summary>
    [Benchmark]
    public void CosineSimilarities() => _kernels.CosineSimilarities(_a, Rows, _b, Rows, Dimension, _c);

    /// <summary>Squared L2 distances.</summary>
    [Benchmark]
    public void SquaredL2Distances() => _kernels.SquaredL2Distances(_a, Rows, _b, Rows, Dimension, _c);
}

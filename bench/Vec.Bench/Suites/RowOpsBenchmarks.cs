using BenchmarkDotNet.Attributes;
using Vec.Kernels;

namespace Vec.Bench.Suites;

/// <summary>Masked mean / max pooling of 64 x 256 x 384 token embeddings and L2 normalisation of 100,000 x 384 rows.</summary>
[MemoryDiagnoser]
public class RowOpsBenchmarks
{
    private const int Batch = 64, Tokens = 256, Dimension = 384, NormalizeRows = 100_000;
    private IVectorKernels _kernels = null!;
    private float[] _tokens = [], _pooled = [], _rows = [], _normalized = [];
    private long[] _mask = [];

    /// <summary>Backend under test.</summary>
    [ParamsSource(typeof(SuiteBackends), nameof(SuiteBackends.Names))]
    public string Backend { get; set; } = "";

    /// <summary>Creates the backend and the inputs (sequence lengths between half and all of the padded length).</summary>
    [GlobalSetup]
    public void Setup()
    {
        _kernels = SuiteBackends.Create(Backend);
        _tokens = Data.Uniform((long)Batch * Tokens * Dimension, seed: 6);
        _mask = new long[Batch * Tokens];
        var rng = new Random(7);
        for (int b = 0; b < Batch; b++)
        {
            int length = rng.Next(Tokens / 2, Tokens + 1);
            for (int t = 0; t < length; t++) _mask[b * Tokens + t] = 1;
        }
        _pooled = new float[Batch * Dimension];
        _rows = Data.Uniform((long)NormalizeRows * Dimension, seed: 8);
        _normalized = new float[_rows.Length];
    }

    /// <summary>Releases the backend.</summary>
    [GlobalCleanup]
    public void Cleanup() => _kernels.Dispose();

    /// <summary>Masked mean pooling.</summary>
    [Benchmark]
    public void MeanPool() => _kernels.MeanPool(_tokens, _mask, Batch, Tokens, Dimension, _pooled);

    /// <summary>Masked max pooling.</summary>
    [Benchmark]
    public void MaxPool() => _kernels.MaxPool(_tokens, _mask, Batch, Tokens, Dimension, _pooled);

    /// <summary>Out-of-place L2 normalisation.</summary>
    [Benchmark]
    public void L2Normalize() => _kernels.L2Normalize(_rows, _normalized, NormalizeRows, Dimension);
}

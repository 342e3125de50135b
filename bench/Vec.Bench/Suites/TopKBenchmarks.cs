using BenchmarkDotNet.Attributes;
using Vec.Kernels;

namespace Vec.Bench.Suites;

/// <summary>Per-row top-k of a 64 x 100,000 score matrix.</summary>
[MemoryDiagnoser]
public class TopKBenchmarks
{
    private const int Rows = 64, Columns = 100_000;
    private IVectorKernels _kernels = null!;
    private float[] _scores = [], _values = [];
    private int[] _ids = [];

    /// <summary>Backend under test.</summary>
    [ParamsSource(typeof(SuiteBackends), nameof(SuiteBackends.Names))]
    public string Backend { get; set; } = "";

    /// <summary>Results per row.</summary>
    [Params(10, 4096)]
    public int K { get; set; }

    /// <summary>Creates the backend and the scores.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _kernels = SuiteBackends.Create(Backend);
        _scores = Data.Uniform((long)Rows * Columns, seed: 5);
        _ids = new int[Rows * K];
        _values = new float[Rows * K];
    }

    /// <summary>Releases the backend.</summary>
    [GlobalCleanup]
    public void Cleanup() => _kernels.Dispose();

    /// <summary>Largest k per row.</summary>
    [Benchmark]
    public void TopK() => _kernels.TopK(_scores, Rows, Columns, K, TopKOrder.Largest, _ids, _values);
}

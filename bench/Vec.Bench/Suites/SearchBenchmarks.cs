using BenchmarkDotNet.Attributes;
using Vec.Kernels;

namespace Vec.Bench.Suites;

/// <summary>Fused exact top-10 search over a resident 100,000 x 384 database: a batch of 1,000 queries and one query.</summary>
[MemoryDiagnoser]
public class SearchBenchmarks
{
    private const int Rows = 100_000, Dimension = 384, BatchQueries = 1000, K = 10;
    private IVectorKernels _kernels = null!;
    private VectorDatabase _database = null!;
    private float[] _queries = [], _scores = [];
    private int[] _ids = [];

    /// <summary>Backend under test.</summary>
    [ParamsSource(typeof(SuiteBackends), nameof(SuiteBackends.Names))]
    public string Backend { get; set; } = "";

    /// <summary>Ranking metric.</summary>
    [Params(Metric.InnerProduct, Metric.L2)]
    public Metric Metric { get; set; }

    /// <summary>Creates the backend, the database and the queries.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _kernels = SuiteBackends.Create(Backend);
        _database = _kernels.CreateDatabase(Data.Embeddings(Rows, Dimension, seed: 3), Rows, Dimension);
        _queries = Data.Embeddings(BatchQueries, Dimension, seed: 4);
        _ids = new int[BatchQueries * K];
        _scores = new float[BatchQueries * K];
    }

    /// <summary>Releases the database and the backend.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        _database.Dispose();
        _kernels.Dispose();
    }

    /// <summary>1,000 queries in one call.</summary>
    [Benchmark]
    public void Batch() => _kernels.Search(_database, _queries, BatchQueries, K, Metric, _ids, _scores);

    /// <summary>One query.</summary>
    [Benchmark]
    public void SingleQuery() => _kernels.Search(_database, _queries.AsSpan(0, Dimension), 1, K, Metric, _ids, _scores);
}

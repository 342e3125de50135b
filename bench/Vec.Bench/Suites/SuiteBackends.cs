using Vec.Kernels;

namespace Vec.Bench.Suites;

/// <summary>Backends the BenchmarkDotNet suites run on: <see cref="Data.DefaultBackends"/> (every available backend except
/// scalar and ilgpu-cpu, too slow for these sizes), or the comma-separated list in <c>VECREC_BENCH_BACKENDS</c>.</summary>
public static class SuiteBackends
{
    /// <summary>Backend names for <c>[ParamsSource]</c>; GPU and CPU backends appear side by side.</summary>
    public static IEnumerable<string> Names
    {
        get
        {
            string? env = Environment.GetEnvironmentVariable("VECREC_BENCH_BACKENDS");
            return string.IsNullOrWhiteSpace(env)
                ? Data.DefaultBackends()
                : env.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        }
    }

    /// <summary>Creates the backend on all cores.</summary>
    public static IVectorKernels Create(string name) => KernelBackends.Create(name);
}

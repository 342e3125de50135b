using Vec.Kernels.Internals;
using Vec.Kernels.Internals.CpuSimd;

namespace Vec.Kernels;

/// <summary>Options for creating a backend.</summary>
public sealed class KernelOptions
{
    /// <summary>Most CPU threads a CPU backend uses for one call; defaults to all cores.</summary>
    public int MaxThreads { get; init; } = Environment.ProcessorCount;
}

/// <summary>A registered backend as <see cref="KernelBackends.All"/> lists it.</summary>
/// <param name="Name">Name accepted by <see cref="KernelBackends.Create"/> and <see cref="KernelBackends.EnvironmentVariable"/>.</param>
/// <param name="Description">What it runs on.</param>
/// <param name="IsAvailable">True when it can be created on this machine (the instruction set or device exists).</param>
/// <param name="IsGpu">True for backends that run on a GPU.</param>
public sealed record KernelBackendInfo(string Name, string Description, bool IsAvailable, bool IsGpu);

/// <summary>
/// The one registry of kernel backends. Tests and benchmarks enumerate <see cref="Available"/>; applications call
/// <see cref="CreateDefault"/>, which honours the <c>VECREC_BACKEND</c> environment variable and otherwise picks CUDA
/// when a CUDA device exists, else the widest SIMD CPU backend.
/// </summary>
public static class KernelBackends
{
    /// <summary>Environment variable that forces the backend <see cref="CreateDefault"/> returns (a name from <see cref="All"/>).</summary>
    public const string EnvironmentVariable = "VECREC_BACKEND";

    private sealed record Entry(string Name, string Description, bool IsGpu, Func<bool> Probe, Func<KernelOptions, IVectorKernels> Factory);

    private static readonly Entry[] Entries =
    [
        new(ScalarKernels.BackendName, "Scalar reference loops (double accumulation)", false, () => true, _ => new ScalarKernels()),
        .. CpuSimdKernels.Registrations.Select(r => new Entry(r.Name, r.Description, false, r.Probe, r.Factory)),
        .. Ilgpu.IlgpuKernels.Registrations.Select(r => new Entry(r.Name, r.Description, true, r.Probe, r.Factory)),
    ];

    private static readonly Lazy<KernelBackendInfo[]> Infos = new(() =>
        Entries.Select(e => new KernelBackendInfo(e.Name, e.Description, SafeProbe(e.Probe), e.IsGpu)).ToArray());

    /// <summary>Every registered backend, with whether it can run here.</summary>
    public static IReadOnlyList<KernelBackendInfo> All => Infos.Value;

    /// <summary>
    /// Whether the named backend runs on a GPU, by its registration (no probing, so it is cheap and never touches a
    /// device). Unknown names are not GPU backends.
    /// </summary>
    /// <param name="name">A backend name, as in <see cref="IVectorKernels.Name"/>.</param>
    public static bool IsGpu(string name) =>
        Entries.Any(e => e.IsGpu && string.Equals(e.Name, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>The backends that can run on this machine.</summary>
    public static IReadOnlyList<KernelBackendInfo> Available => Infos.Value.Where(i => i.IsAvailable).ToArray();

    /// <summary>The name <see cref="CreateDefault"/> would use: the environment variable if set, else the first available GPU backend, else <c>simd</c>.</summary>
    public static string DefaultName
    {
        get
        {
            string? forced = Environment.GetEnvironmentVariable(EnvironmentVariable);
            if (!string.IsNullOrWhiteSpace(forced)) return forced.Trim();
            return Available.FirstOrDefault(i => i.IsGpu && i.Name != Ilgpu.IlgpuKernels.CpuSimulatorName)?.Name ?? CpuSimdKernels.BestName;
        }
    }

    /// <summary>The widest SIMD CPU backend this machine runs (<c>simd</c>, <c>simd256</c> or <c>simd128</c>); never a GPU backend.</summary>
    public static string BestCpuName => CpuSimdKernels.BestName;

    /// <summary>Creates the named backend.</summary>
    /// <exception cref="ArgumentException">The name is unknown or the backend cannot run on this machine.</exception>
    public static IVectorKernels Create(string name, KernelOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        options ??= new KernelOptions();
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.MaxThreads, nameof(options));
        var entry = Entries.FirstOrDefault(e => string.Equals(e.Name, name, StringComparison.OrdinalIgnoreCase))
            ?? throw new ArgumentException($"Unknown kernel backend '{name}'. Known: {string.Join(", ", Entries.Select(e => e.Name))}.", nameof(name));
        if (!SafeProbe(entry.Probe))
            throw new ArgumentException($"Kernel backend '{entry.Name}' cannot run on this machine ({entry.Description}).", nameof(name));
        return entry.Factory(options);
    }

    /// <summary>Creates the backend named by <see cref="DefaultName"/>.</summary>
    public static IVectorKernels CreateDefault(KernelOptions? options = null) => Create(DefaultName, options);

    private static bool SafeProbe(Func<bool> probe)
    {
        try { return probe(); }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return false;
        }
    }
}

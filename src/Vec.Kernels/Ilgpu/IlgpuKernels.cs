using Vec.Kernels.Internals;

namespace Vec.Kernels.Ilgpu;

/// <summary>ILGPU backends (CUDA, and ILGPU's CPU simulator for checking kernel logic).</summary>
internal static class IlgpuKernels
{
    /// <summary>Name of the backend that runs the GPU kernels on ILGPU's CPU thread simulator.</summary>
    public const string CpuSimulatorName = "ilgpu-cpu";

    /// <summary>Name of the CUDA backend.</summary>
    public const string CudaName = "ilgpu-cuda";

    internal static IReadOnlyList<BackendRegistration> Registrations { get; } = [];
}

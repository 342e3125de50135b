using Vec.Kernels.Internals;

namespace Vec.Kernels.Ilgpu;

/// <summary>ILGPU backends (CUDA, and ILGPU's CPU simulator for checking kernel logic).</summary>
internal static class IlgpuKernels
{
    /// <summary>Name of the backend that runs the GPU kernels on ILGPU's CPU thread simulator.</summary>
    public const string CpuSimulatorName = "ilgpu-cpu";

    /// <summary>Name of the CUDA backend.</summary>
    public const string CudaName = "ilgpu-cuda";

    internal static IReadOnlyList<BackendRegistration> Registrations { get; } =
    [
        new(CudaName, "ILGPU kernels on the first CUDA GPU", IlgpuBackend.CudaDeviceExists, _ => IlgpuBackend.CreateCuda(CudaName)),
        new(CpuSimulatorName, "ILGPU kernels on ILGPU's CPU thread simulator (about 10^5 x slower; tiny inputs only)", () => true,
            _ => IlgpuBackend.CreateCpuSimulator(CpuSimulatorName)),
    ];
}

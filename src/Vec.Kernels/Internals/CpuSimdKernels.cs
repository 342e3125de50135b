namespace Vec.Kernels.Internals;

internal sealed partial class CpuSimdKernels
{
    public const string BestName = "simd";
    internal static IReadOnlyList<BackendRegistration> Registrations { get; } = [];
}

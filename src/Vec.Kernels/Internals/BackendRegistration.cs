namespace Vec.Kernels.Internals;

/// <summary>How a backend family registers its variants with <see cref="KernelBackends"/>.</summary>
internal sealed record BackendRegistration(string Name, string Description, Func<bool> Probe, Func<KernelOptions, IVectorKernels> Factory);

using Microsoft.Extensions.DependencyInjection.Extensions;
using Vec.Kernels;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers VecRec's numeric kernels in an <see cref="IServiceCollection"/>.</summary>
public static class KernelsServiceCollectionExtensions
{
    /// <summary>
    /// Registers one shared <see cref="IVectorKernels"/> singleton, created on first resolution and disposed by the
    /// container. Later VecRec registrations (<c>AddVecRecTextEncoder</c>, <c>AddVecRecIndex</c>,
    /// <c>AddVecRecRecommender</c>) use it when present. A second call replaces the first registration.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="backend">A backend name from <see cref="KernelBackends.All"/> (e.g. <c>simd</c>, <c>scalar</c>,
    /// <c>ilgpu-cuda</c>); null for <see cref="KernelBackends.CreateDefault"/> (which honours <c>VECREC_BACKEND</c>).</param>
    /// <returns><paramref name="services"/>, for chaining.</returns>
    /// <exception cref="ArgumentException"><paramref name="backend"/> is empty or names no registered backend (checked
    /// here, at registration); a backend that cannot run on this machine throws when the kernels are first resolved.</exception>
    public static IServiceCollection AddVecRecKernels(this IServiceCollection services, string? backend = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        if (backend is not null)
        {
            if (string.IsNullOrWhiteSpace(backend))
            {
                throw new ArgumentException("The kernel backend name is empty; pass null for the default backend.", nameof(backend));
            }

            backend = backend.Trim();
            if (!KernelBackends.All.Any(b => string.Equals(b.Name, backend, StringComparison.OrdinalIgnoreCase)))
            {
                throw new ArgumentException(
                    $"Unknown kernel backend '{backend}'. Known: {string.Join(", ", KernelBackends.All.Select(b => b.Name))}.", nameof(backend));
            }
        }

        services.Replace(ServiceDescriptor.Singleton<IVectorKernels>(_ => backend is null ? KernelBackends.CreateDefault() : KernelBackends.Create(backend)));
        return services;
    }
}

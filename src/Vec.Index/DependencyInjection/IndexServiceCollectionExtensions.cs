using Microsoft.Extensions.DependencyInjection.Extensions;
using Vec.Index;
using Vec.Kernels;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers VecRec vector indexes in an <see cref="IServiceCollection"/>, by name.</summary>
/// <remarks>
/// Each index is a keyed singleton <see cref="IVectorIndex"/> (inject it with <c>[FromKeyedServices("name")]</c> or
/// resolve it with <c>GetRequiredKeyedService&lt;IVectorIndex&gt;("name")</c>), created on first resolution and disposed
/// by the container. While exactly one index is registered this way, it is also the non-keyed <see cref="IVectorIndex"/>;
/// with several, resolving the non-keyed service throws an <see cref="InvalidOperationException"/> listing the names.
/// </remarks>
public static class IndexServiceCollectionExtensions
{
    /// <summary>Registers an index built by <paramref name="factory"/> under <paramref name="name"/>.</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="name">The index's key; unique among the indexes registered here.</param>
    /// <param name="factory">Builds the index on first resolution (it may use other services, e.g. <see cref="IVectorKernels"/>).</param>
    /// <returns><paramref name="services"/>, for chaining.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is empty or already registered.</exception>
    public static IServiceCollection AddVecRecIndex(this IServiceCollection services, string name, Func<IServiceProvider, IVectorIndex> factory)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(factory);
        IndexNames names = GetOrAddNames(services);
        if (names.Names.Contains(name, StringComparer.Ordinal))
        {
            throw new ArgumentException($"A VecRec index named '{name}' is already registered.", nameof(name));
        }

        names.Names.Add(name);
        services.AddKeyedSingleton<IVectorIndex>(name, (sp, _) =>
            factory(sp) ?? throw new InvalidOperationException($"The factory of VecRec index '{name}' returned null."));
        services.TryAddSingleton<IVectorIndex>(sp => sp.GetRequiredService<IndexNames>().ResolveDefault(sp));
        return services;
    }

    /// <summary>
    /// Registers the index saved at <paramref name="path"/> under <paramref name="name"/>, loaded on first resolution by
    /// <see cref="VectorIndex.Load"/> (whatever its kind) with the container's <see cref="IVectorKernels"/> when one is
    /// registered. A missing or corrupt file throws when the index is resolved.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="name">The index's key; unique among the indexes registered here.</param>
    /// <param name="path">The index file written by <see cref="IVectorIndex.Save"/>.</param>
    /// <returns><paramref name="services"/>, for chaining.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> or <paramref name="path"/> is empty, or the name is already registered.</exception>
    public static IServiceCollection AddVecRecIndex(this IServiceCollection services, string name, string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string full = Path.GetFullPath(path);
        return services.AddVecRecIndex(name, sp => VectorIndex.Load(full, sp.GetService<IVectorKernels>()));
    }

    private static IndexNames GetOrAddNames(IServiceCollection services)
    {
        foreach (ServiceDescriptor descriptor in services)
        {
            if (descriptor.ServiceType == typeof(IndexNames) && !descriptor.IsKeyedService && descriptor.ImplementationInstance is IndexNames existing)
            {
                return existing;
            }
        }

        var names = new IndexNames();
        services.AddSingleton(names);
        return names;
    }

    /// <summary>The names registered through <see cref="AddVecRecIndex(IServiceCollection, string, Func{IServiceProvider, IVectorIndex})"/>.</summary>
    private sealed class IndexNames
    {
        public List<string> Names { get; } = [];

        public IVectorIndex ResolveDefault(IServiceProvider services) => Names.Count == 1
            ? services.GetRequiredKeyedService<IVectorIndex>(Names[0])
            : throw new InvalidOperationException(
                $"{Names.Count} VecRec indexes are registered ({string.Join(", ", Names)}): resolve one by name with [FromKeyedServices(\"name\")] or GetRequiredKeyedService<IVectorIndex>(\"name\").");
    }
}

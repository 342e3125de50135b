#pragma warning disable MEVD9001 // The provider-services model types are meant for connectors such as this one.

using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.VectorData;
using Microsoft.Extensions.VectorData.ProviderServices;
using Vec.Kernels;

namespace Vec.Index.VectorData;

/// <summary>
/// An in-process <see cref="VectorStore"/> (Microsoft.Extensions.VectorData, as used by Semantic Kernel) whose collections
/// keep records in memory and search them with VecRec indexes: one <see cref="IVectorIndex"/> per vector property,
/// exact <see cref="FlatIndex"/> by default.
/// </summary>
/// <remarks>
/// Collections are created by <see cref="VectorStoreCollection{TKey, TRecord}.EnsureCollectionExistsAsync"/> and live
/// until deleted or until the store is disposed; every collection object obtained for the same name shares them. All
/// members are thread-safe.
/// </remarks>
public sealed class VecRecVectorStore : VectorStore
{
    /// <summary>The system name reported in metadata and exceptions.</summary>
    public const string SystemName = "vecrec";

    private readonly ConcurrentDictionary<string, ICollectionState> _collections = new(StringComparer.Ordinal);
    private readonly object _createLock = new();
    private readonly bool _ownsKernels;
    private readonly VectorStoreMetadata _metadata = new() { VectorStoreSystemName = SystemName };
    private bool _disposed;

    /// <summary>Creates an empty store.</summary>
    /// <param name="options">Index factory, kernels, search settings and embedding generator; <see langword="null"/> for the defaults.</param>
    public VecRecVectorStore(VecRecVectorStoreOptions? options = null)
    {
        Options = options ?? new VecRecVectorStoreOptions();
        _ownsKernels = Options.Kernels is null;
        Kernels = Options.Kernels ?? KernelBackends.CreateDefault();
    }

    /// <summary>The store's settings.</summary>
    public VecRecVectorStoreOptions Options { get; }

    /// <summary>The kernel backend the default indexes search with.</summary>
    public IVectorKernels Kernels { get; }

    /// <inheritdoc />
    /// <exception cref="NotSupportedException">The record schema uses a key type, vector type or distance function VecRec does not support.</exception>
    [RequiresDynamicCode("Maps record properties with compiled expressions; use GetDynamicCollection for NativeAOT.")]
    [RequiresUnreferencedCode("Maps record properties by reflection; use GetDynamicCollection for trimmed applications.")]
    public override VecRecCollection<TKey, TRecord> GetCollection<TKey, TRecord>(string name, VectorStoreCollectionDefinition? definition = null)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ValidateName(name);
        if (typeof(TRecord) == typeof(Dictionary<string, object?>))
            throw new NotSupportedException("Records of type Dictionary<string, object?> use dynamic mapping: call GetDynamicCollection.");
        if (!VecRecModelBuilder.IsSupportedKeyType(typeof(TKey)))
            throw new NotSupportedException($"Key type '{typeof(TKey).Name}' is not supported; VecRec collections support keys of type {VecRecModelBuilder.SupportedKeyTypes}.");
        CollectionModel model = new VecRecModelBuilder().Build(typeof(TRecord), typeof(TKey), definition, Options.EmbeddingGenerator);
        return new VecRecCollection<TKey, TRecord>(this, name, model);
    }

    /// <inheritdoc />
    /// <exception cref="NotSupportedException">The definition uses a key type, vector type or distance function VecRec does not support.</exception>
    public override VecRecCollection<object, Dictionary<string, object?>> GetDynamicCollection(string name, VectorStoreCollectionDefinition definition)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ValidateName(name);
        ArgumentNullException.ThrowIfNull(definition);
        CollectionModel model = new VecRecModelBuilder().BuildDynamic(definition, Options.EmbeddingGenerator);
        return new VecRecCollection<object, Dictionary<string, object?>>(this, name, model);
    }

    /// <inheritdoc />
    public override async IAsyncEnumerable<string> ListCollectionNamesAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        await Task.CompletedTask.ConfigureAwait(false);
        foreach (string name in _collections.Keys.Order(StringComparer.Ordinal))
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return name;
        }
    }

    /// <inheritdoc />
    public override Task<bool> CollectionExistsAsync(string name, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ValidateName(name);
        return Task.FromResult(_collections.ContainsKey(name));
    }

    /// <inheritdoc />
    public override Task EnsureCollectionDeletedAsync(string name, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ValidateName(name);
        cancellationToken.ThrowIfCancellationRequested();
        Delete(name);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public override object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null) return null;
        if (serviceType == typeof(VectorStoreMetadata)) return _metadata;
        if (serviceType == typeof(IVectorKernels)) return Kernels;
        return serviceType.IsInstanceOfType(this) ? this : null;
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            lock (_createLock)
            {
                if (_disposed) return;
                _disposed = true;
                foreach (ICollectionState state in _collections.Values) state.Dispose();
                _collections.Clear();
                if (_ownsKernels) Kernels.Dispose();
            }
        }
        base.Dispose(disposing);
    }

    internal ICollectionState? Find(string name)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _collections.TryGetValue(name, out ICollectionState? state) ? state : null;
    }

    /// <summary>Returns the collection's state, creating it with <paramref name="create"/> if absent (once, under a lock).</summary>
    internal ICollectionState GetOrCreate(string name, Func<ICollectionState> create)
    {
        if (Find(name) is ICollectionState existing) return existing;
        lock (_createLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_collections.TryGetValue(name, out ICollectionState? state)) return state;
            state = create();
            _collections[name] = state;
            return state;
        }
    }

    internal void Delete(string name)
    {
        lock (_createLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_collections.TryRemove(name, out ICollectionState? state)) state.Dispose();
        }
    }

    private static void ValidateName(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
    }
}

using System.Collections.Concurrent;

namespace Vec.Index.VectorData;

/// <summary>The stored part of a collection, shared by every collection object opened on the same name.</summary>
internal interface ICollectionState : IDisposable
{
    /// <summary>Record type, key type and vector schema; collection objects must match it to open the data.</summary>
    string Signature { get; }
}

/// <summary>A stored record: its internal index id, key, key-and-data copy and vectors (one slot per vector property).</summary>
internal sealed class StoredRecord<TRecord>(long id, object key, TRecord record, float[]?[] vectors)
    where TRecord : class
{
    public long Id { get; } = id;

    public object Key { get; } = key;

    public TRecord Record { get; } = record;

    public float[]?[] Vectors { get; } = vectors;
}

/// <summary>
/// Records of one collection: a concurrent dictionary by key, one by internal id (the ids the indexes hold), and one
/// <see cref="IVectorIndex"/> per vector property. Writers take <see cref="WriteLock"/>; readers take no lock.
/// </summary>
internal sealed class CollectionState<TKey, TRecord>(string signature, IVectorIndex[] indexes) : ICollectionState
    where TKey : notnull
    where TRecord : class
{
    private long _nextId;

    public string Signature { get; } = signature;

    public object WriteLock { get; } = new();

    public ConcurrentDictionary<TKey, StoredRecord<TRecord>> ByKey { get; } = new();

    public ConcurrentDictionary<long, StoredRecord<TRecord>> ById { get; } = new();

    public IVectorIndex[] Indexes { get; } = indexes;

    /// <summary>A fresh internal id; call under <see cref="WriteLock"/>.</summary>
    public long NextId() => _nextId++;

    public void Dispose()
    {
        lock (WriteLock)
        {
            foreach (IVectorIndex index in Indexes) index.Dispose();
            ByKey.Clear();
            ById.Clear();
        }
    }
}

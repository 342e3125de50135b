#pragma warning disable MEVD9001 // The provider-services model types are meant for connectors such as this one.

using System.Linq.Expressions;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.VectorData;
using Microsoft.Extensions.VectorData.ProviderServices;
using Vec.Index.Internals;

namespace Vec.Index.VectorData;

/// <summary>
/// A collection of a <see cref="VecRecVectorStore"/>: records in a concurrent dictionary, each vector property searched
/// through its own <see cref="IVectorIndex"/>. Obtain one with <see cref="VecRecVectorStore.GetCollection{TKey, TRecord}"/>
/// or <see cref="VecRecVectorStore.GetDynamicCollection"/>.
/// </summary>
/// <typeparam name="TKey">Key type: <see cref="long"/>, <see cref="int"/>, <see cref="Guid"/> or <see cref="string"/>
/// (<see cref="object"/> for dynamic collections, whose keys are of the key property's type).</typeparam>
/// <typeparam name="TRecord">Record type (<see cref="Dictionary{TKey, TValue}"/> of string to object for dynamic collections).</typeparam>
/// <remarks>
/// <para>Records are copied in on upsert and out on every read, so later changes to a caller's objects never reach the
/// stored data; data property values themselves are copied by reference. Properties without a mapping attribute (or
/// definition entry) are not stored.</para>
/// <para>Vector search filters run inside the index search (<see cref="IdFilter.Where"/>): a search returns the best
/// <c>top</c> records that match the filter, as many as exist. The filter expression is compiled once per call and may
/// use any .NET code over the record.</para>
/// <para>Scores follow the vector property's distance function: cosine similarity (the default) and dot product
/// similarity, larger is better; cosine distance (1 - cosine), negative dot product, Euclidean and squared Euclidean
/// distance, smaller is better.</para>
/// <para>Thread-safe: reads and searches run concurrently with each other and with writers; writers (upsert, delete)
/// are serialised per collection, and a batch becomes visible record by record.</para>
/// </remarks>
public sealed class VecRecCollection<TKey, TRecord> : VectorStoreCollection<TKey, TRecord>
    where TKey : notnull
    where TRecord : class
{
    private static readonly VectorSearchOptions<TRecord> DefaultSearchOptions = new();
    private static readonly RecordRetrievalOptions DefaultRetrievalOptions = new();
    private const int MaxSearchAttempts = 3;

    private readonly VecRecVectorStore _store;
    private readonly CollectionModel _model;
    private readonly RecordMapper<TRecord> _mapper;
    private readonly string _signature;
    private readonly Type _keyPropertyType;
    private readonly VectorStoreCollectionMetadata _metadata;

    internal VecRecCollection(VecRecVectorStore store, string name, CollectionModel model)
    {
        _store = store;
        Name = name;
        _model = model;
        _mapper = new RecordMapper<TRecord>(model);
        _keyPropertyType = model.KeyProperty.Type;
        _signature = BuildSignature(model, _mapper);
        _metadata = new VectorStoreCollectionMetadata { VectorStoreSystemName = VecRecVectorStore.SystemName, CollectionName = name };
    }

    /// <inheritdoc />
    public override string Name { get; }

    /// <inheritdoc />
    public override Task<bool> CollectionExistsAsync(CancellationToken cancellationToken = default)
        => Task.FromResult(_store.Find(Name) is not null);

    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">A collection of this name exists with another record type or schema,
    /// or the index factory returned an unsuitable index.</exception>
    public override Task EnsureCollectionExistsAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Check(_store.GetOrCreate(Name, CreateState));
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public override Task EnsureCollectionDeletedAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        _store.Delete(Name);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    /// <exception cref="VectorStoreException">The collection does not exist.</exception>
    public override Task<TRecord?> GetAsync(TKey key, RecordRetrievalOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= DefaultRetrievalOptions;
        CheckIncludeVectors(options.IncludeVectors);
        TKey k = NormalizeKey(key, nameof(key));
        cancellationToken.ThrowIfCancellationRequested();
        CollectionState<TKey, TRecord> state = State();
        TRecord? record = state.ByKey.TryGetValue(k, out StoredRecord<TRecord>? stored)
            ? _mapper.Materialize(stored.Record, stored.Key, stored.Vectors, options.IncludeVectors)
            : null;
        return Task.FromResult(record);
    }

    /// <inheritdoc />
    /// <exception cref="VectorStoreException">The collection does not exist.</exception>
    public override async IAsyncEnumerable<TRecord> GetAsync(Expression<Func<TRecord, bool>> filter, int top,
        FilteredRecordRetrievalOptions<TRecord>? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(top);
        options ??= new FilteredRecordRetrievalOptions<TRecord>();
        CheckIncludeVectors(options.IncludeVectors);
        Func<TRecord, bool> predicate = filter.Compile();
        CollectionState<TKey, TRecord> state = State();
        await Task.CompletedTask.ConfigureAwait(false);

        IEnumerable<StoredRecord<TRecord>> matches = state.ById.Values.Where(s => predicate(s.Record));
        IReadOnlyList<FilteredRecordRetrievalOptions<TRecord>.OrderByDefinition.SortInfo> sorts =
            options.OrderBy?.Invoke(new FilteredRecordRetrievalOptions<TRecord>.OrderByDefinition()).Values ?? [];
        IOrderedEnumerable<StoredRecord<TRecord>>? ordered = null;
        foreach (var sort in sorts)
        {
            Func<TRecord, object?> selector = sort.PropertySelector.Compile();
            Func<StoredRecord<TRecord>, object?> by = s => selector(s.Record);
            ordered = (ordered, sort.Ascending) switch
            {
                (null, true) => matches.OrderBy(by, ValueComparer.Instance),
                (null, false) => matches.OrderByDescending(by, ValueComparer.Instance),
                (_, true) => ordered.ThenBy(by, ValueComparer.Instance),
                (_, false) => ordered.ThenByDescending(by, ValueComparer.Instance),
            };
        }
        // Ties (and unordered requests) fall back to insertion order, so paging with Skip is stable.
        IEnumerable<StoredRecord<TRecord>> result = ordered is null ? matches.OrderBy(s => s.Id) : ordered.ThenBy(s => s.Id);
        foreach (StoredRecord<TRecord> stored in result.Skip(options.Skip).Take(top))
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return _mapper.Materialize(stored.Record, stored.Key, stored.Vectors, options.IncludeVectors);
        }
    }

    /// <inheritdoc />
    /// <exception cref="VectorStoreException">The collection does not exist.</exception>
    public override Task DeleteAsync(TKey key, CancellationToken cancellationToken = default)
        => DeleteAsync([key], cancellationToken);

    /// <inheritdoc />
    /// <exception cref="VectorStoreException">The collection does not exist.</exception>
    public override Task DeleteAsync(IEnumerable<TKey> keys, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var normalized = new List<TKey>();
        foreach (TKey key in keys) normalized.Add(NormalizeKey(key, nameof(keys)));
        cancellationToken.ThrowIfCancellationRequested();
        CollectionState<TKey, TRecord> state = State();
        lock (state.WriteLock)
        {
            var removed = new List<long>(normalized.Count);
            foreach (TKey key in normalized)
            {
                if (!state.ByKey.TryRemove(key, out StoredRecord<TRecord>? old)) continue;
                state.ById.TryRemove(old.Id, out _);
                removed.Add(old.Id);
            }
            if (removed.Count > 0)
            {
                foreach (IVectorIndex index in state.Indexes) index.Remove(removed.ToArray());
            }
        }
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    /// <exception cref="VectorStoreException">The collection does not exist.</exception>
    public override Task UpsertAsync(TRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        return UpsertAsync([record], cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>The batch is checked entirely (keys, vector dimensions, finite values) before anything is stored, so
    /// bad input changes nothing. Where a key appears more than once, the last record wins.</remarks>
    /// <exception cref="ArgumentException">A record is null, has no key, or a vector of the wrong dimension or with
    /// NaN or infinite values.</exception>
    /// <exception cref="VectorStoreException">The collection does not exist.</exception>
    public override async Task UpsertAsync(IEnumerable<TRecord> records, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(records);
        List<TRecord> batch = [.. records];
        for (int i = 0; i < batch.Count; i++)
        {
            if (batch[i] is null) throw new ArgumentException($"The record at position {i} is null.", nameof(records));
        }
        if (batch.Count == 0) return;
        CollectionState<TKey, TRecord> state = State();

        // Keys (auto-generating empty Guid keys where configured), deduplicated: the last record of a key wins.
        var keys = new TKey[batch.Count];
        var last = new Dictionary<TKey, int>(batch.Count);
        for (int i = 0; i < batch.Count; i++)
        {
            keys[i] = RecordKey(batch[i], i);
            last[keys[i]] = i;
        }

        // Vectors: copied from the records, or embedded from their source values where a generator is configured.
        int vectorCount = _mapper.Vectors.Length;
        var vectors = new float[]?[vectorCount][];
        foreach (VectorAccessor v in _mapper.Vectors)
        {
            float[]?[] column = new float[]?[batch.Count];
            if (v.IsGenerated)
            {
                var sources = new object?[batch.Count];
                for (int i = 0; i < batch.Count; i++) sources[i] = v.Accessor.Get(batch[i]);
                IReadOnlyList<Embedding> embeddings = await v.Model.GenerateEmbeddingsAsync(sources, cancellationToken).ConfigureAwait(false);
                if (embeddings.Count != batch.Count)
                    throw new InvalidOperationException($"The embedding generator of property '{v.Model.ModelName}' returned {embeddings.Count} embeddings for {batch.Count} records.");
                for (int i = 0; i < batch.Count; i++)
                {
                    column[i] = embeddings[i] is Embedding<float> e
                        ? e.Vector.ToArray()
                        : throw new InvalidOperationException($"The embedding generator of property '{v.Model.ModelName}' returned a {embeddings[i].GetType().Name}; VecRec stores Embedding<float>.");
                }
            }
            else
            {
                for (int i = 0; i < batch.Count; i++) column[i] = VectorAccessor.ToArray(v.Accessor.Get(batch[i]));
            }
            for (int i = 0; i < batch.Count; i++)
            {
                if (column[i] is not float[] vector) continue;
                if (vector.Length != v.Dimension)
                    throw new ArgumentException($"Record {keys[i]} (position {i}): vector property '{v.Model.ModelName}' has {vector.Length} dimensions; the collection expects {v.Dimension}.", nameof(records));
                foreach (float x in vector)
                {
                    if (!float.IsFinite(x))
                        throw new ArgumentException($"Record {keys[i]} (position {i}): vector property '{v.Model.ModelName}' contains {x}; vectors must be finite.", nameof(records));
                }
            }
            vectors[v.Ordinal] = column;
        }

        // Private copies (key and data), made before anything changes.
        var copies = new List<(TKey Key, TRecord Copy, float[]?[] Vectors)>(last.Count);
        foreach ((TKey key, int i) in last.OrderBy(p => p.Value))
        {
            var recordVectors = new float[]?[vectorCount];
            for (int j = 0; j < vectorCount; j++) recordVectors[j] = vectors[j][i];
            TRecord copy;
            try
            {
                copy = _mapper.CopyWithoutVectors(batch[i], key);
            }
            catch (InvalidCastException e)
            {
                throw new ArgumentException($"Record {key} (position {i}): {e.Message}", nameof(records), e);
            }
            copies.Add((key, copy, recordVectors));
        }
        cancellationToken.ThrowIfCancellationRequested();

        lock (state.WriteLock)
        {
            var fresh = new List<(TKey Key, StoredRecord<TRecord> Stored)>(copies.Count);
            foreach ((TKey key, TRecord copy, float[]?[] recordVectors) in copies)
                fresh.Add((key, new StoredRecord<TRecord>(state.NextId(), key, copy, recordVectors)));

            // New vectors go in first (under new ids), then the dictionaries switch over, then old vectors go out:
            // a concurrent search never misses a record that exists before and after the upsert.
            for (int j = 0; j < vectorCount; j++)
            {
                try
                {
                    AddToIndex(state.Indexes[j], fresh, j);
                }
                catch
                {
                    long[] added = [.. fresh.Select(f => f.Stored.Id)];
                    for (int r = 0; r < j; r++) state.Indexes[r].Remove(added);
                    throw;
                }
            }
            var replaced = new List<long>();
            foreach ((TKey key, StoredRecord<TRecord> stored) in fresh)
            {
                state.ById[stored.Id] = stored;
                if (state.ByKey.TryGetValue(key, out StoredRecord<TRecord>? old))
                {
                    state.ByKey[key] = stored;
                    state.ById.TryRemove(old.Id, out _);
                    replaced.Add(old.Id);
                }
                else
                {
                    state.ByKey[key] = stored;
                }
            }
            if (replaced.Count > 0)
            {
                long[] oldIds = [.. replaced];
                foreach (IVectorIndex index in state.Indexes) index.Remove(oldIds);
            }
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// <paramref name="searchValue"/> is a vector (<see cref="ReadOnlyMemory{T}"/> of float, float[] or
    /// <see cref="Embedding{T}"/> of float) of the property's dimension, or any input the property's embedding generator
    /// accepts (for example text). <see cref="VectorSearchOptions{TRecord}.Filter"/> is applied inside the index
    /// search; <see cref="VectorSearchOptions{TRecord}.Skip"/> skips that many of the best matches;
    /// <see cref="VectorSearchOptions{TRecord}.ScoreThreshold"/> drops results scoring worse than it.
    /// </remarks>
    /// <exception cref="ArgumentException">The search vector has the wrong dimension or non-finite values.</exception>
    /// <exception cref="NotSupportedException">The search value is not a vector and no embedding generator is configured.</exception>
    /// <exception cref="VectorStoreException">The collection does not exist.</exception>
    public override async IAsyncEnumerable<VectorSearchResult<TRecord>> SearchAsync<TInput>(TInput searchValue, int top,
        VectorSearchOptions<TRecord>? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(searchValue);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(top);
        options ??= DefaultSearchOptions;
        CheckIncludeVectors(options.IncludeVectors);
        VectorPropertyModel property = _model.GetVectorPropertyOrSingle(options);
        VectorAccessor vector = _mapper.Vectors[IndexOf(property)];
        CollectionState<TKey, TRecord> state = State();

        float[] query = await QueryVectorAsync(searchValue, vector, cancellationToken).ConfigureAwait(false);
        if (query.Length != vector.Dimension)
            throw new ArgumentException($"The search vector has {query.Length} dimensions; vector property '{property.ModelName}' has {vector.Dimension}.", nameof(searchValue));
        Validation.Finite(query, nameof(searchValue), query.Length);

        IVectorIndex index = state.Indexes[vector.Ordinal];
        long wanted = (long)top + options.Skip;
        int k = (int)Math.Min(wanted, Math.Max(1, index.Count));
        var ids = new long[k];
        var scores = new float[k];
        SearchOptions indexOptions = _store.Options.SearchOptions ?? SearchOptions.Default;
        if (options.Filter is not null)
        {
            // Compiled once per call; runs inside the index search, so top-k holds the best matching records.
            Func<TRecord, bool> predicate = options.Filter.Compile();
            indexOptions = indexOptions with
            {
                Filter = IdFilter.Where(id => Current(state, id) is StoredRecord<TRecord> s && predicate(s.Record)),
            };
        }
        // Records replaced or deleted between the index snapshot and the lookup below are dropped; when that leaves
        // fewer results than asked for, the search is repeated (a few times at most) on a newer snapshot.
        var results = new List<VectorSearchResult<TRecord>>(Math.Min(top, k));
        for (int attempt = 0; ; attempt++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            index.Search(query, 1, k, ids, scores, indexOptions);
            results.Clear();
            int valid = 0;
            bool stale = false, belowThreshold = false;
            for (int r = 0; r < k && results.Count < top; r++)
            {
                if (ids[r] == -1) break;
                if (Current(state, ids[r]) is not StoredRecord<TRecord> stored)
                {
                    stale = true;
                    continue;
                }
                if (valid++ < options.Skip) continue;
                double score = vector.Distance.Convert(scores[r]);
                if (options.ScoreThreshold is double threshold && !vector.Distance.Passes(score, threshold))
                {
                    belowThreshold = true;
                    break;
                }
                results.Add(new VectorSearchResult<TRecord>(
                    _mapper.Materialize(stored.Record, stored.Key, stored.Vectors, options.IncludeVectors), score));
            }
            if (!stale || belowThreshold || results.Count == top || attempt == MaxSearchAttempts - 1) break;
        }
        foreach (VectorSearchResult<TRecord> result in results) yield return result;
    }

    /// <inheritdoc />
    /// <remarks>Provides <see cref="VectorStoreCollectionMetadata"/>, the collection itself, and the
    /// <see cref="IVectorIndex"/> of a vector property (service key: the property name; none needed for a single
    /// vector property).</remarks>
    public override object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceType == typeof(VectorStoreCollectionMetadata)) return serviceKey is null ? _metadata : null;
        if (serviceType == typeof(IVectorIndex))
        {
            if (_store.Find(Name) is not CollectionState<TKey, TRecord> state || state.Signature != _signature) return null;
            VectorAccessor? v = serviceKey switch
            {
                null when _mapper.Vectors.Length == 1 => _mapper.Vectors[0],
                string name => _mapper.Vectors.FirstOrDefault(x => x.Model.ModelName == name),
                _ => null,
            };
            return v is null ? null : state.Indexes[v.Ordinal];
        }
        return serviceKey is null && serviceType.IsInstanceOfType(this) ? this : null;
    }

    private ICollectionState CreateState()
    {
        var indexes = new List<IVectorIndex>(_mapper.Vectors.Length);
        try
        {
            foreach (VectorAccessor v in _mapper.Vectors)
            {
                var request = new VecRecIndexRequest(Name, v.Model.ModelName, v.Dimension, v.Distance.Metric, v.Model.IndexKind, _store.Kernels);
                IVectorIndex index = _store.Options.IndexFactory is { } factory
                    ? factory(request) ?? throw new InvalidOperationException($"The index factory returned null for vector property '{v.Model.ModelName}'.")
                    : new FlatIndex(v.Dimension, v.Distance.Metric, _store.Kernels);
                indexes.Add(index);
                if (index.Dimension != v.Dimension || index.Metric != v.Distance.Metric)
                    throw new InvalidOperationException($"The index factory returned a {index.Dimension}-dimensional {index.Metric} index for vector property '{v.Model.ModelName}'; expected {v.Dimension} dimensions and {v.Distance.Metric}.");
                if (!index.IsTrained)
                    throw new InvalidOperationException($"The index factory returned an untrained index for vector property '{v.Model.ModelName}'; train it before returning it.");
                if (index.Count != 0)
                    throw new InvalidOperationException($"The index factory returned a non-empty index for vector property '{v.Model.ModelName}'.");
            }
        }
        catch
        {
            foreach (IVectorIndex index in indexes) index.Dispose();
            throw;
        }
        return new CollectionState<TKey, TRecord>(_signature, [.. indexes]);
    }

    /// <summary>The record stored under an internal id if it is still the current version of its key.</summary>
    /// <remarks>While an upsert switches a key from an old id to a new one, both ids can be in the index and in
    /// <see cref="CollectionState{TKey, TRecord}.ById"/>; only the one the key points at counts, so no key appears twice.</remarks>
    private static StoredRecord<TRecord>? Current(CollectionState<TKey, TRecord> state, long id)
        => state.ById.TryGetValue(id, out StoredRecord<TRecord>? stored)
           && state.ByKey.TryGetValue((TKey)stored.Key, out StoredRecord<TRecord>? current)
           && ReferenceEquals(stored, current)
            ? stored
            : null;

    private CollectionState<TKey, TRecord> State()
        => Check(_store.Find(Name) ?? throw new VectorStoreException(
            $"Collection '{Name}' does not exist; call EnsureCollectionExistsAsync first.")
        {
            VectorStoreSystemName = VecRecVectorStore.SystemName,
            CollectionName = Name,
        });

    private CollectionState<TKey, TRecord> Check(ICollectionState state)
        => state is CollectionState<TKey, TRecord> typed && typed.Signature == _signature
            ? typed
            : throw new InvalidOperationException(
                $"Collection '{Name}' exists with a different schema ({state.Signature}); this collection object expects {_signature}.");

    private void CheckIncludeVectors(bool includeVectors)
    {
        if (includeVectors && _mapper.EmbeddingGenerationRequired)
            throw new NotSupportedException("IncludeVectors is not supported when vector properties are generated by an embedding generator.");
    }

    private int IndexOf(VectorPropertyModel property)
    {
        for (int i = 0; i < _mapper.Vectors.Length; i++)
        {
            if (ReferenceEquals(_mapper.Vectors[i].Model, property)) return i;
        }
        throw new InvalidOperationException($"Vector property '{property.ModelName}' is not part of collection '{Name}'.");
    }

    /// <summary>Checks a caller's key (dynamic collections: of the key property's type).</summary>
    private TKey NormalizeKey(TKey key, string paramName)
    {
        if (key is null) throw new ArgumentNullException(paramName);
        if (typeof(TKey) == typeof(object) && key.GetType() != _keyPropertyType)
            throw new ArgumentException($"Key {key} has type '{key.GetType().Name}'; the key property '{_model.KeyProperty.ModelName}' has type '{_keyPropertyType.Name}'.", paramName);
        return key;
    }

    /// <summary>Reads a record's key, generating a Guid for an empty auto-generated key.</summary>
    private TKey RecordKey(TRecord record, int position)
    {
        object? value = _mapper.Key.Get(record);
        KeyPropertyModel keyProperty = _model.KeyProperty;
        if (keyProperty.IsAutoGenerated && (value is null || (value is Guid g && g == Guid.Empty)))
        {
            value = Guid.NewGuid();
            _mapper.Key.Set(record, value);
        }
        if (value is null)
            throw new ArgumentException($"The record at position {position} has no key (property '{keyProperty.ModelName}' is null).", "records");
        if (value.GetType() != _keyPropertyType)
            throw new ArgumentException($"The record at position {position} has a key of type '{value.GetType().Name}'; the key property '{keyProperty.ModelName}' has type '{_keyPropertyType.Name}'.", "records");
        return (TKey)value;
    }

    private async ValueTask<float[]> QueryVectorAsync<TInput>(TInput searchValue, VectorAccessor vector, CancellationToken cancellationToken)
        where TInput : notnull
    {
        switch (searchValue)
        {
            case ReadOnlyMemory<float> m: return m.ToArray();
            case float[] a: return a;
            case Embedding<float> e: return e.Vector.ToArray();
        }
        IEmbeddingGenerator? generator = vector.Model.EmbeddingGenerator;
        if (generator is IEmbeddingGenerator<TInput, Embedding<float>> typed)
        {
            Embedding<float> embedding = await typed.GenerateAsync(searchValue, cancellationToken: cancellationToken).ConfigureAwait(false);
            return embedding.Vector.ToArray();
        }
        if (generator is null)
            throw new NotSupportedException(
                $"Search values of type '{typeof(TInput).Name}' are not supported without an embedding generator; pass one of {VecRecModelBuilder.SupportedVectorTypes}, or configure an embedding generator for '{vector.Model.ModelName}'.");
        throw new InvalidOperationException(
            $"The embedding generator of vector property '{vector.Model.ModelName}' ({generator.GetType().Name}) does not accept inputs of type '{typeof(TInput).Name}'.");
    }

    private static void AddToIndex(IVectorIndex index, List<(TKey Key, StoredRecord<TRecord> Stored)> fresh, int ordinal)
    {
        int d = index.Dimension;
        var ids = new List<long>(fresh.Count);
        var flat = new List<float>(fresh.Count * d);
        foreach ((_, StoredRecord<TRecord> stored) in fresh)
        {
            if (stored.Vectors[ordinal] is not float[] v) continue;
            ids.Add(stored.Id);
            flat.AddRange(v);
        }
        if (ids.Count > 0) index.Add(CollectionsMarshal.AsSpan(ids), CollectionsMarshal.AsSpan(flat));
    }

    private static string BuildSignature(CollectionModel model, RecordMapper<TRecord> mapper)
    {
        var sb = new StringBuilder();
        sb.Append("record ").Append(typeof(TRecord).Name).Append(", key ").Append(model.KeyProperty.ModelName)
          .Append(':').Append(model.KeyProperty.Type.Name);
        foreach (VectorAccessor v in mapper.Vectors)
            sb.Append(", vector ").Append(v.Model.ModelName).Append(':').Append(v.Dimension).Append(':').Append(v.Distance.DistanceFunction);
        return sb.ToString();
    }

    /// <summary>Orders sort keys: ordinal for strings, <see cref="Comparer{T}.Default"/> otherwise, nulls first.</summary>
    private sealed class ValueComparer : IComparer<object?>
    {
        public static readonly ValueComparer Instance = new();

        public int Compare(object? x, object? y)
            => x is string a && y is string b ? string.CompareOrdinal(a, b) : Comparer<object?>.Default.Compare(x, y);
    }
}

#pragma warning disable MEVD9001 // The provider-services model types are meant for connectors such as this one.

using System.Linq.Expressions;
using System.Reflection;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.VectorData.ProviderServices;

namespace Vec.Index.VectorData;

/// <summary>Reads and writes one record property through delegates built once per collection.</summary>
internal sealed class PropertyAccessor
{
    private readonly Func<object, object?> _get;
    private readonly Action<object, object?> _set;

    public PropertyAccessor(PropertyModel model)
    {
        Model = model;
        if (model.PropertyInfo is PropertyInfo info)
        {
            if (info.GetMethod is null || info.SetMethod is null)
                throw new NotSupportedException($"Property '{info.DeclaringType?.Name}.{info.Name}' must have a public getter and setter to be stored in a VecRec collection.");
            // POCO: compiled (object record) => (object)((TRecord)record).Property and its setter.
            ParameterExpression record = Expression.Parameter(typeof(object), "record");
            ParameterExpression value = Expression.Parameter(typeof(object), "value");
            UnaryExpression typed = Expression.Convert(record, info.DeclaringType!);
            _get = Expression.Lambda<Func<object, object?>>(
                Expression.Convert(Expression.Property(typed, info), typeof(object)), record).Compile();
            _set = Expression.Lambda<Action<object, object?>>(
                Expression.Assign(Expression.Property(typed, info), Expression.Convert(value, info.PropertyType)), record, value).Compile();
        }
        else
        {
            // Dynamic mapping (Dictionary<string, object?>): the model's own accessors, which check value types.
            _get = model.GetValueAsObject;
            _set = model.SetValueAsObject;
        }
    }

    public PropertyModel Model { get; }

    public string Name => Model.ModelName;

    public object? Get(object record) => _get(record);

    public void Set(object record, object? value) => _set(record, value);
}

/// <summary>A vector property: its accessor, how it is compared and whether it is embedded from another type.</summary>
internal sealed class VectorAccessor(VectorPropertyModel model, int ordinal)
{
    public PropertyAccessor Accessor { get; } = new(model);

    public VectorPropertyModel Model { get; } = model;

    /// <summary>Position in the model's vector properties (and the collection's index array).</summary>
    public int Ordinal { get; } = ordinal;

    public int Dimension => Model.Dimensions;

    public DistanceMapping Distance { get; } = DistanceMapping.For(model.DistanceFunction, model.ModelName);

    /// <summary>Whether the property holds an embedding source (e.g. text) rather than a vector.</summary>
    public bool IsGenerated { get; } = !VecRecModelBuilder.IsNativeVectorType(model.Type);

    /// <summary>Copies a native vector value to a new array; null where the record has no vector.</summary>
    public static float[]? ToArray(object? value) => value switch
    {
        null => null,
        ReadOnlyMemory<float> m => m.ToArray(),
        float[] a => (float[])a.Clone(),
        Embedding<float> e => e.Vector.ToArray(),
        _ => throw new InvalidCastException($"Unsupported vector value of type '{value.GetType().Name}'."),
    };

    /// <summary>Wraps a stored vector as a value of the property's type (never exposing the stored array).</summary>
    public object FromArray(float[] vector)
    {
        Type t = Model.Type;
        if (t == typeof(float[])) return vector.Clone();
        if (t == typeof(Embedding<float>)) return new Embedding<float>(vector);
        return new ReadOnlyMemory<float>(vector);
    }
}

/// <summary>Maps records of one collection: key, data and vector accessors and a record factory.</summary>
internal sealed class RecordMapper<TRecord>
    where TRecord : class
{
    private readonly Func<TRecord> _create;

    public RecordMapper(CollectionModel model)
    {
        Model = model;
        Key = new PropertyAccessor(model.KeyProperty);
        Data = [.. model.DataProperties.Select(p => new PropertyAccessor(p))];
        Vectors = [.. model.VectorProperties.Select((p, i) => new VectorAccessor(p, i))];
        EmbeddingGenerationRequired = Vectors.Any(v => v.IsGenerated);
        if (typeof(TRecord) == typeof(Dictionary<string, object?>))
        {
            _create = model.CreateRecord<TRecord>;
        }
        else
        {
            ConstructorInfo ctor = typeof(TRecord).GetConstructor(Type.EmptyTypes)
                ?? throw new NotSupportedException($"Record type '{typeof(TRecord).Name}' must have a public parameterless constructor.");
            _create = Expression.Lambda<Func<TRecord>>(Expression.New(ctor)).Compile();
        }
    }

    public CollectionModel Model { get; }

    public PropertyAccessor Key { get; }

    public PropertyAccessor[] Data { get; }

    public VectorAccessor[] Vectors { get; }

    public bool EmbeddingGenerationRequired { get; }

    /// <summary>A new record with the key and data of <paramref name="source"/> and no vectors.</summary>
    public TRecord CopyWithoutVectors(TRecord source, object key)
    {
        TRecord copy = _create();
        Key.Set(copy, key);
        foreach (PropertyAccessor d in Data) d.Set(copy, d.Get(source));
        return copy;
    }

    /// <summary>A new record for a caller: key and data of the stored record, and its vectors if asked.</summary>
    public TRecord Materialize(TRecord stored, object key, float[]?[] vectors, bool includeVectors)
    {
        TRecord copy = CopyWithoutVectors(stored, key);
        if (includeVectors)
        {
            foreach (VectorAccessor v in Vectors)
            {
                if (vectors[v.Ordinal] is float[] vector) v.Accessor.Set(copy, v.FromArray(vector));
            }
        }
        return copy;
    }
}

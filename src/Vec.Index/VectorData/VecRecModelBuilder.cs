#pragma warning disable MEVD9001 // The provider-services model types are meant for connectors such as this one.

using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.VectorData;
using Microsoft.Extensions.VectorData.ProviderServices;

namespace Vec.Index.VectorData;

/// <summary>
/// Reads a record schema (attributes and/or a <see cref="VectorStoreCollectionDefinition"/>) with the abstraction's own
/// model builder, restricted to what VecRec stores: keys of type long, int, Guid or string; vectors of float; any data type.
/// </summary>
internal sealed class VecRecModelBuilder : CollectionModelBuilder
{
    internal const string SupportedKeyTypes = "long, int, Guid, string";
    internal const string SupportedVectorTypes = "ReadOnlyMemory<float>, ReadOnlyMemory<float>?, float[], Embedding<float>";

    public VecRecModelBuilder()
        : base(new CollectionModelBuildingOptions { SupportsMultipleVectors = true, RequiresAtLeastOneVector = false })
    {
    }

    internal static bool IsSupportedKeyType(Type type)
        => type == typeof(long) || type == typeof(int) || type == typeof(Guid) || type == typeof(string);

    internal static bool IsNativeVectorType(Type type)
        => type == typeof(ReadOnlyMemory<float>) || type == typeof(ReadOnlyMemory<float>?) || type == typeof(float[]) || type == typeof(Embedding<float>);

    /// <inheritdoc />
    protected override bool IsDataPropertyTypeValid(Type type, [NotNullWhen(false)] out string? supportedTypes)
    {
        // Records live in process: any .NET type can be stored and filtered on.
        supportedTypes = null;
        return true;
    }

    /// <inheritdoc />
    protected override bool IsVectorPropertyTypeValid(Type type, [NotNullWhen(false)] out string? supportedTypes)
    {
        supportedTypes = SupportedVectorTypes;
        return IsNativeVectorType(type);
    }

    /// <inheritdoc />
    protected override void ValidateKeyProperty(KeyPropertyModel keyProperty)
    {
        base.ValidateKeyProperty(keyProperty);
        if (!IsSupportedKeyType(keyProperty.Type))
        {
            throw new NotSupportedException(
                $"Key property '{keyProperty.ModelName}' has type '{keyProperty.Type.Name}'; VecRec collections support keys of type {SupportedKeyTypes}.");
        }
    }
}

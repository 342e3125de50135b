using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Vec.Embed;
using Vec.Kernels;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers a VecRec text encoder in an <see cref="IServiceCollection"/>.</summary>
public static class EmbeddingServiceCollectionExtensions
{
    /// <summary>The logger category the encoder's choice (model or hashing fallback) is logged under.</summary>
    public const string LoggerCategory = "Vec.Embed.TextEncoder";

    /// <summary>
    /// Registers one <see cref="TextEncoder"/> singleton, also resolvable as Microsoft.Extensions.AI's
    /// <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/> of <see cref="string"/> to <see cref="Embedding{T}"/> of
    /// <see cref="float"/> (the same instance). It is built on first resolution by
    /// <see cref="TextEncoders.CreateDefault"/> from <see cref="TextEncoderServiceOptions"/>, logs its choice through the
    /// container's <see cref="ILoggerFactory"/> (category <see cref="LoggerCategory"/>), uses the container's
    /// <see cref="IVectorKernels"/> when one is registered, and is disposed by the container.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the options; null for the defaults. Several calls add up, like
    /// <c>services.Configure</c>.</param>
    /// <returns><paramref name="services"/>, for chaining.</returns>
    /// <remarks>Resolution throws <see cref="OptionsValidationException"/> naming the option for invalid options (a
    /// missing <see cref="TextEncoderServiceOptions.ModelFolder"/>, a bad batch size), and
    /// <see cref="InvalidOperationException"/> when <see cref="TextEncoderServiceOptions.RequireModel"/> is set and no
    /// model is found.</remarks>
    public static IServiceCollection AddVecRecTextEncoder(this IServiceCollection services, Action<TextEncoderServiceOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<TextEncoderServiceOptions>();
        if (configure is not null)
        {
            services.Configure(configure);
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TextEncoderServiceOptions>, TextEncoderServiceOptionsValidator>());
        services.Replace(ServiceDescriptor.Singleton<TextEncoder>(Create));
        services.Replace(ServiceDescriptor.Singleton<IEmbeddingGenerator<string, Embedding<float>>>(sp => sp.GetRequiredService<TextEncoder>()));
        return services;
    }

    private static TextEncoder Create(IServiceProvider services)
    {
        TextEncoderServiceOptions options = services.GetRequiredService<IOptions<TextEncoderServiceOptions>>().Value;
        ILogger logger = services.GetService<ILoggerFactory>()?.CreateLogger(LoggerCategory) ?? NullLogger.Instance;
        string? folder = TextEncoders.FindModelFolder(options.ModelFolder, options.Store);
        if (folder is null && options.RequireModel)
        {
            throw new InvalidOperationException(
                $"No sentence-transformers model found and {nameof(TextEncoderServiceOptions)}.{nameof(TextEncoderServiceOptions.RequireModel)} is set: " +
                $"set {nameof(TextEncoderServiceOptions.ModelFolder)}, the {TextEncoders.ModelDirectoryVariable} variable, or download {TextEncoders.DefaultModel} (vecrec model download).");
        }

        OnnxEncoderOptions onnx = options.Onnx ?? new OnnxEncoderOptions();
        if (onnx.Kernels is null && onnx.KernelBackend is null && services.GetService<IVectorKernels>() is { } kernels)
        {
            onnx = onnx with { Kernels = kernels };
        }

        return TextEncoders.CreateDefault(folder, options.Corpus, logger, onnx, options.Hashing, options.Store);
    }
}

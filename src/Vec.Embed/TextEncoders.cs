using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Vec.Embed;

/// <summary>
/// Picks the encoder a caller gets when it does not choose one: the sentence-transformers model when one can be found
/// locally, otherwise the model-free <see cref="HashingTextEncoder"/> (fitted on a corpus when one is given). Never
/// touches the network.
/// </summary>
public static class TextEncoders
{
    /// <summary>Environment variable naming a model folder to use when none is passed.</summary>
    public const string ModelDirectoryVariable = "VECREC_MODEL_DIR";

    /// <summary>The model looked for in the <see cref="ModelStore"/> cache: <c>sentence-transformers/all-MiniLM-L6-v2</c>.</summary>
    public const string DefaultModel = "sentence-transformers/all-MiniLM-L6-v2";

    /// <summary>
    /// Finds a model folder: <paramref name="modelFolder"/> when given, else <c>VECREC_MODEL_DIR</c> when set, else a
    /// complete cached copy of <see cref="DefaultModel"/> in <paramref name="store"/> (the default cache when null).
    /// </summary>
    /// <param name="modelFolder">An explicit folder; it must exist.</param>
    /// <param name="store">The cache to look in; null for the default cache.</param>
    /// <returns>The folder, or null when no model is available.</returns>
    /// <exception cref="DirectoryNotFoundException">An explicitly named folder (argument or environment) does not exist.</exception>
    public static string? FindModelFolder(string? modelFolder = null, ModelStore? store = null) =>
        FindModelFolder(modelFolder, Environment.GetEnvironmentVariable(ModelDirectoryVariable), store);

    internal static string? FindModelFolder(string? modelFolder, string? environmentFolder, ModelStore? store)
    {
        foreach ((string? folder, string source) in new[] { (modelFolder, "the model folder given"), (environmentFolder, ModelDirectoryVariable) })
        {
            if (string.IsNullOrWhiteSpace(folder))
            {
                continue;
            }

            string full = Path.GetFullPath(folder);
            return Directory.Exists(full) ? full : throw new DirectoryNotFoundException($"Model folder '{full}' ({source}) does not exist.");
        }

        return (store ?? new ModelStore()).TryGetLocal(DefaultModel);
    }

    /// <summary>
    /// The default encoder: an <see cref="OnnxTextEncoder"/> over the folder <see cref="FindModelFolder(string?, ModelStore?)"/>
    /// finds, else a <see cref="HashingTextEncoder"/>, fitted on <paramref name="corpus"/> when given. Logs which at
    /// information level.
    /// </summary>
    /// <param name="modelFolder">An explicit model folder (it must exist and be valid), or null to look for one.</param>
    /// <param name="corpus">Texts to fit the hashing encoder's idf on when no model is found; null for an unfitted one.</param>
    /// <param name="logger">Where the choice is reported; null for nowhere.</param>
    /// <param name="onnxOptions">Options for the ONNX encoder.</param>
    /// <param name="hashingOptions">Options for the hashing encoder.</param>
    /// <param name="store">The model cache to look in; null for the default cache.</param>
    /// <returns>The encoder; the caller disposes it.</returns>
    public static TextEncoder CreateDefault(string? modelFolder = null, IEnumerable<string>? corpus = null, ILogger? logger = null,
        OnnxEncoderOptions? onnxOptions = null, HashingTextEncoderOptions? hashingOptions = null, ModelStore? store = null) =>
        Create(FindModelFolder(modelFolder, store), corpus, logger, onnxOptions, hashingOptions);

    internal static TextEncoder Create(string? folder, IEnumerable<string>? corpus, ILogger? logger, OnnxEncoderOptions? onnxOptions, HashingTextEncoderOptions? hashingOptions)
    {
        logger ??= NullLogger.Instance;
        if (folder is not null)
        {
            var onnx = new OnnxTextEncoder(folder, (onnxOptions ?? new OnnxEncoderOptions()) with { Logger = onnxOptions?.Logger ?? logger });
            logger.LogInformation("Text encoder: {Model} through ONNX Runtime ({Dimension} dimensions, {Device}) from {Folder}.", onnx.ModelId, onnx.Dimension, onnx.ActiveDevice, folder);
            return onnx;
        }

        var hashing = new HashingTextEncoder(hashingOptions);
        if (corpus is not null)
        {
            hashing = hashing.Fit(corpus);
        }

        logger.LogInformation("Text encoder: {Model} (no sentence-transformers model found: pass a model folder, set {Variable} or download {Default}).",
            hashing.ModelId, ModelDirectoryVariable, DefaultModel);
        return hashing;
    }
}

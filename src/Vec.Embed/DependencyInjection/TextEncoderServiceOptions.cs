using Microsoft.Extensions.Options;

namespace Vec.Embed;

/// <summary>
/// How <c>AddVecRecTextEncoder</c> builds the container's <see cref="TextEncoder"/> through
/// <see cref="TextEncoders.CreateDefault"/>: the sentence-transformers model when one is found, else the hashing encoder.
/// </summary>
public sealed class TextEncoderServiceOptions
{
    /// <summary>An explicit model folder (it must exist); null to look in <c>VECREC_MODEL_DIR</c> and the model cache.</summary>
    public string? ModelFolder { get; set; }

    /// <summary>
    /// When true, resolving the encoder fails unless a sentence-transformers model is found (no silent fallback to the
    /// hashing encoder). Default false.
    /// </summary>
    public bool RequireModel { get; set; }

    /// <summary>Texts to fit the hashing encoder's idf on when no model is found; null for an unfitted hashing encoder.</summary>
    public IEnumerable<string>? Corpus { get; set; }

    /// <summary>
    /// Options for the ONNX encoder; null for the defaults. When neither <see cref="OnnxEncoderOptions.Kernels"/> nor
    /// <see cref="OnnxEncoderOptions.KernelBackend"/> is set, the container's <c>IVectorKernels</c> is used if registered;
    /// when <see cref="OnnxEncoderOptions.Logger"/> is null, the container's logger is.
    /// </summary>
    public OnnxEncoderOptions? Onnx { get; set; }

    /// <summary>Options for the hashing encoder; null for the defaults.</summary>
    public HashingTextEncoderOptions? Hashing { get; set; }

    /// <summary>The model cache to look in when <see cref="ModelFolder"/> is null; null for the default cache.</summary>
    public ModelStore? Store { get; set; }
}

/// <summary>Checks <see cref="TextEncoderServiceOptions"/> when the encoder is first resolved.</summary>
internal sealed class TextEncoderServiceOptionsValidator : IValidateOptions<TextEncoderServiceOptions>
{
    public ValidateOptionsResult Validate(string? name, TextEncoderServiceOptions options)
    {
        var failures = new List<string>();
        if (options.ModelFolder is not null)
        {
            if (string.IsNullOrWhiteSpace(options.ModelFolder))
            {
                failures.Add($"{nameof(TextEncoderServiceOptions)}.{nameof(TextEncoderServiceOptions.ModelFolder)} is empty; set a folder or leave it null to look for a model.");
            }
            else if (!Directory.Exists(options.ModelFolder))
            {
                failures.Add($"{nameof(TextEncoderServiceOptions)}.{nameof(TextEncoderServiceOptions.ModelFolder)}: folder '{Path.GetFullPath(options.ModelFolder)}' does not exist.");
            }
        }

        if (options.Onnx is { } onnx)
        {
            string prefix = $"{nameof(TextEncoderServiceOptions)}.{nameof(TextEncoderServiceOptions.Onnx)}";
            if (onnx.BatchSize is < 1 or > 4096)
            {
                failures.Add($"{prefix}.{nameof(OnnxEncoderOptions.BatchSize)} must be 1..4096 (got {onnx.BatchSize.ToString(System.Globalization.CultureInfo.InvariantCulture)}).");
            }

            if (onnx.IntraOpThreads < 0)
            {
                failures.Add($"{prefix}.{nameof(OnnxEncoderOptions.IntraOpThreads)} must be 0 (all cores) or positive (got {onnx.IntraOpThreads.ToString(System.Globalization.CultureInfo.InvariantCulture)}).");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

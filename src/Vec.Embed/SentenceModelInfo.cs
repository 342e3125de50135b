using System.Text.Json;

namespace Vec.Embed;

/// <summary>
/// What a sentence-transformers model folder (as published on the Hugging Face hub) says about itself: where the ONNX
/// graph and the WordPiece vocabulary are, lower-casing, maximum sequence length, pooling and normalisation.
/// </summary>
/// <remarks>
/// <para>Files read: <c>model.onnx</c> or <c>onnx/model.onnx</c> (required), <c>vocab.txt</c> (required), and where
/// present <c>config.json</c> (<c>max_position_embeddings</c>, <c>hidden_size</c>), <c>tokenizer_config.json</c>
/// (<c>do_lower_case</c>, <c>strip_accents</c>, <c>tokenize_chinese_chars</c>, <c>model_max_length</c>),
/// <c>sentence_bert_config.json</c> (<c>max_seq_length</c>, <c>do_lower_case</c>), <c>1_Pooling/config.json</c> (the
/// pooling mode) and <c>modules.json</c> (whether a <c>Normalize</c> module follows pooling).</para>
/// <para>Defaults where a file is absent follow the libraries that wrote them: lower-casing on (BERT's tokenizer default),
/// mean pooling (sentence-transformers' default), normalisation on only when <c>modules.json</c> is absent or lists a
/// Normalize module, maximum length 512 capped by the position limit.</para>
/// </remarks>
public sealed record SentenceModelInfo
{
    /// <summary>The model folder (full path).</summary>
    public required string Folder { get; init; }

    /// <summary>Path of the ONNX graph.</summary>
    public required string ModelPath { get; init; }

    /// <summary>Path of the WordPiece vocabulary.</summary>
    public required string VocabularyPath { get; init; }

    /// <summary>Whether text is lower-cased before WordPiece.</summary>
    public bool LowerCase { get; init; } = true;

    /// <summary>Whether accents (non-spacing marks) are removed; BERT ties this to lower-casing unless set explicitly.</summary>
    public bool StripAccents { get; init; } = true;

    /// <summary>Whether CJK ideographs become separate words before WordPiece.</summary>
    public bool TokenizeCjk { get; init; } = true;

    /// <summary>Maximum tokens per text including <c>[CLS]</c> and <c>[SEP]</c> (longer texts are truncated).</summary>
    public int MaxSequenceLength { get; init; } = 512;

    /// <summary>The model's position limit (<c>max_position_embeddings</c>); the sequence length never exceeds it.</summary>
    public int PositionLimit { get; init; } = 512;

    /// <summary>Hidden size from <c>config.json</c>, or 0 when unknown (the ONNX output's shape decides).</summary>
    public int HiddenSize { get; init; }

    /// <summary>Pooling from <c>1_Pooling/config.json</c>.</summary>
    public PoolingMode Pooling { get; init; } = PoolingMode.Mean;

    /// <summary>Whether sentence-transformers L2-normalises after pooling.</summary>
    public bool Normalize { get; init; } = true;

    /// <summary>Reads a model folder.</summary>
    /// <param name="folder">A sentence-transformers model folder.</param>
    /// <returns>What the folder's files say.</returns>
    /// <exception cref="ArgumentException"><paramref name="folder"/> is null or blank.</exception>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="FileNotFoundException">A required file is missing (the message names it).</exception>
    /// <exception cref="InvalidDataException">A config file is not valid JSON or holds an impossible value (the message names it).</exception>
    public static SentenceModelInfo Load(string folder)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        string full = Path.GetFullPath(folder);
        if (!Directory.Exists(full))
        {
            throw new DirectoryNotFoundException($"Model folder '{full}' does not exist.");
        }

        string? model = new[] { Path.Combine(full, "model.onnx"), Path.Combine(full, "onnx", "model.onnx") }.FirstOrDefault(File.Exists);
        if (model is null)
        {
            throw new FileNotFoundException($"Model folder '{full}' has no model.onnx (looked for model.onnx and onnx/model.onnx).", Path.Combine(full, "model.onnx"));
        }

        string vocab = Path.Combine(full, "vocab.txt");
        if (!File.Exists(vocab))
        {
            throw new FileNotFoundException($"Model folder '{full}' has no vocab.txt (the WordPiece vocabulary).", vocab);
        }

        JsonElement? config = ReadJson(Path.Combine(full, "config.json"));
        JsonElement? tokenizer = ReadJson(Path.Combine(full, "tokenizer_config.json"));
        JsonElement? sbert = ReadJson(Path.Combine(full, "sentence_bert_config.json"));
        JsonElement? pooling = ReadJson(Path.Combine(full, "1_Pooling", "config.json"));
        string modulesPath = Path.Combine(full, "modules.json");
        JsonElement? modules = ReadJson(modulesPath);

        int positionLimit = Int(config, "max_position_embeddings", "config.json", full) ?? 512;
        int hidden = Int(config, "hidden_size", "config.json", full) ?? 0;
        bool lower = Bool(tokenizer, "do_lower_case") ?? true;
        lower |= Bool(sbert, "do_lower_case") ?? false;
        bool strip = Bool(tokenizer, "strip_accents") ?? lower;
        bool cjk = Bool(tokenizer, "tokenize_chinese_chars") ?? true;

        int? maxLength = Int(sbert, "max_seq_length", "sentence_bert_config.json", full);
        if (maxLength is null)
        {
            // tokenizer_config's model_max_length is a huge sentinel (1e30) when unset.
            long? m = Long(tokenizer, "model_max_length");
            maxLength = m is > 0 and < 1_000_000 ? (int)m.Value : 512;
        }

        if (positionLimit <= 2)
        {
            throw new InvalidDataException($"config.json in '{full}' gives max_position_embeddings {positionLimit}; it must exceed 2.");
        }

        PoolingMode mode = PoolingMode.Mean;
        if (pooling is JsonElement p)
        {
            if (Bool(p, "pooling_mode_cls_token") == true) mode = PoolingMode.Cls;
            else if (Bool(p, "pooling_mode_max_tokens") == true) mode = PoolingMode.Max;
            else if (Bool(p, "pooling_mode_mean_sqrt_len_tokens") == true) mode = PoolingMode.MeanSqrtLength;
            else if (Bool(p, "pooling_mode_mean_tokens") == true) mode = PoolingMode.Mean;
            else if (p.TryGetProperty("pooling_mode", out JsonElement named) && named.ValueKind == JsonValueKind.String)
            {
                mode = named.GetString() switch
                {
                    "mean" => PoolingMode.Mean,
                    "max" => PoolingMode.Max,
                    "cls" => PoolingMode.Cls,
                    "mean_sqrt_len_tokens" => PoolingMode.MeanSqrtLength,
                    string other => throw new InvalidDataException($"1_Pooling/config.json in '{full}' names pooling mode '{other}', which VecRec does not support (mean, max, cls, mean_sqrt_len_tokens)."),
                    _ => PoolingMode.Mean,
                };
            }
        }

        bool normalize = true;
        if (modules is JsonElement mods)
        {
            if (mods.ValueKind != JsonValueKind.Array)
            {
                throw new InvalidDataException($"modules.json in '{full}' is not a JSON array.");
            }

            normalize = mods.EnumerateArray().Any(m =>
                m.ValueKind == JsonValueKind.Object && m.TryGetProperty("type", out JsonElement t) && t.ValueKind == JsonValueKind.String &&
                t.GetString()!.EndsWith(".Normalize", StringComparison.Ordinal));
        }

        return new SentenceModelInfo
        {
            Folder = full,
            ModelPath = model,
            VocabularyPath = vocab,
            LowerCase = lower,
            StripAccents = strip,
            TokenizeCjk = cjk,
            PositionLimit = positionLimit,
            MaxSequenceLength = Math.Clamp(maxLength.Value, 3, positionLimit),
            HiddenSize = hidden,
            Pooling = mode,
            Normalize = normalize,
        };
    }

    private static JsonElement? ReadJson(string path)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            using JsonDocument doc = JsonDocument.Parse(File.ReadAllBytes(path), new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
            return doc.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"'{path}' is not valid JSON: {e.Message}", e);
        }
    }

    private static bool? Bool(JsonElement? e, string name) =>
        e is JsonElement o && o.ValueKind == JsonValueKind.Object && o.TryGetProperty(name, out JsonElement v)
            ? v.ValueKind switch { JsonValueKind.True => true, JsonValueKind.False => false, _ => null }
            : null;

    private static long? Long(JsonElement? e, string name) =>
        e is JsonElement o && o.ValueKind == JsonValueKind.Object && o.TryGetProperty(name, out JsonElement v) && v.ValueKind == JsonValueKind.Number
            ? (v.TryGetInt64(out long l) ? l : v.TryGetDouble(out double d) && d > long.MaxValue ? long.MaxValue : null)
            : null;

    private static int? Int(JsonElement? e, string name, string file, string folder)
    {
        long? v = Long(e, name);
        if (v is null)
        {
            return null;
        }

        if (v <= 0 || v > 1_000_000)
        {
            throw new InvalidDataException($"{file} in '{folder}' gives {name} = {v}, which is out of range.");
        }

        return (int)v.Value;
    }
}

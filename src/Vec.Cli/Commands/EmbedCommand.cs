using System.CommandLine;
using System.Diagnostics;
using Vec.Cli.Io;
using Vec.Cli.Output;
using Vec.Embed;
using Vec.Index.IO;

namespace Vec.Cli.Commands;

/// <summary>
/// <c>vecrec embed</c>: texts (<c>.txt</c> one per line, or <c>.tsv</c> <c>id&lt;TAB&gt;text</c>) to an <c>.fvecs</c> file
/// and an id file, through a sentence-transformers model, the hashing encoder, or whichever
/// <see cref="TextEncoders.CreateDefault"/> picks.
/// </summary>
internal static class EmbedCommand
{
    /// <summary>What <c>--json</c> holds.</summary>
    internal sealed record EmbedReport(string Input, string Output, string Ids, int Count, int Dimension, string Encoder,
        string EncoderChoice, bool Normalized, double Seconds, double TextsPerSecond);

    public static Command Create(CliContext context)
    {
        var model = CliOptions.InputFolder("--model", "Sentence-transformers model folder (model.onnx or onnx/model.onnx, vocab.txt, config.json).", required: false);
        var hashing = new Option<bool>("--hashing") { Description = "Use the model-free hashing TF-IDF encoder, fitted (idf) on the input texts." };
        var input = CliOptions.InputFile("--input", "Texts: .txt (one text per line; ids 0..n-1) or .tsv (id<TAB>text; ids are long integers).");
        var output = CliOptions.OutputFile("--output", "The .fvecs file to write (one float32 row per text, in input order).");
        var ids = CliOptions.OutputFile("--ids", "Where to write the ids, one per line, for 'vecrec index build --ids' (default: OUTPUT with extension .ids).", required: false);
        var batch = CliOptions.Positive("--batch-size", "Texts per model batch (ONNX); progress is reported every few batches.", 64);
        var maxLength = new Option<int?>("--max-length") { Description = "Truncate texts to this many tokens (ONNX; default: the model's max_seq_length).", HelpName = "N" }
            .Must(v => v is > 0, "must be a positive integer");
        var dimension = CliOptions.Positive("--dimension", "Buckets of the hashing encoder (--hashing, or the default when no model is found).", 1024)
            .Must(v => v <= HashingTextEncoderOptions.MaxDimension, $"must be at most {HashingTextEncoderOptions.MaxDimension}");
        var json = CliOptions.Json();

        var command = new Command("embed",
            "Embed texts (.txt one per line, or .tsv id<TAB>text) into an .fvecs file and an id file. Without --model or --hashing "
            + $"the default encoder is used: the model in {TextEncoders.ModelDirectoryVariable} or the model cache ({TextEncoders.DefaultModel}), else the hashing encoder.")
        {
            model, hashing, input, output, ids, batch, maxLength, dimension, json,
        };
        command.Validators.Add(r =>
        {
            if (r.GetResult(model) is not null && r.GetValue(hashing)) r.AddError("--model and --hashing cannot be used together");
        });
        command.SetAction(parsed =>
        {
            string inputPath = parsed.GetValue(input)!.FullName;
            string outputPath = parsed.GetValue(output)!.FullName;
            string idsPath = parsed.GetValue(ids)?.FullName ?? Path.ChangeExtension(outputPath, ".ids");
            if (string.Equals(idsPath, outputPath, StringComparison.Ordinal)) throw new CliException("--ids must differ from --output");
            int batchSize = parsed.GetValue(batch);
            TextInput texts = CliFiles.ReadTexts(inputPath, "--input");
            context.Output.WriteLine(CliFiles.Inv($"read {texts.Texts.Count} texts from {inputPath}"));

            var onnxOptions = new OnnxEncoderOptions { BatchSize = batchSize, MaxSequenceLength = parsed.GetValue(maxLength) };
            var hashingOptions = new HashingTextEncoderOptions { Dimension = parsed.GetValue(dimension) };
            string choice;
            TextEncoder encoder;
            if (parsed.GetValue(model) is { } folder)
            {
                encoder = new OnnxTextEncoder(folder.FullName, onnxOptions);
                choice = $"--model {folder.FullName}";
            }
            else if (parsed.GetValue(hashing))
            {
                encoder = Jobs.Run(context, "Fitting the hashing encoder (idf)", _ => new HashingTextEncoder(hashingOptions).Fit(texts.Texts));
                choice = "--hashing";
            }
            else
            {
                string? found = TextEncoders.FindModelFolder();
                choice = found is null
                    ? $"default: no sentence-transformers model found ({TextEncoders.ModelDirectoryVariable} unset, {TextEncoders.DefaultModel} not in the model cache), so the hashing encoder fitted on the input"
                    : $"default: the model in {found}";
                encoder = Jobs.Run(context, found is null ? "Fitting the hashing encoder (idf)" : "Loading the model",
                    _ => TextEncoders.CreateDefault(found, texts.Texts, onnxOptions: onnxOptions, hashingOptions: hashingOptions));
            }

            using (encoder)
            {
                context.Output.WriteLine($"encoder: {encoder.ModelId} ({choice})");
                int n = texts.Texts.Count, d = encoder.Dimension;
                var vectors = new float[(long)n * d];
                int chunk = Math.Max(batchSize, 1024);
                var watch = Stopwatch.StartNew();
                Jobs.Run(context, CliFiles.Inv($"Embedding {n:N0} texts"), progress =>
                {
                    for (int start = 0; start < n; start += chunk)
                    {
                        int count = Math.Min(chunk, n - start);
                        encoder.Encode(Slice(texts.Texts, start, count), vectors.AsSpan(start * d, count * d));
                        progress.Report((double)(start + count) / n);
                    }
                });
                double seconds = watch.Elapsed.TotalSeconds;
                foreach (float v in vectors)
                {
                    if (!float.IsFinite(v)) throw new InvalidOperationException($"the encoder {encoder.ModelId} produced a non-finite value");
                }

                CliFiles.WriteIds(idsPath, texts.Ids, "--ids");
                VectorFiles.WriteFvecs(outputPath, vectors, n, d);
                double rate = seconds > 0 ? n / seconds : double.PositiveInfinity;
                context.Output.WriteLine(CliFiles.Inv($"embedded {n} texts: dimension {d}, encoder {encoder.ModelId}, {seconds:F2} s, {rate:F0} texts/s"));
                context.Output.WriteLine($"wrote {outputPath}");
                context.Output.WriteLine($"wrote {idsPath}");
                if (parsed.GetValue(json) is { } jsonFile)
                {
                    CliJson.Write(context, jsonFile.FullName, new EmbedReport(inputPath, outputPath, idsPath, n, d, encoder.ModelId, choice,
                        encoder.Normalized, seconds, rate));
                }
            }

            return 0;
        });
        return command;
    }

    private static string[] Slice(IReadOnlyList<string> texts, int start, int count)
    {
        var slice = new string[count];
        for (int i = 0; i < count; i++) slice[i] = texts[start + i];
        return slice;
    }
}

using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Xunit;
using Xunit.Abstractions;

namespace Vec.Embed.Tests;

/// <summary>Behaviour of <see cref="OnnxTextEncoder"/> beyond the golden values: batching, odd inputs, options, errors.</summary>
public sealed class OnnxEncoderTests(MiniLmFixture fx, ITestOutputHelper output) : IClassFixture<MiniLmFixture>
{
    private const int D = 384;

    /// <summary>Texts of very different lengths, so batches get different padded lengths.</summary>
    private static readonly string[] Mixed =
    [
        "A man is eating food.",
        "",
        "The quick brown fox jumps over the lazy dog near the riverbank while the sun sets slowly behind the hills and the birds sing.",
        "   \t\n ",
        "Star Wars (1977)",
        "東京は日本の首都です。",
        "🚀🌕 to the moon!",
        "Ceci n'est pas une pipe — café, naïve, Ångström.",
        "control\u0001chars\u0007and\u200Bzero-width",
        string.Join(' ', Enumerable.Repeat("recommendation systems learn from implicit feedback", 12)),
        "Toy Story (1995)",
        "Привет, мир",
    ];

    private static double MaxAbsDiff(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        Assert.Equal(a.Length, b.Length);
        double m = 0;
        for (int i = 0; i < a.Length; i++) m = Math.Max(m, Math.Abs(a[i] - b[i]));
        return m;
    }

    [ModelFact]
    public void A_batch_equals_the_same_texts_one_at_a_time_in_the_callers_order()
    {
        float[] batched = fx.Encoder.Encode(Mixed);
        double worst = 0;
        for (int i = 0; i < Mixed.Length; i++)
        {
            float[] single = fx.Encoder.Encode(Mixed[i]);
            worst = Math.Max(worst, MaxAbsDiff(single, batched.AsSpan(i * D, D)));
        }

        output.WriteLine($"batch vs single max abs diff {worst:E2}");
        Assert.True(worst <= 1e-5, $"batch vs single differ by {worst:E3}");
        // Rows really are different texts (a swapped order would not pass the check above, but make sure rows differ).
        Assert.True(MaxAbsDiff(batched.AsSpan(0, D), batched.AsSpan(4 * D, D)) > 0.05);
    }

    [ModelFact]
    public void Small_batches_fixed_padding_and_scalar_kernels_agree_with_the_default()
    {
        float[] reference = fx.Encoder.Encode(Mixed);
        foreach (OnnxEncoderOptions o in new[]
                 {
                     new OnnxEncoderOptions { BatchSize = 3, SortWindow = 5 },
                     new OnnxEncoderOptions { BatchSize = 4, DynamicPadding = false, MaxSequenceLength = 128 },
                     new OnnxEncoderOptions { BatchSize = 5, KernelBackend = "scalar", IntraOpThreads = 1 },
                     new OnnxEncoderOptions { BatchSize = 8, MaxBatchTokens = 40 }, // long texts go alone, short ones in fours
                     new OnnxEncoderOptions { BatchSize = 8, MaxBatchTokens = 0, DynamicPadding = false, MaxSequenceLength = 128 },
                 })
        {
            using var enc = new OnnxTextEncoder(SharedPaths.MiniLm!, o);
            float[] got = enc.Encode(Mixed);
            double diff = MaxAbsDiff(reference, got);
            output.WriteLine($"{o.BatchSize} {o.DynamicPadding} {enc.KernelBackend}: {diff:E2}");
            Assert.True(diff <= 1e-5, $"options {o} differ by {diff:E3}");
        }
    }

    [ModelFact]
    public void Odd_texts_encode_to_unit_rows_without_exceptions()
    {
        string huge = string.Concat(Enumerable.Repeat("Embeddings turn words into vectors. ", 2800))[..100_000];
        string[] texts = [.. Mixed, huge, new string('a', 5000), "\0\0\0"];
        float[] rows = fx.Encoder.Encode(texts);
        for (int i = 0; i < texts.Length; i++)
        {
            ReadOnlySpan<float> r = rows.AsSpan(i * D, D);
            Assert.All(r.ToArray(), v => Assert.True(float.IsFinite(v)));
            double norm = Math.Sqrt(r.ToArray().Sum(v => (double)v * v));
            Assert.InRange(norm, 0.9999, 1.0001);
        }

        int[] ids = fx.Encoder.Tokenize(huge);
        Assert.Equal(256, ids.Length);
        Assert.Equal(101, ids[0]);
        Assert.Equal(102, ids[^1]);
        Assert.Equal([101, 102], fx.Encoder.Tokenize(""));
        Assert.Equal([101, 102], fx.Encoder.Tokenize(" \t\n"));
        // Truncation cuts inside a word, as Hugging Face tokenizers do: the first 255 ids equal the untruncated prefix.
        // 40 sentences of 9 pieces: 362 ids untruncated; the truncated ids are its first 255 plus [SEP].
        using var longer = new OnnxTextEncoder(SharedPaths.MiniLm!, new OnnxEncoderOptions { MaxSequenceLength = 512 });
        int[] full = longer.Tokenize(huge[..(36 * 40)]);
        Assert.Equal(362, full.Length);
        Assert.Equal(full[..255], ids[..255]);
        Assert.NotEqual(102, full[255]);
        Assert.Equal([101, 100, 102], fx.Encoder.Tokenize(new string('a', 5000))); // one over-long word is [UNK]
    }

    [ModelFact]
    public void Null_texts_and_short_destinations_are_rejected_naming_the_argument()
    {
        Assert.Equal("texts", Assert.Throws<ArgumentNullException>(() => fx.Encoder.Encode((IReadOnlyList<string>)null!)).ParamName);
        Assert.Equal("texts", Assert.Throws<ArgumentNullException>(() => fx.Encoder.Encode(["a", null!])).ParamName);
        Assert.Equal("text", Assert.Throws<ArgumentNullException>(() => fx.Encoder.Encode((string)null!)).ParamName);
        Assert.Equal("text", Assert.Throws<ArgumentNullException>(() => fx.Encoder.Tokenize(null!)).ParamName);
        Assert.Equal("destination", Assert.Throws<ArgumentException>(() => fx.Encoder.Encode(["a", "b"], new float[D * 2 - 1])).ParamName);
        Assert.Empty(fx.Encoder.Encode(Array.Empty<string>()));
    }

    [ModelFact]
    public void Options_out_of_range_are_rejected_naming_the_option()
    {
        string m = SharedPaths.MiniLm!;
        Assert.Equal("BatchSize", Assert.Throws<ArgumentOutOfRangeException>(() => new OnnxTextEncoder(m, new OnnxEncoderOptions { BatchSize = 0 })).ParamName);
        Assert.Equal("MaxSequenceLength", Assert.Throws<ArgumentOutOfRangeException>(() => new OnnxTextEncoder(m, new OnnxEncoderOptions { MaxSequenceLength = 513 })).ParamName);
        Assert.Equal("MaxBatchTokens", Assert.Throws<ArgumentOutOfRangeException>(() => new OnnxTextEncoder(m, new OnnxEncoderOptions { MaxBatchTokens = -1 })).ParamName);
        Assert.Equal("SortWindow", Assert.Throws<ArgumentOutOfRangeException>(() => new OnnxTextEncoder(m, new OnnxEncoderOptions { SortWindow = 0 })).ParamName);
        Assert.Equal("IntraOpThreads", Assert.Throws<ArgumentOutOfRangeException>(() => new OnnxTextEncoder(m, new OnnxEncoderOptions { IntraOpThreads = -1 })).ParamName);
        Assert.Throws<ArgumentException>(() => new OnnxTextEncoder(m, new OnnxEncoderOptions { OutputName = "nope" }));
        Assert.Throws<ArgumentException>(() => new OnnxTextEncoder(m, new OnnxEncoderOptions { KernelBackend = "no-such-backend" }));
    }

    [ModelFact]
    public void Pooling_modes_and_normalisation_follow_their_definitions()
    {
        string m = SharedPaths.MiniLm!;
        string[] texts = ["A man is eating a piece of bread.", "He drove to the stadium."];
        using var mean = new OnnxTextEncoder(m, new OnnxEncoderOptions { Normalize = false });
        using var max = new OnnxTextEncoder(m, new OnnxEncoderOptions { Normalize = false, Pooling = PoolingMode.Max });
        using var cls = new OnnxTextEncoder(m, new OnnxEncoderOptions { Normalize = false, Pooling = PoolingMode.Cls });
        using var sqrt = new OnnxTextEncoder(m, new OnnxEncoderOptions { Normalize = false, Pooling = PoolingMode.MeanSqrtLength });
        Assert.False(mean.Normalized);
        float[] a = mean.Encode(texts), b = max.Encode(texts), c = cls.Encode(texts), s = sqrt.Encode(texts);
        float[] unit = fx.Encoder.Encode(texts);
        for (int i = 0; i < texts.Length; i++)
        {
            int tokens = fx.Encoder.Tokenize(texts[i]).Length;
            double norm = 0;
            for (int j = 0; j < D; j++) norm += (double)a[i * D + j] * a[i * D + j];
            norm = Math.Sqrt(norm);
            Assert.True(Math.Abs(norm - 1) > 0.01, "the unnormalised mean is not already unit length");
            for (int j = 0; j < D; j++)
            {
                int k = i * D + j;
                Assert.True(b[k] >= a[k] - 1e-6f, "max pooling is at least the mean");
                Assert.True(b[k] >= c[k] - 1e-6f, "max pooling is at least the [CLS] token");
                Assert.Equal(a[k] * Math.Sqrt(tokens), s[k], 1e-5 + 1e-5 * Math.Abs(s[k]));
                Assert.Equal(a[k] / norm, unit[k], 1e-5);
            }
        }

        Assert.True(MaxAbsDiff(a, c) > 0.05);
    }

    [ModelFact]
    public async Task Implements_IEmbeddingGenerator()
    {
        IEmbeddingGenerator<string, Embedding<float>> gen = fx.Encoder;
        GeneratedEmbeddings<Embedding<float>> result = await gen.GenerateAsync(Mixed);
        float[] rows = fx.Encoder.Encode(Mixed);
        Assert.Equal(Mixed.Length, result.Count);
        for (int i = 0; i < Mixed.Length; i++)
        {
            Assert.Equal(rows.AsSpan(i * D, D).ToArray(), result[i].Vector.ToArray());
            Assert.Equal("all-MiniLM-L6-v2", result[i].ModelId);
        }

        var meta = gen.GetService<EmbeddingGeneratorMetadata>();
        Assert.NotNull(meta);
        Assert.Equal(384, meta!.DefaultModelDimensions);
        Assert.Equal("vecrec", meta.ProviderName);
        Assert.Same(fx.Encoder, gen.GetService<OnnxTextEncoder>());
        ReadOnlyMemory<float> one = await gen.GenerateVectorAsync("Star Wars (1977)");
        Assert.Equal(rows.AsSpan(4 * D, D).ToArray(), one.ToArray());
        await Assert.ThrowsAsync<ArgumentException>(() => gen.GenerateAsync(["x"], new EmbeddingGenerationOptions { Dimensions = 128 }));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => gen.GenerateAsync(Mixed, null, new CancellationToken(true)));
    }

    [ModelFact]
    public async Task Concurrent_calls_give_the_rows_of_sequential_calls()
    {
        float[] expected = fx.Encoder.Encode(Mixed);
        var tasks = Enumerable.Range(0, 6).Select(t => Task.Run(() =>
        {
            // Each call takes a rotated list so concurrent batches differ.
            string[] rotated = [.. Mixed.Skip(t), .. Mixed.Take(t)];
            return (t, fx.Encoder.Encode(rotated));
        })).ToArray();
        foreach (var (t, rows) in await Task.WhenAll(tasks))
        {
            for (int i = 0; i < Mixed.Length; i++)
            {
                int original = (i + t) % Mixed.Length;
                Assert.True(MaxAbsDiff(expected.AsSpan(original * D, D), rows.AsSpan(i * D, D)) <= 1e-5);
            }
        }
    }

    [ModelFact]
    public void Cancellation_stops_a_long_call_promptly_and_the_encoder_stays_usable()
    {
        string[] many = [.. Enumerable.Repeat(string.Join(' ', Enumerable.Repeat("a long text about films and music", 40)), 400)];
        using var enc = new OnnxTextEncoder(SharedPaths.MiniLm!, new OnnxEncoderOptions { BatchSize = 64 });
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        Assert.ThrowsAny<OperationCanceledException>(() => enc.Encode(many, cts.Token));
        output.WriteLine($"cancelled after {clock.ElapsedMilliseconds} ms");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed} to cancel");
        Assert.Equal(fx.Encoder.Encode("still works"), enc.Encode("still works"));
    }

    [ModelFact]
    public void Asking_for_CUDA_with_the_CPU_package_falls_back_with_a_warning()
    {
        var log = new ListLogger();
        using var enc = new OnnxTextEncoder(SharedPaths.MiniLm!, new OnnxEncoderOptions { Device = ExecutionDevice.Cuda, Logger = log });
        Assert.Equal(ExecutionDevice.Cpu, enc.ActiveDevice);
        string warning = Assert.Single(log.Messages, m => m.Level == LogLevel.Warning).Text;
        output.WriteLine(warning);
        Assert.Contains("CUDA", warning);
        Assert.Equal(fx.Encoder.Encode("fallback works"), enc.Encode("fallback works"));
    }

    [Fact]
    public void A_missing_or_broken_model_folder_gets_a_message_naming_the_problem()
    {
        string dir = Directory.CreateTempSubdirectory("vecrec-model-").FullName;
        try
        {
            Assert.Throws<DirectoryNotFoundException>(() => new OnnxTextEncoder(Path.Combine(dir, "absent")));
            Assert.Equal("modelFolder", Assert.Throws<ArgumentException>(() => new OnnxTextEncoder(" ")).ParamName);
            var e = Assert.Throws<FileNotFoundException>(() => new OnnxTextEncoder(dir));
            Assert.Contains("model.onnx", e.Message);
            File.WriteAllText(Path.Combine(dir, "model.onnx"), "this is not an ONNX graph");
            e = Assert.Throws<FileNotFoundException>(() => new OnnxTextEncoder(dir));
            Assert.Contains("vocab.txt", e.Message);
            File.WriteAllLines(Path.Combine(dir, "vocab.txt"), ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello"]);
            File.WriteAllText(Path.Combine(dir, "config.json"), "{ not json");
            var bad = Assert.Throws<InvalidDataException>(() => new OnnxTextEncoder(dir));
            Assert.Contains("config.json", bad.Message);
            File.WriteAllText(Path.Combine(dir, "config.json"), "{\"max_position_embeddings\": 512, \"hidden_size\": 8}");
            bad = Assert.Throws<InvalidDataException>(() => new OnnxTextEncoder(dir));
            Assert.Contains("model.onnx", bad.Message);
            output.WriteLine(bad.Message);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    private sealed class ListLogger : ILogger
    {
        public List<(LogLevel Level, string Text)> Messages { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (Messages) Messages.Add((logLevel, formatter(state, exception)));
        }
    }
}

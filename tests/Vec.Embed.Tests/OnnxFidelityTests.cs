using System.Text.Json;
using Xunit;
using Xunit.Abstractions;

namespace Vec.Embed.Tests;

/// <summary>Shares one loaded all-MiniLM-L6-v2 encoder across the fidelity tests (loading takes about a second).</summary>
public sealed class MiniLmFixture : IDisposable
{
    private readonly Lazy<OnnxTextEncoder> _encoder = new(() => new OnnxTextEncoder(SharedPaths.MiniLm!, new OnnxEncoderOptions { KernelBackend = "simd" }));

    /// <summary>The encoder (only touched by tests that run, i.e. where the model exists).</summary>
    public OnnxTextEncoder Encoder => _encoder.Value;

    /// <summary>The golden file.</summary>
    public Reference Golden => _golden.Value;

    private readonly Lazy<Reference> _golden = new(() => Reference.Load(Path.Combine(SharedPaths.MiniLm!, "reference_embeddings.json")));

    /// <inheritdoc />
    public void Dispose()
    {
        if (_encoder.IsValueCreated) _encoder.Value.Dispose();
    }

    /// <summary>reference_embeddings.json: sentences, token ids, float64 embeddings and cosine pairs.</summary>
    public sealed record Reference(string[] Sentences, int[][] TokenIds, double[][] Embeddings, Dictionary<string, double> Cosines)
    {
        public static Reference Load(string path)
        {
            using JsonDocument doc = JsonDocument.Parse(File.ReadAllBytes(path));
            JsonElement r = doc.RootElement;
            var cos = new Dictionary<string, double>();
            foreach (JsonProperty p in r.EnumerateObject())
            {
                if (p.Name.StartsWith("cos_", StringComparison.Ordinal)) cos[p.Name] = p.Value.GetDouble();
            }

            return new Reference(
                [.. r.GetProperty("sentences").EnumerateArray().Select(e => e.GetString()!)],
                [.. r.GetProperty("token_ids").EnumerateArray().Select(a => a.EnumerateArray().Select(x => x.GetInt32()).ToArray())],
                [.. r.GetProperty("embeddings").EnumerateArray().Select(a => a.EnumerateArray().Select(x => x.GetDouble()).ToArray())],
                cos);
        }
    }
}

/// <summary>all-MiniLM-L6-v2 through ONNX Runtime against the independent float64 reference.</summary>
public sealed class OnnxFidelityTests(MiniLmFixture fx, ITestOutputHelper output) : IClassFixture<MiniLmFixture>
{
    [ModelFact]
    public void Reads_the_model_folder_configs()
    {
        SentenceModelInfo info = fx.Encoder.Info;
        Assert.Equal(256, info.MaxSequenceLength);
        Assert.Equal(512, info.PositionLimit);
        Assert.Equal(384, info.HiddenSize);
        Assert.True(info.LowerCase);
        Assert.Equal(PoolingMode.Mean, info.Pooling);
        Assert.True(info.Normalize);
        Assert.Equal(384, fx.Encoder.Dimension);
        Assert.Equal("all-MiniLM-L6-v2", fx.Encoder.ModelId);
        Assert.Equal(ExecutionDevice.Cpu, fx.Encoder.ActiveDevice);
    }

    [ModelFact]
    public void Token_ids_match_the_reference()
    {
        var g = fx.Golden;
        for (int i = 0; i < g.Sentences.Length; i++)
        {
            Assert.Equal(g.TokenIds[i], fx.Encoder.Tokenize(g.Sentences[i]));
        }
    }

    [ModelFact]
    public void Embeddings_match_the_float64_reference_within_1e5()
    {
        var g = fx.Golden;
        double worst = 0;
        for (int i = 0; i < g.Sentences.Length; i++)
        {
            float[] e = fx.Encoder.Encode(g.Sentences[i]);
            Assert.Equal(g.Embeddings[i].Length, e.Length);
            for (int j = 0; j < e.Length; j++) worst = Math.Max(worst, Math.Abs(e[j] - g.Embeddings[i][j]));
        }

        output.WriteLine($"max abs error one at a time: {worst:E2}");
        Assert.True(worst <= 1e-5, $"max abs error {worst:E3} > 1e-5");

        // The whole list in one call (one padded batch) meets the same bound.
        float[] all = fx.Encoder.Encode(g.Sentences);
        worst = 0;
        for (int i = 0; i < g.Sentences.Length; i++)
            for (int j = 0; j < 384; j++) worst = Math.Max(worst, Math.Abs(all[i * 384 + j] - g.Embeddings[i][j]));
        output.WriteLine($"max abs error batched: {worst:E2}");
        Assert.True(worst <= 1e-5, $"batched max abs error {worst:E3} > 1e-5");
    }

    [ModelFact]
    public void Quick_start_similarities_come_out_as_published()
    {
        // sentence-transformers' quick start: "The weather is lovely today." vs "It's so sunny outside!" 0.6660,
        // vs "He drove to the stadium." 0.1046; the last two 0.1411.
        string[] s = ["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."];
        float[] e = fx.Encoder.Encode(s);
        double Cos(int a, int b)
        {
            double dot = 0;
            for (int j = 0; j < 384; j++) dot += (double)e[a * 384 + j] * e[b * 384 + j];
            return dot;
        }

        // Published to 4 decimals from a float32 pass; the issue asks for agreement to 3 decimals.
        output.WriteLine($"cosines: {Cos(0, 1):F6} {Cos(0, 2):F6} {Cos(1, 2):F6}");
        Assert.Equal(0.666, Math.Round(Cos(0, 1), 3));
        Assert.Equal(0.105, Math.Round(Cos(0, 2), 3));
        Assert.Equal(0.141, Math.Round(Cos(1, 2), 3));
        Assert.Equal(fx.Golden.Cosines["cos_weather_sunny"], Cos(0, 1), 5);
    }
}

using Xunit;

namespace Vec.Embed.Tests;

/// <summary>
/// OnnxTextEncoder on Fixtures/tiny-bert, a committed 1 KB ONNX graph whose token embeddings are a lookup table
/// (row i = [i, -i, i mod 3, 1]; made by Fixtures/make_tiny_bert.py), so pooling, padding and output selection can be
/// checked against values worked out by hand. Runs everywhere (no shared folder needed).
/// </summary>
public sealed class TinyModelTests
{
    private static readonly string Folder = Path.Combine(AppContext.BaseDirectory, "Fixtures", "tiny-bert");

    // Vocabulary: [PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3 [MASK]=4 hello=5 world=6 foo=7 bar=8 baz=9 qux=10 ##s=11 a=12 b=13 c=14 d=15.
    private static float[] Row(int id) => [id, -id, id % 3, 1];

    private static float[] Mean(params int[] ids)
    {
        var m = new float[4];
        foreach (int id in ids)
            for (int j = 0; j < 4; j++) m[j] += Row(id)[j] / ids.Length;
        return m;
    }

    private static float[] Unit(float[] v)
    {
        float n = MathF.Sqrt(v.Sum(x => x * x));
        return [.. v.Select(x => x / n)];
    }

    private static void Near(float[] expected, ReadOnlySpan<float> actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int j = 0; j < expected.Length; j++) Assert.Equal(expected[j], actual[j], 1e-5f);
    }

    [Fact]
    public void Reads_the_folder_and_tokenises_with_the_vocabulary()
    {
        using var enc = new OnnxTextEncoder(Folder);
        Assert.Equal(4, enc.Dimension);
        Assert.Equal(32, enc.MaxSequenceLength); // no sentence_bert_config: 512 capped by max_position_embeddings 32
        Assert.True(enc.Normalized);              // no modules.json: normalise
        Assert.Equal([2, 5, 6, 3], enc.Tokenize("Hello WORLD"));
        Assert.Equal([2, 7, 11, 1, 3], enc.Tokenize("foos zzz")); // WordPiece continuation and [UNK]
    }

    [Fact]
    public void Mean_max_and_cls_pooling_ignore_padding_in_mixed_batches()
    {
        string[] texts = ["hello", "hello world foo bar", "a b c d a b c"];
        int[][] ids = [[2, 5, 3], [2, 5, 6, 7, 8, 3], [2, 12, 13, 14, 15, 12, 13, 14, 3]];
        using var mean = new OnnxTextEncoder(Folder, new OnnxEncoderOptions { Normalize = false, BatchSize = 3 });
        using var max = new OnnxTextEncoder(Folder, new OnnxEncoderOptions { Normalize = false, Pooling = PoolingMode.Max, BatchSize = 3 });
        using var cls = new OnnxTextEncoder(Folder, new OnnxEncoderOptions { Normalize = false, Pooling = PoolingMode.Cls, BatchSize = 3 });
        using var unit = new OnnxTextEncoder(Folder, new OnnxEncoderOptions { BatchSize = 3 });
        float[] a = mean.Encode(texts), b = max.Encode(texts), c = cls.Encode(texts), u = unit.Encode(texts);
        for (int t = 0; t < texts.Length; t++)
        {
            Near(Mean(ids[t]), a.AsSpan(t * 4, 4));
            float[] mx = [ids[t].Max(), -ids[t].Min(), ids[t].Max(i => i % 3), 1];
            Near(mx, b.AsSpan(t * 4, 4));
            Near(Row(2), c.AsSpan(t * 4, 4));
            Near(Unit(Mean(ids[t])), u.AsSpan(t * 4, 4));
        }
    }

    [Fact]
    public void A_pooled_output_can_be_chosen_and_truncation_keeps_cls_and_sep()
    {
        using var pooled = new OnnxTextEncoder(Folder, new OnnxEncoderOptions { OutputName = "sentence_embedding" });
        Near(Unit(Mean(2, 5, 6, 3)), pooled.Encode("hello world"));
        using var shortMax = new OnnxTextEncoder(Folder, new OnnxEncoderOptions { MaxSequenceLength = 5, Normalize = false });
        Assert.Equal([2, 5, 6, 7, 3], shortMax.Tokenize("hello world foo bar baz"));
        Near(Mean(2, 5, 6, 7, 3), shortMax.Encode("hello world foo bar baz"));
        Assert.Throws<ArgumentOutOfRangeException>("MaxSequenceLength", () => new OnnxTextEncoder(Folder, new OnnxEncoderOptions { MaxSequenceLength = 33 }));
    }

    [Fact]
    public void A_config_that_disagrees_with_the_graph_is_rejected_naming_both()
    {
        string dir = Directory.CreateTempSubdirectory("vecrec-tiny-").FullName;
        try
        {
            foreach (string f in Directory.GetFiles(Folder)) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
            // config.json says 8 dimensions, the graph's output has 4.
            File.WriteAllText(Path.Combine(dir, "config.json"), "{\"max_position_embeddings\": 32, \"hidden_size\": 8}");
            var e = Assert.Throws<InvalidDataException>(() => new OnnxTextEncoder(dir));
            Assert.Contains("hidden_size 8", e.Message);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}

using Xunit;

namespace Vec.Embed.Tests;

/// <summary>The default-encoder choice, and the whole path from a (local, fake) hub download to embeddings.</summary>
public sealed class TextEncodersTests
{
    private static ModelStore EmptyStore(TempDir cache) => new(new ModelStoreOptions { CacheDirectory = cache.Path });

    [Fact]
    public void Without_a_model_the_default_is_the_hashing_encoder_fitted_on_the_corpus()
    {
        using var cache = new TempDir();
        Assert.Null(TextEncoders.FindModelFolder(null, null, EmptyStore(cache)));
        string[] corpus = ["a funny space adventure", "a dark crime drama", "space robots and planets"];
        using TextEncoder fitted = TextEncoders.Create(null, corpus, null, null, null);
        var hashing = Assert.IsType<HashingTextEncoder>(fitted);
        Assert.True(hashing.IsFitted);
        Assert.Equal(3, hashing.DocumentCount);
        using TextEncoder plain = TextEncoders.Create(null, null, null, null, new HashingTextEncoderOptions { Dimension = 64 });
        Assert.False(Assert.IsType<HashingTextEncoder>(plain).IsFitted);
        Assert.Equal(64, plain.Dimension);
    }

    [Fact]
    public void A_named_folder_that_does_not_exist_is_an_error_not_a_silent_fallback()
    {
        using var cache = new TempDir();
        string missing = Path.Combine(cache.Path, "no-model");
        var e = Assert.Throws<DirectoryNotFoundException>(() => TextEncoders.FindModelFolder(missing, null, EmptyStore(cache)));
        Assert.Contains("no-model", e.Message);
        e = Assert.Throws<DirectoryNotFoundException>(() => TextEncoders.FindModelFolder(null, missing, EmptyStore(cache)));
        Assert.Contains(TextEncoders.ModelDirectoryVariable, e.Message);
        // The explicit argument wins over the environment.
        Assert.Equal(cache.Path, TextEncoders.FindModelFolder(cache.Path, missing, EmptyStore(cache)));
    }

    [ModelFact]
    public async Task A_model_downloaded_into_the_cache_is_found_and_embeds_like_the_reference()
    {
        // Serve the real all-MiniLM-L6-v2 files from a local hub, download them, then let the default pick them up.
        string src = SharedPaths.MiniLm!;
        await using var hub = new TestHub(TextEncoders.DefaultModel);
        foreach (string f in new[] { "vocab.txt", "config.json", "tokenizer_config.json", "special_tokens_map.json", "sentence_bert_config.json", "modules.json", "1_Pooling/config.json" })
        {
            hub.Files[f] = await File.ReadAllBytesAsync(Path.Combine(src, f));
        }

        hub.Files["onnx/model.onnx"] = await File.ReadAllBytesAsync(Path.Combine(src, "model.onnx"));
        hub.Lfs.Add("onnx/model.onnx");
        using var cache = new TempDir();
        var store = new ModelStore(new ModelStoreOptions { CacheDirectory = cache.Path, Endpoint = hub.Endpoint });
        Assert.Null(TextEncoders.FindModelFolder(null, null, store));
        string folder = await store.DownloadAsync(TextEncoders.DefaultModel);
        Assert.Equal(folder, TextEncoders.FindModelFolder(null, null, store));

        using TextEncoder enc = TextEncoders.CreateDefault(store: store, modelFolder: null);
        var onnx = Assert.IsType<OnnxTextEncoder>(enc);
        Assert.EndsWith(Path.Combine("onnx", "model.onnx"), onnx.Info.ModelPath);
        var golden = MiniLmFixture.Reference.Load(Path.Combine(src, "reference_embeddings.json"));
        float[] e = enc.Encode(golden.Sentences);
        for (int i = 0; i < golden.Sentences.Length; i++)
            for (int j = 0; j < 384; j++)
                Assert.True(Math.Abs(e[i * 384 + j] - golden.Embeddings[i][j]) <= 1e-5);
    }
}

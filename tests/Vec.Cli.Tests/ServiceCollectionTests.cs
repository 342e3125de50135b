using System.Collections.Concurrent;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Vec.Embed;
using Vec.Index;
using Vec.Kernels;
using Vec.Rec;

namespace Vec.Cli.Tests;

/// <summary>The IServiceCollection extensions of the four libraries, through a real container.</summary>
public sealed class ServiceCollectionTests
{
    private static readonly string[] Titles =
    [
        "Deep sea creatures of the Pacific", "Starship captains and alien empires", "A chef opens a bistro in Paris",
        "Coral reefs and ocean life", "Robots rebel on a distant moon", "Love and pastry in a small French town",
    ];

    private static readonly Rating[] Likes =
    [
        new(User: 1, Item: 0, Value: 5, Timestamp: 0), new(1, 3, 4, 0), new(2, 1, 5, 0), new(2, 4, 4, 0), new(3, 2, 5, 0),
    ];

    private static ItemCatalog Catalog() => new(Titles.Select((t, i) => new CatalogItem(Id: i, Title: t, Text: t, Genres: [])));

    /// <summary>
    /// Options that make the default encoder the hashing one whatever the machine has cached, with 64 dimensions (the
    /// content model's bilinear fit is cubic in the dimension: the default 1024 costs seconds even on six titles).
    /// </summary>
    private static void HashingOnly(TextEncoderServiceOptions o, string emptyCache)
    {
        o.Corpus = Titles;
        o.Hashing = new HashingTextEncoderOptions { Dimension = 64 };
        o.Store = new ModelStore(new ModelStoreOptions { CacheDirectory = emptyCache });
    }

    internal static bool ModelVariableSet => !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(TextEncoders.ModelDirectoryVariable));

    private static ServiceProvider Build(Action<IServiceCollection> add, CapturingLoggerProvider? logs = null)
    {
        var services = new ServiceCollection();
        services.AddLogging(b =>
        {
            b.SetMinimumLevel(LogLevel.Debug);
            if (logs is not null) b.AddProvider(logs);
        });
        add(services);
        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
    }

    [Fact]
    public void Kernels_are_one_singleton_of_the_named_backend()
    {
        using ServiceProvider sp = Build(s => s.AddVecRecKernels("scalar"));
        var kernels = sp.GetRequiredService<IVectorKernels>();
        Assert.Equal("scalar", kernels.Name);
        Assert.Same(kernels, sp.GetRequiredService<IVectorKernels>());

        float[] cosines = new float[1];
        kernels.CosineSimilarities([1f, 0f], 1, [0.6f, 0.8f], 1, 2, cosines);
        Assert.Equal(0.6f, cosines[0], 1e-6f);

        using ServiceProvider byDefault = Build(s => s.AddVecRecKernels());
        Assert.Equal(KernelBackends.DefaultName, byDefault.GetRequiredService<IVectorKernels>().Name, ignoreCase: true);
    }

    [Fact]
    public void Unknown_backend_is_refused_at_registration_naming_the_parameter()
    {
        var e = Assert.Throws<ArgumentException>(() => new ServiceCollection().AddVecRecKernels("warp-drive"));
        Assert.Equal("backend", e.ParamName);
        Assert.Contains("warp-drive", e.Message, StringComparison.Ordinal);
        Assert.Contains("scalar", e.Message, StringComparison.Ordinal);
        Assert.Equal("backend", Assert.Throws<ArgumentException>(() => new ServiceCollection().AddVecRecKernels(" ")).ParamName);
    }

    [HashingFallbackFact]
    public async Task Text_encoder_is_one_singleton_also_the_embedding_generator_and_logs_its_choice()
    {
        using var cache = new TempFolder();
        var logs = new CapturingLoggerProvider();
        using ServiceProvider sp = Build(s => s.AddVecRecKernels("scalar").AddVecRecTextEncoder(o => HashingOnly(o, cache.Path)), logs);

        var encoder = sp.GetRequiredService<TextEncoder>();
        Assert.IsType<HashingTextEncoder>(encoder);
        Assert.Equal(64, encoder.Dimension);
        Assert.Same(encoder, sp.GetRequiredService<TextEncoder>());
        Assert.Same(encoder, sp.GetRequiredService<IEmbeddingGenerator<string, Embedding<float>>>());

        float[] vectors = encoder.Encode(Titles);
        Assert.Equal(Titles.Length * encoder.Dimension, vectors.Length);
        GeneratedEmbeddings<Embedding<float>> generated = await sp.GetRequiredService<IEmbeddingGenerator<string, Embedding<float>>>()
            .GenerateAsync(["Coral reefs and ocean life"], cancellationToken: CancellationToken.None);
        Assert.Equal(vectors.AsSpan(3 * encoder.Dimension, encoder.Dimension).ToArray(), generated[0].Vector.ToArray());

        var entry = Assert.Single(logs.Entries, e => e.Category == EmbeddingServiceCollectionExtensions.LoggerCategory);
        Assert.Equal(LogLevel.Information, entry.Level);
        Assert.Contains(encoder.ModelId, entry.Message, StringComparison.Ordinal);

        sp.Dispose();
        Assert.Throws<ObjectDisposedException>(() => encoder.Encode("after"));
    }

    [MiniLmFact]
    public void Text_encoder_uses_the_model_folder_and_the_container_kernels()
    {
        var logs = new CapturingLoggerProvider();
        using ServiceProvider sp = Build(s => s.AddVecRecKernels("scalar").AddVecRecTextEncoder(o => o.ModelFolder = Shared.MiniLm), logs);
        var encoder = Assert.IsType<OnnxTextEncoder>(sp.GetRequiredService<TextEncoder>());
        Assert.Equal(384, encoder.Dimension);
        float[] v = encoder.Encode("Coral reefs and ocean life");
        Assert.Equal(1f, MathF.Sqrt(v.Sum(x => x * x)), 1e-4f);
        Assert.Contains(logs.Entries, e => e.Category == EmbeddingServiceCollectionExtensions.LoggerCategory && e.Message.Contains("ONNX", StringComparison.Ordinal));

        // The container owns the kernels: disposing the encoder's provider disposes them once, not the encoder early.
        Assert.Equal("scalar", sp.GetRequiredService<IVectorKernels>().Name);
    }

    [Fact]
    public void Bad_encoder_options_throw_at_resolution_naming_the_option()
    {
        using var cache = new TempFolder();
        string missing = Path.Combine(cache.Path, "no-such-model");
        using ServiceProvider sp = Build(s => s.AddVecRecTextEncoder(o => o.ModelFolder = missing));
        var e = Assert.Throws<OptionsValidationException>(() => sp.GetRequiredService<TextEncoder>());
        Assert.Contains("TextEncoderServiceOptions.ModelFolder", e.Message, StringComparison.Ordinal);
        Assert.Contains(missing, e.Message, StringComparison.Ordinal);

        using ServiceProvider batch = Build(s => s.AddVecRecTextEncoder(o => o.Onnx = new OnnxEncoderOptions { BatchSize = 0 }));
        e = Assert.Throws<OptionsValidationException>(() => batch.GetRequiredService<IEmbeddingGenerator<string, Embedding<float>>>());
        Assert.Contains("TextEncoderServiceOptions.Onnx.BatchSize", e.Message, StringComparison.Ordinal);

        if (!ModelVariableSet)
        {
            using ServiceProvider require = Build(s => s.AddVecRecTextEncoder(o => { HashingOnly(o, cache.Path); o.RequireModel = true; }));
            var none = Assert.Throws<InvalidOperationException>(() => require.GetRequiredService<TextEncoder>());
            Assert.Contains("RequireModel", none.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Indexes_are_keyed_singletons_loaded_from_files_or_built_and_disposed_by_the_container()
    {
        using var folder = new TempFolder();
        string path = folder.File_("reefs.vecidx");
        using (var saved = new FlatIndex(2, Metric.Cosine))
        {
            saved.AddRange(firstId: 10, [1f, 0f, 0f, 1f, 0.7f, 0.7f]);
            saved.Save(path);
        }

        var services = new ServiceCollection();
        services.AddVecRecKernels("scalar");
        services.AddVecRecIndex("reefs", path);
        services.AddVecRecIndex("empty", sp => new FlatIndex(3, Metric.L2, sp.GetRequiredService<IVectorKernels>()));
        services.AddSingleton<ReefSearch>();
        ServiceProvider sp = services.BuildServiceProvider(validateScopes: true);

        var reefs = sp.GetRequiredKeyedService<IVectorIndex>("reefs");
        Assert.Same(reefs, sp.GetRequiredKeyedService<IVectorIndex>("reefs"));
        Assert.Equal(3, reefs.Count);
        SearchResult hits = reefs.Search([0.9f, 0.1f], k: 2);
        Assert.Equal([10L, 12L], hits.Ids);
        Assert.Equal(3, sp.GetRequiredKeyedService<IVectorIndex>("empty").Dimension);
        Assert.Same(reefs, sp.GetRequiredService<ReefSearch>().Index);

        // Two indexes: the non-keyed service names them instead of picking one.
        var e = Assert.Throws<InvalidOperationException>(() => sp.GetRequiredService<IVectorIndex>());
        Assert.Contains("reefs, empty", e.Message, StringComparison.Ordinal);

        sp.Dispose();
        Assert.Throws<ObjectDisposedException>(() => reefs.Search([0.9f, 0.1f], k: 1));
    }

    [Fact]
    public void A_single_index_is_also_the_default_and_mistakes_are_named()
    {
        using ServiceProvider sp = Build(s => s.AddVecRecIndex("only", _ => new FlatIndex(4, Metric.InnerProduct)));
        Assert.Same(sp.GetRequiredKeyedService<IVectorIndex>("only"), sp.GetRequiredService<IVectorIndex>());

        var services = new ServiceCollection().AddVecRecIndex("a", _ => new FlatIndex(4, Metric.L2));
        Assert.Equal("name", Assert.Throws<ArgumentException>(() => services.AddVecRecIndex("a", _ => new FlatIndex(4, Metric.L2))).ParamName);
        Assert.Equal("name", Assert.Throws<ArgumentException>(() => services.AddVecRecIndex("", _ => new FlatIndex(4, Metric.L2))).ParamName);
        Assert.Equal("path", Assert.Throws<ArgumentException>(() => services.AddVecRecIndex("b", path: " ")).ParamName);

        using var folder = new TempFolder();
        using ServiceProvider missing = Build(s => s.AddVecRecIndex("gone", folder.File_("gone.vecidx")));
        Assert.Throws<FileNotFoundException>(() => missing.GetRequiredKeyedService<IVectorIndex>("gone"));
    }

    [HashingFallbackFact]
    public void Recommender_is_fitted_once_on_first_resolution_with_the_container_encoder_and_logs_the_fit()
    {
        using var cache = new TempFolder();
        var logs = new CapturingLoggerProvider();
        int loads = 0;
        using ServiceProvider sp = Build(s => s
            .AddVecRecKernels("scalar")
            .AddVecRecTextEncoder(o => HashingOnly(o, cache.Path))
            .AddVecRecRecommender("titles", o =>
            {
                o.Algorithm = "hybrid";
                o.Seed = 7;
                o.TrainingData = _ =>
                {
                    Interlocked.Increment(ref loads);
                    ItemCatalog catalog = Catalog();
                    return (Interactions.Build(Likes, items: catalog.ToIdMap()), catalog);
                };
            }), logs);

        Assert.Equal(0, loads); // lazily: nothing fitted at build time
        Recommender[] seen = new Recommender[8];
        Parallel.For(0, seen.Length, i => seen[i] = sp.GetRequiredKeyedService<Recommender>("titles"));
        Assert.Equal(1, loads);
        Assert.All(seen, r => Assert.Same(seen[0], r));
        Recommender model = seen[0];
        Assert.Same(model, sp.GetRequiredService<Recommender>());
        Assert.True(model.IsFitted);

        // User 3 liked the Paris bistro; the one unseen pick must be another title, by id.
        int user = model.Train.Users.IndexOf(3);
        Recommendation top = Assert.Single(model.Recommend(user, k: 1));
        long item = model.Train.Items[top.Item];
        Assert.NotEqual(2L, item);
        Assert.InRange(item, 0L, 5L);

        var fit = Assert.Single(logs.Entries, e => e.Category == RecommenderServiceCollectionExtensions.LoggerCategory);
        Assert.Equal(LogLevel.Information, fit.Level);
        Assert.Contains("'titles'", fit.Message, StringComparison.Ordinal);
        Assert.Contains("3 users x 6 items", fit.Message, StringComparison.Ordinal);

        // It used the container's encoder, not a default one of its own.
        var hybrid = Assert.IsType<Vec.Rec.Models.HybridRecommender>(model);
        Assert.Same(sp.GetRequiredService<TextEncoder>(), Assert.IsType<Vec.Rec.Models.ContentRecommender>(hybrid.Content).Encoder);
    }

    [Fact]
    public void Recommender_fits_on_a_dataset_loader_and_two_need_their_names()
    {
        var services = new ServiceCollection()
            .AddVecRecRecommender("pop", o =>
            {
                o.Algorithm = "pop";
                o.Dataset = _ => new RatingDataset(Likes, Catalog(), "inline");
            })
            .AddVecRecRecommender("knn", o =>
            {
                o.Algorithm = "itemknn";
                o.Dataset = _ => new RatingDataset(Likes, Catalog(), "inline");
            });
        using ServiceProvider sp = services.BuildServiceProvider();
        Recommender pop = sp.GetRequiredKeyedService<Recommender>("pop");
        Assert.Equal(6, pop.Train.ItemCount); // every catalog item, rated or not
        Assert.Equal(3, pop.Train.UserCount);
        Assert.NotSame(pop, sp.GetRequiredKeyedService<Recommender>("knn"));
        var e = Assert.Throws<InvalidOperationException>(() => sp.GetRequiredService<Recommender>());
        Assert.Contains("pop, knn", e.Message, StringComparison.Ordinal);
        Assert.Equal("name", Assert.Throws<ArgumentException>(() => services.AddVecRecRecommender("pop", _ => { })).ParamName);
    }

    [Theory]
    [InlineData(null, true, false, "RecommenderServiceOptions.Algorithm is required")]
    [InlineData("nope", true, false, "RecommenderServiceOptions.Algorithm 'nope' is not a known recommender")]
    [InlineData("ease", false, false, "RecommenderServiceOptions.TrainingData or RecommenderServiceOptions.Dataset must be set")]
    [InlineData("ease", true, true, "are both set")]
    public void Bad_recommender_options_throw_at_resolution_naming_the_option(string? algorithm, bool data, bool dataset, string expected)
    {
        int loads = 0;
        using ServiceProvider sp = Build(s => s.AddVecRecRecommender("bad", o =>
        {
            o.Algorithm = algorithm;
            if (data) o.TrainingData = _ => { loads++; return (Interactions.Build(Likes), null); };
            if (dataset) o.Dataset = _ => { loads++; return new RatingDataset(Likes, Catalog(), "inline"); };
        }));
        var e = Assert.Throws<OptionsValidationException>(() => sp.GetRequiredKeyedService<Recommender>("bad"));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.Contains("'bad'", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, loads);
    }

    private sealed class ReefSearch([FromKeyedServices("reefs")] IVectorIndex index)
    {
        public IVectorIndex Index { get; } = index;
    }

    private sealed record LogEntry(string Category, LogLevel Level, string Message);

    private sealed class CapturingLoggerProvider : ILoggerProvider
    {
        private readonly ConcurrentQueue<LogEntry> _entries = new();

        public IReadOnlyList<LogEntry> Entries => _entries.ToArray();

        public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _entries);

        public void Dispose()
        {
        }

        private sealed class Logger(string category, ConcurrentQueue<LogEntry> entries) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                entries.Enqueue(new LogEntry(category, logLevel, formatter(state, exception)));
        }
    }
}

/// <summary>Skips where <c>VECREC_MODEL_DIR</c> is set: the default encoder cannot then fall back to hashing.</summary>
file sealed class HashingFallbackFactAttribute : FactAttribute
{
    public HashingFallbackFactAttribute()
    {
        if (ServiceCollectionTests.ModelVariableSet) Skip = $"{TextEncoders.ModelDirectoryVariable} is set: the hashing fallback cannot be forced";
    }
}

/// <summary>Skips, with a message, only where the shared all-MiniLM-L6-v2 folder is absent.</summary>
file sealed class MiniLmFactAttribute : FactAttribute
{
    public MiniLmFactAttribute()
    {
        if (Shared.MiniLm is null) Skip = "shared/models/all-MiniLM-L6-v2 is absent (set VECREC_SHARED)";
    }
}

using Microsoft.Extensions.AI;
using Microsoft.Extensions.VectorData;
using Vec.Index.VectorData;
using Xunit;

namespace Vec.Index.Tests;

/// <summary>The VecRec connector exercised only through the Microsoft.Extensions.VectorData abstraction.</summary>
public sealed class VectorDataTests
{
    private const int Dim = 16;
    private static readonly string[] Genres = ["drama", "comedy", "action", "horror", "documentary"];

    public sealed class Movie
    {
        [VectorStoreKey]
        public long Id { get; set; }

        [VectorStoreData(IsIndexed = true)]
        public string Genre { get; set; } = "";

        [VectorStoreData]
        public int Year { get; set; }

        [VectorStoreVector(Dim)]
        public ReadOnlyMemory<float> Embedding { get; set; }

        /// <summary>Not mapped: must not be stored.</summary>
        public string Transient { get; set; } = "";
    }

    private static VectorStore NewStore() => new VecRecVectorStore();

    private static float[] Vector(int seed, int d = Dim) => TestData.Gaussian(1, d, seed);

    /// <summary>n movies; genre i % 5 except that only every 20th is a drama (rare filter value).</summary>
    private static List<Movie> Movies(int n, int seed)
    {
        float[] x = TestData.Gaussian(n, Dim, seed);
        return [.. Enumerable.Range(0, n).Select(i => new Movie
        {
            Id = 1000 + i,
            Genre = i % 20 == 0 ? "drama" : Genres[1 + i % 4],
            Year = 1950 + i % 70,
            Embedding = x.AsMemory(i * Dim, Dim),
            Transient = "x",
        })];
    }

    private static async Task<VectorStoreCollection<long, Movie>> FilledAsync(VectorStore store, IEnumerable<Movie> movies,
        VectorStoreCollectionDefinition? definition = null, string name = "movies")
    {
        VectorStoreCollection<long, Movie> collection = store.GetCollection<long, Movie>(name, definition);
        await collection.EnsureCollectionExistsAsync();
        await collection.UpsertAsync(movies);
        return collection;
    }

    private static double BruteScore(ReadOnlySpan<float> q, ReadOnlySpan<float> x, string distance)
    {
        double dot = 0, qq = 0, xx = 0, l2 = 0;
        for (int i = 0; i < q.Length; i++)
        {
            dot += (double)q[i] * x[i];
            qq += (double)q[i] * q[i];
            xx += (double)x[i] * x[i];
            l2 += ((double)q[i] - x[i]) * ((double)q[i] - x[i]);
        }
        double cos = dot / Math.Sqrt(qq * xx);
        return distance switch
        {
            DistanceFunction.CosineSimilarity => cos,
            DistanceFunction.CosineDistance => 1 - cos,
            DistanceFunction.DotProductSimilarity => dot,
            DistanceFunction.NegativeDotProductSimilarity => -dot,
            DistanceFunction.EuclideanSquaredDistance => l2,
            DistanceFunction.EuclideanDistance => Math.Sqrt(l2),
            _ => throw new ArgumentOutOfRangeException(nameof(distance)),
        };
    }

    private static bool HigherIsBetter(string distance)
        => distance is DistanceFunction.CosineSimilarity or DistanceFunction.DotProductSimilarity;

    /// <summary>The expected top-k (key, score) by brute force over the movies that pass <paramref name="where"/>.</summary>
    private static List<(long Id, double Score)> Expected(IEnumerable<Movie> movies, float[] q, string distance, int k, Func<Movie, bool>? where = null)
    {
        var scored = movies.Where(m => where?.Invoke(m) ?? true).Select(m => (m.Id, Score: BruteScore(q, m.Embedding.Span, distance)));
        scored = HigherIsBetter(distance) ? scored.OrderByDescending(s => s.Score) : scored.OrderBy(s => s.Score);
        return [.. scored.Take(k)];
    }

    private static VectorStoreCollectionDefinition MovieDefinition(string distance) => new()
    {
        Properties =
        [
            new VectorStoreKeyProperty(nameof(Movie.Id), typeof(long)),
            new VectorStoreDataProperty(nameof(Movie.Genre), typeof(string)) { IsIndexed = true },
            new VectorStoreDataProperty(nameof(Movie.Year), typeof(int)),
            new VectorStoreVectorProperty(nameof(Movie.Embedding), typeof(ReadOnlyMemory<float>), Dim) { DistanceFunction = distance },
        ],
    };

    private static void AssertRanking(List<VectorSearchResult<Movie>> results, List<(long Id, double Score)> expected,
        Dictionary<long, Movie> byId, float[] q, string distance)
    {
        Assert.Equal(expected.Count, results.Count);
        for (int r = 0; r < expected.Count; r++)
        {
            Assert.NotNull(results[r].Score);
            double reported = results[r].Score!.Value;
            double tolerance = 1e-4 * Math.Max(1, Math.Abs(expected[r].Score));
            // The rank-r score matches brute force, and it is the true score of the record returned (robust to ties).
            Assert.Equal(expected[r].Score, reported, tolerance);
            Assert.Equal(BruteScore(q, byId[results[r].Record.Id].Embedding.Span, distance), reported, tolerance);
        }
        Assert.Equal(results.Count, results.Select(x => x.Record.Id).Distinct().Count());
    }

    [Fact]
    public async Task Upsert_batch_then_get_round_trips_key_data_and_vectors()
    {
        using VectorStore store = NewStore();
        List<Movie> movies = Movies(50, 1);
        VectorStoreCollection<long, Movie> collection = await FilledAsync(store, movies);

        Movie? got = await collection.GetAsync(1007, new RecordRetrievalOptions { IncludeVectors = true });
        Assert.NotNull(got);
        Assert.NotSame(movies[7], got);
        Assert.Equal(1007, got.Id);
        Assert.Equal(movies[7].Genre, got.Genre);
        Assert.Equal(movies[7].Year, got.Year);
        Assert.Equal(movies[7].Embedding.ToArray(), got.Embedding.ToArray());
        Assert.Equal("", got.Transient); // unmapped properties are not stored

        Movie? withoutVectors = await collection.GetAsync(1007);
        Assert.NotNull(withoutVectors);
        Assert.True(withoutVectors.Embedding.IsEmpty);

        Assert.Null(await collection.GetAsync(5));
        List<Movie> batch = await collection.GetAsync([1001L, 99L, 1003L]).ToListAsync();
        Assert.Equal([1001L, 1003L], batch.Select(m => m.Id));

        // Stored data is a copy: changing the caller's object afterwards changes nothing.
        movies[7].Genre = "changed";
        Assert.NotEqual("changed", (await collection.GetAsync(1007))!.Genre);
    }

    public static TheoryData<string> DistanceFunctions() =>
    [
        DistanceFunction.CosineSimilarity, DistanceFunction.CosineDistance, DistanceFunction.DotProductSimilarity,
        DistanceFunction.NegativeDotProductSimilarity, DistanceFunction.EuclideanSquaredDistance, DistanceFunction.EuclideanDistance,
    ];

    [Theory]
    [MemberData(nameof(DistanceFunctions))]
    public async Task Search_ranks_like_brute_force(string distance)
    {
        using VectorStore store = NewStore();
        List<Movie> movies = Movies(400, 2);
        VectorStoreCollection<long, Movie> collection = await FilledAsync(store, movies, MovieDefinition(distance));
        Dictionary<long, Movie> byId = movies.ToDictionary(m => m.Id);
        for (int s = 0; s < 3; s++)
        {
            float[] q = Vector(100 + s);
            List<VectorSearchResult<Movie>> results = await collection.SearchAsync(q, 10).ToListAsync();
            AssertRanking(results, Expected(movies, q, distance, 10), byId, q, distance);
        }
    }

    [Fact]
    public async Task Filtered_search_returns_the_best_matching_records_not_a_post_filtered_subset()
    {
        using VectorStore store = NewStore();
        List<Movie> movies = Movies(400, 3); // 20 dramas
        VectorStoreCollection<long, Movie> collection = await FilledAsync(store, movies);
        Dictionary<long, Movie> byId = movies.ToDictionary(m => m.Id);
        float[] q = Vector(200);

        string genre = "drama";
        var options = new VectorSearchOptions<Movie> { Filter = m => m.Genre == genre };
        List<VectorSearchResult<Movie>> results = await collection.SearchAsync(q, 10, options).ToListAsync();
        Assert.All(results, r => Assert.Equal("drama", r.Record.Genre));
        AssertRanking(results, Expected(movies, q, DistanceFunction.CosineSimilarity, 10, m => m.Genre == "drama"), byId, q,
            DistanceFunction.CosineSimilarity);

        // Fewer matches than top: all of them, best first.
        options = new VectorSearchOptions<Movie> { Filter = m => m.Genre == "drama" && m.Year < 1960 };
        results = await collection.SearchAsync(q, 10, options).ToListAsync();
        List<(long Id, double Score)> expected = Expected(movies, q, DistanceFunction.CosineSimilarity, 10, m => m.Genre == "drama" && m.Year < 1960);
        Assert.InRange(expected.Count, 1, 9);
        AssertRanking(results, expected, byId, q, DistanceFunction.CosineSimilarity);

        // No match: no results.
        options = new VectorSearchOptions<Movie> { Filter = m => m.Genre == "western" };
        Assert.Empty(await collection.SearchAsync(q, 10, options).ToListAsync());
    }

    [Fact]
    public async Task Skip_top_threshold_and_include_vectors()
    {
        using VectorStore store = NewStore();
        List<Movie> movies = Movies(200, 4);
        VectorStoreCollection<long, Movie> collection = await FilledAsync(store, movies);
        float[] q = Vector(300);

        List<VectorSearchResult<Movie>> first10 = await collection.SearchAsync(q, 10).ToListAsync();
        List<VectorSearchResult<Movie>> page2 = await collection.SearchAsync(q, 5, new VectorSearchOptions<Movie> { Skip = 5 }).ToListAsync();
        Assert.Equal(first10.Skip(5).Select(r => r.Record.Id), page2.Select(r => r.Record.Id));
        Assert.All(first10, r => Assert.True(r.Record.Embedding.IsEmpty));

        List<VectorSearchResult<Movie>> withVectors = await collection.SearchAsync(q, 3, new VectorSearchOptions<Movie> { IncludeVectors = true }).ToListAsync();
        Dictionary<long, Movie> byId = movies.ToDictionary(m => m.Id);
        Assert.All(withVectors, r => Assert.Equal(byId[r.Record.Id].Embedding.ToArray(), r.Record.Embedding.ToArray()));

        // Skip past the end, top past the count.
        Assert.Empty(await collection.SearchAsync(q, 5, new VectorSearchOptions<Movie> { Skip = 200 }).ToListAsync());
        Assert.Equal(200, (await collection.SearchAsync(q, 1000).ToListAsync()).Count);

        double threshold = first10[4].Score!.Value;
        List<VectorSearchResult<Movie>> above = await collection.SearchAsync(q, 10, new VectorSearchOptions<Movie> { ScoreThreshold = threshold }).ToListAsync();
        Assert.Equal(5, above.Count);
        Assert.All(above, r => Assert.True(r.Score >= threshold));
    }

    [Fact]
    public async Task Delete_then_search_and_get_no_longer_see_the_record()
    {
        using VectorStore store = NewStore();
        List<Movie> movies = Movies(100, 5);
        VectorStoreCollection<long, Movie> collection = await FilledAsync(store, movies);
        float[] q = movies[42].Embedding.ToArray();

        Assert.Equal(1042, (await collection.SearchAsync(q, 1).SingleAsync()).Record.Id);
        await collection.DeleteAsync(1042);
        await collection.DeleteAsync([1043L, 1044L, 77777L]); // missing keys are ignored
        Assert.Null(await collection.GetAsync(1042));
        Assert.Null(await collection.GetAsync(1044));
        List<VectorSearchResult<Movie>> all = await collection.SearchAsync(q, 1000).ToListAsync();
        Assert.Equal(97, all.Count);
        Assert.DoesNotContain(all, r => r.Record.Id is 1042 or 1043 or 1044);
        Assert.NotEqual(1042, all[0].Record.Id);

        // Deleting again is harmless; re-adding brings it back.
        await collection.DeleteAsync(1042);
        await collection.UpsertAsync(movies[42]);
        Assert.Equal(1042, (await collection.SearchAsync(q, 1).SingleAsync()).Record.Id);
    }

    [Fact]
    public async Task Upsert_replaces_the_vector_and_data_of_an_existing_key()
    {
        using VectorStore store = NewStore();
        List<Movie> movies = Movies(100, 6);
        VectorStoreCollection<long, Movie> collection = await FilledAsync(store, movies);
        float[] oldVector = movies[10].Embedding.ToArray();
        float[] newVector = Vector(400);

        await collection.UpsertAsync(new Movie { Id = 1010, Genre = "drama", Year = 2024, Embedding = newVector });

        VectorSearchResult<Movie> top = await collection.SearchAsync(newVector, 1).SingleAsync();
        Assert.Equal(1010, top.Record.Id);
        Assert.Equal(1.0, top.Score!.Value, 1e-4);
        Assert.Equal(2024, top.Record.Year);
        // The old vector is gone from the index: searching it finds the record only at its new score.
        List<VectorSearchResult<Movie>> byOld = await collection.SearchAsync(oldVector, 100).ToListAsync();
        Assert.Equal(100, byOld.Count);
        Assert.Single(byOld, r => r.Record.Id == 1010);
        Assert.Equal(BruteScore(oldVector, newVector, DistanceFunction.CosineSimilarity),
            byOld.Single(r => r.Record.Id == 1010).Score!.Value, 1e-4);
        Assert.Equal(100, await collection.GetAsync(m => true, 1000).CountAsync());

        // Within one batch the last record of a key wins.
        await collection.UpsertAsync(
        [
            new Movie { Id = 5, Genre = "first", Embedding = Vector(1) },
            new Movie { Id = 5, Genre = "second", Embedding = Vector(2) },
        ]);
        Assert.Equal("second", (await collection.GetAsync(5))!.Genre);
        Assert.Equal(5, (await collection.SearchAsync(Vector(2), 1).SingleAsync()).Record.Id);
    }

    [Fact]
    public async Task Get_by_filter_with_top_skip_and_order()
    {
        using VectorStore store = NewStore();
        List<Movie> movies = Movies(100, 7);
        VectorStoreCollection<long, Movie> collection = await FilledAsync(store, movies);

        List<Movie> dramas = await collection.GetAsync(m => m.Genre == "drama", 100).ToListAsync();
        Assert.Equal(movies.Where(m => m.Genre == "drama").Select(m => m.Id).Order(), dramas.Select(m => m.Id).Order());

        var options = new FilteredRecordRetrievalOptions<Movie>
        {
            OrderBy = o => o.Descending(m => m.Year).Ascending(m => m.Id),
            Skip = 2,
        };
        List<Movie> page = await collection.GetAsync(m => m.Year >= 2000, 3, options).ToListAsync();
        long[] expected = [.. movies.Where(m => m.Year >= 2000).OrderByDescending(m => m.Year).ThenBy(m => m.Id).Skip(2).Take(3).Select(m => m.Id)];
        Assert.Equal(expected, page.Select(m => m.Id));
        Assert.All(page, m => Assert.True(m.Embedding.IsEmpty));
    }

    public sealed class LongRecord
    {
        [VectorStoreKey] public long Key { get; set; }
        [VectorStoreData] public string Name { get; set; } = "";
        [VectorStoreVector(4, DistanceFunction = DistanceFunction.CosineDistance)] public ReadOnlyMemory<float> Vector { get; set; }
    }

    public sealed class IntRecord
    {
        [VectorStoreKey] public int Key { get; set; }
        [VectorStoreData] public string Name { get; set; } = "";
        [VectorStoreVector(4)] public float[]? Vector { get; set; }
    }

    public sealed class GuidRecord
    {
        [VectorStoreKey] public Guid Key { get; set; }
        [VectorStoreData] public string Name { get; set; } = "";
        [VectorStoreVector(4, DistanceFunction = DistanceFunction.EuclideanDistance)] public Embedding<float>? Vector { get; set; }
    }

    public sealed class StringRecord
    {
        [VectorStoreKey] public string Key { get; set; } = "";
        [VectorStoreData] public string Name { get; set; } = "";
        [VectorStoreVector(4, DistanceFunction = DistanceFunction.EuclideanSquaredDistance)] public ReadOnlyMemory<float>? Vector { get; set; }
    }

    private static async Task KeyRoundTripAsync<TKey, TRecord>(Func<int, TKey> key, Func<TKey, string, float[], TRecord> make,
        Func<TRecord, TKey> keyOf, Func<TRecord, float[]?> vectorOf)
        where TKey : notnull
        where TRecord : class
    {
        using VectorStore store = NewStore();
        VectorStoreCollection<TKey, TRecord> collection = store.GetCollection<TKey, TRecord>("keys");
        await collection.EnsureCollectionExistsAsync();
        float[] x = TestData.Gaussian(20, 4, 9);
        await collection.UpsertAsync(Enumerable.Range(0, 20).Select(i => make(key(i), $"n{i}", x[(i * 4)..(i * 4 + 4)])));

        TRecord? got = await collection.GetAsync(key(13), new RecordRetrievalOptions { IncludeVectors = true });
        Assert.NotNull(got);
        Assert.Equal(key(13), keyOf(got));
        Assert.Equal(x[52..56], vectorOf(got));
        Assert.Null(await collection.GetAsync(key(99)));

        VectorSearchResult<TRecord> top = await collection.SearchAsync(x[52..56], 1).SingleAsync();
        Assert.Equal(key(13), keyOf(top.Record));

        await collection.DeleteAsync(key(13));
        Assert.Null(await collection.GetAsync(key(13)));
        Assert.NotEqual(key(13), keyOf((await collection.SearchAsync(x[52..56], 1).SingleAsync()).Record));
    }

    [Fact]
    public async Task Keys_of_every_supported_type_round_trip()
    {
        await KeyRoundTripAsync(i => (i - 10) * 1_000_000_007L, (k, n, v) => new LongRecord { Key = k, Name = n, Vector = v },
            r => r.Key, r => r.Vector.IsEmpty ? null : r.Vector.ToArray());
        await KeyRoundTripAsync(i => -i, (k, n, v) => new IntRecord { Key = k, Name = n, Vector = v }, r => r.Key, r => r.Vector);
        Guid[] guids = [.. Enumerable.Range(0, 100).Select(_ => Guid.NewGuid())];
        await KeyRoundTripAsync(i => guids[i], (k, n, v) => new GuidRecord { Key = k, Name = n, Vector = new Embedding<float>(v) },
            r => r.Key, r => r.Vector?.Vector.ToArray());
        await KeyRoundTripAsync(i => $"key-{i}", (k, n, v) => new StringRecord { Key = k, Name = n, Vector = v }, r => r.Key,
            r => r.Vector?.ToArray());
    }

    [Fact]
    public async Task Empty_guid_keys_are_generated_and_null_vectors_are_stored_unsearchable()
    {
        using VectorStore store = NewStore();
        VectorStoreCollection<Guid, GuidRecord> collection = store.GetCollection<Guid, GuidRecord>("guids");
        await collection.EnsureCollectionExistsAsync();
        var a = new GuidRecord { Name = "a", Vector = new Embedding<float>(new float[] { 1, 0, 0, 0 }) };
        var b = new GuidRecord { Name = "b", Vector = null };
        await collection.UpsertAsync([a, b]);
        Assert.NotEqual(Guid.Empty, a.Key);
        Assert.NotEqual(a.Key, b.Key);
        Assert.Equal("b", (await collection.GetAsync(b.Key))!.Name);
        VectorSearchResult<GuidRecord> only = await collection.SearchAsync(new float[] { 0, 1, 0, 0 }, 10).SingleAsync();
        Assert.Equal(a.Key, only.Record.Key);
        Assert.Equal(Math.Sqrt(2), only.Score!.Value, 1e-5); // Euclidean distance, not squared
    }

    [Fact]
    public async Task Dynamic_collection_supports_upsert_get_filtered_search_and_delete()
    {
        using VectorStore store = NewStore();
        var definition = new VectorStoreCollectionDefinition
        {
            Properties =
            [
                new VectorStoreKeyProperty("Id", typeof(string)),
                new VectorStoreDataProperty("Genre", typeof(string)),
                new VectorStoreVectorProperty("Embedding", typeof(ReadOnlyMemory<float>), Dim),
            ],
        };
        VectorStoreCollection<object, Dictionary<string, object?>> collection = store.GetDynamicCollection("dyn", definition);
        await collection.EnsureCollectionExistsAsync();
        List<Movie> movies = Movies(100, 8);
        await collection.UpsertAsync(movies.Select(m => new Dictionary<string, object?>
        {
            ["Id"] = $"m{m.Id}",
            ["Genre"] = m.Genre,
            ["Embedding"] = m.Embedding,
        }));

        Dictionary<string, object?>? got = await collection.GetAsync("m1020", new RecordRetrievalOptions { IncludeVectors = true });
        Assert.NotNull(got);
        Assert.Equal("drama", got["Genre"]);
        Assert.Equal(movies[20].Embedding.ToArray(), ((ReadOnlyMemory<float>)got["Embedding"]!).ToArray());

        float[] q = Vector(500);
        var options = new VectorSearchOptions<Dictionary<string, object?>> { Filter = r => (string)r["Genre"]! == "drama" };
        List<VectorSearchResult<Dictionary<string, object?>>> results = await collection.SearchAsync(q, 3, options).ToListAsync();
        List<(long Id, double Score)> expected = Expected(movies, q, DistanceFunction.CosineSimilarity, 3, m => m.Genre == "drama");
        Assert.Equal(expected.Select(e => $"m{e.Id}"), results.Select(r => (string)r.Record["Id"]!));

        await collection.DeleteAsync(results[0].Record["Id"]!);
        Assert.Null(await collection.GetAsync(results[0].Record["Id"]!));
        await Assert.ThrowsAsync<ArgumentException>(() => collection.GetAsync(1020L));
    }

    public sealed class TwoVectors
    {
        [VectorStoreKey] public long Id { get; set; }
        [VectorStoreVector(4)] public float[]? Text { get; set; }
        [VectorStoreVector(3, DistanceFunction = DistanceFunction.EuclideanSquaredDistance)] public float[]? Image { get; set; }
    }

    [Fact]
    public async Task Several_vector_properties_are_searched_separately()
    {
        using VectorStore store = NewStore();
        VectorStoreCollection<long, TwoVectors> collection = store.GetCollection<long, TwoVectors>("two");
        await collection.EnsureCollectionExistsAsync();
        await collection.UpsertAsync(
        [
            new TwoVectors { Id = 1, Text = [1, 0, 0, 0], Image = [0, 0, 5] },
            new TwoVectors { Id = 2, Text = [0, 1, 0, 0], Image = [0, 0, 1] },
        ]);
        var byImage = new VectorSearchOptions<TwoVectors> { VectorProperty = r => r.Image };
        Assert.Equal(2, (await collection.SearchAsync(new float[] { 0, 0, 1 }, 1, byImage).SingleAsync()).Record.Id);
        var byText = new VectorSearchOptions<TwoVectors> { VectorProperty = r => r.Text };
        Assert.Equal(1, (await collection.SearchAsync(new float[] { 1, 0, 0, 0 }, 1, byText).SingleAsync()).Record.Id);
        // Without naming a property the choice is ambiguous.
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await collection.SearchAsync(new float[] { 1, 0, 0, 0 }, 1).ToListAsync());
    }

    /// <summary>Embeds text by character codes: equal texts get equal vectors.</summary>
    private sealed class CharEmbedder : IEmbeddingGenerator<string, Embedding<float>>
    {
        public int Calls { get; private set; }

        public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null,
            CancellationToken cancellationToken = default)
        {
            Calls++;
            var result = new GeneratedEmbeddings<Embedding<float>>();
            foreach (string value in values)
            {
                var v = new float[4];
                for (int i = 0; i < value.Length; i++) v[i % 4] += value[i] % 7 + 1;
                result.Add(new Embedding<float>(v));
            }
            return Task.FromResult(result);
        }

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }

    public sealed class Note
    {
        [VectorStoreKey] public int Id { get; set; }
        [VectorStoreVector(4)] public string Text { get; set; } = "";
    }

    [Fact]
    public async Task Embedding_generator_embeds_records_and_text_queries()
    {
        var embedder = new CharEmbedder();
        using VectorStore store = new VecRecVectorStore(new VecRecVectorStoreOptions { EmbeddingGenerator = embedder });
        VectorStoreCollection<int, Note> collection = store.GetCollection<int, Note>("notes");
        await collection.EnsureCollectionExistsAsync();
        string[] texts = ["apple pie", "zebra crossing", "quantum physics", "xylophone"];
        await collection.UpsertAsync(texts.Select((t, i) => new Note { Id = i, Text = t }));
        Assert.Equal(1, embedder.Calls); // one batch

        VectorSearchResult<Note> top = await collection.SearchAsync("quantum physics", 1).SingleAsync();
        Assert.Equal(2, top.Record.Id);
        Assert.Equal(1.0, top.Score!.Value, 1e-5);
        await Assert.ThrowsAsync<NotSupportedException>(async () =>
            await collection.SearchAsync("x", 1, new VectorSearchOptions<Note> { IncludeVectors = true }).ToListAsync());
    }

    [Fact]
    public async Task Collections_are_listed_shared_by_name_and_deleted()
    {
        using VectorStore store = NewStore();
        VectorStoreCollection<long, Movie> a = store.GetCollection<long, Movie>("a");
        Assert.False(await a.CollectionExistsAsync());
        await Assert.ThrowsAsync<VectorStoreException>(() => a.UpsertAsync(Movies(1, 1)));
        await Assert.ThrowsAsync<VectorStoreException>(() => a.GetAsync(1));
        await a.EnsureCollectionExistsAsync();
        await a.EnsureCollectionExistsAsync(); // idempotent
        await a.UpsertAsync(Movies(10, 1));
        await (await FilledAsync(store, Movies(3, 1), name: "b")).DeleteAsync(1000);

        Assert.Equal(["a", "b"], await store.ListCollectionNamesAsync().ToListAsync());
        Assert.True(await store.CollectionExistsAsync("b"));

        // A second collection object on the same name sees the same records.
        VectorStoreCollection<long, Movie> again = store.GetCollection<long, Movie>("a");
        Assert.NotNull(await again.GetAsync(1009));

        // The same name with another schema is refused.
        VectorStoreCollection<int, IntRecord> clash = store.GetCollection<int, IntRecord>("a");
        await Assert.ThrowsAsync<InvalidOperationException>(() => clash.EnsureCollectionExistsAsync());
        await Assert.ThrowsAsync<InvalidOperationException>(() => clash.GetAsync(1));

        await again.EnsureCollectionDeletedAsync();
        Assert.False(await a.CollectionExistsAsync());
        await Assert.ThrowsAsync<VectorStoreException>(async () => await a.SearchAsync(Vector(1), 1).ToListAsync());
        await store.EnsureCollectionDeletedAsync("b");
        await store.EnsureCollectionDeletedAsync("never-existed");
        Assert.Empty(await store.ListCollectionNamesAsync().ToListAsync());

        // Re-created collections start empty.
        await a.EnsureCollectionExistsAsync();
        Assert.Null(await a.GetAsync(1009));
    }

    [Fact]
    public async Task Index_factory_builds_the_index_of_each_collection()
    {
        var requests = new List<VecRecIndexRequest>();
        using VectorStore store = new VecRecVectorStore(new VecRecVectorStoreOptions
        {
            IndexFactory = r =>
            {
                requests.Add(r);
                return new FlatIndex(r.Dimension, r.Metric, r.Kernels);
            },
        });
        VectorStoreCollection<long, Movie> collection = await FilledAsync(store, Movies(30, 3), MovieDefinition(DistanceFunction.EuclideanDistance));
        VecRecIndexRequest request = Assert.Single(requests);
        Assert.Equal(("movies", "Embedding", Dim, Vec.Kernels.Metric.L2), (request.CollectionName, request.VectorPropertyName, request.Dimension, request.Metric));
        var index = (IVectorIndex?)collection.GetService(typeof(IVectorIndex));
        Assert.NotNull(index);
        Assert.Equal(30, index.Count);
        Assert.NotNull(collection.GetService(typeof(VectorStoreCollectionMetadata)));

        using VectorStore bad = new VecRecVectorStore(new VecRecVectorStoreOptions { IndexFactory = r => new FlatIndex(r.Dimension + 1, r.Metric, r.Kernels) });
        await Assert.ThrowsAsync<InvalidOperationException>(() => bad.GetCollection<long, Movie>("m").EnsureCollectionExistsAsync());
        Assert.False(await bad.CollectionExistsAsync("m"));
    }

    public sealed class ManhattanRecord
    {
        [VectorStoreKey] public long Id { get; set; }
        [VectorStoreVector(4, DistanceFunction = DistanceFunction.ManhattanDistance)] public float[]? Vector { get; set; }
    }

    public sealed class DecimalKeyRecord
    {
        [VectorStoreKey] public decimal Id { get; set; }
        [VectorStoreVector(4)] public float[]? Vector { get; set; }
    }

    [Fact]
    public async Task Bad_inputs_get_clear_exceptions_and_change_nothing()
    {
        using VectorStore store = NewStore();
        VectorStoreCollection<long, Movie> collection = await FilledAsync(store, Movies(20, 1));

        Assert.Throws<NotSupportedException>(() => store.GetCollection<long, ManhattanRecord>("x"));
        Assert.Throws<NotSupportedException>(() => store.GetCollection<decimal, DecimalKeyRecord>("x"));
        Assert.Throws<InvalidOperationException>(() => store.GetCollection<int, Movie>("x")); // key type mismatch
        Assert.Equal("name", Assert.ThrowsAny<ArgumentException>(() => store.GetCollection<long, Movie>(" ")).ParamName);

        var wrongDim = await Assert.ThrowsAsync<ArgumentException>(async () => await collection.SearchAsync(new float[Dim + 1], 3).ToListAsync());
        Assert.Equal("searchValue", wrongDim.ParamName);
        float[] nan = Vector(1);
        nan[3] = float.NaN;
        Assert.Equal("searchValue", (await Assert.ThrowsAsync<ArgumentException>(async () => await collection.SearchAsync(nan, 3).ToListAsync())).ParamName);
        Assert.Equal("top", (await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await collection.SearchAsync(Vector(1), 0).ToListAsync())).ParamName);
        Assert.Equal("top", (await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await collection.GetAsync(m => true, 0).ToListAsync())).ParamName);
        await Assert.ThrowsAsync<NotSupportedException>(async () => await collection.SearchAsync("text without a generator", 3).ToListAsync());
        await Assert.ThrowsAsync<ArgumentNullException>(() => collection.UpsertAsync((Movie)null!));
        await Assert.ThrowsAsync<ArgumentNullException>(() => collection.UpsertAsync((IEnumerable<Movie>)null!));

        // A bad record anywhere in a batch rejects the whole batch.
        List<Movie> batch = Movies(5, 77);
        foreach (Movie m in batch) m.Id += 5000;
        batch[3].Embedding = new float[Dim - 1];
        Assert.Equal("records", (await Assert.ThrowsAsync<ArgumentException>(() => collection.UpsertAsync(batch))).ParamName);
        batch[3].Embedding = Vector(3);
        batch[4].Embedding = Enumerable.Repeat(float.PositiveInfinity, Dim).ToArray();
        Assert.Equal("records", (await Assert.ThrowsAsync<ArgumentException>(() => collection.UpsertAsync(batch))).ParamName);
        batch[4].Embedding = default; // an unset (empty) vector is the wrong dimension too
        await Assert.ThrowsAsync<ArgumentException>(() => collection.UpsertAsync(batch));
        Assert.Null(await collection.GetAsync(6000));
        Assert.Equal(20, await collection.GetAsync(m => true, 100).CountAsync());
        Assert.Equal(20, (await collection.SearchAsync(Vector(1), 100).ToListAsync()).Count);

        VectorStoreCollection<string, StringRecord> strings = store.GetCollection<string, StringRecord>("s");
        await strings.EnsureCollectionExistsAsync();
        await Assert.ThrowsAsync<ArgumentNullException>(() => strings.GetAsync((string)null!));
        await Assert.ThrowsAsync<ArgumentException>(() => strings.UpsertAsync(new StringRecord { Key = null! }));
    }

    [Fact]
    public async Task Searches_run_concurrently_with_upserts_and_deletes()
    {
        using VectorStore store = NewStore();
        List<Movie> movies = Movies(300, 11);
        VectorStoreCollection<long, Movie> collection = await FilledAsync(store, movies);
        float[] q = Vector(600);
        Task writer = Task.Run(async () =>
        {
            var rng = new Random(1);
            for (int i = 0; i < 200; i++)
            {
                Movie m = movies[rng.Next(150, 300)]; // keys 1000..1149 never change
                await collection.UpsertAsync(new Movie { Id = m.Id, Genre = m.Genre, Year = m.Year, Embedding = Vector(1000 + i) });
                if (i % 10 == 0) await collection.DeleteAsync(m.Id);
            }
        });
        int searches = 0;
        while (!writer.IsCompleted)
        {
            List<VectorSearchResult<Movie>> results = await collection.SearchAsync(q, 10, new VectorSearchOptions<Movie> { Filter = m => m.Id < 1150 }).ToListAsync();
            Assert.Equal(10, results.Count);
            Assert.Equal(10, results.Select(r => r.Record.Id).Distinct().Count());
            // Unfiltered searches race the replacements of the same keys: never a key twice, and every record comes
            // with the score of the vector it is returned with (never an old vector's score).
            float[] q2 = Vector(700);
            List<VectorSearchResult<Movie>> all = await collection.SearchAsync(q2, 50, new VectorSearchOptions<Movie> { IncludeVectors = true }).ToListAsync();
            Assert.NotEmpty(all);
            Assert.Equal(all.Count, all.Select(r => r.Record.Id).Distinct().Count());
            Assert.All(all, r => Assert.Equal(BruteScore(q2, r.Record.Embedding.Span, DistanceFunction.CosineSimilarity), r.Score!.Value, 1e-4));
            Assert.True(all.Zip(all.Skip(1)).All(p => p.First.Score >= p.Second.Score));
            searches++;
        }
        await writer;
        Assert.True(searches > 0);
        Assert.Equal(Expected(movies.Take(150), q, DistanceFunction.CosineSimilarity, 10).Select(e => e.Id),
            (await collection.SearchAsync(q, 10, new VectorSearchOptions<Movie> { Filter = m => m.Id < 1150 }).ToListAsync()).Select(r => r.Record.Id));
    }
}

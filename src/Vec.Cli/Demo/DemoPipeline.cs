using System.Diagnostics;
using System.Globalization;
using Vec.Cli.Output;
using Vec.Embed;
using Vec.Index;
using Vec.Kernels;
using Vec.Rec;
using Vec.Rec.Evaluation;
using Vec.Rec.Models;

using static Vec.Cli.Io.CliFiles;

namespace Vec.Cli.Demo;

/// <summary>
/// The main job end to end: data (generated or MovieLens) -> split -> embeddings -> IVF-PQ -> CF, content and hybrid models
/// -> warm and cold-start evaluation -> sample recommendations -> report folder.
/// </summary>
internal static class DemoPipeline
{
    /// <summary>The collaborative models <c>--cf</c> accepts.</summary>
    public static readonly string[] CfModels = ["ease", "als", "itemknn", "sar", "rp3b", "userknn"];

    /// <summary>
    /// Hash buckets of the hashing encoder, which hashes words only (no bi-grams) without English stop words: the
    /// generated texts are bags of words, whose bi-grams are noise that would crowd so few buckets.
    /// </summary>
    private const int HashingDimension = 512;

    /// <summary>
    /// Description lengths of the generated items: shorter than the generator's default (15-40) so that MiniLM embeds the
    /// 3000 default items in about 10 s on 2 cores (its cost grows with the tokens); the hashing encoder is fast either way.
    /// </summary>
    internal static readonly (int Min, int Max) DescriptionWords = (8, 20);

    /// <summary>Re-ranking factor of the refined IVF-PQ searches (float16 copies of the vectors).</summary>
    internal const int RefineFactor = 8;

    private const string SyntheticQuery = "an astronaut on a spaceship exploring a distant galaxy";
    private const string MovieLensQuery = "aliens and a starship in outer space";

    private sealed record LoadedData(RatingDataset Dataset, IReadOnlyList<Rating> ColdTest, IReadOnlyList<long> ColdItems, SyntheticData? Truth);

    public static DemoResults Run(CliContext context, DemoSettings s)
    {
        var total = Stopwatch.StartNew();
        var timings = new List<StepTiming>();
        var notes = new List<string>();
        T Step<T>(string label, string description, Func<IProgress<double>, T> work)
        {
            var sw = Stopwatch.StartNew();
            TimeSpan cpu = Process.GetCurrentProcess().TotalProcessorTime;
            T result = Jobs.Run(context, description, work);
            timings.Add(new StepTiming(label, sw.Elapsed.TotalSeconds, (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds));
            return result;
        }

        using IVectorKernels kernels = CreateKernels(s.Backend);

        // 1. Data.
        LoadedData data = Step("data", s.DataFolder is null
            ? Inv($"Generating {s.Items:N0} items and {s.Users:N0} users (seed {s.Seed})")
            : $"Loading MovieLens from {s.DataFolder}", _ => Load(s));
        ItemCatalog catalog = data.Dataset.Catalog;

        // 2. Split: warm history 75/25 per item (stratified); cold items evaluated on their held-out interactions.
        var (train, test, coldTest, coldMask) = Step("split", "Splitting (warm: stratified 75/25 per item; cold items held out)", _ =>
        {
            RatingSplit split = Splits.Stratified(data.Dataset.Ratings, 0.75, unchecked((uint)s.Seed), byItem: true);
            IdMap users = IdMap.FromIds(data.Dataset.Ratings.Select(r => r.User).Concat(data.ColdTest.Select(r => r.User)));
            IdMap items = IdMap.FromIds(catalog.Items.Select(i => i.Id).Concat(data.Dataset.Ratings.Select(r => r.Item)).Concat(data.ColdItems));
            var coldSet = data.ColdItems.ToHashSet();
            bool[] mask = [.. Enumerable.Range(0, items.Count).Select(i => coldSet.Contains(items[i]))];
            return (Interactions.Build(split.Train, users, items), Interactions.Build(split.Test, users, items), Interactions.Build(data.ColdTest, users, items), mask);
        });
        IdMap itemMap = train.Items;
        int n = itemMap.Count;
        string[] texts = [.. Enumerable.Range(0, n).Select(i => catalog.TryGet(itemMap[i], out CatalogItem? item) ? item.EmbeddingText : "")];
        string TitleOf(int item) => catalog.TryGet(itemMap[item], out CatalogItem? c) ? c.Title : itemMap[item].ToString(CultureInfo.InvariantCulture);

        // 3. Embeddings.
        (TextEncoder baseEncoder, EncoderInfo encoderInfo) = ChooseEncoder(s, texts);
        context.Output.WriteLine($"encoder: {encoderInfo.ModelId} ({encoderInfo.Dimension} dimensions): {encoderInfo.Reason}");
        if (encoderInfo.Kind == "hashing")
            notes.Add("the hashing encoder matches words exactly (no synonyms, no plurals) and shares buckets between words; a sentence-transformers model (--model DIR) matches meanings");
        using var encoder = new CachedTextEncoder(baseEncoder);
        float[] vectors = Step("embed", Inv($"Embedding {n:N0} item texts with {encoder.ModelId}"), p => encoder.EncodeWithProgress(texts, p));
        int d = encoder.Dimension;

        // 4. IVF-PQ over the item embeddings, with recall against exact search.
        int lists = Math.Max(1, Math.Min((int)Math.Round(Math.Sqrt(n)), n / 39));
        int m = SubQuantizers(d);
        int bits = n >= 256 ? 8 : Math.Max(1, (int)Math.Floor(Math.Log2(n)));
        using var ivf = new IvfPqIndex(d, Metric.Cosine, new IvfPqOptions { Lists = lists, SubQuantizers = m, Bits = bits, Refine = RefineStorage.Float16 }, kernels);
        using var flat = new FlatIndex(d, Metric.Cosine, kernels);
        IndexSummary index = Step("index", Inv($"Building IVF-PQ ({lists} lists, {m} x {bits}-bit codes) and measuring recall"), p =>
        {
            var sw = Stopwatch.StartNew();
            ivf.Train(vectors, n);
            double trainSeconds = sw.Elapsed.TotalSeconds;
            p.Report(0.4);
            sw.Restart();
            ivf.AddRange(0, vectors);
            double addSeconds = sw.Elapsed.TotalSeconds;
            flat.AddRange(0, vectors);
            p.Report(0.6);
            return MeasureRecall(ivf, flat, vectors, n, d, lists, trainSeconds, addSeconds);
        });
        if (index.Warning is not null) notes.Add($"IVF-PQ training: {index.Warning}");

        // 5. Models.
        var recContext = new RecommenderContext { Kernels = kernels, Encoder = encoder, Seed = s.Seed };
        string[] models = ["pop", "genre", s.Cf, "content", "hybrid"];
        var fitted = new Dictionary<string, Recommender>(StringComparer.Ordinal);
        var fitSeconds = new Dictionary<string, double>(StringComparer.Ordinal);
        try
        {
            foreach (string name in models)
            {
                var sw = Stopwatch.StartNew();
                fitted[name] = Step($"fit {name}", $"Fitting {name}", _ =>
                {
                    Recommender model = name == "hybrid"
                        ? new HybridRecommender(new HybridRecommenderOptions { CfModel = s.Cf }, recContext)
                        : RecommenderRegistry.Create(name, recContext);
                    model.Fit(train, catalog);
                    return model;
                });
                fitSeconds[name] = sw.Elapsed.TotalSeconds;
            }

            // 6. Evaluation: warm (items with training interactions) and cold (the new items only).
            int k = s.K;
            var (warm, cold) = Step("evaluate", Inv($"Evaluating {models.Length} models at k={k} (warm and cold items)"), p =>
            {
                var w = new List<ModelScore>();
                var c = new List<ModelScore>();
                for (int j = 0; j < models.Length; j++)
                {
                    Recommender model = fitted[models[j]];
                    w.Add(Score(models[j], Evaluator.Evaluate(model, test, k), fitSeconds[models[j]]));
                    if (coldMask.Any(x => x) && coldTest.Count > 0)
                        c.Add(Score(models[j], Evaluator.Evaluate(model, coldTest, k, coldMask), fitSeconds[models[j]]));
                    p.Report((j + 1) / (double)models.Length);
                }

                return (w, c);
            });
            int coldCandidates = coldMask.Count(x => x);
            double randomCold = RandomPrecision(coldTest, coldCandidates, k);

            // 7. Samples: recommendations with explanations, more like this through IVF-PQ, a free-text query.
            var hybrid = (HybridRecommender)fitted["hybrid"];
            var content = (ContentRecommender)hybrid.Content;
            string query = s.Query ?? (data.Truth is null ? MovieLensQuery : SyntheticQuery);
            var (samples, similar, textQuery) = Step("samples", "Recommending for sample users, similar items and a text query", _ =>
            {
                var sampleUsers = PickUsers(test, coldTest, 3);
                var list = sampleUsers.Select(u => Sample(u, hybrid, train, test, coldTest, coldMask, data.Truth, TitleOf)).ToList();
                SimilarItems more = MoreLikeThis(ivf, vectors, d, train, lists, TitleOf, itemMap);
                float[] q = encoder.Inner.Encode(query);
                SearchResult anon = ivf.Search(q, 5, new SearchOptions { NProbe = Math.Min(lists, 8), RefineFactor = RefineFactor });
                var anonymous = Enumerable.Range(0, anon.K).Where(j => anon.Ids[j] >= 0)
                    .Select(j => new SimilarItem(itemMap[(int)anon.Ids[j]], TitleOf((int)anon.Ids[j]), anon.Scores[j])).ToList();
                int user = sampleUsers[0];
                var personal = content.RecommendForText(query, user, 5)
                    .Select(r => new SimilarItem(itemMap[r.Item], TitleOf(r.Item), r.Score)).ToList();
                return (list, more, new TextQuery(query, anonymous, train.Users[user], personal));
            });

            var summary = new DataSummary(train.UserCount, n, catalog.Genres.Count, train.Count, test.Count, coldCandidates, coldTest.Count,
                Enumerable.Range(0, test.UserCount).Count(u => test.ItemsOf(u).Length > 0),
                Enumerable.Range(0, coldTest.UserCount).Count(u => coldTest.ItemsOf(u).Length > 0));
            var results = new DemoResults
            {
                Data = data.Dataset.Source,
                Settings = new DemoSettingsInfo(s.DataFolder is null ? s.Items : null, s.DataFolder is null ? s.Users : null, s.Seed, s.K, kernels.Name, s.DataFolder, s.Cf),
                Encoder = encoderInfo,
                Summary = summary,
                Index = index,
                Warm = warm,
                Cold = cold,
                RandomColdPrecision = randomCold,
                HybridAlpha = hybrid.Alpha,
                Samples = samples,
                MoreLikeThis = similar,
                Query = textQuery,
                Timings = timings,
                TotalSeconds = 0,
                ReportFolder = Path.GetFullPath(s.OutFolder),
                Notes = notes,
            };

            // 8. Report folder (the timing chart includes every step before it; the total is taken after writing).
            var reportWatch = Stopwatch.StartNew();
            DemoReport.Write(results with { TotalSeconds = total.Elapsed.TotalSeconds }, s.OutFolder, writeJson: false);
            timings.Add(new StepTiming("report", reportWatch.Elapsed.TotalSeconds, 0));
            results = results with { Timings = [.. timings], TotalSeconds = total.Elapsed.TotalSeconds };
            DemoReport.WriteJson(results, s.OutFolder);
            return results;
        }
        finally
        {
            foreach (Recommender model in fitted.Values) model.Dispose();
        }
    }

    private static IVectorKernels CreateKernels(string? backend)
    {
        if (backend is null) return KernelBackends.CreateDefault();
        try
        {
            return KernelBackends.Create(backend);
        }
        catch (ArgumentException e)
        {
            throw new CliException($"--backend: {e.Message}");
        }
    }

    private static LoadedData Load(DemoSettings s)
    {
        if (s.DataFolder is null)
        {
            SyntheticData g = SyntheticCatalog.Generate(new SyntheticCatalogOptions
            {
                Items = s.Items,
                Users = s.Users,
                Seed = s.Seed,
                MinDescriptionWords = DescriptionWords.Min,
                MaxDescriptionWords = DescriptionWords.Max,
            });
            return new LoadedData(g.Data, g.ColdInteractions, g.ColdItems, g);
        }

        string dir = s.DataFolder;
        string format = File.Exists(Path.Combine(dir, "u.data")) ? "ml100k"
            : File.Exists(Path.Combine(dir, "ratings.csv")) ? "mlcsv"
            : throw new CliException($"--data '{dir}' holds neither u.data (MovieLens 100K) nor ratings.csv (MovieLens CSV)");
        RatingDataset all = MovieLens.Load(dir, format);
        ColdItemSplit split = Splits.ColdItems(all.Ratings, all.Items().Ids, fraction: 0.1, seed: unchecked((uint)s.Seed));
        return new LoadedData(all with { Ratings = split.Train }, split.Test, split.ColdItems, null);
    }

    private static (TextEncoder Encoder, EncoderInfo Info) ChooseEncoder(DemoSettings s, IReadOnlyList<string> corpus)
    {
        string hashingReason;
        if (s.ForceHashing)
        {
            hashingReason = "--hashing given";
        }
        else
        {
            string? env = Environment.GetEnvironmentVariable(TextEncoders.ModelDirectoryVariable);
            string? folder = TextEncoders.FindModelFolder(s.ModelFolder);
            if (folder is not null)
            {
                string why = s.ModelFolder is not null ? $"--model {folder}"
                    : !string.IsNullOrWhiteSpace(env) ? $"{TextEncoders.ModelDirectoryVariable}={folder}"
                    : $"cached model {folder}";
                TextEncoder onnx = TextEncoders.CreateDefault(folder, corpus);
                return (onnx, new EncoderInfo("onnx", onnx.ModelId, onnx.Dimension, $"sentence-transformers model through ONNX Runtime ({why})"));
            }

            hashingReason = $"no sentence-transformers model found (pass --model DIR, set {TextEncoders.ModelDirectoryVariable} or run 'vecrec model download')";
        }

        TextEncoder hashing = new HashingTextEncoder(new HashingTextEncoderOptions { Dimension = HashingDimension, MaxNGram = 1, RemoveEnglishStopWords = true }).Fit(corpus);
        return (hashing, new EncoderInfo("hashing", hashing.ModelId, hashing.Dimension, $"hashing TF-IDF encoder, fitted on the catalog texts: {hashingReason}"));
    }

    /// <summary>Sub-quantisers: the largest divisor of d with at least 8 dimensions each, at most 64 (48 for 384-d MiniLM).</summary>
    internal static int SubQuantizers(int d)
    {
        for (int m = Math.Min(64, Math.Max(1, d / 8)); m > 1; m--)
        {
            if (d % m == 0) return m;
        }

        return 1;
    }

    private static IndexSummary MeasureRecall(IvfPqIndex ivf, FlatIndex flat, float[] vectors, int n, int d, int lists, double trainSeconds, double addSeconds)
    {
        int q = Math.Min(200, n), k = Math.Min(10, n);
        var queries = new float[q * d];
        for (int j = 0; j < q; j++) vectors.AsSpan((int)((long)j * n / q) * d, d).CopyTo(queries.AsSpan(j * d, d));
        SearchResult exact = flat.Search(queries, k);
        var points = new List<RecallPoint>();
        // Best of three timed batches after an untimed one, so JIT tiering and one-off stalls do not show up as per-nprobe noise.
        double BestMicros(SearchOptions options, out SearchResult result)
        {
            result = ivf.Search(queries, k, options);
            double best = double.MaxValue;
            for (int r = 0; r < 3; r++)
            {
                var sw = Stopwatch.StartNew();
                ivf.Search(queries, k, options);
                best = Math.Min(best, sw.Elapsed.TotalMilliseconds * 1000 / q);
            }

            return best;
        }

        foreach (int probe in new[] { 1, 2, 4, 8, 16, 32, 64 }.Where(p => p <= lists).Append(lists).Distinct())
        {
            double us = BestMicros(new SearchOptions { NProbe = probe }, out SearchResult approx);
            double refinedUs = BestMicros(new SearchOptions { NProbe = probe, RefineFactor = RefineFactor }, out SearchResult refined);
            points.Add(new RecallPoint(probe, Recall(exact, approx, q), us, Recall(exact, refined, q), refinedUs));
        }

        return new IndexSummary(n, d, lists, ivf.Options.SubQuantizers, ivf.Options.Bits, trainSeconds, addSeconds, ivf.BytesPerVector,
            flat.BytesPerVector, q, points, ivf.TrainingWarning);
    }

    /// <summary>Mean share of the exact top-k found by the approximate search.</summary>
    private static double Recall(SearchResult exact, SearchResult approx, int queries)
    {
        double recall = 0;
        for (int j = 0; j < queries; j++)
        {
            var truth = exact.IdsOf(j).ToArray().Where(id => id >= 0).ToHashSet();
            if (truth.Count == 0) continue;
            int hits = 0;
            foreach (long id in approx.IdsOf(j))
            {
                if (truth.Contains(id)) hits++;
            }

            recall += hits / (double)truth.Count;
        }

        return recall / queries;
    }

    private static ModelScore Score(string name, RankingMetrics m, double fit) =>
        new(name, m.Users, m.Precision, m.Recall, m.Ndcg, m.Map, m.HitRate, m.Coverage, fit);

    /// <summary>Expected precision@k of a random list over the candidates: the mean of |test items| / candidates.</summary>
    private static double RandomPrecision(Interactions test, int candidates, int k)
    {
        if (candidates == 0) return 0;
        double sum = 0;
        int users = 0;
        for (int u = 0; u < test.UserCount; u++)
        {
            int t = test.ItemsOf(u).Length;
            if (t == 0) continue;
            sum += Math.Min(t, candidates) / (double)candidates * Math.Min(k, candidates) / k;
            users++;
        }

        return users == 0 ? 0 : sum / users;
    }

    /// <summary>Three users spread over the id range among those with warm and cold test items.</summary>
    private static int[] PickUsers(Interactions test, Interactions coldTest, int count)
    {
        int[] both = [.. Enumerable.Range(0, test.UserCount).Where(u => test.ItemsOf(u).Length > 0 && coldTest.ItemsOf(u).Length > 0)];
        if (both.Length < count) both = [.. Enumerable.Range(0, test.UserCount).Where(u => test.ItemsOf(u).Length > 0)];
        if (both.Length == 0) both = [0];
        return [.. Enumerable.Range(0, Math.Min(count, both.Length)).Select(j => both[(int)((long)j * both.Length / Math.Min(count, both.Length))]).Distinct()];
    }

    private static UserSample Sample(int user, HybridRecommender hybrid, Interactions train, Interactions test, Interactions coldTest, bool[] coldMask,
        SyntheticData? truth, Func<int, string> titleOf)
    {
        var taste = new List<string>();
        if (truth is not null)
        {
            long id = train.Users[user];
            int topics = truth.TopicNames.Count;
            taste.AddRange(Enumerable.Range(0, topics).OrderByDescending(t => truth.UserTastes[(id - 1) * topics + t]).Take(3)
                .Select(t => Inv($"{truth.TopicNames[t]} {truth.UserTastes[(id - 1) * topics + t]:F2}")));
        }

        int[] seen = train.ItemsOf(user).ToArray();
        long[] times = train.TimestampsOf(user).ToArray();
        int[] recent = [.. Enumerable.Range(0, seen.Length).OrderByDescending(j => times[j]).ThenBy(j => j).Take(4).Select(j => seen[j])];
        var recs = new List<Recommended>();
        foreach (Recommendation r in hybrid.Recommend(user, 5))
        {
            var because = hybrid.Explain(user, r.Item, 2).Where(c => c.Weight > 0).Select(c => titleOf(c.Item)).ToList();
            bool hit = test.Contains(user, r.Item) || coldTest.Contains(user, r.Item);
            recs.Add(new Recommended(train.Items[r.Item], titleOf(r.Item), r.Score, coldMask[r.Item], hit, because));
        }

        return new UserSample(train.Users[user], taste, [.. recent.Select(titleOf)], recs);
    }

    private static SimilarItems MoreLikeThis(IvfPqIndex ivf, float[] vectors, int d, Interactions train, int lists, Func<int, string> titleOf, IdMap items)
    {
        var counts = new int[train.ItemCount];
        foreach (int i in train.ItemIndices) counts[i]++;
        int item = Enumerable.Range(0, counts.Length).OrderByDescending(i => counts[i]).ThenBy(i => i).First();
        int probe = Math.Min(lists, 8);
        SearchResult result = ivf.Search(vectors.AsSpan(item * d, d), 6, new SearchOptions { NProbe = probe, RefineFactor = RefineFactor });
        var similar = Enumerable.Range(0, result.K).Where(j => result.Ids[j] >= 0 && result.Ids[j] != item).Take(5)
            .Select(j => new SimilarItem(items[(int)result.Ids[j]], titleOf((int)result.Ids[j]), result.Scores[j])).ToList();
        return new SimilarItems(items[item], titleOf(item), probe, similar);
    }

}

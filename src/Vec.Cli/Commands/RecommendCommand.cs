using System.CommandLine;
using System.Diagnostics;
using Spectre.Console;
using Vec.Cli.Io;
using Vec.Cli.Output;
using Vec.Embed;
using Vec.Kernels;
using Vec.Rec;
using Vec.Rec.Models;

namespace Vec.Cli.Commands;

/// <summary>
/// <c>vecrec recommend</c>: fits a recommender on a MovieLens data set and prints top-k items for a user, a free-text
/// need (optionally personalised) or an item (more like this), each with a readable explanation.
/// </summary>
internal static class RecommendCommand
{
    /// <summary>One seen item behind a recommendation.</summary>
    internal sealed record BecauseJson(long ItemId, string Title, double Weight);

    /// <summary>One recommended item.</summary>
    internal sealed record ItemJson(int Rank, long ItemId, string Title, double Score, string Explanation, IReadOnlyList<BecauseJson> Because);

    /// <summary>What <c>--json</c> holds.</summary>
    internal sealed record RecommendReport(string Data, string Algorithm, string Mode, long? User, string? Text, long? Item, int K,
        string? Encoder, int Users, int Items, int Ratings, double FitSeconds, double? Alpha, IReadOnlyList<ItemJson> Results);

    public static Command Create(CliContext context)
    {
        var data = CliOptions.InputFolder("--data", "MovieLens folder (u.data + u.item, or ratings.csv + movies.csv). Default: $VECREC_SHARED/data/movielens-100k.", required: false);
        var format = new Option<string>("--format") { Description = "Data format.", DefaultValueFactory = _ => "ml100k" }.AcceptOnlyFromAmong("ml100k", "mlcsv");
        var algo = new Option<string>("--algo")
        {
            Description = "Recommender for --user (default ease; hybrid blends EASE with content embeddings and tunes the blend, slower). "
                + "--text and --item use the content side of content/hybrid, else a content model of their own.",
            DefaultValueFactory = _ => "ease",
            HelpName = "NAME",
        }.AcceptOnlyFromAmong([.. RecommenderRegistry.Names]);
        var user = new Option<long?>("--user") { Description = "User id: recommend for this user (their seen items are excluded).", HelpName = "ID" };
        var text = new Option<string?>("--text") { Description = "A need in words (\"space adventure with robots\"): items whose content matches it, blended with the user's profile when --user is given.", HelpName = "TEXT" };
        var item = new Option<long?>("--item") { Description = "Item id: more like this item (content similarity).", HelpName = "ID" };
        var k = CliOptions.Positive("--k", "Number of recommendations.", 10);
        var model = CliOptions.InputFolder("--model", "Sentence-transformers model folder for the content side (default: the model cache or VECREC_MODEL_DIR, else the hashing encoder).", required: false);
        var seed = new Option<int>("--seed") { Description = "Seed of models with randomness.", DefaultValueFactory = _ => 42 };
        var dimension = CliOptions.Positive("--dimension", "Buckets of the hashing encoder, used when no sentence-transformers model is found (smaller fits faster).", 1024)
            .Must(v => v <= HashingTextEncoderOptions.MaxDimension, $"must be at most {HashingTextEncoderOptions.MaxDimension}");
        var json = CliOptions.Json();
        var command = new Command("recommend", "Recommend items for a user, a free-text need or an item, with titles, scores and explanations.")
        {
            data, format, algo, user, text, item, k, model, seed, dimension, json,
        };
        command.Validators.Add(r =>
        {
            bool hasUser = r.GetResult(user) is not null, hasText = r.GetResult(text) is not null, hasItem = r.GetResult(item) is not null;
            if (!hasUser && !hasText && !hasItem) r.AddError("give --user ID, --text \"...\" or --item ID");
            else if (hasText && hasItem) r.AddError("--text and --item cannot be used together");
        });
        command.SetAction(parsed =>
        {
            string dataDir = parsed.GetValue(data)?.FullName ?? SharedPaths.MovieLens100K()
                ?? throw new CliException("no --data given and no shared/data/movielens-100k found (set VECREC_SHARED)");
            string algorithm = parsed.GetValue(algo)!;
            long? userId = parsed.GetValue(user), itemId = parsed.GetValue(item);
            string? need = parsed.GetValue(text);
            if (need is not null && string.IsNullOrWhiteSpace(need)) throw new CliException("--text is empty");
            int kValue = parsed.GetValue(k);

            RatingDataset dataset = Jobs.Run(context, "Loading ratings", _ => MovieLens.Load(dataDir, parsed.GetValue(format)!));
            Interactions train = Interactions.Build(dataset.Ratings, dataset.Users(), dataset.Items());
            context.Output.WriteLine(CliFiles.Inv($"{dataset.Source}: {train.UserCount} users, {train.ItemCount} items, {dataset.Ratings.Count} ratings"));
            int? u = null;
            if (userId is long uid)
            {
                int index = train.Users.IndexOf(uid);
                if (index < 0) throw new CliException(CliFiles.Inv($"user {uid} is not in {dataDir} ({train.UserCount} users)"));
                u = index;
            }

            int? seedItem = null;
            if (itemId is long iid)
            {
                int index = train.Items.IndexOf(iid);
                if (index < 0) throw new CliException(CliFiles.Inv($"item {iid} is not in {dataDir} ({train.ItemCount} items)"));
                seedItem = index;
            }

            bool contentMode = need is not null || itemId is not null;
            bool algoHasContent = algorithm is "content" or "hybrid";
            if (contentMode && !algoHasContent && parsed.GetResult(algo) is { Implicit: false })
                context.Output.WriteLine($"note: --text and --item rank by content similarity; --algo {algorithm} is not used for them");
            bool needsEncoder = algoHasContent || contentMode;
            using IVectorKernels kernels = KernelBackends.Create(KernelBackends.BestCpuName);
            using TextEncoder? encoder = needsEncoder
                ? Jobs.Run(context, "Preparing the text encoder", _ => TextEncoders.CreateDefault(parsed.GetValue(model)?.FullName, dataset.Catalog.Items.Select(i => i.EmbeddingText), hashingOptions: new HashingTextEncoderOptions { Dimension = parsed.GetValue(dimension) }))
                : null;
            if (encoder is not null) context.Output.WriteLine($"encoder: {encoder.ModelId}");
            var recContext = new RecommenderContext { Kernels = kernels, Encoder = encoder, Seed = parsed.GetValue(seed) };

            // --text / --item with a CF algorithm: only a content model (cosine of item vectors) is needed.
            string fitted = contentMode && !algoHasContent ? "content" : algorithm;
            using Recommender recommender = fitted == algorithm
                ? RecommenderRegistry.Create(algorithm, recContext)
                : new ContentRecommender(new ContentRecommenderOptions { Scoring = ContentScoring.Similarity }, encoder, kernels);
            var watch = Stopwatch.StartNew();
            Jobs.Run(context, CliFiles.Inv($"Fitting {fitted} on {dataset.Ratings.Count:N0} ratings"), _ => recommender.Fit(train, dataset.Catalog));
            double fitSeconds = watch.Elapsed.TotalSeconds;
            double? alpha = (recommender as HybridRecommender)?.Alpha;
            if (alpha is double a) context.Output.WriteLine(CliFiles.Inv($"hybrid blend: {a:0.##} CF + {1 - a:0.##} content (tuned on a validation split)"));

            {
                ContentRecommender Content() => recommender as ContentRecommender ?? (ContentRecommender)((HybridRecommender)recommender).Content;

                var explainer = new Explainer(train, dataset.Catalog);
                IReadOnlyList<Recommendation> recs;
                string mode, heading;
                Func<Recommendation, (string Text, IReadOnlyList<BecauseJson> Because)> explain;
                if (need is not null)
                {
                    ContentRecommender content = Content();
                    recs = content.RecommendForText(need, u, kValue);
                    mode = "text";
                    heading = $"items for \"{need}\"" + (userId is null ? "" : $", blended with user {userId}'s profile");
                    explain = r => explainer.ForText(content, u, r);
                }
                else if (seedItem is int s)
                {
                    ContentRecommender content = Content();
                    recs = content.RecommendSimilar(s, kValue, u);
                    mode = "item";
                    heading = $"more like {explainer.Title(s)}" + (userId is null ? "" : $", excluding what user {userId} has seen");
                    explain = r => explainer.ForSimilar(s, u, content, r);
                }
                else
                {
                    recs = recommender.Recommend(u!.Value, kValue);
                    mode = "user";
                    heading = CliFiles.Inv($"recommendations for user {userId} ({fitted}; {train.ItemsOf(u.Value).Length} rated items excluded)");
                    explain = r => explainer.ForUser(recommender, u.Value, r);
                }

                context.Output.WriteLine(heading);
                var table = new Table().AddColumns("Rank", "Item", "Title", "Score", "Why");
                table.Columns[0].RightAligned();
                table.Columns[1].RightAligned();
                table.Columns[3].RightAligned();
                var results = new List<ItemJson>();
                for (int i = 0; i < recs.Count; i++)
                {
                    Recommendation r = recs[i];
                    (string why, IReadOnlyList<BecauseJson> because) = explain(r);
                    long id = train.Items[r.Item];
                    string title = explainer.Title(r.Item);
                    results.Add(new ItemJson(i + 1, id, title, r.Score, why, because));
                    table.AddRow(Markup.Escape(CliFiles.Inv($"{i + 1}")), Markup.Escape(CliFiles.Inv($"{id}")), Markup.Escape(title),
                        Markup.Escape(CliFiles.Inv($"{r.Score:0.000}")), Markup.Escape(why));
                }

                if (results.Count == 0) context.Output.WriteLine("no items to recommend");
                else context.Console.Write(table);
                if (parsed.GetValue(json) is { } jsonFile)
                {
                    CliJson.Write(context, jsonFile.FullName, new RecommendReport(dataset.Source, fitted, mode, userId, need, itemId, kValue,
                        encoder?.ModelId, train.UserCount, train.ItemCount, dataset.Ratings.Count, fitSeconds, alpha, results));
                }
            }

            return 0;
        });
        return command;
    }

    /// <summary>Turns a model's contributions into sentences with titles, with the genres as the fallback feature.</summary>
    private sealed class Explainer(Interactions train, ItemCatalog catalog)
    {
        public string Title(int item) => catalog.TryGet(train.Items[item], out CatalogItem? c) ? c.Title : CliFiles.Inv($"item {train.Items[item]}");

        private IReadOnlyList<string> Genres(int item) => catalog.TryGet(train.Items[item], out CatalogItem? c) ? c.Genres : [];

        public (string, IReadOnlyList<BecauseJson>) ForUser(Recommender model, int user, Recommendation r)
        {
            IReadOnlyList<BecauseJson> because = Because(model.Explain(user, r.Item, 3));
            if (because.Count > 0) return ("because you rated " + Join(because.Select(b => b.Title)), because);
            string genres = UserGenres(user, r.Item);
            if (genres.Length > 0) return ($"genres you watch: {genres}", because);
            int raters = train.Transpose().ItemsOf(r.Item).Length;
            return (CliFiles.Inv($"popular: rated by {raters} users"), because);
        }

        public (string, IReadOnlyList<BecauseJson>) ForText(ContentRecommender content, int? user, Recommendation r)
        {
            string text = CliFiles.Inv($"matches the text (cosine {r.Score:0.00})");
            IReadOnlyList<string> genres = Genres(r.Item);
            if (genres.Count > 0) text += $"; {string.Join(", ", genres)}";
            IReadOnlyList<BecauseJson> because = [];
            if (user is int u && train.ItemsOf(u).Length > 0)
            {
                because = Because(content.Explain(u, r.Item, 2));
                if (because.Count > 0) text += "; like " + Join(because.Select(b => b.Title)) + ", which you rated";
            }

            return (text, because);
        }

        public (string, IReadOnlyList<BecauseJson>) ForSimilar(int seed, int? user, ContentRecommender content, Recommendation r)
        {
            var shared = Genres(r.Item).Intersect(Genres(seed), StringComparer.Ordinal).ToArray();
            string text = CliFiles.Inv($"similar to {Title(seed)} ({r.Score:0.00})");
            if (shared.Length > 0) text += $"; shared genres: {string.Join(", ", shared)}";
            IReadOnlyList<BecauseJson> because = [];
            if (user is int u && train.ItemsOf(u).Length > 0)
            {
                because = Because(content.Explain(u, r.Item, 2));
                if (because.Count > 0) text += "; you also rated " + Join(because.Select(b => b.Title));
            }

            return (text, because);
        }

        private BecauseJson[] Because(IReadOnlyList<Contribution> contributions) =>
            [.. contributions.Where(c => c.Weight > 0 && float.IsFinite(c.Weight)).Select(c => new BecauseJson(train.Items[c.Item], Title(c.Item), c.Weight))];

        private string UserGenres(int user, int item)
        {
            var counts = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (int seen in train.ItemsOf(user))
            {
                foreach (string g in Genres(seen)) counts[g] = counts.GetValueOrDefault(g) + 1;
            }

            return string.Join(", ", Genres(item).Where(counts.ContainsKey).OrderByDescending(g => counts[g]).Take(3));
        }

        private static string Join(IEnumerable<string> parts)
        {
            string[] p = [.. parts];
            return p.Length <= 1 ? string.Concat(p) : string.Join(", ", p[..^1]) + " and " + p[^1];
        }
    }
}

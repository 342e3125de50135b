using System.CommandLine;
using System.Diagnostics;
using Spectre.Console;
using Vec.Cli.Io;
using Vec.Cli.Output;
using Vec.Embed;

namespace Vec.Cli.Commands;

/// <summary><c>vecrec model download</c> and <c>vecrec model list</c>: the sentence-transformers model cache (<see cref="ModelStore"/>).</summary>
internal static class ModelCommand
{
    /// <summary>One model folder.</summary>
    internal sealed record ModelJson(string Name, string Revision, string Source, string Folder, long Bytes, int Files, bool Complete, bool Default);

    /// <summary>What <c>model list --json</c> holds.</summary>
    internal sealed record ListReport(string Cache, string? EnvironmentFolder, IReadOnlyList<ModelJson> Models, string? DefaultFolder, string DefaultEncoder);

    /// <summary>What <c>model download --json</c> holds.</summary>
    internal sealed record DownloadReport(string Name, string Revision, string Endpoint, string Folder, int Files, long Bytes, double Seconds, bool Verified);

    public static Command Create(CliContext context)
    {
        var command = new Command("model", "Download and list sentence-transformers models in the model cache.");
        command.Subcommands.Add(CreateList(context));
        command.Subcommands.Add(CreateDownload(context));
        return command;
    }

    private static Option<DirectoryInfo?> Cache() => new("--cache")
    {
        Description = "Model cache folder (default: $VECREC_MODEL_CACHE, else ~/.cache/vecrec/models).",
        HelpName = "DIR",
    };

    private static Command CreateList(CliContext context)
    {
        var cache = Cache();
        var json = CliOptions.Json();
        var command = new Command("list", $"List the models in the cache and in ${TextEncoders.ModelDirectoryVariable}: size, files, complete or not, and which one the default encoder would use.")
        {
            cache, json,
        };
        command.SetAction(parsed =>
        {
            var store = new ModelStore(new ModelStoreOptions { CacheDirectory = parsed.GetValue(cache)?.FullName });
            string? env = Environment.GetEnvironmentVariable(TextEncoders.ModelDirectoryVariable);
            string? pick = null;
            string? pickProblem = null;
            try
            {
                pick = TextEncoders.FindModelFolder(null, store);
            }
            catch (DirectoryNotFoundException e)
            {
                pickProblem = e.Message;
            }

            var models = new List<ModelJson>();
            if (!string.IsNullOrWhiteSpace(env))
            {
                string full = Path.GetFullPath(env);
                bool exists = Directory.Exists(full);
                bool complete = exists && HasModelFiles(full);
                models.Add(new ModelJson(Path.GetFileName(full.TrimEnd(Path.DirectorySeparatorChar)), "-", TextEncoders.ModelDirectoryVariable, full,
                    exists ? FolderBytes(full) : 0, exists ? FileCount(full) : 0, complete, Same(pick, full)));
            }

            foreach (CachedModel m in store.ListLocal())
            {
                models.Add(new ModelJson(m.Repo, m.Revision, "cache", m.Folder, m.TotalBytes, FileCount(m.Folder), m.Complete, Same(pick, m.Folder)));
            }

            context.Output.WriteLine($"model cache: {store.CacheDirectory}");
            if (models.Count == 0)
            {
                context.Output.WriteLine($"no models (download one with 'vecrec model download {TextEncoders.DefaultModel}')");
            }
            else
            {
                var table = new Table().AddColumns("Model", "Revision", "Source", "Size", "Files", "Complete", "Default", "Folder");
                foreach (ModelJson m in models)
                {
                    table.AddRow(Markup.Escape(m.Name), Markup.Escape(m.Revision), Markup.Escape(m.Source), Markup.Escape(CliFiles.Bytes(m.Bytes)),
                        Markup.Escape(CliFiles.Inv($"{m.Files}")), m.Complete ? "yes" : "no", m.Default ? "*" : "", Markup.Escape(m.Folder));
                }

                context.Console.Write(table);
            }

            string defaultEncoder = pickProblem is not null
                ? $"none: {pickProblem}"
                : pick is null
                    ? $"the hashing encoder (no {TextEncoders.DefaultModel} in the cache and {TextEncoders.ModelDirectoryVariable} unset)"
                    : $"the model in {pick}";
            context.Output.WriteLine($"default encoder: {defaultEncoder}");
            if (parsed.GetValue(json) is { } jsonFile)
            {
                CliJson.Write(context, jsonFile.FullName, new ListReport(store.CacheDirectory, env, models, pick, defaultEncoder));
            }

            return 0;
        });
        return command;
    }

    private static Command CreateDownload(CliContext context)
    {
        var name = new Argument<string>("NAME")
        {
            Description = $"Hub repository, owner/name; a bare name means sentence-transformers/NAME. Default: {TextEncoders.DefaultModel}.",
            DefaultValueFactory = _ => TextEncoders.DefaultModel,
        };
        var revision = new Option<string>("--revision") { Description = "Branch, tag or commit.", DefaultValueFactory = _ => ModelStore.DefaultRevision, HelpName = "R" };
        var cache = Cache();
        var endpoint = new Option<Uri?>("--endpoint")
        {
            Description = "Hub address (default: $HF_ENDPOINT, else https://huggingface.co), e.g. a mirror.",
            HelpName = "URL",
            CustomParser = r =>
            {
                string text = r.Tokens.Count > 0 ? r.Tokens[0].Value : "";
                if (Uri.TryCreate(text, UriKind.Absolute, out Uri? uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)) return uri;
                r.AddError($"--endpoint '{text}' is not an absolute http or https address");
                return null;
            },
        };
        var json = CliOptions.Json();
        var command = new Command("download", "Download a sentence-transformers model (ONNX, vocabulary, configs) into the cache, verified by size and hash; resumes interrupted downloads.")
        {
            name, revision, cache, endpoint, json,
        };
        command.SetAction(parsed =>
        {
            string repo = parsed.GetValue(name)!.Trim();
            if (!repo.Contains('/', StringComparison.Ordinal)) repo = "sentence-transformers/" + repo;
            string rev = parsed.GetValue(revision)!;
            var store = new ModelStore(new ModelStoreOptions
            {
                CacheDirectory = parsed.GetValue(cache)?.FullName,
                Endpoint = parsed.GetValue(endpoint),
            });
            context.Output.WriteLine($"downloading {repo} at {rev} from {store.Endpoint} into {store.CacheDirectory}");
            var watch = Stopwatch.StartNew();
            string folder = context.Interactive
                ? DownloadWithBars(context, store, repo, rev)
                : Download(context, store, repo, rev, new LineProgress(context.Output));
            double seconds = watch.Elapsed.TotalSeconds;
            int files = FileCount(folder);
            long bytes = FolderBytes(folder);
            context.Output.WriteLine(CliFiles.Inv($"{repo}: {files} files, {CliFiles.Bytes(bytes)}, verified, in {seconds:F1} s"));
            context.Output.WriteLine($"folder: {folder}");
            if (parsed.GetValue(json) is { } jsonFile)
            {
                CliJson.Write(context, jsonFile.FullName, new DownloadReport(repo, rev, store.Endpoint.ToString(), folder, files, bytes, seconds, true));
            }

            return 0;
        });
        return command;
    }

    private static string Download(CliContext context, ModelStore store, string repo, string revision, IProgress<ModelDownloadProgress> progress)
    {
        _ = context;
        return Task.Run(() => store.DownloadAsync(repo, revision, null, progress)).GetAwaiter().GetResult();
    }

    /// <summary>One Spectre progress bar per file, in bytes, with the transfer speed.</summary>
    private static string DownloadWithBars(CliContext context, ModelStore store, string repo, string revision)
    {
        string folder = "";
        context.Console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new DownloadedColumn(), new TransferSpeedColumn())
            .Start(ctx =>
            {
                var tasks = new Dictionary<string, ProgressTask>(StringComparer.Ordinal);
                var progress = new SyncProgress(p =>
                {
                    lock (tasks)
                    {
                        if (!tasks.TryGetValue(p.FilePath, out ProgressTask? task))
                        {
                            task = ctx.AddTask(Markup.Escape(p.FilePath), maxValue: Math.Max(1, p.BytesTotal));
                            tasks[p.FilePath] = task;
                        }

                        task.Value = p.BytesDone;
                    }
                });
                folder = Download(context, store, repo, revision, progress);
                lock (tasks)
                {
                    foreach (ProgressTask task in tasks.Values) task.Value = task.MaxValue;
                }
            });
        return folder;
    }

    private static bool Same(string? a, string b) => a is not null && string.Equals(Path.GetFullPath(a).TrimEnd(Path.DirectorySeparatorChar), Path.GetFullPath(b).TrimEnd(Path.DirectorySeparatorChar), StringComparison.Ordinal);

    private static IEnumerable<FileInfo> ModelFiles(string folder) =>
        new DirectoryInfo(folder).EnumerateFiles("*", SearchOption.AllDirectories).Where(f => !f.Name.StartsWith('.') && !f.Name.EndsWith(".partial", StringComparison.Ordinal));

    private static int FileCount(string folder) => Directory.Exists(folder) ? ModelFiles(folder).Count() : 0;

    private static long FolderBytes(string folder) => Directory.Exists(folder) ? ModelFiles(folder).Sum(f => f.Length) : 0;

    private static bool HasModelFiles(string folder) =>
        (File.Exists(Path.Combine(folder, "model.onnx")) || File.Exists(Path.Combine(folder, "onnx", "model.onnx")))
        && File.Exists(Path.Combine(folder, "vocab.txt")) && File.Exists(Path.Combine(folder, "config.json"));

    /// <summary>Reports synchronously (<see cref="Progress{T}"/> would post to the thread pool).</summary>
    private sealed class SyncProgress(Action<ModelDownloadProgress> report) : IProgress<ModelDownloadProgress>
    {
        public void Report(ModelDownloadProgress value) => report(value);
    }

    /// <summary>Without a terminal: one line per finished file.</summary>
    private sealed class LineProgress(TextWriter output) : IProgress<ModelDownloadProgress>
    {
        private readonly HashSet<string> _done = new(StringComparer.Ordinal);

        public void Report(ModelDownloadProgress value)
        {
            if (value.BytesDone < value.BytesTotal) return;
            lock (_done)
            {
                if (_done.Add(value.FilePath))
                    output.WriteLine(CliFiles.Inv($"  {value.FilePath}: {CliFiles.Bytes(value.BytesTotal)} ({value.FilesDone}/{value.FilesTotal})"));
            }
        }
    }
}

using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Vec.Embed;

namespace Vec.Bench;

/// <summary>
/// <c>embed</c>: sentences per second of <see cref="OnnxTextEncoder"/> on the MovieLens-100k titles and on generated
/// paragraphs, per batch size; the share of time spent outside ONNX Runtime; dynamic versus fixed padding on mixed
/// lengths; optionally the same token ids through the PyTorch peer (<c>bench/peers/minilm_torch.py</c>) in the same run.
/// </summary>
internal static class EmbedBench
{
    private const string Usage = "usage: Vec.Bench embed [--model DIR] [--threads N] [--batch-sizes 1,8,32,128,256] [--repeats N] [--max-batch-tokens N] [--peer] [--python PATH] [--quick] [--json FILE]";

    public static int Run(string[] args)
    {
        string model = Path.Combine(Data.SharedDirectory(), "models", "all-MiniLM-L6-v2");
        int threads = Math.Min(2, Environment.ProcessorCount);
        int repeats = 3;
        int[] batchSizes = [1, 8, 32, 128, 256];
        bool quick = false, peer = false;
        string python = "/usr/bin/python3";
        string? json = null;
        int? maxBatchTokens = null;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--model": model = BenchCli.Value(args, ref i); break;
                case "--threads": threads = BenchCli.Positive(args, ref i); break;
                case "--repeats": repeats = BenchCli.Positive(args, ref i); break;
                case "--batch-sizes":
                    batchSizes = [.. BenchCli.Value(args, ref i).Split(',').Select(s => int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int b) && b > 0 ? b : throw new ArgumentException($"bad batch size '{s}'", nameof(args)))];
                    break;
                case "--peer": peer = true; break;
                case "--max-batch-tokens": maxBatchTokens = BenchCli.Positive(args, ref i); break;
                case "--python": python = BenchCli.Value(args, ref i); break;
                case "--quick": quick = true; break;
                case "--json": json = BenchCli.Value(args, ref i); break;
                default: throw new ArgumentException($"unknown option '{args[i]}'\n{Usage}", nameof(args));
            }
        }

        if (quick) repeats = 1;
        string[] titles = Titles();
        string[] paragraphs = Paragraphs(quick ? 100 : 1000, seed: 11);
        string[] mixed = Mixed(titles, paragraphs, quick ? 100 : 1000, seed: 12);
        if (quick) titles = titles[..300];

        var report = new EmbedReport(MachineInfo.Current(threads, ["simd"]), Path.GetFullPath(model), threads, repeats, quick, [], [], null);
        Console.WriteLine($"# embed: all-MiniLM-L6-v2 through ONNX Runtime, {threads} threads{BenchCli.SmokeNote(quick)}");
        Console.WriteLine($"# {report.Machine.Cpu}; {report.Machine.Runtime}");
        Console.WriteLine();
        Console.WriteLine("| set | texts | mean tokens | batch | padding | texts/s | outside ORT | tokenise | pool+norm | alloc B/text | peer texts/s | ratio |");
        Console.WriteLine("|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|");

        foreach ((string name, string[] texts) in new[] { ("ml100k-titles", titles), ("paragraphs-100-300w", paragraphs) })
        {
            double meanTokens;
            // (Peer and VecRec both use `threads` cores.)
            Dictionary<int, double>? peerRates = null;
            using (var probe = new OnnxTextEncoder(model, new OnnxEncoderOptions { IntraOpThreads = threads }))
            {
                int[][] ids = [.. texts.Select(probe.Tokenize)];
                meanTokens = ids.Average(t => t.Length);
                if (peer) peerRates = RunPeer(python, model, name, ids, batchSizes, threads, repeats, probe.Encode(texts), report);
            }

            foreach (int b in batchSizes)
            {
                EmbedRow row = Measure(model, name, texts, meanTokens, b, threads, repeats, dynamic: true, maxBatchTokens);
                if (peerRates is not null && peerRates.TryGetValue(b, out double p)) row = row with { PeerTextsPerSecond = p, Ratio = row.TextsPerSecond / p };
                Print(row);
                report.Rows.Add(row);
            }
        }

        // Batch-level versus intra-op parallelism (the encoder's default is one batch per core).
        foreach ((string name, string[] texts) in new[] { ("ml100k-titles", titles), ("paragraphs-100-300w", paragraphs) })
        {
            double tokens = report.Rows.First(r => r.Set == name).MeanTokens;
            EmbedRow row = Measure(model, name, texts, tokens, 32, threads, repeats, dynamic: true, null, intraOp: true);
            Print(row);
            report.Rows.Add(row);
        }

        // The token cap's effect: long paragraphs in large batches without it.
        double paragraphTokens = report.Rows.First(r => r.Set == "paragraphs-100-300w").MeanTokens;
        foreach (int b in batchSizes.Where(b => b >= 32))
        {
            EmbedRow row = Measure(model, "paragraphs-100-300w", paragraphs, paragraphTokens, b, threads, repeats, dynamic: true, 0);
            Print(row);
            report.Rows.Add(row);
        }

        // Dynamic versus fixed padding on mixed lengths, batch 32.
        double mixedTokens;
        using (var probe = new OnnxTextEncoder(model)) mixedTokens = mixed.Average(t => probe.Tokenize(t).Length);
        EmbedRow fixedRow = Measure(model, "mixed", mixed, mixedTokens, 32, threads, repeats, dynamic: false, maxBatchTokens);
        EmbedRow dynamicRow = Measure(model, "mixed", mixed, mixedTokens, 32, threads, repeats, dynamic: true, maxBatchTokens);
        Print(fixedRow);
        Print(dynamicRow);
        report.Rows.Add(fixedRow);
        report.Rows.Add(dynamicRow);
        Console.WriteLine();
        Console.WriteLine($"dynamic padding speed-up on mixed lengths (batch 32): {dynamicRow.TextsPerSecond / fixedRow.TextsPerSecond:F2}x");
        report = report with { DynamicPaddingSpeedup = dynamicRow.TextsPerSecond / fixedRow.TextsPerSecond };
        foreach (string note in report.Notes) Console.WriteLine(note);

        if (json is not null) BenchCli.WriteReport(json, report, Markdown(report), Console.Out);
        return 0;
    }

    private static void Print(EmbedRow r) => Console.WriteLine(Row(r));

    private static string Row(EmbedRow r) => string.Create(CultureInfo.InvariantCulture,
        $"| {r.Set} | {r.Texts} | {r.MeanTokens:F1} | {r.BatchSize} | {(r.DynamicPadding ? "dynamic" : "fixed 256")}{(r.MaxBatchTokens == 0 ? ", no token cap" : "")}{(r.IntraOpParallel ? ", 1 batch x 2 intra-op threads" : "")} | {r.TextsPerSecond:F1} | {r.OutsideOrtShare:P1} | {r.TokenizeShare:P1} | {r.PoolShare:P2} | {r.AllocatedBytesPerText:F0} | {(r.PeerTextsPerSecond is double p ? p.ToString("F1", CultureInfo.InvariantCulture) : "")} | {(r.Ratio is double x ? x.ToString("F2", CultureInfo.InvariantCulture) + "x" : "")} |");

    private static string Markdown(EmbedReport report)
    {
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"# embed: all-MiniLM-L6-v2, {report.Threads} threads{BenchCli.SmokeNote(report.Quick)}");
        sb.AppendLine();
        sb.AppendLine(CultureInfo.InvariantCulture, $"{report.Machine.Cpu}; {report.Machine.Runtime}; best of {report.Repeats} passes over the whole set; one batch per core, each with one ONNX Runtime thread, unless a row says otherwise; at most {OnnxEncoderOptions.DefaultCpuBatchTokens} padded tokens per ONNX Runtime call unless a row says \"no token cap\".");
        sb.AppendLine();
        sb.AppendLine("| set | texts | mean tokens | batch | padding | texts/s | outside ORT | tokenise | pool+norm | alloc B/text | peer texts/s | ratio |");
        sb.AppendLine("|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (EmbedRow r in report.Rows) sb.AppendLine(Row(r));
        sb.AppendLine();
        if (report.DynamicPaddingSpeedup is double s) sb.AppendLine(CultureInfo.InvariantCulture, $"Dynamic padding speed-up on mixed lengths (batch 32): {s:F2}x.");
        foreach (string note in report.Notes) sb.AppendLine().AppendLine(note);
        return sb.ToString();
    }

    private static EmbedRow Measure(string model, string set, string[] texts, double meanTokens, int batch, int threads, int repeats, bool dynamic, int? maxBatchTokens, bool intraOp = false)
    {
        // threads cores in all: one batch per core with one intra-op thread each (the encoder's default), or with
        // intraOp > 1 one batch at a time across the cores.
        using var enc = new OnnxTextEncoder(model, new OnnxEncoderOptions
        {
            BatchSize = batch, DynamicPadding = dynamic, MaxBatchTokens = maxBatchTokens,
            IntraOpThreads = intraOp ? threads : 1, ConcurrentBatches = intraOp ? 1 : threads,
        });
        var rows = new float[texts.Length * enc.Dimension];
        enc.Encode(texts.Take(Math.Min(texts.Length, 2 * batch)).ToArray(), rows); // warm-up: session, workspace, JIT
        double best = double.MaxValue;
        (TimeSpan Tokenize, TimeSpan Run, TimeSpan Pool, TimeSpan Total) split = default;
        long allocated = 0;
        for (int r = 0; r < repeats; r++)
        {
            enc.ResetTimings();
            long a0 = GC.GetAllocatedBytesForCurrentThread();
            long t0 = Stopwatch.GetTimestamp();
            enc.Encode(texts, rows);
            double seconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
            long a1 = GC.GetAllocatedBytesForCurrentThread();
            if (seconds < best)
            {
                best = seconds;
                split = enc.Timings;
                allocated = a1 - a0;
            }
        }

        // Shares of CPU time (run and pool times are summed over the concurrent batches).
        double total = split.Tokenize.TotalSeconds + split.Run.TotalSeconds + split.Pool.TotalSeconds;
        return new EmbedRow(set, texts.Length, meanTokens, batch, dynamic, maxBatchTokens ?? OnnxEncoderOptions.DefaultCpuBatchTokens, intraOp, texts.Length / best,
            (total - split.Run.TotalSeconds) / total, split.Tokenize.TotalSeconds / total, split.Pool.TotalSeconds / total,
            (double)allocated / texts.Length, null, null);
    }

    /// <summary>Runs the PyTorch peer on the same token ids; returns texts/s per batch size and notes the embeddings' agreement.</summary>
    private static Dictionary<int, double>? RunPeer(string python, string model, string set, int[][] ids, int[] batchSizes, int threads, int repeats, float[] ours, EmbedReport report)
    {
        string script = Path.Combine(Data.RepoRoot(), "bench", "peers", "minilm_torch.py");
        string dir = Directory.CreateTempSubdirectory("vecrec-embed-peer-").FullName;
        try
        {
            string idsPath = Path.Combine(dir, "ids.bin"), jsonPath = Path.Combine(dir, "peer.json"), embPath = Path.Combine(dir, "emb.bin");
            using (var w = new BinaryWriter(File.Create(idsPath)))
            {
                w.Write(ids.Length);
                foreach (int[] t in ids)
                {
                    w.Write(t.Length);
                    foreach (int id in t) w.Write(id);
                }
            }

            var psi = new ProcessStartInfo(python) { RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (string a in new[] { script, "--model", model, "--ids", idsPath, "--texts-name", set, "--threads", threads.ToString(CultureInfo.InvariantCulture),
                         "--batch-sizes", string.Join(',', batchSizes), "--repeats", repeats.ToString(CultureInfo.InvariantCulture), "--json", jsonPath, "--embeddings-out", embPath })
                psi.ArgumentList.Add(a);
            using Process p = Process.Start(psi)!;
            string stdout = p.StandardOutput.ReadToEnd();
            string stderr = p.StandardError.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0)
            {
                report.Notes.Add($"PyTorch peer failed on {set} (exit {p.ExitCode}): {stderr.Trim().Split('\n').LastOrDefault()}");
                return null;
            }

            using JsonDocument doc = JsonDocument.Parse(File.ReadAllBytes(jsonPath));
            var rates = new Dictionary<int, double>();
            foreach (JsonElement r in doc.RootElement.GetProperty("results").EnumerateArray())
                rates[r.GetProperty("batch_size").GetInt32()] = r.GetProperty("texts_per_s").GetDouble();
            string peerName = doc.RootElement.TryGetProperty("peer", out JsonElement pn) ? pn.GetString() ?? "torch" : "torch";
            byte[] raw = File.ReadAllBytes(embPath);
            double worst = 0;
            if (raw.Length == ours.Length * 4)
            {
                for (int i = 0; i < ours.Length; i++)
                    worst = Math.Max(worst, Math.Abs(BinaryPrimitives.ReadSingleLittleEndian(raw.AsSpan(i * 4)) - ours[i]));
                report.Notes.Add(string.Create(CultureInfo.InvariantCulture, $"Peer on {set}: {peerName}; same token ids; max abs difference of the embeddings from VecRec's: {worst:E2}."));
            }
            else
            {
                report.Notes.Add($"Peer on {set}: {peerName}; its embeddings file has {raw.Length} bytes, expected {ours.Length * 4}.");
            }

            return rates;
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    /// <summary>The 1,682 MovieLens-100k titles (u.item, latin-1, second field).</summary>
    private static string[] Titles()
    {
        string path = Path.Combine(Data.SharedDirectory(), "data", "movielens-100k", "u.item");
        return [.. File.ReadAllLines(path, Encoding.Latin1).Where(l => l.Length > 0).Select(l => l.Split('|')[1])];
    }

    private static readonly string[] Words = ("the of and a to in is was it for on with as his he at by that from this be are an which or had " +
        "film story movie director character plot scene actor actress music score camera light night city world love war family friend " +
        "young old man woman child father mother brother sister life death time year day home road journey dream memory secret truth " +
        "begins finds discovers returns travels fights loves loses learns meets escapes follows remembers builds breaks saves changes " +
        "beautiful dark funny strange quiet brilliant violent gentle bitter tender wild lonely famous forgotten small ancient modern " +
        "space ship planet robot island ocean mountain forest village school hospital prison police detective soldier king queen " +
        "comedy drama thriller romance adventure mystery horror western musical documentary animation fantasy science fiction crime " +
        "performance dialogue screenplay cinematography soundtrack audience critic festival award sequel remake classic independent").Split(' ');

    /// <summary>Deterministic paragraphs of 100 to 300 words, in sentences of 6 to 22 words.</summary>
    internal static string[] Paragraphs(int count, int seed)
    {
        var rng = new Random(seed);
        var result = new string[count];
        var sb = new StringBuilder();
        for (int i = 0; i < count; i++)
        {
            sb.Clear();
            int words = rng.Next(100, 301);
            int inSentence = 0, sentence = rng.Next(6, 23);
            for (int w = 0; w < words; w++)
            {
                string word = Words[rng.Next(Words.Length)];
                if (inSentence == 0) word = char.ToUpperInvariant(word[0]) + word[1..];
                sb.Append(word);
                if (++inSentence == sentence || w == words - 1)
                {
                    sb.Append(rng.Next(5) == 0 ? "! " : ". ");
                    inSentence = 0;
                    sentence = rng.Next(6, 23);
                }
                else
                {
                    sb.Append(rng.Next(12) == 0 ? ", " : " ");
                }
            }

            result[i] = sb.ToString().TrimEnd();
        }

        return result;
    }

    /// <summary>Short titles and long paragraphs interleaved at random: the case dynamic padding is for.</summary>
    private static string[] Mixed(string[] titles, string[] paragraphs, int count, int seed)
    {
        var rng = new Random(seed);
        return [.. Enumerable.Range(0, count).Select(i => i % 4 == 0 ? paragraphs[rng.Next(paragraphs.Length)] : titles[rng.Next(titles.Length)]).OrderBy(_ => rng.Next())];
    }

    private sealed record EmbedRow(string Set, int Texts, double MeanTokens, int BatchSize, bool DynamicPadding, int MaxBatchTokens, bool IntraOpParallel, double TextsPerSecond,
        double OutsideOrtShare, double TokenizeShare, double PoolShare, double AllocatedBytesPerText, double? PeerTextsPerSecond, double? Ratio);

    private sealed record EmbedReport(MachineInfo Machine, string Model, int Threads, int Repeats, bool Quick, List<EmbedRow> Rows, List<string> Notes, double? DynamicPaddingSpeedup);
}

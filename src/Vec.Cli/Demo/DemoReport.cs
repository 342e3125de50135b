using System.Globalization;
using System.Text;
using System.Text.Json;
using ScottPlot;
using Spectre.Console;
using Vec.Cli.Output;
using Vec.Internals;

using static Vec.Cli.Io.CliFiles;

namespace Vec.Cli.Demo;

/// <summary>The demo's console tables and its report folder: report.md, PNG charts and results.json.</summary>
internal static class DemoReport
{
    public const string MetricsChart = "metrics.png", ColdChart = "cold-start.png", TimingChart = "timings.png", RecallChart = "recall-nprobe.png";
    public const string Markdown = "report.md", Json = "results.json";

    /// <summary>The chart files, in the order the report shows them.</summary>
    public static readonly string[] Charts = [MetricsChart, ColdChart, RecallChart, TimingChart];

    /// <summary>Prints the evaluation, the index and the samples to the console.</summary>
    public static void Print(CliContext context, DemoResults r)
    {
        IAnsiConsole console = context.Console;
        int k = r.Settings.K;
        console.Write(MetricTable($"Warm items: {r.Summary.WarmTestUsers} users, {r.Summary.TestInteractions} held-out interactions", r.Warm, k));
        if (r.Cold.Count > 0)
        {
            console.Write(MetricTable($"Cold start: {r.Summary.ColdItems} new items, {r.Summary.ColdTestUsers} users, {r.Summary.ColdInteractions} interactions", r.Cold, k));
            context.Output.WriteLine(Inv($"random P@{k} on the cold items: {r.RandomColdPrecision:F4} (expected value)"));
        }

        context.Output.WriteLine(Inv($"hybrid: alpha {r.HybridAlpha:F2} (CF weight, tuned on a validation split of the training data)"));
        var ix = new Spectre.Console.Table().AddColumns("nprobe", "recall@10 PQ", "µs/query", $"recall@10 PQ + refine x{DemoPipeline.RefineFactor}", "µs/query");
        ix.Title = new TableTitle(Markup.Escape(Inv($"IVF-PQ over {r.Index.Vectors} item vectors: {r.Index.Lists} lists, {r.Index.SubQuantizers} x {r.Index.Bits} bits, {r.Index.BytesPerVector:F0} B/vector (flat {r.Index.FlatBytesPerVector:F0}), train {r.Index.TrainSeconds:F2} s, add {r.Index.AddSeconds:F2} s")));
        foreach (RecallPoint p in r.Index.Recall)
            ix.AddRow(p.NProbe.ToString(CultureInfo.InvariantCulture), Inv($"{p.RecallAt10:F3}"), Inv($"{p.MicrosecondsPerQuery:F1}"), Inv($"{p.RefinedRecallAt10:F3}"), Inv($"{p.RefinedMicrosecondsPerQuery:F1}"));
        console.Write(ix);

        foreach (UserSample u in r.Samples)
        {
            context.Output.WriteLine();
            context.Output.WriteLine($"user {u.User}{(u.Taste.Count > 0 ? $" (true taste: {string.Join(", ", u.Taste)})" : "")}");
            context.Output.WriteLine($"  recently: {string.Join("; ", u.RecentHistory)}");
            foreach (Recommended rec in u.Recommendations)
            {
                string because = rec.Because.Count > 0 ? $" because you liked {string.Join(" and ", rec.Because)}" : "";
                context.Output.WriteLine(Inv($"  {(rec.Hit ? "✓" : "·")} {rec.Title}{(rec.New ? " [new]" : "")}  {rec.Score:F3}{because}"));
            }
        }

        context.Output.WriteLine();
        context.Output.WriteLine($"more like \"{r.MoreLikeThis.Title}\" (IVF-PQ, nprobe {r.MoreLikeThis.NProbe}):");
        foreach (SimilarItem s in r.MoreLikeThis.Items) context.Output.WriteLine(Inv($"  {s.Title}  {s.Score:F3}"));
        context.Output.WriteLine($"text query \"{r.Query.Text}\" (IVF-PQ):");
        foreach (SimilarItem s in r.Query.Anonymous) context.Output.WriteLine(Inv($"  {s.Title}  {s.Score:F3}"));
        context.Output.WriteLine($"the same query for user {r.Query.PersonalisedFor} (content model, blended with the user's profile):");
        foreach (SimilarItem s in r.Query.Personalised) context.Output.WriteLine(Inv($"  {s.Title}  {s.Score:F3}"));
        foreach (string note in r.Notes) context.Output.WriteLine($"note: {note}");
        if (context.Verbose)
        {
            var steps = new Spectre.Console.Table().AddColumns("step", "wall s", "CPU s");
            foreach (StepTiming t in r.Timings) steps.AddRow(Markup.Escape(t.Step), Inv($"{t.Seconds:F2}"), Inv($"{t.CpuSeconds:F2}"));
            console.Write(steps);
        }

        context.Output.WriteLine();
    }

    private static Spectre.Console.Table MetricTable(string title, IReadOnlyList<ModelScore> rows, int k)
    {
        var table = new Spectre.Console.Table { Title = new TableTitle(Markup.Escape(title)) };
        table.AddColumns("model", $"P@{k}", $"R@{k}", $"nDCG@{k}", "MAP", "hit rate", "coverage", "fit s");
        foreach (ModelScore m in rows)
        {
            table.AddRow(m.Model, F4(m.Precision), F4(m.Recall), F4(m.Ndcg), F4(m.Map), F4(m.HitRate), F4(m.Coverage), Inv($"{m.FitSeconds:F2}"));
        }

        return table;
    }

    /// <summary>Writes the charts and report.md (and results.json when asked) into <paramref name="folder"/>.</summary>
    public static void Write(DemoResults r, string folder, bool writeJson)
    {
        Directory.CreateDirectory(folder);
        int k = r.Settings.K;
        string[] metricNames = [$"P@{k}", $"R@{k}", $"nDCG@{k}", "MAP"];
        Grouped(Path.Combine(folder, MetricsChart), $"Warm items: ranking metrics per model (k={k})", [.. r.Warm.Select(m => m.Model)], metricNames,
            [.. r.Warm.Select(m => new[] { m.Precision, m.Recall, m.Ndcg, m.Map })]);
        Grouped(Path.Combine(folder, ColdChart), $"Cold start: {r.Summary.ColdItems} new items (k={k})", [.. r.Cold.Select(m => m.Model)], metricNames,
            [.. r.Cold.Select(m => new[] { m.Precision, m.Recall, m.Ndcg, m.Map })]);
        RecallPlot(Path.Combine(folder, RecallChart), r.Index);
        Plots.Bars(Path.Combine(folder, TimingChart), Inv($"Time per step (total {r.TotalSeconds:F1} s)"), "seconds",
            [.. r.Timings.Select(t => t.Step)], [.. r.Timings.Select(t => t.Seconds)]);
        WriteText(Path.Combine(folder, Markdown), ToMarkdown(r));
        if (writeJson) WriteJson(r, folder);
    }

    public static void WriteJson(DemoResults r, string folder) =>
        WriteText(Path.Combine(folder, Json), JsonSerializer.Serialize(r, CliJson.Options) + "\n");

    private static void WriteText(string path, string text) => AtomicFile.Write(path, s => s.Write(Encoding.UTF8.GetBytes(text)), "--out");

    /// <summary>Recall@10 against nprobe on a log2 axis labelled with the nprobe values, with and without refine.</summary>
    private static void RecallPlot(string path, IndexSummary index)
    {
        var plot = new Plot();
        double[] x = [.. index.Recall.Select(p => Math.Log2(p.NProbe))];
        var pq = plot.Add.Scatter(x, [.. index.Recall.Select(p => p.RecallAt10)]);
        pq.LegendText = $"{index.SubQuantizers} x {index.Bits}-bit PQ codes";
        var refined = plot.Add.Scatter(x, [.. index.Recall.Select(p => p.RefinedRecallAt10)]);
        refined.LegendText = $"PQ + float16 refine x{DemoPipeline.RefineFactor}";
        foreach (var line in new[] { pq, refined })
        {
            line.MarkerSize = 7;
            line.LineWidth = 2;
        }

        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            [.. index.Recall.Select(p => new Tick(Math.Log2(p.NProbe), p.NProbe.ToString(CultureInfo.InvariantCulture)))]);
        plot.Axes.SetLimitsY(0, 1.05);
        plot.Title($"IVF-PQ recall@10 against exact search ({index.Vectors} vectors, {index.Lists} lists)");
        plot.XLabel("nprobe (lists scanned per query)");
        plot.YLabel("recall@10");
        plot.ShowLegend(Alignment.LowerRight);
        Plots.Save(plot, path);
    }

    /// <summary>Bars grouped by model, one colour per metric.</summary>
    private static void Grouped(string path, string title, string[] groups, string[] series, double[][] values)
    {
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        int width = series.Length + 1;
        for (int s = 0; s < series.Length; s++)
        {
            var bars = new List<Bar>();
            for (int g = 0; g < groups.Length; g++)
            {
                bars.Add(new Bar { Position = g * width + s, Value = values[g][s], FillColor = palette.GetColor(s), Label = values[g][s].ToString("F3", CultureInfo.InvariantCulture) });
            }

            var plotted = plot.Add.Bars(bars);
            plotted.LegendText = series[s];
            plotted.ValueLabelStyle.FontSize = 9;
        }

        var ticks = groups.Select((name, g) => new Tick(g * width + (series.Length - 1) / 2.0, name)).ToArray();
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(ticks);
        plot.Axes.Margins(bottom: 0);
        plot.Title(title);
        plot.YLabel("score");
        plot.ShowLegend(Alignment.UpperLeft);
        Plots.Save(plot, path);
    }

    private static string ToMarkdown(DemoResults r)
    {
        int k = r.Settings.K;
        var md = new StringBuilder();
        void L(string line = "") => md.Append(line).Append('\n');
        L("# VecRec demo report");
        L();
        L($"Data: `{r.Data}`. Encoder: **{r.Encoder.ModelId}** ({r.Encoder.Dimension} dimensions), {r.Encoder.Reason}. Kernels: `{r.Settings.Backend}`.");
        L(Inv($"Wall time up to writing this report: {r.TotalSeconds:F1} s (from the start of the command, after start-up)."));
        L();
        L("## Settings");
        L();
        L("| setting | value |");
        L("|---|---|");
        if (r.Settings.DataFolder is null)
        {
            L($"| items | {r.Settings.Items} |");
            L($"| users | {r.Settings.Users} |");
        }
        else
        {
            L($"| data folder | `{r.Settings.DataFolder}` |");
        }

        L($"| seed | {r.Settings.Seed} |");
        L($"| k | {k} |");
        L($"| CF model | {r.Settings.Cf} |");
        L($"| split | warm interactions: stratified 75/25 per item; {r.Summary.ColdItems} cold items: every interaction held out |");
        L();
        L("## Data");
        L();
        L($"{r.Summary.Users} users, {r.Summary.Items} items, {r.Summary.Topics} genres; {r.Summary.TrainInteractions} training and {r.Summary.TestInteractions} warm test interactions; {r.Summary.ColdItems} new items with {r.Summary.ColdInteractions} held-out interactions.");
        if (r.Settings.DataFolder is null)
        {
            L();
            L("The catalog is generated (`SyntheticCatalog`): each item has 1-3 topics, and its title and description are drawn from those topics' words, shared filler words and some words of other topics; users have Dirichlet-like tastes over the topics, and pick items by taste, item popularity, a hidden user-item factor that no text reveals, and Gumbel noise. New items appear only in the held-out set.");
        }

        L();
        L("## Evaluation: warm items");
        L();
        L($"Candidates: items with training interactions; the user's training items are excluded. ![metrics]({MetricsChart})");
        L();
        MetricRows(md, r.Warm, k);
        L();
        L(Inv($"The hybrid blends z-scored CF ({r.Settings.Cf}) and content scores with CF weight alpha = {r.HybridAlpha:F2}, tuned on a validation split of the training data (the test set is never seen)."));
        L();
        L("## Evaluation: cold start (new items only)");
        L();
        L($"Candidates: the {r.Summary.ColdItems} new items, which no model saw in training. Popularity and {r.Settings.Cf} have no interactions to learn them from (popularity ties them all; a factor model scores them from untrained factors), so they rank them arbitrarily; genre, content and hybrid score them from their metadata and text (the hybrid uses content alone for items without interactions). ![cold start]({ColdChart})");
        L();
        MetricRows(md, r.Cold, k);
        L();
        L(Inv($"A random list would get P@{k} = {r.RandomColdPrecision:F4} (expected value)."));
        L();
        L("## IVF-PQ index over the item embeddings");
        L();
        L(Inv($"{r.Index.Vectors} vectors of {r.Index.Dimension} dimensions, cosine; {r.Index.Lists} lists, {r.Index.SubQuantizers} sub-quantisers x {r.Index.Bits} bits, float16 copies for refine. Train {r.Index.TrainSeconds:F2} s, add {r.Index.AddSeconds:F2} s; {r.Index.BytesPerVector:F1} bytes/vector against {r.Index.FlatBytesPerVector:F1} for the exact flat index. Recall@10 against exact search over {r.Index.Queries} item queries: ![recall]({RecallChart})"));
        if (r.Index.Warning is not null) L($"Training warning: {r.Index.Warning}");
        L();
        L($"| nprobe | recall@10 PQ | µs/query | recall@10 PQ + refine x{DemoPipeline.RefineFactor} | µs/query |");
        L("|---:|---:|---:|---:|---:|");
        foreach (RecallPoint p in r.Index.Recall) L(Inv($"| {p.NProbe} | {p.RecallAt10:F3} | {p.MicrosecondsPerQuery:F1} | {p.RefinedRecallAt10:F3} | {p.RefinedMicrosecondsPerQuery:F1} |"));
        L();
        L("## Sample recommendations (hybrid)");
        L();
        L("✓ marks an item the user actually chose in the held-out data; [new] a cold item.");
        foreach (UserSample u in r.Samples)
        {
            L();
            L($"**User {u.User}**{(u.Taste.Count > 0 ? $" (true taste: {string.Join(", ", u.Taste)})" : "")}. Recently: {string.Join("; ", u.RecentHistory.Select(Escape))}.");
            L();
            foreach (Recommended rec in u.Recommendations)
            {
                string because = rec.Because.Count > 0 ? $" — because you liked {string.Join(" and ", rec.Because.Select(Escape))}" : "";
                L(Inv($"1. {(rec.Hit ? "✓ " : "")}{Escape(rec.Title)}{(rec.New ? " [new]" : "")} ({rec.Score:F3}){because}"));
            }
        }

        L();
        L($"## More like \"{Escape(r.MoreLikeThis.Title)}\" (IVF-PQ, nprobe {r.MoreLikeThis.NProbe})");
        L();
        foreach (SimilarItem s in r.MoreLikeThis.Items) L(Inv($"1. {Escape(s.Title)} ({s.Score:F3})"));
        L();
        L($"## Text query \"{Escape(r.Query.Text)}\"");
        L();
        L("Anonymous, through the IVF-PQ index:");
        L();
        foreach (SimilarItem s in r.Query.Anonymous) L(Inv($"1. {Escape(s.Title)} ({s.Score:F3})"));
        L();
        L($"For user {r.Query.PersonalisedFor} (content model: the query blended with the user's profile):");
        L();
        foreach (SimilarItem s in r.Query.Personalised) L(Inv($"1. {Escape(s.Title)} ({s.Score:F3})"));
        L();
        L("## Timings");
        L();
        L($"![timings]({TimingChart})");
        L();
        L("| step | wall s | CPU s |");
        L("|---|---:|---:|");
        foreach (StepTiming t in r.Timings) L(Inv($"| {t.Step} | {t.Seconds:F2} | {t.CpuSeconds:F2} |"));
        L(Inv($"| **total before the report** | **{r.TotalSeconds:F2}** |"));
        if (r.Notes.Count > 0)
        {
            L();
            L("## Notes");
            L();
            foreach (string note in r.Notes) L($"- {note}");
        }

        L();
        L($"Figures: [`{Json}`]({Json}).");
        return md.ToString();
    }

    private static void MetricRows(StringBuilder md, IReadOnlyList<ModelScore> rows, int k)
    {
        md.Append(Inv($"| model | users | P@{k} | R@{k} | nDCG@{k} | MAP | hit rate | coverage | fit s |\n"));
        md.Append("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        foreach (ModelScore m in rows)
        {
            md.Append(Inv($"| {m.Model} | {m.Users} | {F4(m.Precision)} | {F4(m.Recall)} | {F4(m.Ndcg)} | {F4(m.Map)} | {F4(m.HitRate)} | {F4(m.Coverage)} | {m.FitSeconds:F2} |\n"));
        }
    }

    private static string Escape(string s) => s.Replace("|", "\\|", StringComparison.Ordinal).Replace("*", "\\*", StringComparison.Ordinal);

    internal static string F4(double v) => v.ToString("F4", CultureInfo.InvariantCulture);

}

using ScottPlot;
using Vec.Internals;

namespace Vec.Cli.Output;

/// <summary>One series of a line chart.</summary>
/// <param name="Label">Legend text.</param>
/// <param name="X">X values.</param>
/// <param name="Y">Y values (same length as <paramref name="X"/>).</param>
/// <param name="PointLabels">Optional text beside each point (e.g. the nprobe of an operating point); null or empty entries draw none.</param>
internal sealed record PlotSeries(string Label, double[] X, double[] Y, string[]? PointLabels = null);

/// <summary><c>--plot FILE.png</c>: ScottPlot charts written atomically as PNG.</summary>
internal static class Plots
{
    /// <summary>Default image size.</summary>
    public const int Width = 900, Height = 560;

    /// <summary>A line chart with markers, one line per series (e.g. recall against queries per second).</summary>
    /// <param name="path">PNG file to write.</param>
    /// <param name="title">Chart title.</param>
    /// <param name="xLabel">X axis label.</param>
    /// <param name="yLabel">Y axis label.</param>
    /// <param name="series">The lines.</param>
    /// <param name="logX">Plot X on a log10 scale (ticks labelled with the real values).</param>
    /// <param name="legend">Where the legend goes.</param>
    public static void Lines(string path, string title, string xLabel, string yLabel, IReadOnlyList<PlotSeries> series, bool logX = false, Alignment legend = Alignment.LowerLeft)
    {
        var plot = new Plot();
        foreach (PlotSeries s in series)
        {
            double[] x = logX ? s.X.Select(v => Math.Log10(Math.Max(v, 1e-12))).ToArray() : s.X;
            var line = plot.Add.Scatter(x, s.Y);
            line.LegendText = s.Label;
            line.MarkerSize = 6;
            line.LineWidth = 2;
            for (int i = 0; i < (s.PointLabels?.Length ?? 0) && i < x.Length; i++)
            {
                if (string.IsNullOrEmpty(s.PointLabels![i])) continue;
                var text = plot.Add.Text(s.PointLabels[i], x[i], s.Y[i]);
                text.LabelFontSize = 11;
                text.LabelFontColor = line.Color;
                text.LabelAlignment = Alignment.LowerLeft;
                text.LabelOffsetX = 4;
                text.LabelOffsetY = -4;
            }
        }

        if (logX)
        {
            // Ticks at 1, 2 and 5 times each power of ten inside the data's range, labelled with the real values.
            double[] all = series.SelectMany(s => s.X).Where(v => v > 0).ToArray();
            if (all.Length > 0)
            {
                int lo = (int)Math.Floor(Math.Log10(all.Min())), hi = (int)Math.Ceiling(Math.Log10(all.Max()));
                var ticks = new List<Tick>();
                for (int e = lo; e <= hi; e++)
                {
                    foreach (double f in new[] { 1.0, 2.0, 5.0 })
                    {
                        double v = f * Math.Pow(10, e);
                        if (v >= all.Min() / 1.5 && v <= all.Max() * 1.5) ticks.Add(new Tick(Math.Log10(v), FormatValue(v)));
                    }
                }

                plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(ticks.ToArray());
            }
        }

        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        if (series.Count > 1) plot.ShowLegend(legend);
        Save(plot, path);
    }

    /// <summary>A bar chart with one labelled bar per value (e.g. GFLOP/s per kernel, a metric per model).</summary>
    /// <param name="path">PNG file to write.</param>
    /// <param name="title">Chart title.</param>
    /// <param name="yLabel">Value axis label.</param>
    /// <param name="labels">One label per bar.</param>
    /// <param name="values">Bar heights.</param>
    public static void Bars(string path, string title, string yLabel, IReadOnlyList<string> labels, IReadOnlyList<double> values)
    {
        if (labels.Count != values.Count) throw new ArgumentException("one label per bar", nameof(labels));
        var plot = new Plot();
        var bars = plot.Add.Bars(values.ToArray());
        var ticks = new Tick[labels.Count];
        for (int i = 0; i < labels.Count; i++)
        {
            bars.Bars[i].Label = values[i].ToString("G3", System.Globalization.CultureInfo.InvariantCulture);
            ticks[i] = new Tick(i, labels[i]);
        }

        bars.ValueLabelStyle.FontSize = 11;
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(ticks);
        // Long labels are rotated; the axis gets room for the longest one (ScottPlot does not measure rotated labels), and
        // many long labels read top to bottom so none runs off the right edge.
        int longest = labels.Count == 0 ? 0 : labels.Max(l => l.Length);
        bool rotate = longest > 8, vertical = rotate && labels.Count > 12;
        plot.Axes.Bottom.TickLabelStyle.Rotation = vertical ? 90 : rotate ? 30 : 0;
        plot.Axes.Bottom.TickLabelStyle.Alignment = rotate ? Alignment.MiddleLeft : Alignment.UpperCenter;
        int labelRoom = vertical ? 7 * longest + 12 : rotate ? (int)(3.5 * longest) + 24 : 0;
        if (rotate) plot.Axes.Bottom.MinimumSize = labelRoom;
        if (rotate && !vertical) plot.Axes.Right.MinimumSize = Math.Min(6 * longest, 260);
        plot.Axes.Margins(bottom: 0);
        plot.Title(title);
        plot.YLabel(yLabel);
        Save(plot, path, Width, vertical ? Height + Math.Max(0, labelRoom - 80) : Height);
    }

    /// <summary>Renders <paramref name="plot"/> to PNG and writes it atomically.</summary>
    public static void Save(Plot plot, string path, int width = Width, int height = Height)
    {
        byte[] png = plot.GetImageBytes(width, height, ImageFormat.Png);
        AtomicFile.Write(path, s => s.Write(png), "--plot");
    }

    private static string FormatValue(double v) => v >= 1e6
        ? (v / 1e6).ToString("0.#", System.Globalization.CultureInfo.InvariantCulture) + "M"
        : v >= 1e3 ? (v / 1e3).ToString("0.#", System.Globalization.CultureInfo.InvariantCulture) + "k"
        : v.ToString("G4", System.Globalization.CultureInfo.InvariantCulture);
}

using System.Collections.Concurrent;
using Vec.Embed;

namespace Vec.Cli.Demo;

/// <summary>
/// An encoder that remembers what it embedded: the demo embeds the catalog once (with a progress bar) and the content and
/// hybrid models, which embed the same texts again at each fit, get the rows back from memory.
/// </summary>
internal sealed class CachedTextEncoder(TextEncoder inner) : TextEncoder
{
    private readonly ConcurrentDictionary<string, float[]> _rows = new(StringComparer.Ordinal);

    public TextEncoder Inner => inner;

    public override int Dimension => inner.Dimension;

    public override string ModelId => inner.ModelId;

    public override bool Normalized => inner.Normalized;

    /// <summary>Embeds <paramref name="texts"/> in batches through the inner encoder, reporting progress, and remembers the rows.</summary>
    public float[] EncodeWithProgress(IReadOnlyList<string> texts, IProgress<double> progress, int batch = 64)
    {
        int d = Dimension;
        var rows = new float[(long)texts.Count * d];
        for (int start = 0; start < texts.Count; start += batch)
        {
            int b = Math.Min(batch, texts.Count - start);
            string[] part = [.. texts.Skip(start).Take(b)];
            inner.Encode(part, rows.AsSpan(start * d, b * d));
            for (int i = 0; i < b; i++) _rows.TryAdd(part[i], rows.AsSpan((start + i) * d, d).ToArray());
            progress.Report((start + b) / (double)texts.Count);
        }

        return rows;
    }

    protected override void EncodeCore(IReadOnlyList<string> texts, Span<float> destination, CancellationToken cancellationToken)
    {
        int d = Dimension;
        var missing = texts.Where(t => !_rows.ContainsKey(t)).Distinct(StringComparer.Ordinal).ToArray();
        if (missing.Length > 0)
        {
            float[] fresh = inner.Encode(missing, cancellationToken);
            for (int i = 0; i < missing.Length; i++) _rows.TryAdd(missing[i], fresh.AsSpan(i * d, d).ToArray());
        }

        for (int i = 0; i < texts.Count; i++) _rows[texts[i]].CopyTo(destination.Slice(i * d, d));
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) inner.Dispose();
        base.Dispose(disposing);
    }
}

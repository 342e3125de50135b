using Vec.Embed;
using Vec.Kernels;

namespace Vec.Rec.Content;

/// <summary>How <see cref="ItemFeatures"/> builds item vectors from a catalog.</summary>
public sealed record ItemFeatureOptions
{
    /// <summary>
    /// Weight of the genre block: the item's genre one-hot, divided by the square root of its genre count (unit length),
    /// times this weight; 0 leaves it out.
    /// </summary>
    public float GenreWeight { get; init; }

    /// <summary>
    /// Weight of the release-year block: Gaussian bumps over the catalog's year range (see <see cref="YearSpacing"/>),
    /// scaled to unit length, times this weight; 0 leaves it out.
    /// </summary>
    public float YearWeight { get; init; }

    /// <summary>Distance in years between the centres of the year bumps (also their standard deviation); at least 1.</summary>
    public int YearSpacing { get; init; } = 3;

    /// <summary>Whether each finished row (text, genre and year blocks together) is scaled to unit length.</summary>
    public bool Normalize { get; init; } = true;

    internal void Validate(string paramName)
    {
        if (!float.IsFinite(GenreWeight) || GenreWeight < 0) throw new ArgumentOutOfRangeException(paramName, GenreWeight, "GenreWeight must be finite and not negative.");
        if (!float.IsFinite(YearWeight) || YearWeight < 0) throw new ArgumentOutOfRangeException(paramName, YearWeight, "YearWeight must be finite and not negative.");
        if (YearSpacing < 1) throw new ArgumentOutOfRangeException(paramName, YearSpacing, "YearSpacing must be at least 1.");
    }
}

/// <summary>
/// Item vectors for content models: the text embedding of <see cref="CatalogItem.EmbeddingText"/> (unit length),
/// optionally followed by a scaled genre one-hot and scaled release-year bumps. Rows follow an <see cref="IdMap"/>'s
/// order; items missing from the catalog get zero rows.
/// </summary>
public sealed class ItemFeatures
{
    private ItemFeatures(float[] vectors, int count, int dimension, int textDimension, bool[] known)
    {
        Vectors = vectors;
        Count = count;
        Dimension = dimension;
        TextDimension = textDimension;
        Known = known;
    }

    /// <summary>Row-major <c>Count x Dimension</c>.</summary>
    public float[] Vectors { get; }

    /// <summary>Number of rows (items).</summary>
    public int Count { get; }

    /// <summary>Row length.</summary>
    public int Dimension { get; }

    /// <summary>Length of the text block (the encoder's dimension); the genre and year blocks follow it.</summary>
    public int TextDimension { get; }

    /// <summary>Per row, whether the item is in the catalog (others have zero rows).</summary>
    public bool[] Known { get; }

    /// <summary>One row.</summary>
    /// <param name="item">Row index.</param>
    public ReadOnlySpan<float> Row(int item) => Vectors.AsSpan(item * Dimension, Dimension);

    /// <summary>Embeds every item of <paramref name="items"/> found in <paramref name="catalog"/> and appends the optional blocks.</summary>
    /// <param name="encoder">The text encoder.</param>
    /// <param name="catalog">The catalog.</param>
    /// <param name="items">The item space (row order).</param>
    /// <param name="options">Blocks and weights; null for text only.</param>
    /// <param name="kernels">Kernels for normalisation.</param>
    /// <param name="cancellationToken">Passed to the encoder.</param>
    /// <returns>The features.</returns>
    public static ItemFeatures Build(TextEncoder encoder, ItemCatalog catalog, IdMap items, ItemFeatureOptions? options, IVectorKernels kernels, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(kernels);
        options ??= new ItemFeatureOptions();
        options.Validate(nameof(options));
        int n = items.Count, t = encoder.Dimension;
        var known = new bool[n];
        var entries = new CatalogItem?[n];
        var texts = new string[n];
        for (int i = 0; i < n; i++)
        {
            known[i] = catalog.TryGet(items[i], out CatalogItem? item);
            entries[i] = item;
            texts[i] = item?.EmbeddingText ?? string.Empty;
        }

        var text = encoder.Encode(texts, cancellationToken);
        kernels.L2Normalize(text, n, t);
        IReadOnlyList<string> genres = catalog.Genres;
        var genreIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int g = 0; g < genres.Count; g++) genreIndex.TryAdd(genres[g], g);
        int gd = options.GenreWeight > 0 ? genres.Count : 0;
        int[] years = [.. entries.Where(e => e?.Year is not null).Select(e => e!.Year!.Value)];
        int minYear = years.Length > 0 ? years.Min() : 0, maxYear = years.Length > 0 ? years.Max() : 0;
        int yd = options.YearWeight > 0 && years.Length > 0 ? (maxYear - minYear) / options.YearSpacing + 1 : 0;
        int d = t + gd + yd;
        var v = new float[(long)n * d];
        for (int i = 0; i < n; i++)
        {
            Span<float> row = v.AsSpan(i * d, d);
            text.AsSpan(i * t, t).CopyTo(row);
            CatalogItem? item = entries[i];
            if (item is null) continue;
            if (gd > 0 && item.Genres.Count > 0)
            {
                float w = options.GenreWeight / MathF.Sqrt(item.Genres.Count);
                foreach (string g in item.Genres)
                {
                    if (genreIndex.TryGetValue(g, out int gi)) row[t + gi] = w;
                }
            }

            if (yd > 0 && item.Year is int year)
            {
                Span<float> block = row.Slice(t + gd, yd);
                double sum = 0;
                for (int b = 0; b < yd; b++)
                {
                    double z = (year - (minYear + b * options.YearSpacing)) / (double)options.YearSpacing;
                    double e = Math.Exp(-0.5 * z * z);
                    block[b] = (float)e;
                    sum += e * e;
                }

                float scale = (float)(options.YearWeight / Math.Sqrt(sum));
                for (int b = 0; b < yd; b++) block[b] *= scale;
            }
        }

        if (options.Normalize) kernels.L2Normalize(v, n, d);
        return new ItemFeatures(v, n, d, t, known);
    }
}

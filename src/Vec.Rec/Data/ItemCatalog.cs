namespace Vec.Rec;

/// <summary>One catalog item: id, title, free text and categories.</summary>
/// <param name="Id">External item id.</param>
/// <param name="Title">Display title (MovieLens: "Toy Story (1995)").</param>
/// <param name="Text">Free text (a description); empty when none.</param>
/// <param name="Genres">Categories (MovieLens genres).</param>
public sealed record CatalogItem(long Id, string Title, string Text, IReadOnlyList<string> Genres)
{
    /// <summary>Release year parsed from a trailing "(yyyy)" in the title, or null.</summary>
    public int? Year
    {
        get
        {
            string t = Title.TrimEnd();
            return t.Length >= 6 && t[^1] == ')' && t[^6] == '(' && int.TryParse(t.AsSpan(t.Length - 5, 4), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int y)
                ? y : null;
        }
    }

    /// <summary>The text an encoder embeds: the title, then the genres, then the free text.</summary>
    public string EmbeddingText => Genres.Count == 0
        ? (Text.Length == 0 ? Title : $"{Title}. {Text}")
        : Text.Length == 0 ? $"{Title}. {string.Join(", ", Genres)}." : $"{Title}. {string.Join(", ", Genres)}. {Text}";
}

/// <summary>The items of a data set with their titles, texts and genres, looked up by external id.</summary>
public sealed class ItemCatalog
{
    private readonly Dictionary<long, CatalogItem> _byId;

    /// <summary>Creates a catalog.</summary>
    /// <param name="items">The items; ids must be distinct.</param>
    /// <param name="genres">All genre names in their canonical order; null for the distinct genres of the items.</param>
    /// <exception cref="ArgumentException">Duplicate ids.</exception>
    public ItemCatalog(IEnumerable<CatalogItem> items, IReadOnlyList<string>? genres = null)
    {
        ArgumentNullException.ThrowIfNull(items);
        Items = [.. items];
        _byId = new Dictionary<long, CatalogItem>(Items.Count);
        foreach (CatalogItem item in Items)
        {
            if (!_byId.TryAdd(item.Id, item)) throw new ArgumentException($"Item id {item.Id} appears twice.", nameof(items));
        }

        Genres = genres ?? [.. Items.SelectMany(i => i.Genres).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
    }

    /// <summary>The items in their original order.</summary>
    public IReadOnlyList<CatalogItem> Items { get; }

    /// <summary>Genre names.</summary>
    public IReadOnlyList<string> Genres { get; }

    /// <summary>Number of items.</summary>
    public int Count => Items.Count;

    /// <summary>Looks up an item.</summary>
    /// <param name="id">External id.</param>
    /// <param name="item">The item when found.</param>
    public bool TryGet(long id, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out CatalogItem item) => _byId.TryGetValue(id, out item);

    /// <summary>The item with an id.</summary>
    /// <param name="id">External id.</param>
    /// <exception cref="KeyNotFoundException">No such item.</exception>
    public CatalogItem this[long id] => _byId.TryGetValue(id, out CatalogItem? item) ? item : throw new KeyNotFoundException($"Item {id} is not in the catalog.");

    /// <summary>An id map over every catalog item (the usual item space of a model).</summary>
    public IdMap ToIdMap() => IdMap.FromIds(Items.Select(i => i.Id));
}

/// <summary>A rating log in file order with its item catalog.</summary>
/// <param name="Ratings">Ratings in the order of the file (the splits depend on it).</param>
/// <param name="Catalog">The items.</param>
/// <param name="Source">Where it was read from.</param>
public sealed record RatingDataset(IReadOnlyList<Rating> Ratings, ItemCatalog Catalog, string Source)
{
    /// <summary>Every user of the ratings.</summary>
    public IdMap Users() => IdMap.FromIds(Ratings.Select(r => r.User));

    /// <summary>Every item of the catalog and the ratings.</summary>
    public IdMap Items() => IdMap.FromIds(Catalog.Items.Select(i => i.Id).Concat(Ratings.Select(r => r.Item)));

    /// <summary>
    /// The training and test matrices of a split, both over this data set's full user and item maps (<see cref="Users"/>,
    /// <see cref="Items"/>), so they share maps as <see cref="Evaluation.Evaluator"/> requires and cold items are columns.
    /// </summary>
    /// <param name="train">Training ratings (e.g. <see cref="RatingSplit.Train"/>).</param>
    /// <param name="test">Held-out ratings.</param>
    /// <returns>The two matrices.</returns>
    public (Interactions Train, Interactions Test) ToMatrices(IReadOnlyList<Rating> train, IReadOnlyList<Rating> test)
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(test);
        IdMap users = Users(), items = Items();
        return (Interactions.Build(train, users, items), Interactions.Build(test, users, items));
    }
}

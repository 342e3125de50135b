using Vec.Kernels;

namespace Vec.Rec.Models;

/// <summary>
/// Genre-profile baseline (<c>genre</c>): a user's profile is the sum of the genre one-hots of their training items
/// (unweighted), and an item scores the cosine between that profile and its genre one-hot. Needs the catalog; items
/// without genres and users without history score 0. The cold-start floor of recsys-protocols.md §5.2 (P@10 0.1182).
/// </summary>
public sealed class GenreRecommender : Recommender
{
    private float[] _profiles = [];
    private float[] _items = [];
    private int _genres;

    /// <summary>Creates the model.</summary>
    /// <param name="kernels">Kernels; null for the best CPU backend.</param>
    public GenreRecommender(IVectorKernels? kernels = null) : base(kernels)
    {
    }

    /// <inheritdoc />
    public override string Name => "genre";

    /// <inheritdoc />
    protected override void FitCore(Interactions train, ItemCatalog? catalog, CancellationToken cancellationToken)
    {
        if (catalog is null) throw new ArgumentException("The genre recommender needs the item catalog.", nameof(catalog));
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (string g in catalog.Genres) index.TryAdd(g, index.Count);
        int d = Math.Max(1, index.Count), n = train.ItemCount;
        var items = new float[(long)n * d];
        for (int i = 0; i < n; i++)
        {
            if (!catalog.TryGet(train.Items[i], out CatalogItem? item)) continue;
            foreach (string g in item.Genres)
            {
                if (index.TryGetValue(g, out int gi)) items[i * d + gi] = 1f;
            }
        }

        var profiles = new float[(long)train.UserCount * d];
        for (int u = 0; u < train.UserCount; u++)
        {
            Span<float> p = profiles.AsSpan(u * d, d);
            foreach (int i in train.ItemsOf(u))
            {
                for (int c = 0; c < d; c++) p[c] += items[i * d + c];
            }
        }

        Kernels.L2Normalize(items, n, d);
        Kernels.L2Normalize(profiles, train.UserCount, d);
        _items = items;
        _profiles = profiles;
        _genres = d;
    }

    /// <inheritdoc />
    protected override void ScoreAllCore(ReadOnlySpan<int> users, Span<float> destination)
    {
        int d = _genres, n = Train.ItemCount;
        var q = new float[users.Length * d];
        for (int r = 0; r < users.Length; r++) _profiles.AsSpan(users[r] * d, d).CopyTo(q.AsSpan(r * d, d));
        Kernels.InnerProducts(q, users.Length, _items, n, d, destination);
    }
}

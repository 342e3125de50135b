using Vec.Kernels;

namespace Vec.Rec.Models;

/// <summary>How <see cref="Sar"/> turns item co-occurrence counts into similarities (Microsoft Recommenders' options).</summary>
public enum SarSimilarity
{
    /// <summary><c>C_ij / (C_ii + C_jj - C_ij)</c> (the benchmark's choice).</summary>
    Jaccard,

    /// <summary><c>C_ij / (C_ii · C_jj)</c>: favours rarer items.</summary>
    Lift,

    /// <summary><c>C_ij / sqrt(C_ii · C_jj)</c>.</summary>
    Cosine,

    /// <summary><c>C_ij / min(C_ii, C_jj)</c>.</summary>
    InclusionIndex,

    /// <summary><c>log2(n · lift_ij)</c>, n = items with training interactions; 0 where <c>C_ij = 0</c>.</summary>
    MutualInformation,

    /// <summary><c>C_ij · log2(n · lift_ij)</c>; 0 where <c>C_ij = 0</c>.</summary>
    LexicographersMutualInformation,

    /// <summary>The raw co-occurrence counts <c>C_ij</c>: favours popular items.</summary>
    Cooccurrence,
}

/// <summary>Settings of <see cref="Sar"/>; the defaults are those of the Microsoft Recommenders benchmark.</summary>
public sealed record SarOptions
{
    /// <summary>Similarity between items (default <see cref="SarSimilarity.Jaccard"/>).</summary>
    public SarSimilarity Similarity { get; init; } = SarSimilarity.Jaccard;

    /// <summary>Whether ratings decay with age (default true). Without decay the affinity is the rating itself.</summary>
    public bool TimeDecay { get; init; } = true;

    /// <summary>Half-life of the time decay (default 30 days); must be positive.</summary>
    public TimeSpan HalfLife { get; init; } = TimeSpan.FromDays(30);

    /// <summary>The "now" of the decay in Unix seconds; null for the latest training timestamp (the default).</summary>
    public long? TimeNow { get; init; }

    /// <summary>Co-occurrence counts below this are zeroed before the similarity (default 1: nothing is dropped).</summary>
    public int Threshold { get; init; } = 1;
}

/// <summary>
/// Smart Adaptive Recommendations (SAR), as in Microsoft Recommenders' <c>sar_singlenode.py</c>: user-item affinity
/// <c>A[u,i] = rating · min(1, 0.5^((t_now - t) / T_half))</c>, item co-occurrence <c>C = BᵀB</c> on the binary training
/// matrix (counts below the threshold zeroed), a similarity derived from C, and scores <c>S = A · Sim</c>.
/// </summary>
/// <remarks>
/// The similarity is a dense items x items matrix (built in double, stored in float), so the catalog is limited to
/// <see cref="MaxItems"/> items. Scores for a block of users are one kernel matrix product of the dense affinity block
/// with the similarity rows. Duplicate (user, item) events are merged by <see cref="Interactions"/> (ratings summed,
/// latest timestamp kept), so they decay as one event at the latest time. With the defaults on the MovieLens 100K
/// benchmark split this reproduces the published SAR row (MAP 0.114038, nDCG@10 0.393819, P@10 0.340615,
/// R@10 0.185377).
/// </remarks>
public sealed class Sar : Recommender
{
    /// <summary>The largest catalog the dense similarity matrix supports.</summary>
    public const int MaxItems = 40_000;

    private float[] _similarity = [];
    private float[] _affinity = [];
    private int _items;

    /// <summary>Creates the model.</summary>
    /// <param name="options">Settings; null for the benchmark defaults.</param>
    /// <param name="kernels">Kernels for the products and top-k; null for the best CPU backend.</param>
    /// <exception cref="ArgumentOutOfRangeException">A non-positive half-life or a threshold below 1.</exception>
    public Sar(SarOptions? options = null, IVectorKernels? kernels = null) : base(kernels)
    {
        options ??= new SarOptions();
        if (options.HalfLife <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(options), options.HalfLife, "The half-life must be positive.");
        if (options.Threshold < 1) throw new ArgumentOutOfRangeException(nameof(options), options.Threshold, "The threshold must be at least 1.");
        if (!Enum.IsDefined(options.Similarity)) throw new ArgumentOutOfRangeException(nameof(options), options.Similarity, "Unknown similarity.");
        Options = options;
    }

    /// <inheritdoc />
    public override string Name => "sar";

    /// <summary>The settings.</summary>
    public SarOptions Options { get; }

    /// <summary>The "now" the decay used in the last fit (Unix seconds).</summary>
    public long TimeNow { get; private set; }

    /// <summary>Similarity between two items (dense indices).</summary>
    /// <param name="item">First item.</param>
    /// <param name="other">Second item.</param>
    public float Similarity(int item, int other)
    {
        int n = Train.ItemCount;
        if ((uint)item >= (uint)n) throw new ArgumentOutOfRangeException(nameof(item), item, $"Item index must be 0..{n - 1}.");
        if ((uint)other >= (uint)n) throw new ArgumentOutOfRangeException(nameof(other), other, $"Item index must be 0..{n - 1}.");
        return _similarity[(long)item * n + other];
    }

    /// <summary>The affinity of a user for an item (the decayed rating; 0 when unseen).</summary>
    /// <param name="user">Dense user index.</param>
    /// <param name="item">Dense item index.</param>
    public float Affinity(int user, int item)
    {
        Interactions train = Train;
        if ((uint)item >= (uint)train.ItemCount) throw new ArgumentOutOfRangeException(nameof(item), item, $"Item index must be 0..{train.ItemCount - 1}.");
        int p = train.ItemsOf(user).BinarySearch(item);
        return p < 0 ? 0f : _affinity[train.RowOffsets[user] + p];
    }

    /// <inheritdoc />
    protected override void FitCore(Interactions train, ItemCatalog? catalog, CancellationToken cancellationToken)
    {
        int n = train.ItemCount;
        if (n > MaxItems) throw new ArgumentException($"SAR keeps a dense {n} x {n} similarity matrix; at most {MaxItems} items are supported.", nameof(train));

        // Affinity per stored entry.
        long now = Options.TimeNow ?? train.MaxTimestamp;
        double halfLife = Options.HalfLife.TotalSeconds;
        ReadOnlySpan<float> values = train.Values;
        ReadOnlySpan<long> times = train.Timestamps;
        var affinity = new float[train.Count];
        for (int p = 0; p < affinity.Length; p++)
        {
            double decay = Options.TimeDecay ? Math.Min(1.0, Math.Pow(0.5, (now - times[p]) / halfLife)) : 1.0;
            affinity[p] = (float)(values[p] * decay);
        }

        cancellationToken.ThrowIfCancellationRequested();

        // Co-occurrence C = BᵀB on the binary matrix (upper triangle, mirrored).
        var counts = new int[(long)n * n];
        for (int u = 0; u < train.UserCount; u++)
        {
            ReadOnlySpan<int> items = train.ItemsOf(u);
            for (int a = 0; a < items.Length; a++)
            {
                Span<int> row = counts.AsSpan(items[a] * n, n);
                for (int b = a; b < items.Length; b++) row[items[b]]++;
            }

            if ((u & 255) == 0) cancellationToken.ThrowIfCancellationRequested();
        }

        for (int i = 0; i < n; i++)
        {
            for (int j = i + 1; j < n; j++) counts[(long)j * n + i] = counts[(long)i * n + j];
        }

        cancellationToken.ThrowIfCancellationRequested();
        var diagonal = new double[n];
        int itemsWithData = 0;
        for (int i = 0; i < n; i++)
        {
            int c = counts[(long)i * n + i];
            diagonal[i] = c >= Options.Threshold ? c : 0;
            if (c > 0) itemsWithData++;
        }

        var similarity = new float[(long)n * n];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++)
            {
                int c = counts[(long)i * n + j];
                if (c < Options.Threshold || c == 0) continue;
                similarity[(long)i * n + j] = (float)Measure(c, diagonal[i], diagonal[j], itemsWithData);
            }
        }

        _similarity = similarity;
        _affinity = affinity;
        _items = n;
        TimeNow = now;
    }

    private double Measure(double c, double ci, double cj, int items) => Options.Similarity switch
    {
        SarSimilarity.Jaccard => c / (ci + cj - c),
        SarSimilarity.Lift => c / (ci * cj),
        SarSimilarity.Cosine => c / Math.Sqrt(ci * cj),
        SarSimilarity.InclusionIndex => c / Math.Min(ci, cj),
        SarSimilarity.MutualInformation => Math.Log2(items * (c / (ci * cj))),
        SarSimilarity.LexicographersMutualInformation => c * Math.Log2(items * (c / (ci * cj))),
        _ => c,
    };

    /// <inheritdoc />
    protected override void ScoreAllCore(ReadOnlySpan<int> users, Span<float> destination)
    {
        int n = _items;
        Interactions train = Train;
        int block = Math.Max(1, Math.Min(users.Length, (1 << 20) / n));
        var dense = new float[block * n];
        for (int start = 0; start < users.Length; start += block)
        {
            int b = Math.Min(block, users.Length - start);
            Span<float> a = dense.AsSpan(0, b * n);
            a.Clear();
            for (int r = 0; r < b; r++)
            {
                int u = users[start + r];
                int offset = train.RowOffsets[u];
                ReadOnlySpan<int> items = train.ItemsOf(u);
                for (int p = 0; p < items.Length; p++) a[r * n + items[p]] = _affinity[offset + p];
            }

            // Sim is symmetric, so its rows are the rows of Simᵀ: S = A · Sim = A · (Simᵀ)ᵀ.
            Kernels.InnerProducts(a, b, _similarity, n, n, destination.Slice(start * n, b * n));
        }
    }

    /// <summary>The user's seen items j with the largest <c>A[u,j] · Sim[j,item]</c>, largest first (positive only).</summary>
    /// <param name="user">Dense user index.</param>
    /// <param name="item">Dense item index.</param>
    /// <param name="top">Most contributions returned, at least 1.</param>
    public override IReadOnlyList<Contribution> Explain(int user, int item, int top = 5)
    {
        Interactions train = Train;
        if ((uint)user >= (uint)train.UserCount) throw new ArgumentOutOfRangeException(nameof(user), user, $"User index must be 0..{train.UserCount - 1}.");
        if ((uint)item >= (uint)train.ItemCount) throw new ArgumentOutOfRangeException(nameof(item), item, $"Item index must be 0..{train.ItemCount - 1}.");
        ArgumentOutOfRangeException.ThrowIfLessThan(top, 1);
        int n = _items, offset = train.RowOffsets[user];
        ReadOnlySpan<int> items = train.ItemsOf(user);
        var list = new List<Contribution>(items.Length);
        for (int p = 0; p < items.Length; p++)
        {
            float w = _affinity[offset + p] * _similarity[(long)items[p] * n + item];
            if (w > 0) list.Add(new Contribution(items[p], w));
        }

        list.Sort(static (x, y) => x.Weight != y.Weight ? y.Weight.CompareTo(x.Weight) : x.Item.CompareTo(y.Item));
        return list.Count > top ? list.GetRange(0, top) : list;
    }
}

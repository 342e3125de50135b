using Vec.Kernels;

namespace Vec.Rec;

/// <summary>An item recommended to a user: dense item index (of the model's <see cref="Recommender.Train"/>) and score.</summary>
/// <param name="Item">Dense item index; map to an id with <c>Train.Items[Item]</c>.</param>
/// <param name="Score">The model's score (higher is better; scales differ between models).</param>
public readonly record struct Recommendation(int Item, float Score);

/// <summary>Why an item was recommended: a seen item and how much it contributed to the score.</summary>
/// <param name="Item">Dense index of an item the user interacted with.</param>
/// <param name="Weight">Its contribution to the recommended item's score.</param>
public readonly record struct Contribution(int Item, float Weight);

/// <summary>Top-k lists for a batch of users: row-major <c>Users x K</c>, padded with item -1 (score NaN) where fewer exist.</summary>
public sealed class RecommendationBatch
{
    internal RecommendationBatch(int[] users, int k, int[] items, float[] scores)
    {
        UserIndices = users;
        K = k;
        Items = items;
        Scores = scores;
    }

    /// <summary>The users (dense indices), in request order.</summary>
    public IReadOnlyList<int> UserIndices { get; }

    /// <summary>Results per user.</summary>
    public int K { get; }

    /// <summary>Dense item indices, <c>UserIndices.Count x K</c>; -1 where missing.</summary>
    public int[] Items { get; }

    /// <summary>Scores aligned with <see cref="Items"/>; NaN where missing.</summary>
    public float[] Scores { get; }

    /// <summary>The list of the i-th requested user.</summary>
    /// <param name="i">Position in <see cref="UserIndices"/>.</param>
    public ReadOnlySpan<int> ItemsOf(int i) => Items.AsSpan(i * K, K);
}

/// <summary>
/// Base of every recommender: <see cref="Fit"/> on a users x items <see cref="Interactions"/> matrix (and optionally the
/// catalog), then score all items for many users at once (<see cref="ScoreAll"/>), and recommend top-k lists with the
/// user's seen items removed (<see cref="RecommendBatch"/>, through the kernels' top-k: ties go to the lower item index).
/// </summary>
/// <remarks>Users and items are dense indices of the training matrix; map ids through <c>Train.Users</c> /
/// <c>Train.Items</c>. After fitting, scoring and recommending are safe for concurrent calls.</remarks>
public abstract class Recommender : IDisposable
{
    private readonly IVectorKernels? _givenKernels;
    private IVectorKernels? _ownedKernels;
    private Interactions? _train;

    /// <summary>Creates the recommender.</summary>
    /// <param name="kernels">Kernels for products and top-k; null for the best CPU SIMD backend (owned and disposed).</param>
    protected Recommender(IVectorKernels? kernels = null) => _givenKernels = kernels;

    /// <summary>Short name (<c>pop</c>, <c>itemknn</c>, <c>ease</c>, ...).</summary>
    public abstract string Name { get; }

    /// <summary>Whether <see cref="Fit"/> has run.</summary>
    public bool IsFitted => _train is not null;

    /// <summary>The training matrix.</summary>
    /// <exception cref="InvalidOperationException">Not fitted.</exception>
    public Interactions Train => _train ?? throw new InvalidOperationException($"{GetType().Name} is not fitted: call Fit first.");

    /// <summary>The catalog given to <see cref="Fit"/>, if any.</summary>
    public ItemCatalog? Catalog { get; private set; }

    /// <summary>The kernels.</summary>
    protected IVectorKernels Kernels => _givenKernels ?? LazyInitializer.EnsureInitialized(ref _ownedKernels, () => KernelBackends.Create(KernelBackends.BestCpuName));

    /// <summary>Fits the model.</summary>
    /// <param name="train">Training interactions (users x items).</param>
    /// <param name="catalog">Item catalog (content models need it; CF models ignore it).</param>
    /// <param name="cancellationToken">Checked between stages.</param>
    /// <exception cref="ArgumentException">The matrix has no users, no items or no interactions.</exception>
    public void Fit(Interactions train, ItemCatalog? catalog = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(train);
        if (train.UserCount == 0 || train.ItemCount == 0) throw new ArgumentException("The training matrix has no users or no items.", nameof(train));
        if (train.Count == 0) throw new ArgumentException("The training matrix has no interactions.", nameof(train));
        FitCore(train, catalog, cancellationToken);
        Catalog = catalog;
        Volatile.Write(ref _train, train);
    }

    /// <summary>Fits the model's parameters.</summary>
    /// <param name="train">Training interactions.</param>
    /// <param name="catalog">Item catalog or null.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    protected abstract void FitCore(Interactions train, ItemCatalog? catalog, CancellationToken cancellationToken);

    /// <summary>
    /// Scores every item for each user: <paramref name="destination"/> is <c>users.Length x Train.ItemCount</c>, row-major,
    /// higher is better. Seen items are scored like any other (see <see cref="RecommendBatch"/> for removal).
    /// </summary>
    /// <param name="users">Dense user indices.</param>
    /// <param name="destination">At least <c>users.Length * Train.ItemCount</c> floats.</param>
    public void ScoreAll(ReadOnlySpan<int> users, Span<float> destination)
    {
        Interactions train = Train;
        foreach (int u in users)
        {
            if ((uint)u >= (uint)train.UserCount) throw new ArgumentOutOfRangeException(nameof(users), u, $"User index must be 0..{train.UserCount - 1}.");
        }

        long needed = (long)users.Length * train.ItemCount;
        if (destination.Length < needed) throw new ArgumentException($"Destination holds {destination.Length} floats; {users.Length} users x {train.ItemCount} items need {needed}.", nameof(destination));
        if (users.Length == 0) return;
        ScoreAllCore(users, destination[..(int)needed]);
    }

    /// <summary>Scores every item for each user (validated arguments; destination exactly <c>users.Length x ItemCount</c>).</summary>
    /// <param name="users">Valid dense user indices.</param>
    /// <param name="destination">Exactly <c>users.Length * Train.ItemCount</c> floats.</param>
    protected abstract void ScoreAllCore(ReadOnlySpan<int> users, Span<float> destination);

    /// <summary>Scores of some items for one user.</summary>
    /// <param name="user">Dense user index.</param>
    /// <param name="items">Dense item indices.</param>
    /// <returns>One score per item.</returns>
    public virtual float[] Score(int user, ReadOnlySpan<int> items)
    {
        var all = new float[Train.ItemCount];
        ScoreAll([user], all);
        var result = new float[items.Length];
        for (int i = 0; i < items.Length; i++)
        {
            if ((uint)items[i] >= (uint)all.Length) throw new ArgumentOutOfRangeException(nameof(items), items[i], $"Item index must be 0..{all.Length - 1}.");
            result[i] = all[items[i]];
        }

        return result;
    }

    /// <summary>Top-k items for one user.</summary>
    /// <param name="user">Dense user index.</param>
    /// <param name="k">List length, at least 1.</param>
    /// <param name="excludeSeen">Remove the user's training items.</param>
    /// <returns>Up to k recommendations, best first.</returns>
    public IReadOnlyList<Recommendation> Recommend(int user, int k, bool excludeSeen = true)
    {
        RecommendationBatch batch = RecommendBatch([user], k, excludeSeen);
        var list = new List<Recommendation>(k);
        for (int j = 0; j < k && batch.Items[j] >= 0; j++) list.Add(new Recommendation(batch.Items[j], batch.Scores[j]));
        return list;
    }

    /// <summary>
    /// Top-k items for many users: scores in blocks of users (<see cref="ScoreAll"/>), removes seen and non-candidate
    /// items, and selects with the kernels' top-k (ties to the lower item index).
    /// </summary>
    /// <param name="users">Dense user indices.</param>
    /// <param name="k">List length, at least 1.</param>
    /// <param name="excludeSeen">Remove each user's training items.</param>
    /// <param name="candidates">Per item, whether it may be recommended (length <c>Train.ItemCount</c>); null for all.</param>
    /// <returns>The lists.</returns>
    public RecommendationBatch RecommendBatch(ReadOnlySpan<int> users, int k, bool excludeSeen = true, bool[]? candidates = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        Interactions train = Train;
        int n = train.ItemCount;
        if (candidates is not null && candidates.Length != n) throw new ArgumentException($"Candidates has {candidates.Length} entries; the model has {n} items.", nameof(candidates));
        int[] userArray = users.ToArray();
        var items = new int[userArray.Length * k];
        var scores = new float[userArray.Length * k];
        int block = Math.Max(1, Math.Min(userArray.Length, (1 << 22) / n));
        var buffer = new float[block * n];
        int kk = Math.Min(k, n);
        var topItems = new int[block * kk];
        var topScores = new float[block * kk];
        for (int start = 0; start < userArray.Length; start += block)
        {
            int b = Math.Min(block, userArray.Length - start);
            Span<float> s = buffer.AsSpan(0, b * n);
            ScoreAll(userArray.AsSpan(start, b), s);
            for (int r = 0; r < b; r++)
            {
                Span<float> row = s.Slice(r * n, n);
                for (int i = 0; i < n; i++)
                {
                    if (float.IsNaN(row[i])) row[i] = float.NegativeInfinity;
                }

                if (excludeSeen)
                {
                    foreach (int i in train.ItemsOf(userArray[start + r])) row[i] = float.NegativeInfinity;
                }

                if (candidates is not null)
                {
                    for (int i = 0; i < n; i++)
                    {
                        if (!candidates[i]) row[i] = float.NegativeInfinity;
                    }
                }
            }

            Kernels.TopK(s, b, n, kk, TopKOrder.Largest, topItems.AsSpan(0, b * kk), topScores.AsSpan(0, b * kk));
            for (int r = 0; r < b; r++)
            {
                for (int j = 0; j < k; j++)
                {
                    int dst = (start + r) * k + j;
                    bool valid = j < kk && topItems[r * kk + j] >= 0 && !float.IsNegativeInfinity(topScores[r * kk + j]);
                    items[dst] = valid ? topItems[r * kk + j] : -1;
                    scores[dst] = valid ? topScores[r * kk + j] : float.NaN;
                }
            }
        }

        return new RecommendationBatch(userArray, k, items, scores);
    }

    /// <summary>
    /// The user's seen items that contributed most to an item's score, largest first; empty where the model cannot say
    /// (popularity, matrix factorisation).
    /// </summary>
    /// <param name="user">Dense user index.</param>
    /// <param name="item">Dense item index.</param>
    /// <param name="top">Most contributions returned.</param>
    public virtual IReadOnlyList<Contribution> Explain(int user, int item, int top = 5) => [];

    private int _disposeCalled;

    /// <inheritdoc />
    public void Dispose()
    {
        // Idempotent: a container may dispose one instance registered under two services.
        if (Interlocked.Exchange(ref _disposeCalled, 1) != 0) return;
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases owned kernels.</summary>
    /// <param name="disposing">From <see cref="Dispose()"/>.</param>
    protected virtual void Dispose(bool disposing)
    {
        if (disposing) _ownedKernels?.Dispose();
    }
}

using Vec.Kernels;
using Vec.Rec.Internals;

namespace Vec.Rec.Models;

/// <summary>Settings of <see cref="UserKnn"/>; the defaults are the values tuned on a validation split of ML-100k's training data.</summary>
public sealed record UserKnnOptions
{
    /// <summary>Neighbours kept per user (the most similar users), at least 1.</summary>
    public int Neighbors { get; init; } = 100;

    /// <summary>Shrinkage added to the cosine denominator; at least 0.</summary>
    public float Shrink { get; init; } = 0;

    /// <summary>Weighting of the matrix the user similarities are computed on.</summary>
    public InteractionWeighting Weighting { get; init; } = InteractionWeighting.Binary;

    /// <summary>Weighting of the neighbours' interactions <c>x_vi</c> when scoring.</summary>
    public InteractionWeighting ScoreWeighting { get; init; } = InteractionWeighting.Binary;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        if (Neighbors < 1) throw new ArgumentOutOfRangeException(nameof(Neighbors), Neighbors, "UserKnnOptions.Neighbors must be at least 1.");
        if (!(Shrink >= 0) || !float.IsFinite(Shrink)) throw new ArgumentOutOfRangeException(nameof(Shrink), Shrink, "UserKnnOptions.Shrink must be finite and at least 0.");
        if (!Enum.IsDefined(Weighting)) throw new ArgumentOutOfRangeException(nameof(Weighting), Weighting, "Unknown UserKnnOptions.Weighting.");
        if (!Enum.IsDefined(ScoreWeighting)) throw new ArgumentOutOfRangeException(nameof(ScoreWeighting), ScoreWeighting, "Unknown UserKnnOptions.ScoreWeighting.");
    }
}

/// <summary>
/// User-based k-nearest-neighbours: cosine similarity between user rows of the (weighted) training matrix with shrinkage,
/// each user's <c>Neighbors</c> most similar other users, and <c>score(u, i) = Σ_{v ∈ N(u)} sim(u, v) · x_vi</c>.
/// </summary>
/// <remarks>
/// <see cref="Explain"/> returns the user's seen items j weighted by how strongly the neighbours who support the
/// recommendation also have j: <c>Σ_{v ∈ N(u), x_vi ≠ 0, x_vj ≠ 0} sim(u, v)</c> (the co-occurrence, in the neighbourhood,
/// of the seen item with the recommended one).
/// </remarks>
public sealed class UserKnn : Recommender
{
    private int[] _nbOffsets = [];
    private int[] _nbUsers = [];
    private float[] _nbSims = [];
    private float[]? _scoreWeights;

    /// <summary>Creates the model.</summary>
    /// <param name="options">Settings; null for the tuned defaults.</param>
    /// <param name="kernels">Kernels for top-k; null for the best CPU backend.</param>
    /// <exception cref="ArgumentOutOfRangeException">An invalid setting (named).</exception>
    public UserKnn(UserKnnOptions? options = null, IVectorKernels? kernels = null) : base(kernels)
    {
        Options = options ?? new UserKnnOptions();
        Options.Validate();
    }

    /// <summary>The settings.</summary>
    public UserKnnOptions Options { get; }

    /// <inheritdoc />
    public override string Name => "userknn";

    /// <inheritdoc />
    protected override void FitCore(Interactions train, ItemCatalog? catalog, CancellationToken cancellationToken)
    {
        int m = train.UserCount;
        int k = Math.Min(Options.Neighbors, Math.Max(1, m - 1));
        float[] weights = CfMath.Weights(train, Options.Weighting);
        float[] tw = CfMath.TransposeWeights(train, weights);
        Interactions t = train.Transpose();
        var norms = new double[m];
        ReadOnlySpan<int> offsets = train.RowOffsets;
        for (int u = 0; u < m; u++)
        {
            double s = 0;
            for (int p = offsets[u]; p < offsets[u + 1]; p++) s += (double)weights[p] * weights[p];
            norms[u] = Math.Sqrt(s);
        }

        var nbUsers = new int[(long)m * k];
        var nbSims = new float[(long)m * k];
        var counts = new int[m];
        double shrink = Options.Shrink;
        int block = Math.Max(1, Math.Min(m, (1 << 20) / m));
        var simBlock = new float[(long)block * m];
        var idx = new int[block * k];
        var val = new float[block * k];
        for (int start = 0; start < m; start += block)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int b = Math.Min(block, m - start);
            Parallel.For(0, b, r =>
            {
                int u = start + r;
                Span<float> row = simBlock.AsSpan(r * m, m);
                var acc = new double[m];
                ReadOnlySpan<int> ro = train.RowOffsets, ri = train.ItemIndices, to = t.RowOffsets, tu = t.ItemIndices;
                for (int p = ro[u]; p < ro[u + 1]; p++)
                {
                    int i = ri[p];
                    double wu = weights[p];
                    for (int q = to[i]; q < to[i + 1]; q++) acc[tu[q]] += wu * tw[q];
                }

                for (int v = 0; v < m; v++) row[v] = v == u || acc[v] == 0 ? 0f : (float)(acc[v] / (norms[u] * norms[v] + shrink + 1e-12));
            });
            Kernels.TopK(simBlock.AsSpan(0, b * m), b, m, k, TopKOrder.Largest, idx.AsSpan(0, b * k), val.AsSpan(0, b * k));
            for (int r = 0; r < b; r++)
            {
                int u = start + r, c = 0;
                for (int j = 0; j < k; j++)
                {
                    if (idx[r * k + j] < 0 || !(val[r * k + j] > 0)) continue;
                    nbUsers[(long)u * k + c] = idx[r * k + j];
                    nbSims[(long)u * k + c] = val[r * k + j];
                    c++;
                }

                counts[u] = c;
            }
        }

        var nbOffsets = new int[m + 1];
        for (int u = 0; u < m; u++) nbOffsets[u + 1] = nbOffsets[u] + counts[u];
        var users = new int[nbOffsets[m]];
        var sims = new float[nbOffsets[m]];
        for (int u = 0; u < m; u++)
        {
            Array.Copy(nbUsers, (long)u * k, users, nbOffsets[u], counts[u]);
            Array.Copy(nbSims, (long)u * k, sims, nbOffsets[u], counts[u]);
        }

        _nbOffsets = nbOffsets;
        _nbUsers = users;
        _nbSims = sims;
        _scoreWeights = Options.ScoreWeighting == InteractionWeighting.Binary ? null : CfMath.Weights(train, Options.ScoreWeighting);
    }

    /// <summary>The neighbours of a user and their similarities, most similar first.</summary>
    /// <param name="user">Dense user index.</param>
    public IReadOnlyList<(int User, float Similarity)> Neighbors(int user)
    {
        if ((uint)user >= (uint)Train.UserCount) throw new ArgumentOutOfRangeException(nameof(user), user, $"User index must be 0..{Train.UserCount - 1}.");
        var list = new List<(int, float)>();
        for (int p = _nbOffsets[user]; p < _nbOffsets[user + 1]; p++) list.Add((_nbUsers[p], _nbSims[p]));
        return list;
    }

    /// <inheritdoc />
    protected override void ScoreAllCore(ReadOnlySpan<int> users, Span<float> destination)
    {
        Interactions train = Train;
        float[]? sw = _scoreWeights;
        CfMath.ForEachUserRow(users, train.ItemCount, destination, (u, row) =>
        {
            ReadOnlySpan<int> ro = train.RowOffsets, ri = train.ItemIndices;
            for (int p = _nbOffsets[u]; p < _nbOffsets[u + 1]; p++)
            {
                int v = _nbUsers[p];
                float s = _nbSims[p];
                for (int q = ro[v]; q < ro[v + 1]; q++) row[ri[q]] += s * (sw is null ? 1f : sw[q]);
            }
        });
    }

    /// <inheritdoc />
    public override IReadOnlyList<Contribution> Explain(int user, int item, int top = 5)
    {
        Interactions train = Train;
        if ((uint)item >= (uint)train.ItemCount) throw new ArgumentOutOfRangeException(nameof(item), item, $"Item index must be 0..{train.ItemCount - 1}.");
        ArgumentOutOfRangeException.ThrowIfLessThan(top, 1);
        ReadOnlySpan<int> seen = train.ItemsOf(user);
        var weight = new float[seen.Length];
        for (int p = _nbOffsets[user]; p < _nbOffsets[user + 1]; p++)
        {
            int v = _nbUsers[p];
            ReadOnlySpan<int> theirs = train.ItemsOf(v);
            if (theirs.BinarySearch(item) < 0) continue;
            for (int s = 0; s < seen.Length; s++)
            {
                if (theirs.BinarySearch(seen[s]) >= 0) weight[s] += _nbSims[p];
            }
        }

        var list = new List<Contribution>();
        for (int s = 0; s < seen.Length; s++)
        {
            if (weight[s] > 0) list.Add(new Contribution(seen[s], weight[s]));
        }

        return CfMath.TopContributions(list, top);
    }
}

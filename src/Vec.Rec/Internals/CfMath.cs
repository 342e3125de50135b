using System.Numerics.Tensors;
using Vec.Kernels;

namespace Vec.Rec.Internals;

/// <summary>Shared sparse/dense arithmetic of the collaborative-filtering models.</summary>
internal static class CfMath
{
    /// <summary>Per-entry weights of <paramref name="train"/> (aligned with its <c>Values</c>); TF-IDF and BM25 treat rows as documents and columns as terms.</summary>
    public static float[] Weights(Interactions train, InteractionWeighting weighting)
    {
        ReadOnlySpan<float> values = train.Values;
        ReadOnlySpan<int> items = train.ItemIndices;
        var w = new float[values.Length];
        switch (weighting)
        {
            case InteractionWeighting.Binary:
                w.AsSpan().Fill(1f);
                break;
            case InteractionWeighting.Rating:
                values.CopyTo(w);
                break;
            case InteractionWeighting.TfIdf:
            {
                int[] df = ItemCounts(train);
                for (int p = 0; p < w.Length; p++) w[p] = (float)Math.Log(train.UserCount / (double)df[items[p]]);
                break;
            }

            case InteractionWeighting.Bm25:
            {
                const double k1 = 1.2, b = 0.75;
                int[] df = ItemCounts(train);
                ReadOnlySpan<int> offsets = train.RowOffsets;
                double avg = 0;
                var len = new double[train.UserCount];
                for (int u = 0; u < train.UserCount; u++)
                {
                    double s = 0;
                    for (int p = offsets[u]; p < offsets[u + 1]; p++) s += values[p];
                    len[u] = s;
                    avg += s;
                }

                avg = Math.Max(avg / Math.Max(train.UserCount, 1), 1e-12);
                for (int u = 0; u < train.UserCount; u++)
                {
                    double norm = k1 * (1 - b + b * len[u] / avg);
                    for (int p = offsets[u]; p < offsets[u + 1]; p++)
                    {
                        double idf = Math.Log(train.UserCount / (double)df[items[p]]);
                        double tf = values[p];
                        w[p] = (float)(tf * (k1 + 1) / (tf + norm) * idf);
                    }
                }

                break;
            }

            default:
                throw new ArgumentOutOfRangeException(nameof(weighting), weighting, "Unknown weighting.");
        }

        return w;
    }

    /// <summary>Interactions per item.</summary>
    public static int[] ItemCounts(Interactions train)
    {
        var counts = new int[train.ItemCount];
        foreach (int i in train.ItemIndices) counts[i]++;
        return counts;
    }

    /// <summary>
    /// Dense Gram matrix <c>XᵀX</c> (items x items, row-major, double) of the users x items matrix whose entries are
    /// <paramref name="weights"/>; computed row by row from the item-major transpose, in parallel.
    /// </summary>
    public static double[] ItemGram(Interactions train, float[] weights, CancellationToken cancellationToken)
    {
        int n = train.ItemCount;
        var gram = new double[(long)n * n];
        Interactions t = train.Transpose();
        // Weights of the transpose's entries: map through (user, item) -> entry position in train.
        float[] tw = TransposeWeights(train, weights);
        var options = new ParallelOptions { CancellationToken = cancellationToken };
        Parallel.For(0, n, options, i =>
        {
            Span<double> row = gram.AsSpan(i * n, n);
            ReadOnlySpan<int> rowOffsets = train.RowOffsets;
            ReadOnlySpan<int> cols = train.ItemIndices;
            ReadOnlySpan<int> to = t.RowOffsets;
            ReadOnlySpan<int> tu = t.ItemIndices;
            for (int q = to[i]; q < to[i + 1]; q++)
            {
                int u = tu[q];
                double wi = tw[q];
                for (int p = rowOffsets[u]; p < rowOffsets[u + 1]; p++) row[cols[p]] += wi * weights[p];
            }
        });
        return gram;
    }

    /// <summary>The weights of <paramref name="train"/>'s entries re-ordered to its transpose's entry order.</summary>
    public static float[] TransposeWeights(Interactions train, float[] weights)
    {
        Interactions t = train.Transpose();
        var fill = t.RowOffsets.ToArray();
        var tw = new float[weights.Length];
        ReadOnlySpan<int> offsets = train.RowOffsets;
        ReadOnlySpan<int> items = train.ItemIndices;
        for (int u = 0; u < train.UserCount; u++)
        {
            for (int p = offsets[u]; p < offsets[u + 1]; p++) tw[fill[items[p]]++] = weights[p];
        }

        return tw;
    }

    /// <summary>
    /// Keeps the <paramref name="k"/> largest entries of each row of a dense <c>rows x columns</c> matrix (ties to the
    /// lower column) and zeroes the rest; entries that are not positive are never kept. Selection by the kernels' top-k.
    /// </summary>
    public static void KeepTopKPerRow(IVectorKernels kernels, float[] matrix, int rows, int columns, int k)
    {
        if (k >= columns) return;
        int block = Math.Max(1, Math.Min(rows, (1 << 20) / Math.Max(1, k)));
        var idx = new int[block * k];
        var val = new float[block * k];
        for (int start = 0; start < rows; start += block)
        {
            int b = Math.Min(block, rows - start);
            kernels.TopK(matrix.AsSpan(start * columns, b * columns), b, columns, k, TopKOrder.Largest, idx.AsSpan(0, b * k), val.AsSpan(0, b * k));
            for (int r = 0; r < b; r++)
            {
                Span<float> row = matrix.AsSpan((start + r) * columns, columns);
                row.Clear();
                for (int j = 0; j < k; j++)
                {
                    int c = idx[r * k + j];
                    float v = val[r * k + j];
                    if (c >= 0 && v > 0) row[c] = v;
                }
            }
        }
    }

    /// <summary>
    /// <c>destination[r, :] = Σ_p weights[p] · matrix[item(p), :]</c> over user <c>users[r]</c>'s entries: a sparse block
    /// of user rows times a dense <c>items x columns</c> matrix; rows in parallel.
    /// </summary>
    public static void SparseRowsTimesDense(Interactions train, float[]? weights, ReadOnlySpan<int> users, float[] matrix, int columns, Span<float> destination)
    {
        int[] userArray = users.ToArray();
        unsafe
        {
            fixed (float* dst = destination)
            {
                nint basePtr = (nint)dst;
                Parallel.For(0, userArray.Length, new ParallelOptions { MaxDegreeOfParallelism = userArray.Length >= 16 ? -1 : 1 }, r =>
                {
                    var row = new Span<float>((float*)basePtr + (long)r * columns, columns);
                    row.Clear();
                    int u = userArray[r];
                    ReadOnlySpan<int> offsets = train.RowOffsets;
                    ReadOnlySpan<int> items = train.ItemIndices;
                    for (int p = offsets[u]; p < offsets[u + 1]; p++)
                    {
                        float w = weights is null ? 1f : weights[p];
                        if (w == 0) continue;
                        TensorPrimitives.MultiplyAdd(matrix.AsSpan(items[p] * columns, columns), w, row, row);
                    }
                });
            }
        }
    }

    /// <summary>
    /// Inverse of a symmetric positive-definite matrix (row-major <c>n x n</c>, double) through its Cholesky factor
    /// <c>A = L Lᵀ</c>: <c>A⁻¹ = L⁻ᵀ L⁻¹</c>. Overwrites nothing; returns the full symmetric inverse.
    /// </summary>
    /// <exception cref="InvalidOperationException">The matrix is not (numerically) positive definite.</exception>
    public static double[] InverseSpd(double[] a, int n, CancellationToken cancellationToken = default)
    {
        // Cholesky, row by row: L[i, j] = (A[i, j] - L[i, :j]·L[j, :j]) / L[j, j].
        var l = new double[(long)n * n];
        for (int i = 0; i < n; i++)
        {
            if ((i & 63) == 0) cancellationToken.ThrowIfCancellationRequested();
            Span<double> li = l.AsSpan(i * n, n);
            for (int j = 0; j < i; j++)
            {
                double s = a[i * n + j] - TensorPrimitives.Dot<double>(li[..j], l.AsSpan(j * n, j));
                li[j] = s / l[j * n + j];
            }

            double d = a[i * n + i] - TensorPrimitives.Dot<double>(li[..i], li[..i]);
            if (!(d > 0)) throw new InvalidOperationException($"The matrix is not positive definite (pivot {i} is {d}).");
            li[i] = Math.Sqrt(d);
        }

        // X = L⁻¹ (lower), row i: X[i, :] = (e_i - Σ_{k<i} L[i, k] X[k, :]) / L[i, i].
        var x = new double[(long)n * n];
        for (int i = 0; i < n; i++)
        {
            if ((i & 63) == 0) cancellationToken.ThrowIfCancellationRequested();
            Span<double> xi = x.AsSpan(i * n, i + 1);
            xi[i] = 1;
            for (int k = 0; k < i; k++)
            {
                double c = l[i * n + k];
                if (c != 0) TensorPrimitives.MultiplyAdd<double>(x.AsSpan(k * n, k + 1), -c, xi[..(k + 1)], xi[..(k + 1)]);
            }

            TensorPrimitives.Divide<double>(xi, l[i * n + i], xi);
        }

        // M = Xᵀ (upper): M[i, k] = X[k, i] for k >= i; then A⁻¹[i, j] = Σ_{k >= max(i, j)} M[i, k] M[j, k].
        var m = new double[(long)n * n];
        for (int k = 0; k < n; k++)
        {
            for (int i = 0; i <= k; i++) m[i * n + k] = x[k * n + i];
        }

        x = l = null!;
        var inv = new double[(long)n * n];
        Parallel.For(0, n, new ParallelOptions { CancellationToken = cancellationToken }, i =>
        {
            ReadOnlySpan<double> mi = m.AsSpan(i * n, n);
            for (int j = i; j < n; j++)
            {
                double v = TensorPrimitives.Dot<double>(mi[j..], m.AsSpan(j * n + j, n - j));
                inv[i * n + j] = v;
            }
        });
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < i; j++) inv[i * n + j] = inv[j * n + i];
        }

        return inv;
    }

    /// <summary>
    /// Contributions <c>w_uj · matrix[j, item]</c> of the user's seen items j to an item's score, largest first, only the
    /// positive ones, at most <paramref name="top"/>.
    /// </summary>
    public static IReadOnlyList<Contribution> ExplainItemMatrix(Interactions train, float[]? weights, float[] matrix, int columns, int user, int item, int top)
    {
        if ((uint)item >= (uint)train.ItemCount) throw new ArgumentOutOfRangeException(nameof(item), item, $"Item index must be 0..{train.ItemCount - 1}.");
        ArgumentOutOfRangeException.ThrowIfLessThan(top, 1);
        ReadOnlySpan<int> seen = train.ItemsOf(user);
        int start = train.RowOffsets[user];
        var list = new List<Contribution>(seen.Length);
        for (int p = 0; p < seen.Length; p++)
        {
            float w = (weights is null ? 1f : weights[start + p]) * matrix[(long)seen[p] * columns + item];
            if (w > 0) list.Add(new Contribution(seen[p], w));
        }

        return TopContributions(list, top);
    }

    /// <summary>The largest contributions first (ties to the lower item), at most <paramref name="top"/>.</summary>
    public static IReadOnlyList<Contribution> TopContributions(List<Contribution> list, int top)
    {
        list.Sort(static (a, b) => a.Weight != b.Weight ? b.Weight.CompareTo(a.Weight) : a.Item.CompareTo(b.Item));
        if (list.Count > top) list.RemoveRange(top, list.Count - top);
        return list;
    }
}

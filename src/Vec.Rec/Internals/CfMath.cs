using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
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
    public static void SparseRowsTimesDense(Interactions train, float[]? weights, ReadOnlySpan<int> users, float[] matrix, int columns, Span<float> destination) =>
        ForEachUserRow(users, columns, destination, (u, row) =>
        {
            ReadOnlySpan<int> offsets = train.RowOffsets;
            ReadOnlySpan<int> items = train.ItemIndices;
            for (int p = offsets[u]; p < offsets[u + 1]; p++)
            {
                float w = weights is null ? 1f : weights[p];
                if (w == 0) continue;
                TensorPrimitives.MultiplyAdd(matrix.AsSpan(items[p] * columns, columns), w, row, row);
            }
        });

    /// <summary>Fills one user's score row (cleared before the call).</summary>
    /// <param name="user">Dense user index.</param>
    /// <param name="row">The user's destination row.</param>
    public delegate void UserRowAction(int user, Span<float> row);

    /// <summary>
    /// Runs <paramref name="body"/> for each user with its cleared row of <paramref name="destination"/>
    /// (<c>users.Length x columns</c>), in parallel for blocks of 16 users or more. Rows are disjoint, so the bodies never
    /// share memory.
    /// </summary>
    public static void ForEachUserRow(ReadOnlySpan<int> users, int columns, Span<float> destination, UserRowAction body)
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
                    body(userArray[r], row);
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
        var options = new ParallelOptions { CancellationToken = cancellationToken };
        // Blocked right-looking Cholesky A = L Lᵀ (lower, row-major), panels of Block rows: factor the diagonal block
        // serially, solve the rows below it against it (independent rows, in parallel), then update the trailing lower
        // triangle with dot products of those panel rows (independent rows, in parallel).
        const int Block = 96;
        var l = (double[])a.Clone();
        for (int k0 = 0; k0 < n; k0 += Block)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int k1 = Math.Min(n, k0 + Block);
            for (int i = k0; i < k1; i++)
            {
                Span<double> li = l.AsSpan(i * n, n);
                for (int j = k0; j < i; j++)
                {
                    double v = li[j] - TensorPrimitives.Dot<double>(li[k0..j], l.AsSpan(j * n + k0, j - k0));
                    li[j] = v / l[j * n + j];
                }

                double d = li[i] - TensorPrimitives.Dot<double>(li[k0..i], li[k0..i]);
                if (!(d > 0)) throw new InvalidOperationException($"The matrix is not positive definite (pivot {i} is {d}).");
                li[i] = Math.Sqrt(d);
            }

            if (k1 == n) break;
            Parallel.For(k1, n, options, i =>
            {
                Span<double> li = l.AsSpan(i * n, n);
                for (int j = k0; j < k1; j++)
                {
                    double v = li[j] - TensorPrimitives.Dot<double>(li[k0..j], l.AsSpan(j * n + k0, j - k0));
                    li[j] = v / l[j * n + j];
                }
            });
            int kb = k1 - k0, firstRow = k1;
            Parallel.For(0, (n - k1 + 1) / 2, options, pair =>
            {
                // Rows i and i + 1 (when it exists) of the trailing lower triangle, columns k1..i in tiles of 4.
                int i = firstRow + 2 * pair;
                bool two = i + 1 < n;
                Span<double> tile = stackalloc double[8];
                ReadOnlySpan<double> p0 = l.AsSpan(i * n + k0, kb);
                ReadOnlySpan<double> p1 = two ? l.AsSpan((i + 1) * n + k0, kb) : p0;
                int j = k1;
                for (; j + 3 <= i; j += 4)
                {
                    Dot2x4(p0, p1, l.AsSpan(j * n + k0, kb), l.AsSpan((j + 1) * n + k0, kb), l.AsSpan((j + 2) * n + k0, kb), l.AsSpan((j + 3) * n + k0, kb), tile);
                    for (int q = 0; q < 4; q++)
                    {
                        l[i * n + j + q] -= tile[q];
                        if (two) l[(i + 1) * n + j + q] -= tile[4 + q];
                    }
                }

                for (; j <= i; j++)
                {
                    ReadOnlySpan<double> pj = l.AsSpan(j * n + k0, kb);
                    l[i * n + j] -= TensorPrimitives.Dot<double>(p0, pj);
                    if (two) l[(i + 1) * n + j] -= TensorPrimitives.Dot<double>(p1, pj);
                }

                if (two) l[(i + 1) * n + i + 1] -= TensorPrimitives.Dot<double>(p1, p1);
            });
        }

        // M = L⁻ᵀ (upper), one row per column of L⁻¹, solved independently in parallel: row c holds X[c.., c] where
        // L X = I, i.e. M[c, i] = (δ_ci − L[i, c..i)·M[c, c..i)) / L[i, i] for i >= c.
        var m = new double[(long)n * n];
        Parallel.For(0, n, options, c =>
        {
            Span<double> mc = m.AsSpan(c * n, n);
            mc[c] = 1 / l[c * n + c];
            for (int i = c + 1; i < n; i++)
                mc[i] = -TensorPrimitives.Dot<double>(l.AsSpan(i * n + c, i - c), mc[c..i]) / l[i * n + i];
        });

        l = null!;
        var inv = new double[(long)n * n];
        // inv[i, j] = Σ_{k >= j} M[i, k] M[j, k] for j >= i; M is upper triangular (zeros below the diagonal), so a tile of
        // columns j..j+3 can sum from k = j for all four.
        Parallel.For(0, (n + 1) / 2, new ParallelOptions { CancellationToken = cancellationToken }, pair =>
        {
            int i = 2 * pair;
            bool two = i + 1 < n;
            Span<double> tile = stackalloc double[8];
            ReadOnlySpan<double> m0 = m.AsSpan(i * n, n);
            ReadOnlySpan<double> m1 = two ? m.AsSpan((i + 1) * n, n) : m0;
            inv[i * n + i] = TensorPrimitives.Dot<double>(m0[i..], m0[i..]);
            int j = i + 1;
            for (; j + 3 < n; j += 4)
            {
                int len = n - j;
                Dot2x4(m0.Slice(j, len), m1.Slice(j, len), m.AsSpan(j * n + j, len), m.AsSpan((j + 1) * n + j, len), m.AsSpan((j + 2) * n + j, len), m.AsSpan((j + 3) * n + j, len), tile);
                for (int q = 0; q < 4; q++)
                {
                    inv[i * n + j + q] = tile[q];
                    if (two) inv[(i + 1) * n + j + q] = tile[4 + q];
                }
            }

            for (; j < n; j++)
            {
                ReadOnlySpan<double> mj = m.AsSpan(j * n + j, n - j);
                inv[i * n + j] = TensorPrimitives.Dot<double>(m0[j..], mj);
                if (two) inv[(i + 1) * n + j] = TensorPrimitives.Dot<double>(m1[j..], mj);
            }
        });
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < i; j++) inv[i * n + j] = inv[j * n + i];
        }

        return inv;
    }

    /// <summary>
    /// The 2 x 4 dot products of rows <paramref name="x0"/>, <paramref name="x1"/> with rows <paramref name="y0"/> ..
    /// <paramref name="y3"/> (all of one length) into <paramref name="c"/> (x0·y0..y3, then x1·y0..y3): eight
    /// Vector512 accumulators, six loads per eight FMAs. No calls inside the loop (RyuJIT would spill the accumulators).
    /// </summary>
    internal static void Dot2x4(ReadOnlySpan<double> x0, ReadOnlySpan<double> x1, ReadOnlySpan<double> y0, ReadOnlySpan<double> y1,
        ReadOnlySpan<double> y2, ReadOnlySpan<double> y3, Span<double> c)
    {
        int len = x0.Length;
        int k = 0;
        if (Vector512.IsHardwareAccelerated && len >= 8)
        {
            ref double a0 = ref MemoryMarshal.GetReference(x0), a1 = ref MemoryMarshal.GetReference(x1);
            ref double b0 = ref MemoryMarshal.GetReference(y0), b1 = ref MemoryMarshal.GetReference(y1);
            ref double b2 = ref MemoryMarshal.GetReference(y2), b3 = ref MemoryMarshal.GetReference(y3);
            Vector512<double> s00 = default, s01 = default, s02 = default, s03 = default, s10 = default, s11 = default, s12 = default, s13 = default;
            for (; k + 8 <= len; k += 8)
            {
                Vector512<double> u0 = Vector512.LoadUnsafe(ref a0, (nuint)k), u1 = Vector512.LoadUnsafe(ref a1, (nuint)k);
                Vector512<double> v = Vector512.LoadUnsafe(ref b0, (nuint)k);
                s00 = Vector512.FusedMultiplyAdd(u0, v, s00);
                s10 = Vector512.FusedMultiplyAdd(u1, v, s10);
                v = Vector512.LoadUnsafe(ref b1, (nuint)k);
                s01 = Vector512.FusedMultiplyAdd(u0, v, s01);
                s11 = Vector512.FusedMultiplyAdd(u1, v, s11);
                v = Vector512.LoadUnsafe(ref b2, (nuint)k);
                s02 = Vector512.FusedMultiplyAdd(u0, v, s02);
                s12 = Vector512.FusedMultiplyAdd(u1, v, s12);
                v = Vector512.LoadUnsafe(ref b3, (nuint)k);
                s03 = Vector512.FusedMultiplyAdd(u0, v, s03);
                s13 = Vector512.FusedMultiplyAdd(u1, v, s13);
            }

            c[0] = Vector512.Sum(s00);
            c[1] = Vector512.Sum(s01);
            c[2] = Vector512.Sum(s02);
            c[3] = Vector512.Sum(s03);
            c[4] = Vector512.Sum(s10);
            c[5] = Vector512.Sum(s11);
            c[6] = Vector512.Sum(s12);
            c[7] = Vector512.Sum(s13);
        }
        else
        {
            c[..8].Clear();
        }

        for (; k < len; k++)
        {
            c[0] += x0[k] * y0[k];
            c[1] += x0[k] * y1[k];
            c[2] += x0[k] * y2[k];
            c[3] += x0[k] * y3[k];
            c[4] += x1[k] * y0[k];
            c[5] += x1[k] * y1[k];
            c[6] += x1[k] * y2[k];
            c[7] += x1[k] * y3[k];
        }
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

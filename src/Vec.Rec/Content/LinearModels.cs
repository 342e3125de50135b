using MathNet.Numerics.LinearAlgebra;
using MathNet.Numerics.LinearAlgebra.Factorization;

namespace Vec.Rec.Content;

/// <summary>Closed-form ridge fits (in double) used to carry what interactions say about warm items over to cold items through their content.</summary>
public static class LinearModels
{
    /// <summary>
    /// Ridge regression <c>β = (FᵀF + λI)⁻¹ Fᵀ y</c> over the selected rows, with
    /// <c>λ = lambda · trace(FᵀF) / d</c> (relative, so it does not depend on the feature scale).
    /// </summary>
    /// <param name="features">Row-major <c>n x d</c>.</param>
    /// <param name="n">Rows.</param>
    /// <param name="d">Columns.</param>
    /// <param name="targets">n targets (rows not selected are ignored).</param>
    /// <param name="rows">Which rows to fit on; null for all.</param>
    /// <param name="lambda">Relative ridge strength, positive.</param>
    /// <returns>d coefficients.</returns>
    public static double[] Ridge(ReadOnlySpan<float> features, int n, int d, ReadOnlySpan<double> targets, bool[]? rows, double lambda)
    {
        CheckShape(features, n, d, nameof(features));
        if (targets.Length < n) throw new ArgumentException($"Targets holds {targets.Length} values; {n} are needed.", nameof(targets));
        if (!(lambda > 0) || !double.IsFinite(lambda)) throw new ArgumentOutOfRangeException(nameof(lambda), lambda, "Lambda must be positive and finite.");
        var g = new double[d * d];
        var b = new double[d];
        var row = new double[d];
        for (int i = 0; i < n; i++)
        {
            if (rows is not null && !rows[i]) continue;
            for (int a = 0; a < d; a++) row[a] = features[i * d + a];
            AddOuter(g, row, row, d);
            for (int a = 0; a < d; a++) b[a] += row[a] * targets[i];
        }

        Matrix<double> gram = Matrix<double>.Build.Dense(d, d, g);
        double reg = lambda * Math.Max(gram.Trace() / d, 1e-12);
        for (int a = 0; a < d; a++) gram[a, a] += reg;
        return gram.Cholesky().Solve(Vector<double>.Build.Dense(b)).ToArray();
    }

    /// <summary>
    /// The bilinear ridge fit <c>min_W ‖A W Fᵀ − Y‖² + λ‖W‖²</c> with <c>A = X F</c> (users' summed item features),
    /// solved exactly through the eigendecompositions of <c>AᵀA</c> and <c>FᵀF</c> (the normal equations are
    /// <c>AᵀA W FᵀF + λW = AᵀY F</c>), with <c>λ = lambda · (trace(AᵀA)/d) · (trace(FᵀF)/d)</c>.
    /// </summary>
    /// <param name="a">Row-major <c>users x d</c> user features (<c>X F</c>).</param>
    /// <param name="users">Users.</param>
    /// <param name="b">Row-major <c>users x d</c>: <c>Y F</c> (the targets projected on the item features).</param>
    /// <param name="features">Row-major <c>n x d</c> item features F.</param>
    /// <param name="n">Items.</param>
    /// <param name="d">Feature dimension.</param>
    /// <param name="rows">Items whose features enter <c>FᵀF</c> (the items with targets); null for all.</param>
    /// <param name="lambda">Relative ridge strength, positive.</param>
    /// <returns>W, row-major <c>d x d</c>.</returns>
    public static double[] Bilinear(ReadOnlySpan<double> a, int users, ReadOnlySpan<double> b, ReadOnlySpan<float> features, int n, int d, bool[]? rows, double lambda)
    {
        CheckShape(features, n, d, nameof(features));
        if (a.Length < (long)users * d) throw new ArgumentException("A is too short.", nameof(a));
        if (b.Length < (long)users * d) throw new ArgumentException("B is too short.", nameof(b));
        if (!(lambda > 0) || !double.IsFinite(lambda)) throw new ArgumentOutOfRangeException(nameof(lambda), lambda, "Lambda must be positive and finite.");
        int warm = 0;
        for (int i = 0; i < n; i++)
        {
            if (rows is null || rows[i]) warm++;
        }

        if (warm > 0 && warm < d)
            return BilinearInSpan(a, users, b, features, n, d, rows, warm, lambda);

        var ata = new double[d * d];
        var atb = new double[d * d];
        for (int u = 0; u < users; u++)
        {
            AddOuter(ata, a.Slice(u * d, d), a.Slice(u * d, d), d);
            AddOuter(atb, a.Slice(u * d, d), b.Slice(u * d, d), d);
        }

        var ftf = new double[d * d];
        var row = new double[d];
        for (int i = 0; i < n; i++)
        {
            if (rows is not null && !rows[i]) continue;
            for (int c = 0; c < d; c++) row[c] = features[i * d + c];
            AddOuter(ftf, row, row, d);
        }

        double reg = lambda * Math.Max(Trace(ata, d) / d, 1e-12) * Math.Max(Trace(ftf, d) / d, 1e-12);
        Matrix<double> w = Solve(ata, atb, ftf, d, reg);
        var result = new double[d * d];
        for (int i = 0; i < d; i++)
        {
            for (int j = 0; j < d; j++) result[i * d + j] = w[i, j];
        }

        return result;
    }

    /// <summary>
    /// <see cref="Bilinear"/> when fewer items enter <c>FᵀF</c> than there are dimensions: the rows of A (sums of those
    /// items' features) and of F span at most <paramref name="warm"/> dimensions, and the ridge solution is zero outside that
    /// span (its normal equations reduce to <c>λW = 0</c> there). So W = Q W' Qᵀ with Q an orthonormal basis of the warm
    /// features (thin QR) and W' the same fit in Q's coordinates, with the same λ: the same answer from a warm x warm
    /// problem instead of a d x d one (6 items with 1,025 hashing features: milliseconds instead of seconds).
    /// </summary>
    private static double[] BilinearInSpan(ReadOnlySpan<double> a, int users, ReadOnlySpan<double> b, ReadOnlySpan<float> features, int n, int d,
        bool[]? rows, int warm, double lambda)
    {
        Matrix<double> fw = Matrix<double>.Build.Dense(d, warm);
        double trF = 0;
        for (int i = 0, col = 0; i < n; i++)
        {
            if (rows is not null && !rows[i]) continue;
            for (int c = 0; c < d; c++)
            {
                double v = features[i * d + c];
                fw[c, col] = v;
                trF += v * v;
            }

            col++;
        }

        Matrix<double> q = fw.QR(QRMethod.Thin).Q; // d x warm, orthonormal columns spanning the warm features
        int r = warm;
        double trA = 0;
        for (int k = 0; k < users * d; k++) trA += a[k] * a[k];
        double reg = lambda * Math.Max(trA / d, 1e-12) * Math.Max(trF / d, 1e-12);

        // Coordinates in Q: A' = A Q, B' = B Q (users x r), F'w = Fwᵀ Q (warm x r).
        double[] Project(ReadOnlySpan<double> x, int count)
        {
            var y = new double[count * r];
            for (int u = 0; u < count; u++)
            {
                ReadOnlySpan<double> xu = x.Slice(u * d, d);
                for (int c = 0; c < d; c++)
                {
                    double v = xu[c];
                    if (v == 0) continue;
                    for (int j = 0; j < r; j++) y[u * r + j] += v * q[c, j];
                }
            }

            return y;
        }

        double[] ap = Project(a, users), bp = Project(b, users);
        var fwRows = new double[warm * d];
        for (int col = 0; col < warm; col++)
        {
            for (int c = 0; c < d; c++) fwRows[col * d + c] = fw[c, col];
        }

        double[] fp = Project(fwRows, warm);
        var ata = new double[r * r];
        var atb = new double[r * r];
        var ftf = new double[r * r];
        for (int u = 0; u < users; u++)
        {
            AddOuter(ata, ap.AsSpan(u * r, r), ap.AsSpan(u * r, r), r);
            AddOuter(atb, ap.AsSpan(u * r, r), bp.AsSpan(u * r, r), r);
        }

        for (int i = 0; i < warm; i++) AddOuter(ftf, fp.AsSpan(i * r, r), fp.AsSpan(i * r, r), r);
        Matrix<double> wp = Solve(ata, atb, ftf, r, reg);
        Matrix<double> w = q.Multiply(wp).TransposeAndMultiply(q); // d x d
        var result = new double[d * d];
        for (int i = 0; i < d; i++)
        {
            for (int j = 0; j < d; j++) result[i * d + j] = w[i, j];
        }

        return result;
    }

    /// <summary>Solves <c>AᵀA W FᵀF + reg·W = AᵀB</c> through the eigendecompositions of the two symmetric Gram matrices.</summary>
    private static Matrix<double> Solve(double[] ata, double[] atb, double[] ftf, int d, double reg)
    {
        // AddOuter fills row-major (r, c) = x_r y_c; MathNet's Dense(d, d, array) is column-major, so transpose where it matters.
        Matrix<double> mA = Matrix<double>.Build.Dense(d, d, ata); // symmetric
        Matrix<double> mF = Matrix<double>.Build.Dense(d, d, ftf); // symmetric
        Matrix<double> m = Matrix<double>.Build.Dense(d, d, atb).Transpose(); // (r, c) = Σ_u A_ur B_uc
        Evd<double> ea = mA.Evd(Symmetricity.Symmetric), ef = mF.Evd(Symmetricity.Symmetric);
        Matrix<double> ua = ea.EigenVectors, q = ef.EigenVectors;
        Matrix<double> core = ua.TransposeThisAndMultiply(m).Multiply(q);
        Vector<double> sa = ea.EigenValues.Real(), sf = ef.EigenValues.Real();
        for (int i = 0; i < d; i++)
        {
            for (int j = 0; j < d; j++) core[i, j] /= Math.Max(sa[i], 0) * Math.Max(sf[j], 0) + reg;
        }

        return ua.Multiply(core).TransposeAndMultiply(q);
    }

    private static double Trace(double[] m, int d)
    {
        double t = 0;
        for (int i = 0; i < d; i++) t += m[i * d + i];
        return t;
    }

    private static void AddOuter(double[] target, ReadOnlySpan<double> x, ReadOnlySpan<double> y, int d)
    {
        for (int r = 0; r < d; r++)
        {
            double xr = x[r];
            if (xr == 0) continue;
            Span<double> t = target.AsSpan(r * d, d);
            for (int c = 0; c < d; c++) t[c] += xr * y[c];
        }
    }

    private static void CheckShape(ReadOnlySpan<float> features, int n, int d, string name)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        ArgumentOutOfRangeException.ThrowIfLessThan(d, 1);
        if (features.Length < (long)n * d) throw new ArgumentException($"Features holds {features.Length} floats; {n} x {d} need {(long)n * d}.", name);
    }
}

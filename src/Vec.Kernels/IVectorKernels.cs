namespace Vec.Kernels;

/// <summary>
/// The numeric kernels behind VecRec, implemented by every backend (scalar reference, SIMD CPU, ILGPU).
/// </summary>
/// <remarks>
/// <para>Layout: every matrix is row-major <c>float</c>, passed as a span plus its dimensions; row <c>i</c> of an
/// n x d matrix is <c>span[(i*d)..((i+1)*d)]</c>. Spans may be longer than needed; only the leading part is used.
/// Missing results (k larger than the candidates available) are reported as id -1 with score
/// <see cref="MetricExtensions.MissingScore"/>.</para>
/// <para>Arguments are validated identically on every backend: bad shapes, short spans, k &lt;= 0 and non-finite
/// inputs that would poison results throw exceptions of the <see cref="ArgumentException"/> family naming the
/// argument.</para>
/// <para>Implementations are safe for concurrent calls. Floating-point results may differ between backends in
/// the last bits (different summation orders); ties in top-k are broken towards the lower index.</para>
/// </remarks>
public interface IVectorKernels : IDisposable
{
    /// <summary>Backend name as registered in <see cref="KernelBackends"/> (e.g. <c>scalar</c>, <c>simd</c>, <c>ilgpu-cuda</c>).</summary>
    string Name { get; }

    /// <summary>A human-readable description of the device and instruction set in use.</summary>
    string Description { get; }

    /// <summary>Largest k that <see cref="TopK"/>, <see cref="Search"/> and <see cref="ScanCodes"/> accept (at least 4096 on every backend).</summary>
    int MaxK { get; }

    /// <summary>
    /// Masked mean pooling: <c>destination[b] = Σ_t mask[b,t]·tokens[b,t] / Σ_t mask[b,t]</c>, where any non-zero mask
    /// value counts as 1. A row whose mask is all zero pools to a zero row.
    /// </summary>
    /// <param name="tokenEmbeddings">[batch, sequenceLength, dimension] token embeddings.</param>
    /// <param name="attentionMask">[batch, sequenceLength] mask as ONNX models take it (int64, 0 or 1).</param>
    /// <param name="batch">Number of sequences.</param>
    /// <param name="sequenceLength">Tokens per sequence (padded length).</param>
    /// <param name="dimension">Embedding dimension.</param>
    /// <param name="destination">[batch, dimension] output.</param>
    void MeanPool(ReadOnlySpan<float> tokenEmbeddings, ReadOnlySpan<long> attentionMask, int batch, int sequenceLength, int dimension, Span<float> destination);

    /// <summary>
    /// Masked max pooling: <c>destination[b,j] = max over unmasked t of tokens[b,t,j]</c>. A row whose mask is all zero pools
    /// to a zero row. Shapes as in <see cref="MeanPool"/>.
    /// </summary>
    void MaxPool(ReadOnlySpan<float> tokenEmbeddings, ReadOnlySpan<long> attentionMask, int batch, int sequenceLength, int dimension, Span<float> destination);

    /// <summary>Scales each of the <paramref name="count"/> rows of <paramref name="rows"/> to unit L2 norm in place; zero rows stay zero.</summary>
    void L2Normalize(Span<float> rows, int count, int dimension);

    /// <summary>Writes the L2-normalised rows of <paramref name="source"/> to <paramref name="destination"/>; zero rows stay zero.
    /// The spans must not overlap unless they are the same memory.</summary>
    void L2Normalize(ReadOnlySpan<float> source, Span<float> destination, int count, int dimension);

    /// <summary>Inner products <c>C = A·Bᵀ</c>: <c>destination[i*n + j] = a_i · b_j</c>.</summary>
    /// <param name="a">[m, dimension] left rows.</param>
    /// <param name="m">Rows of <paramref name="a"/>.</param>
    /// <param name="b">[n, dimension] right rows.</param>
    /// <param name="n">Rows of <paramref name="b"/>.</param>
    /// <param name="dimension">Shared dimension.</param>
    /// <param name="destination">[m, n] output.</param>
    void InnerProducts(ReadOnlySpan<float> a, int m, ReadOnlySpan<float> b, int n, int dimension, Span<float> destination);

    /// <summary>Cosine similarities <c>a_i·b_j / (|a_i| |b_j|)</c>, in [-1, 1]; a zero row scores 0. Shapes as in <see cref="InnerProducts"/>.</summary>
    void CosineSimilarities(ReadOnlySpan<float> a, int m, ReadOnlySpan<float> b, int n, int dimension, Span<float> destination);

    /// <summary>Squared Euclidean distances <c>|a_i - b_j|²</c> (never negative). Shapes as in <see cref="InnerProducts"/>.</summary>
    void SquaredL2Distances(ReadOnlySpan<float> a, int m, ReadOnlySpan<float> b, int n, int dimension, Span<float> destination);

    /// <summary>
    /// Top-k of each row of a score matrix: the <paramref name="k"/> largest (or smallest) entries, best first, ties
    /// broken towards the lower column index. When <paramref name="k"/> exceeds <paramref name="columns"/>, the
    /// remaining slots hold id -1 and the missing score.
    /// </summary>
    /// <param name="scores">[rows, columns] scores; NaN is rejected.</param>
    /// <param name="rows">Number of rows.</param>
    /// <param name="columns">Number of columns.</param>
    /// <param name="k">Results per row, at least 1.</param>
    /// <param name="order">Which end to keep.</param>
    /// <param name="indices">[rows, k] column indices of the results.</param>
    /// <param name="values">[rows, k] scores of the results.</param>
    void TopK(ReadOnlySpan<float> scores, int rows, int columns, int k, TopKOrder order, Span<int> indices, Span<float> values);

    /// <summary>Copies [count, dimension] <paramref name="vectors"/> into a backend-owned database for repeated searches.
    /// Non-finite values are rejected.</summary>
    /// <param name="vectors">[count, dimension] rows.</param>
    /// <param name="count">Number of rows.</param>
    /// <param name="dimension">Vector dimension.</param>
    /// <param name="storage">Row storage for single-query scans. Compressed storage keeps the float32 rows too, scans the
    /// compressed rows for candidates and re-scores them exactly (see <see cref="Search"/>). Backends that do not implement
    /// a compressed storage store exact float32 rows instead (backends may store at higher precision);
    /// <see cref="VectorDatabase.Storage"/> reports the storage used.</param>
    VectorDatabase CreateDatabase(ReadOnlySpan<float> vectors, int count, int dimension, VectorStorage storage = VectorStorage.Float32);

    /// <summary>
    /// Fused exact search: for each of the <paramref name="queryCount"/> queries, the <paramref name="k"/> database rows
    /// closest under <paramref name="metric"/>, best first, without materialising the full score matrix. Scores are inner
    /// products, cosine similarities or squared L2 distances. Rows the <paramref name="filter"/> denies never appear;
    /// missing results are id -1.
    /// </summary>
    /// <remarks>On a database with compressed <see cref="VectorDatabase.Storage"/>, small batches scan the compressed rows,
    /// keep the best <c>max(k·rescoreFactor, k + a backend minimum)</c> candidates by approximate score, re-score them
    /// exactly from the float32 rows and return the exact top-k among them with exact scores; larger batches run the exact
    /// float32 search. Results can then differ from exact search only by a true neighbour missing from the candidates.</remarks>
    /// <param name="database">A database created by this backend.</param>
    /// <param name="queries">[queryCount, database.Dimension] queries; non-finite values are rejected.</param>
    /// <param name="queryCount">Number of queries.</param>
    /// <param name="k">Results per query, at least 1.</param>
    /// <param name="metric">Similarity or distance.</param>
    /// <param name="indices">[queryCount, k] database row indices.</param>
    /// <param name="scores">[queryCount, k] scores.</param>
    /// <param name="filter">Optional allow-list over database rows; its <see cref="RowFilter.RowCount"/> must equal the database's.</param>
    /// <param name="rescoreFactor">Candidates re-scored per result on compressed storage (at least 0; 0 = the backend's default
    /// for the storage). Larger values raise recall and cost time; ignored for float32 storage.</param>
    void Search(VectorDatabase database, ReadOnlySpan<float> queries, int queryCount, int k, Metric metric, Span<int> indices, Span<float> scores, RowFilter? filter = null, int rescoreFactor = 0);

    /// <summary>
    /// Copies product-quantisation codes, grouped into inverted lists, into a backend-owned <see cref="CodeDatabase"/> for
    /// repeated <see cref="ScanCodes"/> calls. Codes are validated here once (each below <c>2^bits</c>), never on the scan path.
    /// </summary>
    /// <param name="codes">[count, subQuantizers] codes, row-major, one byte per code, each below <c>2^bits</c>.</param>
    /// <param name="count">Number of rows.</param>
    /// <param name="subQuantizers">Codes per row (M), at least 1.</param>
    /// <param name="bits">Bits per code, 1 to 8.</param>
    /// <param name="listOffsets">ListCount + 1 non-decreasing offsets, the first 0 and the last <paramref name="count"/>; list
    /// l holds rows <c>[listOffsets[l], listOffsets[l+1])</c>. Its length defines the number of lists.</param>
    /// <param name="listTables">Empty, or [ListCount, subQuantizers, 2^bits] finite per-list additive tables.</param>
    CodeDatabase CreateCodeDatabase(ReadOnlySpan<byte> codes, int count, int subQuantizers, int bits, ReadOnlySpan<int> listOffsets, ReadOnlySpan<float> listTables);

    /// <summary>
    /// The look-up-table scan of IVF-PQ: for query q and each probed list l = <c>probes[q, p]</c>, every row r of l scores
    /// <c>biases[q, p] + Σ_m (listTables[l, m, code_r[m]] + queryTableScale · queryTables[q, m, code_r[m]])</c> (the list
    /// term is 0 without list tables), and the <paramref name="k"/> smallest scores per query are returned, ascending, ties to
    /// the lower row. Rows the <paramref name="filter"/> denies never appear; missing results are row -1 with score +∞.
    /// </summary>
    /// <remarks>
    /// <para>Summation order, the same on every backend: <c>s = bias</c>, then for m = 0 .. M-1,
    /// <c>s += (listTerm + (queryTableScale · queryTerm))</c>, every operation rounded to float32 (no fused multiply-add,
    /// no double accumulation). The CPU backends therefore agree bit for bit; a GPU may differ in the last bits only.
    /// A score that overflows to NaN (∞ - ∞) ranks as +∞.</para>
    /// <para>Probe -1 skips the slot. A list may be probed at most once per query: duplicate probes are rejected with an
    /// <see cref="ArgumentException"/> naming <paramref name="probes"/> (they would report rows twice).</para>
    /// </remarks>
    /// <param name="database">A code database created by this backend.</param>
    /// <param name="queryTables">[queryCount, database.SubQuantizers, database.Codebook] finite per-query tables.</param>
    /// <param name="queryTableScale">Finite factor applied to every query-table entry (e.g. -2 for the cross term of L2).</param>
    /// <param name="probes">[queryCount, nprobe] list ids in [-1, database.ListCount); -1 = skip; no duplicates within a query.</param>
    /// <param name="biases">[queryCount, nprobe] finite per-probe offsets (e.g. the query's coarse distance).</param>
    /// <param name="queryCount">Number of queries.</param>
    /// <param name="nprobe">Probes per query (0 allowed: every result is missing).</param>
    /// <param name="k">Results per query, at least 1 and at most <see cref="MaxK"/>.</param>
    /// <param name="rows">[queryCount, k] global row indices of the results (-1 = missing).</param>
    /// <param name="scores">[queryCount, k] scores of the results, ascending (+∞ = missing).</param>
    /// <param name="filter">Optional allow-list over database rows; its <see cref="RowFilter.RowCount"/> must equal the database's.</param>
    void ScanCodes(CodeDatabase database, ReadOnlySpan<float> queryTables, float queryTableScale, ReadOnlySpan<int> probes, ReadOnlySpan<float> biases,
        int queryCount, int nprobe, int k, Span<int> rows, Span<float> scores, RowFilter? filter = null);
}

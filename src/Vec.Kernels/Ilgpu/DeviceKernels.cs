using System.Reflection;
using ILGPU;

namespace Vec.Kernels.Ilgpu;

/// <summary>A kernel method and how it is launched (implicitly grouped: one thread per index; explicitly grouped: a grid of groups).</summary>
internal sealed record DeviceKernel(string Name, MethodInfo Method, bool ExplicitlyGrouped);

/// <summary>
/// The ILGPU kernels of the <see cref="IlgpuBackend"/>. Every kernel is a static method compiled once per accelerator.
/// Sizes are chosen for CUDA (at most 256 threads per group, under 48 KB of static shared memory per group) and work
/// unchanged on ILGPU's CPU simulator when it is built with groups of 256 threads.
/// </summary>
internal static class DeviceKernels
{
    /// <summary>Rows of A (and of B) per product tile; each of the 256 threads owns a 4 x 4 register block.</summary>
    public const int Tile = 64;

    /// <summary>Depth of one shared-memory slab of the product.</summary>
    public const int TileDepth = 16;

    /// <summary>Threads per product group (16 x 16).</summary>
    public const int ProductThreads = 256;

    /// <summary>Padded row length of a shared product slab (avoids bank conflicts on the transposed store).</summary>
    private const int SlabStride = Tile + 1;

    /// <summary>Threads per group of the row-norm reduction.</summary>
    public const int NormThreads = 128;

    /// <summary>Threads per group of the selection kernel (also the number of histogram bins).</summary>
    public const int SelectThreads = 256;

    /// <summary>Partial sums of the histogram scan in <see cref="Select"/>.</summary>
    private const int ScanParts = 32;

    private const int BinsPerPart = SelectThreads / ScanParts;

    /// <summary>Largest k of the selection kernel: its winners are sorted in shared memory (32 KB of codes).</summary>
    public const int MaxK = 4096;

    /// <summary>Threads per group of the code-scan kernels (one group per (query, probe) pair).</summary>
    public const int ScanThreads = 128;

    /// <summary>Largest look-up table (SubQuantizers x Codebook floats) that <see cref="ScanCodesShared"/> stages in
    /// shared memory: 48 KB, the static limit of every CUDA device.</summary>
    public const int MaxSharedTable = 12288;

    /// <summary>A code that ranks after every candidate (also: no candidate).</summary>
    public const ulong Sentinel = ulong.MaxValue;

    /// <summary>Epilogue of <see cref="Product"/>: raw inner products.</summary>
    public const int EpilogueInnerProduct = 0;

    /// <summary>Epilogue of <see cref="Product"/>: cosine similarity from the row norms.</summary>
    public const int EpilogueCosine = 1;

    /// <summary>Epilogue of <see cref="Product"/>: squared L2 distance |a|² + |b|² - 2ab, clamped at 0.</summary>
    public const int EpilogueSquaredL2 = 2;

    /// <summary>Every kernel method, for loading and for the PTX compilation tests.</summary>
    public static IReadOnlyList<DeviceKernel> All { get; } =
    [
        Describe(nameof(Pool), explicitlyGrouped: false),
        Describe(nameof(RowNorms), explicitlyGrouped: true),
        Describe(nameof(ScaleRows), explicitlyGrouped: false),
        Describe(nameof(Product), explicitlyGrouped: true),
        Describe(nameof(Select), explicitlyGrouped: true),
        Describe(nameof(Decode), explicitlyGrouped: false),
        Describe(nameof(ScaleValues), explicitlyGrouped: false),
        Describe(nameof(FillSentinel), explicitlyGrouped: false),
        Describe(nameof(ScanCodesShared), explicitlyGrouped: true),
        Describe(nameof(ScanCodesGlobal), explicitlyGrouped: true),
    ];

    private static DeviceKernel Describe(string name, bool explicitlyGrouped) =>
        new(name, typeof(DeviceKernels).GetMethod(name, BindingFlags.Public | BindingFlags.Static)
            ?? throw new InvalidOperationException($"Kernel method {name} not found."), explicitlyGrouped);

    // ------------------------------------------------------------------ pooling

    /// <summary>
    /// Masked pooling, one thread per output element (b, j) so that neighbouring threads read neighbouring floats.
    /// <paramref name="max"/> = 0: mean of the unmasked tokens; otherwise their maximum. All-masked rows give 0.
    /// </summary>
    public static void Pool(Index1D index, ArrayView<float> tokens, ArrayView<long> mask, int sequenceLength, int dimension, int max, ArrayView<float> destination)
    {
        int b = index / dimension;
        int j = index - b * dimension;
        float acc = 0f;
        int count = 0;
        for (int t = 0; t < sequenceLength; t++)
        {
            if (mask[(long)b * sequenceLength + t] == 0) continue;
            float v = tokens[((long)b * sequenceLength + t) * dimension + j];
            if (max != 0) acc = count == 0 ? v : Math.Max(acc, v);
            else acc += v;
            count++;
        }
        destination[index] = count == 0 ? 0f : max != 0 ? acc : acc / count;
    }

    // ------------------------------------------------------------------ norms and normalisation

    /// <summary>
    /// L2 norm of each row, one group of <see cref="NormThreads"/> per row: a shared-memory max-abs reduction gives a
    /// scale, then a reduction of the squares of the scaled values (so neither underflow nor overflow loses the norm).
    /// </summary>
    public static void RowNorms(ArrayView<float> rows, int dimension, int squared, ArrayView<float> norms)
    {
        int row = Grid.IdxX;
        int tid = Group.IdxX;
        var red = SharedMemory.Allocate<float>(NormThreads);
        long start = (long)row * dimension;

        float mx = 0f;
        for (int j = tid; j < dimension; j += NormThreads) mx = Math.Max(mx, Math.Abs(rows[start + j]));
        red[tid] = mx;
        Group.Barrier();
        for (int s = NormThreads / 2; s > 0; s >>= 1)
        {
            if (tid < s) red[tid] = Math.Max(red[tid], red[tid + s]);
            Group.Barrier();
        }
        float scale = red[0];
        Group.Barrier();

        float sum = 0f;
        if (scale > 0f)
        {
            // Divide rather than multiply by 1/scale: for a subnormal scale the reciprocal overflows to infinity.
            for (int j = tid; j < dimension; j += NormThreads)
            {
                float v = squared != 0 ? rows[start + j] : rows[start + j] / scale;
                sum += v * v;
            }
        }
        red[tid] = sum;
        Group.Barrier();
        for (int s = NormThreads / 2; s > 0; s >>= 1)
        {
            if (tid < s) red[tid] += red[tid + s];
            Group.Barrier();
        }
        if (tid == 0) norms[row] = squared != 0 ? red[0] : scale > 0f ? scale * MathF.Sqrt(red[0]) : 0f;
    }

    /// <summary><c>destination[i] = source[i] / norm(row of i)</c>, zero rows stay zero; the views may be the same memory.</summary>
    public static void ScaleRows(Index1D index, ArrayView<float> source, ArrayView<float> destination, int dimension, ArrayView<float> norms)
    {
        float norm = norms[index / dimension];
        destination[index] = norm > 0f ? source[index] / norm : 0f;
    }

    // ------------------------------------------------------------------ tiled product

    /// <summary>
    /// <c>C[i, j] = epilogue(a_i · b_(bRow0 + j))</c> for i &lt; m, j &lt; n, written at <c>c[i*ldc + j]</c>.
    /// One group of 256 threads per 64 x 64 tile of C (1D grid, tiles row-major); the operands stream through shared
    /// memory in 16-deep slabs stored transposed, and each thread accumulates a 4 x 4 block in registers (rows
    /// ty + 16i, columns tx + 16j, so shared reads are conflict-free and stores are coalesced).
    /// </summary>
    public static void Product(ArrayView<float> a, int m, ArrayView<float> b, int bRow0, int n, int dimension,
        ArrayView<float> c, int ldc, int epilogue, ArrayView<float> aNorms, ArrayView<float> bNorms)
    {
        int tilesN = (n + Tile - 1) / Tile;
        int tileRow = Grid.IdxX / tilesN;
        int row0 = tileRow * Tile;
        int col0 = (Grid.IdxX - tileRow * tilesN) * Tile;
        int tid = Group.IdxX;
        int tx = tid & 15, ty = tid >> 4;
        var sa = SharedMemory.Allocate<float>(TileDepth * SlabStride);
        var sb = SharedMemory.Allocate<float>(TileDepth * SlabStride);

        float c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
        float c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;

        for (int k0 = 0; k0 < dimension; k0 += TileDepth)
        {
            for (int l = 0; l < Tile * TileDepth / ProductThreads; l++)
            {
                int e = tid + l * ProductThreads;
                int r = e >> 4, kk = e & 15;
                int gk = k0 + kk;
                int gr = row0 + r;
                sa[kk * SlabStride + r] = gr < m && gk < dimension ? a[(long)gr * dimension + gk] : 0f;
                int gc = col0 + r;
                sb[kk * SlabStride + r] = gc < n && gk < dimension ? b[(long)(bRow0 + gc) * dimension + gk] : 0f;
            }
            Group.Barrier();
            for (int kk = 0; kk < TileDepth; kk++)
            {
                int o = kk * SlabStride;
                float a0 = sa[o + ty], a1 = sa[o + ty + 16], a2 = sa[o + ty + 32], a3 = sa[o + ty + 48];
                float b0 = sb[o + tx], b1 = sb[o + tx + 16], b2 = sb[o + tx + 32], b3 = sb[o + tx + 48];
                c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
                c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
                c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
                c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
            }
            Group.Barrier();
        }

        int r0 = row0 + ty, cc = col0 + tx;
        Store(c, ldc, m, n, r0, cc, bRow0, c00, c01, c02, c03, epilogue, aNorms, bNorms);
        Store(c, ldc, m, n, r0 + 16, cc, bRow0, c10, c11, c12, c13, epilogue, aNorms, bNorms);
        Store(c, ldc, m, n, r0 + 32, cc, bRow0, c20, c21, c22, c23, epilogue, aNorms, bNorms);
        Store(c, ldc, m, n, r0 + 48, cc, bRow0, c30, c31, c32, c33, epilogue, aNorms, bNorms);
    }

    private static void Store(ArrayView<float> c, int ldc, int m, int n, int row, int col, int bRow0,
        float v0, float v1, float v2, float v3, int epilogue, ArrayView<float> aNorms, ArrayView<float> bNorms)
    {
        if (row >= m) return;
        long o = (long)row * ldc;
        if (col < n) c[o + col] = Finish(v0, epilogue, row, bRow0 + col, aNorms, bNorms);
        if (col + 16 < n) c[o + col + 16] = Finish(v1, epilogue, row, bRow0 + col + 16, aNorms, bNorms);
        if (col + 32 < n) c[o + col + 32] = Finish(v2, epilogue, row, bRow0 + col + 32, aNorms, bNorms);
        if (col + 48 < n) c[o + col + 48] = Finish(v3, epilogue, row, bRow0 + col + 48, aNorms, bNorms);
    }

    private static float Finish(float dot, int epilogue, int row, int bRow, ArrayView<float> aNorms, ArrayView<float> bNorms)
    {
        if (epilogue == EpilogueInnerProduct) return dot;
        float na = aNorms[row], nb = bNorms[bRow];
        if (epilogue == EpilogueCosine)
        {
            if (na == 0f || nb == 0f) return 0f;
            float denominator = na * nb;
            float cos = denominator > 0f && denominator <= float.MaxValue ? dot / denominator : dot / na / nb;
            return Math.Min(1f, Math.Max(-1f, cos));
        }
        float d2 = na + nb - 2f * dot; // the L2 epilogue gets squared norms (exact sums of squares, not squared roots)
        return d2 > 0f ? d2 : 0f;
    }

    // ------------------------------------------------------------------ selection (top-k)

    /// <summary>
    /// Per-row top-k by radix selection, one group per row. The candidates of row r are the <paramref name="previousCount"/>
    /// codes <c>previous[r*ldPrevious ..]</c> (the running top-k of a search, the candidate codes of a code scan, or none;
    /// sentinels among them are skipped) followed by the <paramref name="columns"/>
    /// scores <c>scores[r*ldScores ..]</c>, whose column c is candidate id <c>columnOffset + c</c> unless the filter
    /// bitmap denies it. Each candidate is a 64-bit rank code (see <see cref="Encode"/>), unique and ordered like the
    /// ranking. Up to eight 8-bit histogram passes in shared memory find the k-th smallest code (stopping as soon as the
    /// boundary bucket is taken whole); the winners are gathered into shared memory, bitonic-sorted and written to
    /// <c>output[r*k ..]</c>, padded with <see cref="Sentinel"/>. <paramref name="output"/> may be <paramref name="previous"/>.
    /// </summary>
    public static void Select(ArrayView<ulong> previous, int previousCount, int ldPrevious, ArrayView<float> scores, int ldScores, int columns,
        int columnOffset, int smallest, ArrayView<ulong> filter, int useFilter, int k, ArrayView<ulong> output)
    {
        int row = Grid.IdxX;
        int tid = Group.IdxX;
        var hist = SharedMemory.Allocate<int>(SelectThreads);
        var parts = SharedMemory.Allocate<int>(ScanParts);
        var codes = SharedMemory.Allocate<ulong>(MaxK);
        var state = SharedMemory.Allocate<ulong>(2); // [0] prefix of the k-th code, [1] inclusive limit of the winners
        var counters = SharedMemory.Allocate<int>(4); // [0] still needed, [1] done, [2] gathered, [3] valid candidates
        int total = previousCount + columns;

        if (tid == 0)
        {
            state[0] = 0;
            state[1] = Sentinel - 1;
            counters[0] = k;
            counters[1] = 0;
            counters[2] = 0;
            counters[3] = 0;
        }
        Group.Barrier();

        int local = 0;
        for (int e = tid; e < total; e += SelectThreads)
            if (Candidate(e, row, previous, previousCount, ldPrevious, scores, ldScores, columnOffset, smallest, filter, useFilter, k) != Sentinel) local++;
        Atomic.Add(ref counters[3], local);
        Group.Barrier();
        int valid = counters[3];

        if (valid > k)
        {
            for (int shift = 56; shift >= 0; shift -= 8)
            {
                hist[tid] = 0;
                Group.Barrier();
                ulong prefix = state[0];
                ulong highMask = shift == 56 ? 0UL : ulong.MaxValue << (shift + 8);
                for (int e = tid; e < total; e += SelectThreads)
                {
                    ulong code = Candidate(e, row, previous, previousCount, ldPrevious, scores, ldScores, columnOffset, smallest, filter, useFilter, k);
                    if (code != Sentinel && (code & highMask) == prefix)
                        Atomic.Add(ref hist[(int)((code >> shift) & 0xFF)], 1);
                }
                Group.Barrier();
                // Two-level scan: 32 threads sum 8 bins each, then one thread walks 32 partial sums and 8 bins.
                if (tid < ScanParts)
                {
                    int sum = 0;
                    for (int bin = tid * BinsPerPart; bin < (tid + 1) * BinsPerPart; bin++) sum += hist[bin];
                    parts[tid] = sum;
                }
                Group.Barrier();
                if (tid == 0)
                {
                    int need = counters[0];
                    int below = 0, part = 0;
                    for (; part < ScanParts - 1; part++)
                    {
                        int p = parts[part];
                        if (below + p >= need) break;
                        below += p;
                    }
                    int digit = part * BinsPerPart;
                    for (; digit < (part + 1) * BinsPerPart - 1; digit++)
                    {
                        int h = hist[digit];
                        if (below + h >= need) break;
                        below += h;
                    }
                    need -= below;
                    ulong next = prefix | ((ulong)digit << shift);
                    state[0] = next;
                    counters[0] = need;
                    if (hist[digit] == need)
                    {
                        // The whole bucket is taken: the winners are every code up to the end of the bucket.
                        counters[1] = 1;
                        state[1] = next | ((1UL << shift) - 1UL);
                    }
                }
                Group.Barrier();
                if (counters[1] != 0) break;
            }
        }

        ulong limit = state[1];
        int count = valid > k ? k : valid;
        for (int e = tid; e < total; e += SelectThreads)
        {
            ulong code = Candidate(e, row, previous, previousCount, ldPrevious, scores, ldScores, columnOffset, smallest, filter, useFilter, k);
            if (code <= limit)
            {
                int slot = Atomic.Add(ref counters[2], 1);
                if (slot < MaxK) codes[slot] = code;
            }
        }
        Group.Barrier();

        int size = 1;
        while (size < count) size <<= 1;
        for (int i = count + tid; i < size; i += SelectThreads) codes[i] = Sentinel;
        Group.Barrier();
        BitonicSort(codes, size, tid);

        long outStart = (long)row * k;
        for (int i = tid; i < k; i += SelectThreads) output[outStart + i] = i < count ? codes[i] : Sentinel;
    }

    /// <summary>Sorts <c>codes[0..size)</c> ascending; <paramref name="size"/> is a power of two, the same in every thread.</summary>
    private static void BitonicSort(ArrayView<ulong> codes, int size, int tid)
    {
        int half = size >> 1;
        for (int block = 2; block <= size; block <<= 1)
        {
            for (int stride = block >> 1; stride > 0; stride >>= 1)
            {
                for (int t = tid; t < half; t += SelectThreads)
                {
                    int i = 2 * t - (t & (stride - 1));
                    int j = i + stride;
                    ulong x = codes[i], y = codes[j];
                    bool ascending = (i & block) == 0;
                    if ((x > y) == ascending)
                    {
                        codes[i] = y;
                        codes[j] = x;
                    }
                }
                Group.Barrier();
            }
        }
    }

    private static ulong Candidate(int e, int row, ArrayView<ulong> previous, int previousCount, int ldPrevious, ArrayView<float> scores, int ldScores,
        int columnOffset, int smallest, ArrayView<ulong> filter, int useFilter, int k)
    {
        if (e < previousCount) return previous[(long)row * ldPrevious + e];
        int c = e - previousCount;
        int id = columnOffset + c;
        if (useFilter != 0 && (filter[id >> 6] & (1UL << (id & 63))) == 0) return Sentinel;
        return Encode(scores[(long)row * ldScores + c], id, smallest);
    }

    /// <summary>
    /// The rank code of (score, id): the float mapped to an order-preserving uint (negated for smallest-first), inverted
    /// into the high half so that a better score gives a smaller code, and the id in the low half so that ties rank the
    /// lower id first. Same layout as <c>RankCode</c> on the CPU. Never equal to <see cref="Sentinel"/> (ids are below 2^31).
    /// </summary>
    private static ulong Encode(float score, int id, int smallest)
    {
        if (score == 0f) score = 0f; // -0 and +0 tie, as they compare
        uint bits = (uint)Interop.FloatAsInt(score);
        uint ordered = (bits & 0x8000_0000u) != 0 ? ~bits : bits | 0x8000_0000u;
        if (smallest != 0) ordered = ~ordered;
        return ((ulong)~ordered << 32) | (uint)id;
    }

    private static float DecodeScore(ulong code, int smallest)
    {
        uint ordered = ~(uint)(code >> 32);
        if (smallest != 0) ordered = ~ordered;
        uint bits = (ordered & 0x8000_0000u) != 0 ? ordered & 0x7FFF_FFFFu : ~ordered;
        return Interop.IntAsFloat(bits);
    }

    /// <summary>
    /// Turns codes into (id, score): missing entries become id -1 with the missing score. With
    /// <paramref name="fromScores"/> set, the score is read back from the score row (the exact input value, -0 included),
    /// otherwise decoded from the code.
    /// </summary>
    public static void Decode(Index1D index, ArrayView<ulong> codes, int k, int smallest, ArrayView<float> scores, int ldScores, int fromScores,
        ArrayView<int> indices, ArrayView<float> values)
    {
        ulong code = codes[index];
        if (code == Sentinel)
        {
            indices[index] = -1;
            values[index] = smallest != 0 ? float.PositiveInfinity : float.NegativeInfinity;
            return;
        }
        int id = (int)(uint)code;
        indices[index] = id;
        values[index] = fromScores != 0 ? scores[(long)((int)index / k) * ldScores + id] : DecodeScore(code, smallest);
    }

    // ------------------------------------------------------------------ product-quantisation code scan

    /// <summary>The scalar arguments of the code-scan kernels (one struct keeps the kernels within ILGPU's parameter limit).</summary>
    internal struct ScanShape
    {
        /// <summary>Rows of the code database (stride of the transposed codes).</summary>
        public int Count;
        /// <summary>Codes per row (M).</summary>
        public int SubQuantizers;
        /// <summary>Entries per sub-quantiser table (2^bits).</summary>
        public int Codebook;
        /// <summary>1 when the database has per-list tables.</summary>
        public int HasListTables;
        /// <summary>Probes per query.</summary>
        public int NProbe;
        /// <summary>Candidate codes per query row of the candidate buffer.</summary>
        public int LdCandidates;
        /// <summary>1 when the filter bitmap applies.</summary>
        public int UseFilter;
    }

    /// <summary><c>values[i] *= scale</c>. Run as its own kernel so the product is rounded to float32 before any sum reads it
    /// (PTX may contract a multiply followed by an add into an FMA; a store in between prevents that).</summary>
    public static void ScaleValues(Index1D index, ArrayView<float> values, float scale) => values[index] = values[index] * scale;

    /// <summary>Fills a code buffer with <see cref="Sentinel"/> (no candidate).</summary>
    public static void FillSentinel(Index1D index, ArrayView<ulong> codes) => codes[index] = Sentinel;

    /// <summary>
    /// The look-up-table scan, one group of <see cref="ScanThreads"/> per (query, probe) pair <c>g = q*nprobe + p</c> (pairs
    /// with probe -1 return at once). The group stages the pair's table <c>lut[m*codebook + c] = listTerm + scaledQueryTerm</c>
    /// (one float32 rounding, as on the CPU) in shared memory, then each thread scores rows <c>start + tid, start + tid + 128, ..</c>
    /// of the list: <c>s = bias; s += lut[m, code[m]]</c> for m = 0 .. M-1 (codes are stored transposed, <c>codes[m*count + r]</c>,
    /// so a warp's byte loads are coalesced). Row r of list l lands at candidate column <c>candidateOffsets[g] + (r - start)</c>
    /// of query q as the rank code of (s, r) (smallest first, ties to the lower row; NaN as +∞), or <see cref="Sentinel"/> when
    /// the filter denies it. <paramref name="queryTables"/> must already be scaled (<see cref="ScaleValues"/>).
    /// Needs <c>subQuantizers * codebook &lt;= </c><see cref="MaxSharedTable"/>.
    /// </summary>
    public static void ScanCodesShared(ScanShape shape, ArrayView<byte> codes, ArrayView<int> listOffsets, ArrayView<float> listTables,
        ArrayView<float> queryTables, ArrayView<int> probes, ArrayView<float> biases, ArrayView<int> candidateOffsets, ArrayView<ulong> filter,
        ArrayView<ulong> candidates)
    {
        int count = shape.Count, subQuantizers = shape.SubQuantizers, codebook = shape.Codebook, hasListTables = shape.HasListTables;
        int nprobe = shape.NProbe, ldCandidates = shape.LdCandidates, useFilter = shape.UseFilter;
        int pair = Grid.IdxX;
        int tid = Group.IdxX;
        var lut = SharedMemory.Allocate<float>(MaxSharedTable);
        int list = probes[pair];
        if (list < 0) return; // uniform across the group: no barrier is skipped by only some threads
        int q = pair / nprobe;
        int table = subQuantizers * codebook;
        long queryBase = (long)q * table;
        long listBase = (long)list * table;
        for (int i = tid; i < table; i += ScanThreads)
            lut[i] = (hasListTables != 0 ? listTables[listBase + i] : 0f) + queryTables[queryBase + i];
        Group.Barrier();

        int start = listOffsets[list], end = listOffsets[list + 1];
        float bias = biases[pair];
        long outBase = (long)q * ldCandidates + candidateOffsets[pair] - start;
        for (int r = start + tid; r < end; r += ScanThreads)
        {
            if (useFilter != 0 && (filter[r >> 6] & (1UL << (r & 63))) == 0)
            {
                candidates[outBase + r] = Sentinel;
                continue;
            }
            float sum = bias;
            for (int m = 0; m < subQuantizers; m++)
                sum += lut[m * codebook + codes[(long)m * count + r]];
            candidates[outBase + r] = Encode(IsNaN(sum) ? float.PositiveInfinity : sum, r, 1);
        }
    }

    /// <summary>
    /// <see cref="ScanCodesShared"/> for tables too large for shared memory: each term <c>listTerm + scaledQueryTerm</c> is
    /// read from global memory (the same two float32 roundings per term, so the same scores).
    /// </summary>
    public static void ScanCodesGlobal(ScanShape shape, ArrayView<byte> codes, ArrayView<int> listOffsets, ArrayView<float> listTables,
        ArrayView<float> queryTables, ArrayView<int> probes, ArrayView<float> biases, ArrayView<int> candidateOffsets, ArrayView<ulong> filter,
        ArrayView<ulong> candidates)
    {
        int count = shape.Count, subQuantizers = shape.SubQuantizers, codebook = shape.Codebook, hasListTables = shape.HasListTables;
        int nprobe = shape.NProbe, ldCandidates = shape.LdCandidates, useFilter = shape.UseFilter;
        int pair = Grid.IdxX;
        int tid = Group.IdxX;
        int list = probes[pair];
        if (list < 0) return;
        int q = pair / nprobe;
        int table = subQuantizers * codebook;
        long queryBase = (long)q * table;
        long listBase = (long)list * table;
        int start = listOffsets[list], end = listOffsets[list + 1];
        float bias = biases[pair];
        long outBase = (long)q * ldCandidates + candidateOffsets[pair] - start;
        for (int r = start + tid; r < end; r += ScanThreads)
        {
            if (useFilter != 0 && (filter[r >> 6] & (1UL << (r & 63))) == 0)
            {
                candidates[outBase + r] = Sentinel;
                continue;
            }
            float sum = bias;
            for (int m = 0; m < subQuantizers; m++)
            {
                int e = m * codebook + codes[(long)m * count + r];
                sum += (hasListTables != 0 ? listTables[listBase + e] : 0f) + queryTables[queryBase + e];
            }
            candidates[outBase + r] = Encode(IsNaN(sum) ? float.PositiveInfinity : sum, r, 1);
        }
        Group.Barrier(); // no shared state; kept so every explicitly grouped kernel synchronises its group (the PTX test checks bar.sync)
    }

    /// <summary>NaN test on the bits (a <c>x != x</c> comparison could be folded away by a code generator).</summary>
    private static bool IsNaN(float x) => (Interop.FloatAsInt(x) & 0x7FFF_FFFF) > 0x7F80_0000;
}

using System.Runtime.CompilerServices;

namespace Vec.Kernels.Internals.CpuSimd;

/// <summary>
/// A database's rows in compressed form for memory-bound single-query scans, laid out as 64-row panels: element
/// (panel, k, j) at <c>Codes[((panel * dim + k) * 64 + j) * BytesPerElement]</c> encodes row <c>panel*64 + j</c>, column k
/// (rows past the end encode zero codes). A scan therefore loads, for each k, 64 rows' codes contiguously and keeps 64 row
/// sums in SIMD accumulators, with no horizontal reductions.
/// <list type="bullet">
/// <item><see cref="VectorStorage.Float16"/>: IEEE half bits of <c>x / Scale</c> (Scale a power of two that keeps every
/// value in half range; values below the smallest normal half are flushed to zero, so decoding never meets a denormal).</item>
/// <item><see cref="VectorStorage.Int8"/>: per-dimension affine codes like FAISS SQ8, <c>x_k ≈ Min[k] + Step[k]·c</c>, c in [0, 255].
/// A scan computes <c>q·x ≈ Σ q_k·Min[k] + Σ (q_k·Step[k])·c_k</c>: a float dot of a pre-scaled query with widened codes.</item>
/// </list>
/// With <see cref="Interleaved"/> (Int8 for the VNNI kernel), dimensions go in groups of four: code (k, j) of a panel sits at
/// <c>(k / 4) * 256 + j * 4 + k % 4</c>, so one 32-byte load feeds <c>vpdpbusd</c> four dimensions of eight rows; the dimension is
/// padded to a multiple of four with zero codes.
/// The array lives on the pinned object heap, so kernels take raw pointers without pinning.
/// </summary>
internal sealed class CompressedRows
{
    public const int PanelRows = 64;

    /// <summary>Smallest normal half (2^-14); smaller magnitudes are stored as zero.</summary>
    private const float SmallestNormalHalf = 6.1035156e-05f;

    /// <summary>Largest magnitude stored without rescaling (half's range ends at 65504).</summary>
    private const float HalfHeadroom = 32768f;

    private CompressedRows(VectorStorage storage, int rows, int dim, bool interleaved)
    {
        Storage = storage;
        Rows = rows;
        Dim = dim;
        Interleaved = interleaved;
        Panels = (rows + PanelRows - 1) / PanelRows;
        BytesPerElement = storage == VectorStorage.Float16 ? 2 : 1;
        Codes = GC.AllocateUninitializedArray<byte>((int)Math.Max(1, Panels * PanelBytes), pinned: true);
        Min = [];
        Step = [];
    }

    public VectorStorage Storage { get; }

    public int Rows { get; }

    public int Dim { get; }

    public int Panels { get; }

    public int BytesPerElement { get; }

    /// <summary>Int8 codes in groups of four dimensions per row (the VNNI layout).</summary>
    public bool Interleaved { get; }

    /// <summary>Dimension groups of four (interleaved layout).</summary>
    public int Groups => (Dim + 3) / 4;

    /// <summary>Bytes of one panel (64 rows x <see cref="Dim"/> elements, padded to whole groups when interleaved).</summary>
    public long PanelBytes => (long)(Interleaved ? Groups * 4 : Dim) * PanelRows * BytesPerElement;

    public byte[] Codes { get; }

    /// <summary>Int8: per-dimension offsets.</summary>
    public float[] Min { get; private set; }

    /// <summary>Int8: per-dimension steps (0 for a constant dimension).</summary>
    public float[] Step { get; private set; }

    /// <summary>Float16: stored values are x / Scale.</summary>
    public float Scale { get; private set; } = 1f;

    /// <summary>Compresses [rows x dim] <paramref name="source"/> into <paramref name="storage"/> (Float16 or Int8).</summary>
    /// <param name="source">Row-major [rows x dim] values.</param>
    /// <param name="rows">Rows to compress.</param>
    /// <param name="dim">Columns.</param>
    /// <param name="storage">Float16 or Int8.</param>
    /// <param name="maxThreads">Threads the encoding may use.</param>
    /// <param name="interleaved">Int8 only: the VNNI layout (groups of four dimensions).</param>
    public static CompressedRows Create(ReadOnlySpan<float> source, int rows, int dim, VectorStorage storage, int maxThreads, bool interleaved = false)
    {
        if (storage is not (VectorStorage.Float16 or VectorStorage.Int8))
            throw new ArgumentOutOfRangeException(nameof(storage), storage, "Only Float16 and Int8 are compressed storages.");
        var result = new CompressedRows(storage, rows, dim, interleaved && storage == VectorStorage.Int8);
        if (result.Panels == 0 || dim == 0) return result;
        if (storage == VectorStorage.Int8) result.FitInt8(source);
        else result.FitFloat16(source);
        unsafe
        {
            fixed (float* src = source)
            {
                nint srcAddr = (nint)src;
                int threads = Math.Clamp(result.Panels / 32, 1, maxThreads);
                Workers.Run(threads, t =>
                {
                    (int p0, int p1) = Partition.Range(result.Panels, threads, t);
                    for (int p = p0; p < p1; p++) result.EncodePanel((float*)srcAddr, p);
                });
            }
        }
        return result;
    }

    private void FitInt8(ReadOnlySpan<float> source)
    {
        float[] min = new float[Dim], max = new float[Dim];
        source[..Dim].CopyTo(min);
        source[..Dim].CopyTo(max);
        for (int i = 1; i < Rows; i++)
        {
            var row = source.Slice(i * Dim, Dim);
            System.Numerics.Tensors.TensorPrimitives.Min(min, row, min);
            System.Numerics.Tensors.TensorPrimitives.Max(max, row, max);
        }
        float[] step = new float[Dim];
        for (int k = 0; k < Dim; k++)
        {
            float s = (float)(((double)max[k] - min[k]) / 255.0);
            step[k] = float.IsFinite(s) && s > 0 ? s : 0f;
        }
        Min = min;
        Step = step;
    }

    private void FitFloat16(ReadOnlySpan<float> source)
    {
        float maxAbs = System.Numerics.Tensors.TensorPrimitives.MaxMagnitude(source[..(Rows * Dim)]);
        maxAbs = Math.Abs(maxAbs);
        Scale = maxAbs > HalfHeadroom ? MathF.ScaleB(1f, (int)Math.Ceiling(Math.Log2(maxAbs / (double)HalfHeadroom))) : 1f;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private unsafe void EncodePanel(float* src, int panel)
    {
        fixed (byte* codesBase = Codes)
        {
            byte* dst = codesBase + panel * PanelBytes;
            int rows = Math.Min(PanelRows, Rows - panel * PanelRows);
            if (rows < PanelRows || (Interleaved && Dim % 4 != 0)) new Span<byte>(dst, (int)PanelBytes).Clear();
            if (Interleaved)
            {
                fixed (float* min = Min, step = Step)
                {
                    for (int j = 0; j < rows; j++)
                    {
                        float* s = src + (long)(panel * PanelRows + j) * Dim;
                        for (int k = 0; k < Dim; k++)
                            dst[(k >> 2) * (4 * PanelRows) + j * 4 + (k & 3)] = EncodeInt8(s[k], min[k], step[k]);
                    }
                }
            }
            else if (Storage == VectorStorage.Int8)
            {
                fixed (float* min = Min, step = Step)
                {
                    for (int j = 0; j < rows; j++)
                    {
                        float* s = src + (long)(panel * PanelRows + j) * Dim;
                        for (int k = 0; k < Dim; k++)
                            dst[k * PanelRows + j] = EncodeInt8(s[k], min[k], step[k]);
                    }
                }
            }
            else
            {
                ushort* half = (ushort*)dst;
                float inverseScale = 1f / Scale;
                for (int j = 0; j < rows; j++)
                {
                    float* s = src + (long)(panel * PanelRows + j) * Dim;
                    for (int k = 0; k < Dim; k++)
                        half[k * PanelRows + j] = EncodeHalf(s[k] * inverseScale);
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static byte EncodeInt8(float x, float min, float step)
    {
        if (step == 0f) return 0;
        float c = MathF.Round((x - min) / step);
        return (byte)Math.Clamp(c, 0f, 255f);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static ushort EncodeHalf(float x)
    {
        if (MathF.Abs(x) < SmallestNormalHalf) return 0;
        return BitConverter.HalfToUInt16Bits((Half)x);
    }

    /// <summary>Decodes a half stored by <see cref="EncodeHalf"/> the way the SIMD kernels do: sign-extend to 32 bits,
    /// shift the exponent and mantissa into float position, mask, and rescale by 2^112 (exact for normal halves and zero).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float DecodeHalf(ushort h) =>
        BitConverter.Int32BitsToSingle(((short)h << 13) & HalfMask) * HalfRescale;

    /// <summary>Mask that keeps the sign (bit 31) and the shifted exponent and mantissa (bits 27..13) of a sign-extended half.</summary>
    internal const int HalfMask = unchecked((int)0x8FFF_E000);

    /// <summary>2^112: the exponent-bias difference between half (15) and float (127).</summary>
    internal const float HalfRescale = 5.192296858534828e33f;
}

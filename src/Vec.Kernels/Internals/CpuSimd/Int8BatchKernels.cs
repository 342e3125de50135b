using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Vec.Kernels.Internals.CpuSimd;

/// <summary>
/// Register-blocked integer micro-kernel for int8 batch search over the interleaved (VNNI) layout of
/// <see cref="CompressedRows"/>: a panel's group g (four dimensions) holds 64 rows x 4 codes in 256 bytes, row j's four codes
/// in the int32 lane at <c>g*256 + j*4</c>, so one 32-byte load gives eight rows. Queries are packed in blocks of
/// <see cref="Queries"/>: <c>[group][query]</c> int32 words, each the query's four int8 values for that group.
/// </summary>
internal static class Int8BatchKernels
{
    /// <summary>Queries per register block.</summary>
    public const int Queries = 4;

    /// <summary>Rows per kernel call (half a 64-row panel).</summary>
    public const int Rows = 32;

    /// <summary>
    /// For the 4 queries r of the block and the 32 rows j at <paramref name="codes"/> (a panel base, or base + 128 for rows
    /// 32-63): dot_rj = Σ_g Σ_i code(g, j)[i] · q_r(g)[i] with 16 ymm int32 accumulators, four code loads and four query
    /// broadcasts per group, 16 <c>vpdpbusd</c> (u8 codes x s8 query, 512 multiply-adds). The epilogue turns the sums into
    /// ranking keys in registers, <c>key = alpha[j]·(scale_r·dot + bias_r) + beta[j]</c> (the same two roundings as the
    /// single-query scan), stores them to <c>keys[r*32 + j]</c> and sets bit j of <c>masks[r]</c> where key ≥ threshold_r.
    /// <paramref name="parameters"/> holds scale_0..3, bias_0..3, threshold_0..3. No calls, so RyuJIT keeps every
    /// accumulator in a register.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void Vnni4x32(int* q, byte* codes, int groups, float* parameters, float* alpha, float* beta, float* keys, uint* masks)
    {
        Vector256<int> c00 = default, c01 = default, c02 = default, c03 = default, c10 = default, c11 = default, c12 = default, c13 = default;
        Vector256<int> c20 = default, c21 = default, c22 = default, c23 = default, c30 = default, c31 = default, c32 = default, c33 = default;
        for (int g = 0; g < groups; g++)
        {
            Vector256<byte> b0 = Vector256.Load(codes), b1 = Vector256.Load(codes + 32), b2 = Vector256.Load(codes + 64), b3 = Vector256.Load(codes + 96);
            Vector256<sbyte> a;
            a = Vector256.Create(q[0]).AsSByte();
            c00 = AvxVnni.MultiplyWideningAndAdd(c00, b0, a); c01 = AvxVnni.MultiplyWideningAndAdd(c01, b1, a);
            c02 = AvxVnni.MultiplyWideningAndAdd(c02, b2, a); c03 = AvxVnni.MultiplyWideningAndAdd(c03, b3, a);
            a = Vector256.Create(q[1]).AsSByte();
            c10 = AvxVnni.MultiplyWideningAndAdd(c10, b0, a); c11 = AvxVnni.MultiplyWideningAndAdd(c11, b1, a);
            c12 = AvxVnni.MultiplyWideningAndAdd(c12, b2, a); c13 = AvxVnni.MultiplyWideningAndAdd(c13, b3, a);
            a = Vector256.Create(q[2]).AsSByte();
            c20 = AvxVnni.MultiplyWideningAndAdd(c20, b0, a); c21 = AvxVnni.MultiplyWideningAndAdd(c21, b1, a);
            c22 = AvxVnni.MultiplyWideningAndAdd(c22, b2, a); c23 = AvxVnni.MultiplyWideningAndAdd(c23, b3, a);
            a = Vector256.Create(q[3]).AsSByte();
            c30 = AvxVnni.MultiplyWideningAndAdd(c30, b0, a); c31 = AvxVnni.MultiplyWideningAndAdd(c31, b1, a);
            c32 = AvxVnni.MultiplyWideningAndAdd(c32, b2, a); c33 = AvxVnni.MultiplyWideningAndAdd(c33, b3, a);
            q += Queries;
            codes += CompressedRows.PanelRows * 4;
        }
        Vector256<float> al0 = Vector256.Load(alpha), al1 = Vector256.Load(alpha + 8), al2 = Vector256.Load(alpha + 16), al3 = Vector256.Load(alpha + 24);
        Vector256<float> be0 = Vector256.Load(beta), be1 = Vector256.Load(beta + 8), be2 = Vector256.Load(beta + 16), be3 = Vector256.Load(beta + 24);
        Vector256<float> sc, bi, th, k0, k1, k2, k3;

        sc = Vector256.Create(parameters[0]); bi = Vector256.Create(parameters[4]); th = Vector256.Create(parameters[8]);
        k0 = Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(c00), sc, bi), al0, be0);
        k1 = Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(c01), sc, bi), al1, be1);
        k2 = Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(c02), sc, bi), al2, be2);
        k3 = Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(c03), sc, bi), al3, be3);
        Vector256.Store(k0, keys); Vector256.Store(k1, keys + 8); Vector256.Store(k2, keys + 16); Vector256.Store(k3, keys + 24);
        masks[0] = Vector256.GreaterThanOrEqual(k0, th).ExtractMostSignificantBits() | Vector256.GreaterThanOrEqual(k1, th).ExtractMostSignificantBits() << 8
            | Vector256.GreaterThanOrEqual(k2, th).ExtractMostSignificantBits() << 16 | Vector256.GreaterThanOrEqual(k3, th).ExtractMostSignificantBits() << 24;

        sc = Vector256.Create(parameters[1]); bi = Vector256.Create(parameters[5]); th = Vector256.Create(parameters[9]);
        k0 = Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(c10), sc, bi), al0, be0);
        k1 = Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(c11), sc, bi), al1, be1);
        k2 = Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(c12), sc, bi), al2, be2);
        k3 = Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(c13), sc, bi), al3, be3);
        Vector256.Store(k0, keys + 32); Vector256.Store(k1, keys + 40); Vector256.Store(k2, keys + 48); Vector256.Store(k3, keys + 56);
        masks[1] = Vector256.GreaterThanOrEqual(k0, th).ExtractMostSignificantBits() | Vector256.GreaterThanOrEqual(k1, th).ExtractMostSignificantBits() << 8
            | Vector256.GreaterThanOrEqual(k2, th).ExtractMostSignificantBits() << 16 | Vector256.GreaterThanOrEqual(k3, th).ExtractMostSignificantBits() << 24;

        sc = Vector256.Create(parameters[2]); bi = Vector256.Create(parameters[6]); th = Vector256.Create(parameters[10]);
        k0 = Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(c20), sc, bi), al0, be0);
        k1 = Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(c21), sc, bi), al1, be1);
        k2 = Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(c22), sc, bi), al2, be2);
        k3 = Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(c23), sc, bi), al3, be3);
        Vector256.Store(k0, keys + 64); Vector256.Store(k1, keys + 72); Vector256.Store(k2, keys + 80); Vector256.Store(k3, keys + 88);
        masks[2] = Vector256.GreaterThanOrEqual(k0, th).ExtractMostSignificantBits() | Vector256.GreaterThanOrEqual(k1, th).ExtractMostSignificantBits() << 8
            | Vector256.GreaterThanOrEqual(k2, th).ExtractMostSignificantBits() << 16 | Vector256.GreaterThanOrEqual(k3, th).ExtractMostSignificantBits() << 24;

        sc = Vector256.Create(parameters[3]); bi = Vector256.Create(parameters[7]); th = Vector256.Create(parameters[11]);
        k0 = Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(c30), sc, bi), al0, be0);
        k1 = Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(c31), sc, bi), al1, be1);
        k2 = Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(c32), sc, bi), al2, be2);
        k3 = Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(c33), sc, bi), al3, be3);
        Vector256.Store(k0, keys + 96); Vector256.Store(k1, keys + 104); Vector256.Store(k2, keys + 112); Vector256.Store(k3, keys + 120);
        masks[3] = Vector256.GreaterThanOrEqual(k0, th).ExtractMostSignificantBits() | Vector256.GreaterThanOrEqual(k1, th).ExtractMostSignificantBits() << 8
            | Vector256.GreaterThanOrEqual(k2, th).ExtractMostSignificantBits() << 16 | Vector256.GreaterThanOrEqual(k3, th).ExtractMostSignificantBits() << 24;
    }
}

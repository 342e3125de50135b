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
    /// c[r * ldc + j] = Σ_g Σ_i code(g, j)[i] · q_r(g)[i] for the 4 queries r of the block and the 32 rows j at
    /// <paramref name="codes"/> (a panel base, or base + 128 for rows 32-63): 16 ymm int32 accumulators, four code loads and
    /// four query broadcasts per group, 16 <c>vpdpbusd</c> (u8 codes x s8 query, 512 multiply-adds). No calls, so RyuJIT keeps
    /// every accumulator in a register.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void Vnni4x32(int* q, byte* codes, int groups, int* c, nint ldc)
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
        Vector256.Store(c00, c); Vector256.Store(c01, c + 8); Vector256.Store(c02, c + 16); Vector256.Store(c03, c + 24);
        c += ldc;
        Vector256.Store(c10, c); Vector256.Store(c11, c + 8); Vector256.Store(c12, c + 16); Vector256.Store(c13, c + 24);
        c += ldc;
        Vector256.Store(c20, c); Vector256.Store(c21, c + 8); Vector256.Store(c22, c + 16); Vector256.Store(c23, c + 24);
        c += ldc;
        Vector256.Store(c30, c); Vector256.Store(c31, c + 8); Vector256.Store(c32, c + 16); Vector256.Store(c33, c + 24);
    }
}

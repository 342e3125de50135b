using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Vec.Kernels.Internals.CpuSimd;

/// <summary>
/// Register-blocked GEMM micro-kernels over B pre-packed into 32-wide panels (<see cref="PackedPanels"/>): panel element
/// (k, j) sits at <c>panel[k * 32 + j]</c>. Each kernel computes a full row-block x 32 tile and stores it; the caller
/// handles partial tiles by padding (zero rows, zero columns) and clipping when it copies the tile out.
/// </summary>
internal static class MicroKernels
{
    /// <summary>Rows per block of the Vector512 kernel.</summary>
    public const int Rows512 = 12;

    /// <summary>Rows per block of the Vector256 kernel.</summary>
    public const int Rows256 = 6;

    /// <summary>C[12 x 32] = Apacked[kc x 12]ᵀ · panel[kc x 32]: 24 zmm accumulators, two panel loads and twelve
    /// broadcasts per k. No calls anywhere in the method, so RyuJIT keeps every accumulator in a register.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void Vector512Kernel12x32(float* a, float* b, int kc, float* c, nint ldc)
    {
        Vector512<float> c0_0 = default, c0_1 = default, c1_0 = default, c1_1 = default, c2_0 = default, c2_1 = default, c3_0 = default, c3_1 = default, c4_0 = default, c4_1 = default, c5_0 = default, c5_1 = default, c6_0 = default, c6_1 = default, c7_0 = default, c7_1 = default, c8_0 = default, c8_1 = default, c9_0 = default, c9_1 = default, c10_0 = default, c10_1 = default, c11_0 = default, c11_1 = default;
        for (int p = 0; p < kc; p++)
        {
            Vector512<float> b0 = Vector512.Load(b), b1 = Vector512.Load(b + 16);
            Vector512<float> av;
            av = Vector512.Create(a[0]); c0_0 = Vector512.FusedMultiplyAdd(av, b0, c0_0); c0_1 = Vector512.FusedMultiplyAdd(av, b1, c0_1);
            av = Vector512.Create(a[1]); c1_0 = Vector512.FusedMultiplyAdd(av, b0, c1_0); c1_1 = Vector512.FusedMultiplyAdd(av, b1, c1_1);
            av = Vector512.Create(a[2]); c2_0 = Vector512.FusedMultiplyAdd(av, b0, c2_0); c2_1 = Vector512.FusedMultiplyAdd(av, b1, c2_1);
            av = Vector512.Create(a[3]); c3_0 = Vector512.FusedMultiplyAdd(av, b0, c3_0); c3_1 = Vector512.FusedMultiplyAdd(av, b1, c3_1);
            av = Vector512.Create(a[4]); c4_0 = Vector512.FusedMultiplyAdd(av, b0, c4_0); c4_1 = Vector512.FusedMultiplyAdd(av, b1, c4_1);
            av = Vector512.Create(a[5]); c5_0 = Vector512.FusedMultiplyAdd(av, b0, c5_0); c5_1 = Vector512.FusedMultiplyAdd(av, b1, c5_1);
            av = Vector512.Create(a[6]); c6_0 = Vector512.FusedMultiplyAdd(av, b0, c6_0); c6_1 = Vector512.FusedMultiplyAdd(av, b1, c6_1);
            av = Vector512.Create(a[7]); c7_0 = Vector512.FusedMultiplyAdd(av, b0, c7_0); c7_1 = Vector512.FusedMultiplyAdd(av, b1, c7_1);
            av = Vector512.Create(a[8]); c8_0 = Vector512.FusedMultiplyAdd(av, b0, c8_0); c8_1 = Vector512.FusedMultiplyAdd(av, b1, c8_1);
            av = Vector512.Create(a[9]); c9_0 = Vector512.FusedMultiplyAdd(av, b0, c9_0); c9_1 = Vector512.FusedMultiplyAdd(av, b1, c9_1);
            av = Vector512.Create(a[10]); c10_0 = Vector512.FusedMultiplyAdd(av, b0, c10_0); c10_1 = Vector512.FusedMultiplyAdd(av, b1, c10_1);
            av = Vector512.Create(a[11]); c11_0 = Vector512.FusedMultiplyAdd(av, b0, c11_0); c11_1 = Vector512.FusedMultiplyAdd(av, b1, c11_1);
            a += 12;
            b += 32;
        }
        Vector512.Store(c0_0, c + 0 * ldc); Vector512.Store(c0_1, c + 0 * ldc + 16);
        Vector512.Store(c1_0, c + 1 * ldc); Vector512.Store(c1_1, c + 1 * ldc + 16);
        Vector512.Store(c2_0, c + 2 * ldc); Vector512.Store(c2_1, c + 2 * ldc + 16);
        Vector512.Store(c3_0, c + 3 * ldc); Vector512.Store(c3_1, c + 3 * ldc + 16);
        Vector512.Store(c4_0, c + 4 * ldc); Vector512.Store(c4_1, c + 4 * ldc + 16);
        Vector512.Store(c5_0, c + 5 * ldc); Vector512.Store(c5_1, c + 5 * ldc + 16);
        Vector512.Store(c6_0, c + 6 * ldc); Vector512.Store(c6_1, c + 6 * ldc + 16);
        Vector512.Store(c7_0, c + 7 * ldc); Vector512.Store(c7_1, c + 7 * ldc + 16);
        Vector512.Store(c8_0, c + 8 * ldc); Vector512.Store(c8_1, c + 8 * ldc + 16);
        Vector512.Store(c9_0, c + 9 * ldc); Vector512.Store(c9_1, c + 9 * ldc + 16);
        Vector512.Store(c10_0, c + 10 * ldc); Vector512.Store(c10_1, c + 10 * ldc + 16);
        Vector512.Store(c11_0, c + 11 * ldc); Vector512.Store(c11_1, c + 11 * ldc + 16);
    }

    /// <summary>c[32] = a[kc] · panel[kc x 32] for one row (a is a plain row): four k-phases x two halves = 8 independent
    /// accumulators hide the FMA latency; memory-bound by design (single queries).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void Vector512Kernel1x32(float* a, float* b, int kc, float* c)
    {
        Vector512<float> s0_0 = default, s0_1 = default, s1_0 = default, s1_1 = default, s2_0 = default, s2_1 = default, s3_0 = default, s3_1 = default;
        int p = 0;
        for (; p + 4 <= kc; p += 4)
        {
            Vector512<float> av;
            av = Vector512.Create(a[p + 0]); s0_0 = Vector512.FusedMultiplyAdd(av, Vector512.Load(b + 0), s0_0); s0_1 = Vector512.FusedMultiplyAdd(av, Vector512.Load(b + 16), s0_1);
            av = Vector512.Create(a[p + 1]); s1_0 = Vector512.FusedMultiplyAdd(av, Vector512.Load(b + 32), s1_0); s1_1 = Vector512.FusedMultiplyAdd(av, Vector512.Load(b + 48), s1_1);
            av = Vector512.Create(a[p + 2]); s2_0 = Vector512.FusedMultiplyAdd(av, Vector512.Load(b + 64), s2_0); s2_1 = Vector512.FusedMultiplyAdd(av, Vector512.Load(b + 80), s2_1);
            av = Vector512.Create(a[p + 3]); s3_0 = Vector512.FusedMultiplyAdd(av, Vector512.Load(b + 96), s3_0); s3_1 = Vector512.FusedMultiplyAdd(av, Vector512.Load(b + 112), s3_1);
            b += 128;
        }
        for (; p < kc; p++)
        {
            Vector512<float> av = Vector512.Create(a[p]);
            s0_0 = Vector512.FusedMultiplyAdd(av, Vector512.Load(b), s0_0); s0_1 = Vector512.FusedMultiplyAdd(av, Vector512.Load(b + 16), s0_1);
            b += 32;
        }
        Vector512.Store((s0_0 + s1_0) + (s2_0 + s3_0), c);
        Vector512.Store((s0_1 + s1_1) + (s2_1 + s3_1), c + 16);
    }

    /// <summary>C[6 x 16] = Apacked[kc x 6]ᵀ · half-panel[kc x 16] with Vector256: <paramref name="b"/> points at column 0 or
    /// 16 of a 32-wide panel (row stride 32). Twelve ymm accumulators, two panel loads and one broadcast register: 15 of
    /// the 16 AVX2 registers, so nothing spills (the 6 x 16 tile of BLIS's Haswell kernel). Per k it reads 64 bytes of B
    /// for 12 FMAs, a third of what a 2 x 32 tile reads, which keeps it off the L2 bandwidth limit. No calls in the method.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void Vector256Kernel6x16(float* a, float* b, int kc, float* c, nint ldc)
    {
        Vector256<float> c0_0 = default, c0_1 = default, c1_0 = default, c1_1 = default, c2_0 = default, c2_1 = default, c3_0 = default, c3_1 = default, c4_0 = default, c4_1 = default, c5_0 = default, c5_1 = default;
        for (int p = 0; p < kc; p++)
        {
            Vector256<float> b0 = Vector256.Load(b), b1 = Vector256.Load(b + 8);
            Vector256<float> av;
            av = Vector256.Create(a[0]); c0_0 = Vector256.FusedMultiplyAdd(av, b0, c0_0); c0_1 = Vector256.FusedMultiplyAdd(av, b1, c0_1);
            av = Vector256.Create(a[1]); c1_0 = Vector256.FusedMultiplyAdd(av, b0, c1_0); c1_1 = Vector256.FusedMultiplyAdd(av, b1, c1_1);
            av = Vector256.Create(a[2]); c2_0 = Vector256.FusedMultiplyAdd(av, b0, c2_0); c2_1 = Vector256.FusedMultiplyAdd(av, b1, c2_1);
            av = Vector256.Create(a[3]); c3_0 = Vector256.FusedMultiplyAdd(av, b0, c3_0); c3_1 = Vector256.FusedMultiplyAdd(av, b1, c3_1);
            av = Vector256.Create(a[4]); c4_0 = Vector256.FusedMultiplyAdd(av, b0, c4_0); c4_1 = Vector256.FusedMultiplyAdd(av, b1, c4_1);
            av = Vector256.Create(a[5]); c5_0 = Vector256.FusedMultiplyAdd(av, b0, c5_0); c5_1 = Vector256.FusedMultiplyAdd(av, b1, c5_1);
            a += 6;
            b += 32;
        }
        Vector256.Store(c0_0, c + 0 * ldc); Vector256.Store(c0_1, c + 0 * ldc + 8);
        Vector256.Store(c1_0, c + 1 * ldc); Vector256.Store(c1_1, c + 1 * ldc + 8);
        Vector256.Store(c2_0, c + 2 * ldc); Vector256.Store(c2_1, c + 2 * ldc + 8);
        Vector256.Store(c3_0, c + 3 * ldc); Vector256.Store(c3_1, c + 3 * ldc + 8);
        Vector256.Store(c4_0, c + 4 * ldc); Vector256.Store(c4_1, c + 4 * ldc + 8);
        Vector256.Store(c5_0, c + 5 * ldc); Vector256.Store(c5_1, c + 5 * ldc + 8);
    }

    /// <summary>c[32] = a[kc] · panel[kc x 32] for one plain row with Vector256: two k-phases x four quarters = 8
    /// independent accumulators (memory-bound by design: single queries and the last rows of a block).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void Vector256Kernel1x32(float* a, float* b, int kc, float* c)
    {
        Vector256<float> s0_0 = default, s0_1 = default, s0_2 = default, s0_3 = default, s1_0 = default, s1_1 = default, s1_2 = default, s1_3 = default;
        int p = 0;
        for (; p + 2 <= kc; p += 2)
        {
            Vector256<float> av = Vector256.Create(a[p]);
            s0_0 = Vector256.FusedMultiplyAdd(av, Vector256.Load(b + 0), s0_0); s0_1 = Vector256.FusedMultiplyAdd(av, Vector256.Load(b + 8), s0_1);
            s0_2 = Vector256.FusedMultiplyAdd(av, Vector256.Load(b + 16), s0_2); s0_3 = Vector256.FusedMultiplyAdd(av, Vector256.Load(b + 24), s0_3);
            av = Vector256.Create(a[p + 1]);
            s1_0 = Vector256.FusedMultiplyAdd(av, Vector256.Load(b + 32), s1_0); s1_1 = Vector256.FusedMultiplyAdd(av, Vector256.Load(b + 40), s1_1);
            s1_2 = Vector256.FusedMultiplyAdd(av, Vector256.Load(b + 48), s1_2); s1_3 = Vector256.FusedMultiplyAdd(av, Vector256.Load(b + 56), s1_3);
            b += 64;
        }
        if (p < kc)
        {
            Vector256<float> av = Vector256.Create(a[p]);
            s0_0 = Vector256.FusedMultiplyAdd(av, Vector256.Load(b + 0), s0_0); s0_1 = Vector256.FusedMultiplyAdd(av, Vector256.Load(b + 8), s0_1);
            s0_2 = Vector256.FusedMultiplyAdd(av, Vector256.Load(b + 16), s0_2); s0_3 = Vector256.FusedMultiplyAdd(av, Vector256.Load(b + 24), s0_3);
        }
        Vector256.Store(s0_0 + s1_0, c);
        Vector256.Store(s0_1 + s1_1, c + 8);
        Vector256.Store(s0_2 + s1_2, c + 16);
        Vector256.Store(s0_3 + s1_3, c + 24);
    }

    /// <summary>c[32] = a[kc] · panel[kc x 32] for one plain row with Vector128: 8 xmm accumulators.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void Vector128Kernel1x32(float* a, float* b, int kc, float* c)
    {
        Vector128<float> s0 = default, s1 = default, s2 = default, s3 = default, s4 = default, s5 = default, s6 = default, s7 = default;
        for (int p = 0; p < kc; p++)
        {
            Vector128<float> av = Vector128.Create(a[p]);
            s0 = Vector128.FusedMultiplyAdd(av, Vector128.Load(b + 0), s0);
            s1 = Vector128.FusedMultiplyAdd(av, Vector128.Load(b + 4), s1);
            s2 = Vector128.FusedMultiplyAdd(av, Vector128.Load(b + 8), s2);
            s3 = Vector128.FusedMultiplyAdd(av, Vector128.Load(b + 12), s3);
            s4 = Vector128.FusedMultiplyAdd(av, Vector128.Load(b + 16), s4);
            s5 = Vector128.FusedMultiplyAdd(av, Vector128.Load(b + 20), s5);
            s6 = Vector128.FusedMultiplyAdd(av, Vector128.Load(b + 24), s6);
            s7 = Vector128.FusedMultiplyAdd(av, Vector128.Load(b + 28), s7);
            b += 32;
        }
        Vector128.Store(s0, c + 0);
        Vector128.Store(s1, c + 4);
        Vector128.Store(s2, c + 8);
        Vector128.Store(s3, c + 12);
        Vector128.Store(s4, c + 16);
        Vector128.Store(s5, c + 20);
        Vector128.Store(s6, c + 24);
        Vector128.Store(s7, c + 28);
    }
}

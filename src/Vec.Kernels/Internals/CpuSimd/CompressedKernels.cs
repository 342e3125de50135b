using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Vec.Kernels.Internals.CpuSimd;

/// <summary>
/// Scan kernels over one 64-row panel of <see cref="CompressedRows"/>: <c>out[j] = scale · Σ_k q[k]·decode(code[k, j]) + bias</c>
/// for the 64 rows j of the panel. The query is pre-scaled by the caller (Int8: q_k·Step[k], bias Σ q_k·Min[k]). The SIMD
/// kernels make no calls, so RyuJIT keeps every accumulator in a register.
/// </summary>
internal static class CompressedKernels
{
    /// <summary>Int8 with Vector512: per k, four 16-byte loads widened to int32 then float (vpmovzxbd, vcvtdq2ps) and four
    /// FMAs; two k-phases give 8 independent accumulators to hide the FMA latency.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void Int8Vector512(float* q, byte* codes, int d, float scale, float bias, float* output)
    {
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, b0 = default, b1 = default, b2 = default, b3 = default;
        int k = 0;
        for (; k + 2 <= d; k += 2)
        {
            Vector512<float> qa = Vector512.Create(q[k]), qb = Vector512.Create(q[k + 1]);
            a0 = Vector512.FusedMultiplyAdd(qa, Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(Vector128.Load(codes + 0))), a0);
            a1 = Vector512.FusedMultiplyAdd(qa, Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(Vector128.Load(codes + 16))), a1);
            a2 = Vector512.FusedMultiplyAdd(qa, Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(Vector128.Load(codes + 32))), a2);
            a3 = Vector512.FusedMultiplyAdd(qa, Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(Vector128.Load(codes + 48))), a3);
            b0 = Vector512.FusedMultiplyAdd(qb, Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(Vector128.Load(codes + 64))), b0);
            b1 = Vector512.FusedMultiplyAdd(qb, Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(Vector128.Load(codes + 80))), b1);
            b2 = Vector512.FusedMultiplyAdd(qb, Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(Vector128.Load(codes + 96))), b2);
            b3 = Vector512.FusedMultiplyAdd(qb, Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(Vector128.Load(codes + 112))), b3);
            codes += 128;
        }
        if (k < d)
        {
            Vector512<float> qa = Vector512.Create(q[k]);
            a0 = Vector512.FusedMultiplyAdd(qa, Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(Vector128.Load(codes + 0))), a0);
            a1 = Vector512.FusedMultiplyAdd(qa, Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(Vector128.Load(codes + 16))), a1);
            a2 = Vector512.FusedMultiplyAdd(qa, Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(Vector128.Load(codes + 32))), a2);
            a3 = Vector512.FusedMultiplyAdd(qa, Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(Vector128.Load(codes + 48))), a3);
        }
        Vector512<float> s = Vector512.Create(scale), c = Vector512.Create(bias);
        Vector512.Store(Vector512.FusedMultiplyAdd(a0 + b0, s, c), output + 0);
        Vector512.Store(Vector512.FusedMultiplyAdd(a1 + b1, s, c), output + 16);
        Vector512.Store(Vector512.FusedMultiplyAdd(a2 + b2, s, c), output + 32);
        Vector512.Store(Vector512.FusedMultiplyAdd(a3 + b3, s, c), output + 48);
    }

    /// <summary>Float16 with Vector512: per k, four 32-byte loads sign-extended to int32 (vpmovsxwd), shifted and masked into
    /// float bit positions and rescaled by 2^112 (see <see cref="CompressedRows.DecodeHalf"/>), then four FMAs; two k-phases.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void HalfVector512(float* q, ushort* codes, int d, float scale, float bias, float* output)
    {
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, b0 = default, b1 = default, b2 = default, b3 = default;
        Vector512<int> mask = Vector512.Create(CompressedRows.HalfMask);
        Vector512<float> rescale = Vector512.Create(CompressedRows.HalfRescale);
        short* c16 = (short*)codes;
        int k = 0;
        for (; k + 2 <= d; k += 2)
        {
            Vector512<float> qa = Vector512.Create(q[k]), qb = Vector512.Create(q[k + 1]);
            a0 = Vector512.FusedMultiplyAdd(qa, ((Avx512F.ConvertToVector512Int32(Vector256.Load(c16 + 0)) << 13) & mask).AsSingle() * rescale, a0);
            a1 = Vector512.FusedMultiplyAdd(qa, ((Avx512F.ConvertToVector512Int32(Vector256.Load(c16 + 16)) << 13) & mask).AsSingle() * rescale, a1);
            a2 = Vector512.FusedMultiplyAdd(qa, ((Avx512F.ConvertToVector512Int32(Vector256.Load(c16 + 32)) << 13) & mask).AsSingle() * rescale, a2);
            a3 = Vector512.FusedMultiplyAdd(qa, ((Avx512F.ConvertToVector512Int32(Vector256.Load(c16 + 48)) << 13) & mask).AsSingle() * rescale, a3);
            b0 = Vector512.FusedMultiplyAdd(qb, ((Avx512F.ConvertToVector512Int32(Vector256.Load(c16 + 64)) << 13) & mask).AsSingle() * rescale, b0);
            b1 = Vector512.FusedMultiplyAdd(qb, ((Avx512F.ConvertToVector512Int32(Vector256.Load(c16 + 80)) << 13) & mask).AsSingle() * rescale, b1);
            b2 = Vector512.FusedMultiplyAdd(qb, ((Avx512F.ConvertToVector512Int32(Vector256.Load(c16 + 96)) << 13) & mask).AsSingle() * rescale, b2);
            b3 = Vector512.FusedMultiplyAdd(qb, ((Avx512F.ConvertToVector512Int32(Vector256.Load(c16 + 112)) << 13) & mask).AsSingle() * rescale, b3);
            c16 += 128;
        }
        if (k < d)
        {
            Vector512<float> qa = Vector512.Create(q[k]);
            a0 = Vector512.FusedMultiplyAdd(qa, ((Avx512F.ConvertToVector512Int32(Vector256.Load(c16 + 0)) << 13) & mask).AsSingle() * rescale, a0);
            a1 = Vector512.FusedMultiplyAdd(qa, ((Avx512F.ConvertToVector512Int32(Vector256.Load(c16 + 16)) << 13) & mask).AsSingle() * rescale, a1);
            a2 = Vector512.FusedMultiplyAdd(qa, ((Avx512F.ConvertToVector512Int32(Vector256.Load(c16 + 32)) << 13) & mask).AsSingle() * rescale, a2);
            a3 = Vector512.FusedMultiplyAdd(qa, ((Avx512F.ConvertToVector512Int32(Vector256.Load(c16 + 48)) << 13) & mask).AsSingle() * rescale, a3);
        }
        Vector512<float> s = Vector512.Create(scale), c = Vector512.Create(bias);
        Vector512.Store(Vector512.FusedMultiplyAdd(a0 + b0, s, c), output + 0);
        Vector512.Store(Vector512.FusedMultiplyAdd(a1 + b1, s, c), output + 16);
        Vector512.Store(Vector512.FusedMultiplyAdd(a2 + b2, s, c), output + 32);
        Vector512.Store(Vector512.FusedMultiplyAdd(a3 + b3, s, c), output + 48);
    }

    /// <summary>Int8 with AVX2: per k, eight 8-byte loads widened to int32 then float, eight FMAs into 8 accumulators.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void Int8Vector256(float* q, byte* codes, int d, float scale, float bias, float* output)
    {
        Vector256<float> s0 = default, s1 = default, s2 = default, s3 = default, s4 = default, s5 = default, s6 = default, s7 = default;
        for (int k = 0; k < d; k++)
        {
            Vector256<float> qa = Vector256.Create(q[k]);
            s0 = Vector256.FusedMultiplyAdd(qa, Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(codes + 0)), s0);
            s1 = Vector256.FusedMultiplyAdd(qa, Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(codes + 8)), s1);
            s2 = Vector256.FusedMultiplyAdd(qa, Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(codes + 16)), s2);
            s3 = Vector256.FusedMultiplyAdd(qa, Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(codes + 24)), s3);
            s4 = Vector256.FusedMultiplyAdd(qa, Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(codes + 32)), s4);
            s5 = Vector256.FusedMultiplyAdd(qa, Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(codes + 40)), s5);
            s6 = Vector256.FusedMultiplyAdd(qa, Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(codes + 48)), s6);
            s7 = Vector256.FusedMultiplyAdd(qa, Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(codes + 56)), s7);
            codes += 64;
        }
        Vector256<float> s = Vector256.Create(scale), c = Vector256.Create(bias);
        Vector256.Store(Vector256.FusedMultiplyAdd(s0, s, c), output + 0);
        Vector256.Store(Vector256.FusedMultiplyAdd(s1, s, c), output + 8);
        Vector256.Store(Vector256.FusedMultiplyAdd(s2, s, c), output + 16);
        Vector256.Store(Vector256.FusedMultiplyAdd(s3, s, c), output + 24);
        Vector256.Store(Vector256.FusedMultiplyAdd(s4, s, c), output + 32);
        Vector256.Store(Vector256.FusedMultiplyAdd(s5, s, c), output + 40);
        Vector256.Store(Vector256.FusedMultiplyAdd(s6, s, c), output + 48);
        Vector256.Store(Vector256.FusedMultiplyAdd(s7, s, c), output + 56);
    }

    /// <summary>Float16 with AVX2: per k, eight 16-byte loads sign-extended to int32 (vpmovsxwd) and decoded as in
    /// <see cref="HalfVector512"/>, eight FMAs.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void HalfVector256(float* q, ushort* codes, int d, float scale, float bias, float* output)
    {
        Vector256<float> s0 = default, s1 = default, s2 = default, s3 = default, s4 = default, s5 = default, s6 = default, s7 = default;
        Vector256<int> mask = Vector256.Create(CompressedRows.HalfMask);
        Vector256<float> rescale = Vector256.Create(CompressedRows.HalfRescale);
        short* c16 = (short*)codes;
        for (int k = 0; k < d; k++)
        {
            Vector256<float> qa = Vector256.Create(q[k]);
            s0 = Vector256.FusedMultiplyAdd(qa, ((Avx2.ConvertToVector256Int32(c16 + 0) << 13) & mask).AsSingle() * rescale, s0);
            s1 = Vector256.FusedMultiplyAdd(qa, ((Avx2.ConvertToVector256Int32(c16 + 8) << 13) & mask).AsSingle() * rescale, s1);
            s2 = Vector256.FusedMultiplyAdd(qa, ((Avx2.ConvertToVector256Int32(c16 + 16) << 13) & mask).AsSingle() * rescale, s2);
            s3 = Vector256.FusedMultiplyAdd(qa, ((Avx2.ConvertToVector256Int32(c16 + 24) << 13) & mask).AsSingle() * rescale, s3);
            s4 = Vector256.FusedMultiplyAdd(qa, ((Avx2.ConvertToVector256Int32(c16 + 32) << 13) & mask).AsSingle() * rescale, s4);
            s5 = Vector256.FusedMultiplyAdd(qa, ((Avx2.ConvertToVector256Int32(c16 + 40) << 13) & mask).AsSingle() * rescale, s5);
            s6 = Vector256.FusedMultiplyAdd(qa, ((Avx2.ConvertToVector256Int32(c16 + 48) << 13) & mask).AsSingle() * rescale, s6);
            s7 = Vector256.FusedMultiplyAdd(qa, ((Avx2.ConvertToVector256Int32(c16 + 56) << 13) & mask).AsSingle() * rescale, s7);
            c16 += 64;
        }
        Vector256<float> s = Vector256.Create(scale), c = Vector256.Create(bias);
        Vector256.Store(Vector256.FusedMultiplyAdd(s0, s, c), output + 0);
        Vector256.Store(Vector256.FusedMultiplyAdd(s1, s, c), output + 8);
        Vector256.Store(Vector256.FusedMultiplyAdd(s2, s, c), output + 16);
        Vector256.Store(Vector256.FusedMultiplyAdd(s3, s, c), output + 24);
        Vector256.Store(Vector256.FusedMultiplyAdd(s4, s, c), output + 32);
        Vector256.Store(Vector256.FusedMultiplyAdd(s5, s, c), output + 40);
        Vector256.Store(Vector256.FusedMultiplyAdd(s6, s, c), output + 48);
        Vector256.Store(Vector256.FusedMultiplyAdd(s7, s, c), output + 56);
    }

    /// <summary>Int8 with AVX-VNNI on the interleaved layout: per group of four dimensions, the query's four int8 values are
    /// broadcast and eight <c>vpdpbusd</c> (u8 codes x s8 query, summed in fours into int32) cover the 64 rows, 256 bytes.
    /// <c>output[j] = scale·acc[j] + bias</c>. The int32 sums cannot overflow: |acc| ≤ 255·127·4·groups.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void Int8Vnni256(sbyte* q, byte* codes, int groups, float scale, float bias, float* output)
    {
        Vector256<int> s0 = default, s1 = default, s2 = default, s3 = default, s4 = default, s5 = default, s6 = default, s7 = default;
        for (int g = 0; g < groups; g++)
        {
            Vector256<sbyte> qv = Vector256.Create(((int*)q)[g]).AsSByte();
            s0 = AvxVnni.MultiplyWideningAndAdd(s0, Vector256.Load(codes + 0), qv);
            s1 = AvxVnni.MultiplyWideningAndAdd(s1, Vector256.Load(codes + 32), qv);
            s2 = AvxVnni.MultiplyWideningAndAdd(s2, Vector256.Load(codes + 64), qv);
            s3 = AvxVnni.MultiplyWideningAndAdd(s3, Vector256.Load(codes + 96), qv);
            s4 = AvxVnni.MultiplyWideningAndAdd(s4, Vector256.Load(codes + 128), qv);
            s5 = AvxVnni.MultiplyWideningAndAdd(s5, Vector256.Load(codes + 160), qv);
            s6 = AvxVnni.MultiplyWideningAndAdd(s6, Vector256.Load(codes + 192), qv);
            s7 = AvxVnni.MultiplyWideningAndAdd(s7, Vector256.Load(codes + 224), qv);
            codes += 256;
        }
        Vector256<float> s = Vector256.Create(scale), c = Vector256.Create(bias);
        Vector256.Store(Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(s0), s, c), output + 0);
        Vector256.Store(Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(s1), s, c), output + 8);
        Vector256.Store(Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(s2), s, c), output + 16);
        Vector256.Store(Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(s3), s, c), output + 24);
        Vector256.Store(Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(s4), s, c), output + 32);
        Vector256.Store(Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(s5), s, c), output + 40);
        Vector256.Store(Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(s6), s, c), output + 48);
        Vector256.Store(Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(s7), s, c), output + 56);
    }

    /// <summary>Portable scalar kernel for either storage (the simd128 backend and machines without AVX2).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void Scalar(VectorStorage storage, float* q, byte* codes, int d, float scale, float bias, float* output)
    {
        const int rows = CompressedRows.PanelRows;
        new Span<float>(output, rows).Clear();
        if (storage == VectorStorage.Int8)
        {
            for (int k = 0; k < d; k++)
            {
                float qk = q[k];
                byte* c = codes + (long)k * rows;
                for (int j = 0; j < rows; j++) output[j] += qk * c[j];
            }
        }
        else
        {
            ushort* h = (ushort*)codes;
            for (int k = 0; k < d; k++)
            {
                float qk = q[k];
                ushort* c = h + (long)k * rows;
                for (int j = 0; j < rows; j++) output[j] += qk * CompressedRows.DecodeHalf(c[j]);
            }
        }
        for (int j = 0; j < rows; j++) output[j] = output[j] * scale + bias;
    }
}

using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Vec.Kernels.Internals;

/// <summary>Small vectorised helpers shared by validation and the CPU backends.</summary>
internal static class Numerics
{
    /// <summary>True when any element is NaN or ±∞ (x·0 is NaN exactly for those, and NaN propagates through sums).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static bool ContainsNonFinite(ReadOnlySpan<float> values)
    {
        ref float p = ref MemoryMarshal.GetReference(values);
        int i = 0, n = values.Length;
        if (Vector512.IsHardwareAccelerated && n >= 16)
        {
            Vector512<float> acc = Vector512<float>.Zero;
            for (; i <= n - 16; i += 16) acc += Vector512.LoadUnsafe(ref p, (nuint)i) * Vector512<float>.Zero;
            if (!Vector512.EqualsAll(acc, acc)) return true;
        }
        else if (Vector256.IsHardwareAccelerated && n >= 8)
        {
            Vector256<float> acc = Vector256<float>.Zero;
            for (; i <= n - 8; i += 8) acc += Vector256.LoadUnsafe(ref p, (nuint)i) * Vector256<float>.Zero;
            if (!Vector256.EqualsAll(acc, acc)) return true;
        }
        float s = 0f;
        for (; i < n; i++) s += Unsafe.Add(ref p, i) * 0f;
        return float.IsNaN(s);
    }

    /// <summary>True when any element is NaN.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static bool ContainsNaN(ReadOnlySpan<float> values)
    {
        ref float p = ref MemoryMarshal.GetReference(values);
        int i = 0, n = values.Length;
        if (Vector512.IsHardwareAccelerated && n >= 16)
        {
            Vector512<float> bad = Vector512<float>.Zero;
            for (; i <= n - 16; i += 16)
            {
                var v = Vector512.LoadUnsafe(ref p, (nuint)i);
                bad |= ~Vector512.Equals(v, v);
            }
            if (bad != Vector512<float>.Zero) return true;
        }
        for (; i < n; i++)
        {
            if (float.IsNaN(Unsafe.Add(ref p, i))) return true;
        }
        return false;
    }
}

using System.Runtime.CompilerServices;

namespace Vec.Kernels.Internals;

/// <summary>A <see cref="CodeDatabase"/> in host memory, shared by the CPU backends (scalar and SIMD).</summary>
internal sealed class HostCodeDatabase : CodeDatabase
{
    public HostCodeDatabase(IVectorKernels owner, ReadOnlySpan<byte> codes, int count, int subQuantizers, int bits,
        ReadOnlySpan<int> listOffsets, ReadOnlySpan<float> listTables)
        : base(owner, count, subQuantizers, bits, listOffsets.Length - 1, listTables.Length != 0)
    {
        Codes = codes.ToArray();
        Offsets = listOffsets.ToArray();
        ListTables = listTables.ToArray();
    }

    /// <summary>[Count, SubQuantizers] codes.</summary>
    public byte[] Codes { get; }

    /// <summary>ListCount + 1 offsets.</summary>
    public int[] Offsets { get; }

    /// <summary>[ListCount, SubQuantizers, Codebook] tables, or empty.</summary>
    public float[] ListTables { get; }
}

/// <summary>
/// The documented scoring of <see cref="IVectorKernels.ScanCodes"/>, shared by the CPU backends so that they agree bit for
/// bit: <c>s = bias</c>, then <c>s += (listTerm + (scale · queryTerm))</c> for m = 0 .. M-1 in float32; NaN ranks as +∞.
/// </summary>
internal static class CodeScan
{
    /// <summary>Scores every allowed row of every probed list of one query and hands (score, row) to <paramref name="sink"/>.</summary>
    public static void ScoreQuery<TSink>(HostCodeDatabase db, ReadOnlySpan<float> queryTable, float scale, ReadOnlySpan<int> probes,
        ReadOnlySpan<float> biases, ReadOnlySpan<ulong> filterBits, bool useFilter, ref TSink sink)
        where TSink : struct, ICandidateSink
    {
        int m = db.SubQuantizers, ks = db.Codebook, table = m * ks;
        ReadOnlySpan<byte> codes = db.Codes;
        for (int p = 0; p < probes.Length; p++)
        {
            int list = probes[p];
            if (list < 0) continue;
            float bias = biases[p];
            ReadOnlySpan<float> lt = db.HasListTables ? db.ListTables.AsSpan(list * table, table) : default;
            for (int r = db.Offsets[list], end = db.Offsets[list + 1]; r < end; r++)
            {
                if (useFilter && (filterBits[r >> 6] & (1UL << r)) == 0) continue;
                ReadOnlySpan<byte> code = codes.Slice(r * m, m);
                float s = bias;
                if (lt.IsEmpty)
                {
                    for (int j = 0; j < m; j++)
                    {
                        int e = j * ks + code[j];
                        s += 0f + Scaled(scale, queryTable[e]);
                    }
                }
                else
                {
                    for (int j = 0; j < m; j++)
                    {
                        int e = j * ks + code[j];
                        s += lt[e] + Scaled(scale, queryTable[e]);
                    }
                }
                if (float.IsNaN(s)) s = float.PositiveInfinity;
                sink.Add(s, r);
            }
        }
    }

    /// <summary>A rounded float product, kept out of line of the sum so no backend fuses it into a multiply-add.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Scaled(float scale, float value) => scale * value;

    /// <summary>Receives scored candidates.</summary>
    public interface ICandidateSink
    {
        /// <summary>One candidate.</summary>
        void Add(float score, int row);
    }
}

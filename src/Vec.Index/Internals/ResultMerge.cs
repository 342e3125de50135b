using Vec.Kernels;

namespace Vec.Index.Internals;

/// <summary>Merges per-part top-k rows into one top-k row, best first, ties to the lower id.</summary>
internal static class ResultMerge
{
    /// <summary>Writes the missing marker into a result row.</summary>
    public static void FillMissing(Span<long> ids, Span<float> scores, Metric metric)
    {
        ids.Fill(-1);
        scores.Fill(metric.MissingScore());
    }

    /// <summary>True if (a, ida) ranks before (b, idb).</summary>
    public static bool Better(float a, long ida, float b, long idb, bool largest) =>
        largest ? (a > b || (a == b && ida < idb)) : (a < b || (a == b && ida < idb));

    /// <summary>
    /// Merges <paramref name="parts"/> candidate rows (each <paramref name="partK"/> long, sorted best first, -1 padded)
    /// into the best <paramref name="k"/>.
    /// </summary>
    public static void Merge(ReadOnlySpan<long> candidateIds, ReadOnlySpan<float> candidateScores, int parts, int partK,
        int k, Metric metric, Span<long> ids, Span<float> scores)
    {
        bool largest = metric.Order() == TopKOrder.Largest;
        Span<int> cursor = parts <= 64 ? stackalloc int[parts] : new int[parts];
        cursor.Clear();
        for (int r = 0; r < k; r++)
        {
            int best = -1;
            for (int p = 0; p < parts; p++)
            {
                int c = cursor[p];
                if (c >= partK) continue;
                long id = candidateIds[p * partK + c];
                if (id == -1) { cursor[p] = partK; continue; }
                if (best < 0) { best = p; continue; }
                int bc = cursor[best];
                if (Better(candidateScores[p * partK + c], id, candidateScores[best * partK + bc], candidateIds[best * partK + bc], largest))
                    best = p;
            }
            if (best < 0)
            {
                FillMissing(ids[r..k], scores[r..k], metric);
                return;
            }
            ids[r] = candidateIds[best * partK + cursor[best]];
            scores[r] = candidateScores[best * partK + cursor[best]];
            cursor[best]++;
        }
    }
}

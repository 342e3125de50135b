using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

namespace Vec.Index.Internals;

/// <summary>
/// Keeps the <see cref="Capacity"/> smallest (distance, payload) candidates like <see cref="CandidateHeap"/>, but as a
/// reservoir (like FAISS's <c>ReservoirTopN</c>): candidates below the threshold are appended in O(1), and only when the
/// buffer of 4 x capacity is full is it cut back to the capacity best by a selection, which also lowers the threshold to
/// the worst kept distance. A fast scan admits many candidates while the threshold is still loose (every vector of the
/// first lists when the capacity is k x R); a heap pays a sift for each, the reservoir a store.
/// </summary>
internal sealed class CandidateReservoir
{
    private float[] _keys = new float[16];
    private long[] _payloads = new long[16];
    private int _limit;
    private byte[] _buckets = [];
    private float[] _spareKeys = [];
    private long[] _sparePayloads = [];

    /// <summary>Candidates kept by <see cref="Drain"/>.</summary>
    public int Capacity { get; private set; }

    /// <summary>Candidates held now (up to 2 x capacity).</summary>
    public int Count { get; private set; }

    /// <summary>A candidate must be strictly below this to enter; +inf until the first cut.</summary>
    public float Threshold { get; private set; } = float.PositiveInfinity;

    /// <summary>Empties the reservoir for a new query keeping <paramref name="capacity"/> results.</summary>
    public void Reset(int capacity)
    {
        int size = Math.Max(4 * capacity, 32);
        if (size > _keys.Length)
        {
            _keys = new float[size];
            _payloads = new long[size];
        }

        _limit = size;
        Capacity = capacity;
        Count = 0;
        Threshold = float.PositiveInfinity;
    }

    /// <summary>Adds a candidate known to be below <see cref="Threshold"/>.</summary>
    public void Push(float key, long payload)
    {
        int i = Count;
        _keys[i] = key;
        _payloads[i] = payload;
        Count = i + 1;
        if (Count == _limit) Cut();
    }

    /// <summary>
    /// Lowers the threshold to <paramref name="key"/> when at least <see cref="Capacity"/> candidates at or below it are
    /// held: the caller has admitted every candidate up to that key, so nothing at or above it can still belong to the
    /// result.
    /// </summary>
    public void TightenTo(float key)
    {
        if (Count >= Capacity && key < Threshold) Threshold = key;
    }

    /// <summary>
    /// Copies the kept candidates (the capacity best, or all if fewer) into the spans and empties the reservoir; returns
    /// their number. With <paramref name="sort"/> they come best first; without, in no particular order (for a caller
    /// that re-scores and sorts them anyway, such as refine).
    /// </summary>
    public int Drain(Span<float> keys, Span<long> payloads, bool sort)
    {
        if (Count > Capacity) Cut();
        int n = Count;
        Span<float> k = _keys.AsSpan(0, n);
        Span<long> p = _payloads.AsSpan(0, n);
        if (sort) k.Sort(p);
        k.CopyTo(keys);
        p.CopyTo(payloads);
        Count = 0;
        return n;
    }

    /// <summary>
    /// Keeps the capacity smallest keys (in no particular order) and lowers the threshold to the largest kept key. A
    /// bucket selection rather than a quickselect (whose partition branches mispredict on every other key): each key
    /// goes to one of 256 buckets spanning [min, max], a histogram finds the bucket holding the capacity-th smallest,
    /// keys in lower buckets are kept, those of that bucket are set aside, and the ones still needed are chosen among
    /// those by insertion; the passes over the keys make no data-dependent branches.
    /// </summary>
    [SkipLocalsInit]
    private void Cut()
    {
        int n = Count, keep = Capacity;
        Span<float> keys = _keys.AsSpan(0, n);
        Span<long> payloads = _payloads.AsSpan(0, n);
        float lo = TensorPrimitives.Min(keys), hi = TensorPrimitives.Max(keys);
        if (!(hi > lo))
        {
            // All equal: any capacity of them.
            Count = keep;
            Threshold = lo;
            return;
        }

        if (_buckets.Length < n)
        {
            _buckets = new byte[_keys.Length];
            _spareKeys = new float[_keys.Length];
            _sparePayloads = new long[_keys.Length];
        }

        Span<int> counts = stackalloc int[256];
        counts.Clear();
        byte[] buckets = _buckets;
        float f = 256f / (hi - lo);
        if (!float.IsFinite(f)) f = float.MaxValue; // a span below ~1e-38: buckets are still ordered, only coarser
        for (int i = 0; i < n; i++)
        {
            int b = Math.Min((int)((keys[i] - lo) * f), 255); // monotone in the key; 0 <= b since key >= lo
            buckets[i] = (byte)b;
            counts[b]++;
        }

        int boundary = 0, below = 0;
        while (below + counts[boundary] < keep) below += counts[boundary++];
        // Keys below the boundary bucket are kept (compacted in place: the write position never passes the read
        // position), those in it are copied aside.
        float[] spareKeys = _spareKeys;
        long[] sparePayloads = _sparePayloads;
        int kept = 0, spare = 0;
        for (int i = 0; i < n; i++)
        {
            float key = keys[i];
            long payload = payloads[i];
            int b = buckets[i];
            spareKeys[spare] = key;
            sparePayloads[spare] = payload;
            spare += b == boundary ? 1 : 0;
            keys[kept] = key;
            payloads[kept] = payload;
            kept += b < boundary ? 1 : 0;
        }

        // The smallest (keep - kept) of the boundary bucket complete the result.
        int need = keep - kept;
        SortSmallest(spareKeys.AsSpan(0, spare), sparePayloads.AsSpan(0, spare), need);
        spareKeys.AsSpan(0, need).CopyTo(keys[kept..]);
        sparePayloads.AsSpan(0, need).CopyTo(payloads[kept..]);
        Count = keep;
        Threshold = TensorPrimitives.Max(keys[..keep]);
    }

    /// <summary>
    /// Puts the <paramref name="k"/> smallest keys (with their payloads) first in ascending order, and right after them
    /// every other key equal to the k-th (so a run of ties crossing position k is contiguous); the order of the rest is
    /// unspecified. For refine, which needs only the best k of its k x R re-scored candidates in order: insertion into a
    /// sorted prefix, no full sort.
    /// </summary>
    public static void SortSmallest(Span<float> keys, Span<long> payloads, int k)
    {
        int n = keys.Length;
        if (payloads.Length < n) throw new ArgumentException($"payloads holds {payloads.Length} values, {n} needed.", nameof(payloads));
        k = Math.Min(k, n);
        if (k <= 0) return;
        // Insertion sort of the first k.
        for (int i = 1; i < k; i++) InsertSorted(keys, payloads, i - 1, keys[i], payloads[i]);
        // Each later key below the k-th displaces it (to the later key's slot) and is inserted in order.
        for (int i = k; i < n; i++)
        {
            float key = keys[i];
            if (!(key < keys[k - 1])) continue;
            long payload = payloads[i];
            keys[i] = keys[k - 1];
            payloads[i] = payloads[k - 1];
            InsertSorted(keys, payloads, k - 2, key, payload);
        }
        // Gather the ties of the k-th key right after it.
        float last = keys[k - 1];
        int o = k;
        for (int i = k; i < n; i++)
        {
            if (keys[i] != last) continue;
            (keys[i], keys[o]) = (keys[o], keys[i]);
            (payloads[i], payloads[o]) = (payloads[o], payloads[i]);
            o++;
        }
    }

    /// <summary>Inserts (key, payload) into the ascending run keys[0..last], shifting larger keys one place right (the
    /// slot at last + 1 is free).</summary>
    private static void InsertSorted(Span<float> keys, Span<long> payloads, int last, float key, long payload)
    {
        int j = last;
        while (j >= 0 && keys[j] > key)
        {
            keys[j + 1] = keys[j];
            payloads[j + 1] = payloads[j];
            j--;
        }
        keys[j + 1] = key;
        payloads[j + 1] = payload;
    }
}

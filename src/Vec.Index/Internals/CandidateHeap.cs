namespace Vec.Index.Internals;

/// <summary>
/// Bounded max-heap of (distance, payload) keeping the <see cref="Capacity"/> smallest distances; the worst kept
/// distance is the admission threshold. Distances are "smaller is better" (similarities are negated by the caller).
/// </summary>
internal sealed class CandidateHeap
{
    private float[] _keys;
    private long[] _payloads;

    public CandidateHeap(int capacity)
    {
        _keys = new float[Math.Max(1, capacity)];
        _payloads = new long[_keys.Length];
        Capacity = capacity;
    }

    public int Capacity { get; private set; }

    public int Count { get; private set; }

    /// <summary>A candidate must be strictly below this to enter.</summary>
    public float Threshold => Count < Capacity ? float.PositiveInfinity : _keys[0];

    public void Reset(int capacity)
    {
        if (capacity > _keys.Length)
        {
            _keys = new float[capacity];
            _payloads = new long[capacity];
        }
        Capacity = capacity;
        Count = 0;
    }

    /// <summary>Adds a candidate known to be below <see cref="Threshold"/>.</summary>
    public void Push(float key, long payload)
    {
        float[] keys = _keys;
        long[] payloads = _payloads;
        if (Count < Capacity)
        {
            int i = Count++;
            while (i > 0)
            {
                int parent = (i - 1) >> 1;
                if (keys[parent] >= key) break;
                keys[i] = keys[parent];
                payloads[i] = payloads[parent];
                i = parent;
            }
            keys[i] = key;
            payloads[i] = payload;
            return;
        }
        // Replace the root (the worst) and sift down.
        int n = Count, pos = 0;
        while (true)
        {
            int child = 2 * pos + 1;
            if (child >= n) break;
            if (child + 1 < n && keys[child + 1] > keys[child]) child++;
            if (keys[child] <= key) break;
            keys[pos] = keys[child];
            payloads[pos] = payloads[child];
            pos = child;
        }
        keys[pos] = key;
        payloads[pos] = payload;
    }

    /// <summary>The kept candidates (unordered).</summary>
    public ReadOnlySpan<float> Keys => _keys.AsSpan(0, Count);

    /// <summary>The kept payloads (unordered, aligned with <see cref="Keys"/>).</summary>
    public ReadOnlySpan<long> Payloads => _payloads.AsSpan(0, Count);

    /// <summary>Copies the kept candidates into the given spans, sorted by key ascending.</summary>
    public int DrainSorted(Span<float> keys, Span<long> payloads)
    {
        int n = Count;
        _keys.AsSpan(0, n).CopyTo(keys);
        _payloads.AsSpan(0, n).CopyTo(payloads);
        keys[..n].Sort(payloads[..n]);
        Count = 0;
        return n;
    }
}

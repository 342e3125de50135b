namespace Vec.Index.Internals;

/// <summary>
/// A reference-counted object: created with one reference, freed (<see cref="Free"/>) when the last one is released.
/// Readers take a reference with <see cref="TryAcquire"/>, which fails once the object is freed.
/// </summary>
internal abstract class RefCounted
{
    private int _references = 1;

    public bool TryAcquire()
    {
        while (true)
        {
            int current = Volatile.Read(ref _references);
            if (current <= 0) return false;
            if (Interlocked.CompareExchange(ref _references, current + 1, current) == current) return true;
        }
    }

    public void AddReference()
    {
        if (!TryAcquire()) throw new InvalidOperationException("Object already freed.");
    }

    public void Release()
    {
        int left = Interlocked.Decrement(ref _references);
        if (left == 0) Free();
        else if (left < 0) throw new InvalidOperationException("Released more often than acquired.");
    }

    protected abstract void Free();
}

/// <summary>
/// Holds the current snapshot of an index: readers acquire it, a writer publishes a replacement and releases the old
/// one, which is freed when its last reader finishes.
/// </summary>
internal sealed class SnapshotCell<T> where T : RefCounted
{
    private T? _current;

    public SnapshotCell(T initial) => _current = initial;

    public T Acquire()
    {
        while (true)
        {
            T? s = Volatile.Read(ref _current);
            ObjectDisposedException.ThrowIf(s is null, this);
            if (s.TryAcquire()) return s;
        }
    }

    /// <summary>The current snapshot without taking a reference; only for writers (which hold the write lock).</summary>
    public T Peek()
    {
        T? s = Volatile.Read(ref _current);
        ObjectDisposedException.ThrowIf(s is null, this);
        return s;
    }

    public void Publish(T next)
    {
        T? old = Interlocked.Exchange(ref _current, next);
        old?.Release();
    }

    public void Clear()
    {
        T? old = Interlocked.Exchange(ref _current, null);
        old?.Release();
    }
}

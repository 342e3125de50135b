namespace Vec.Kernels;

/// <summary>
/// A row-major n x d matrix of database vectors owned by one backend, in whatever layout that backend scans
/// fastest (packed SIMD panels on the CPU, device memory on a GPU), together with the per-row norms the
/// metrics need. Created once by <see cref="IVectorKernels.CreateDatabase"/>, then searched many times;
/// immutable, so concurrent searches are safe. Dispose it to free device memory.
/// </summary>
public abstract class VectorDatabase : IDisposable
{
    /// <summary>Initialises the common fields.</summary>
    protected VectorDatabase(IVectorKernels owner, int count, int dimension)
        : this(owner, count, dimension, VectorStorage.Float32)
    {
    }

    /// <summary>Initialises the common fields, with the storage the backend actually uses.</summary>
    protected VectorDatabase(IVectorKernels owner, int count, int dimension, VectorStorage storage)
    {
        Owner = owner;
        Count = count;
        Dimension = dimension;
        Storage = storage;
    }

    /// <summary>The backend that created this database; only it can search it.</summary>
    public IVectorKernels Owner { get; }

    /// <summary>Number of rows.</summary>
    public int Count { get; }

    /// <summary>Number of columns (vector dimension).</summary>
    public int Dimension { get; }

    /// <summary>The row storage actually in use. A backend that does not implement a compressed storage keeps exact
    /// float32 rows (backends may store at higher precision than requested) and reports <see cref="VectorStorage.Float32"/>.</summary>
    public VectorStorage Storage { get; }

    /// <summary>True once <see cref="Dispose()"/> has run.</summary>
    public bool IsDisposed { get; private set; }

    /// <summary>Releases backend resources.</summary>
    public void Dispose()
    {
        if (IsDisposed) return;
        IsDisposed = true;
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases backend resources; called once.</summary>
    protected virtual void Dispose(bool disposing) { }
}

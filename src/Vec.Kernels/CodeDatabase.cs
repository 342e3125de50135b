namespace Vec.Kernels;

/// <summary>
/// Product-quantisation codes resident on one backend, grouped into inverted lists, for repeated
/// <see cref="IVectorKernels.ScanCodes"/> calls. Row r holds <see cref="SubQuantizers"/> codes of <see cref="Bits"/> bits
/// (one byte each); list l holds the consecutive rows <c>[offsets[l], offsets[l+1])</c>. Optionally each list carries its
/// own additive table (<see cref="HasListTables"/>), e.g. the precomputed centroid terms of an IVF-PQ index.
/// Created by <see cref="IVectorKernels.CreateCodeDatabase"/>; immutable, so concurrent scans are safe. Dispose it to free
/// device memory.
/// </summary>
public abstract class CodeDatabase : IDisposable
{
    /// <summary>Initialises the common fields.</summary>
    /// <param name="owner">The backend that created the database.</param>
    /// <param name="count">Number of rows.</param>
    /// <param name="subQuantizers">Codes per row (M).</param>
    /// <param name="bits">Bits per code; each code is below <c>2^bits</c>.</param>
    /// <param name="listCount">Number of inverted lists.</param>
    /// <param name="hasListTables">Whether per-list tables were given.</param>
    protected CodeDatabase(IVectorKernels owner, int count, int subQuantizers, int bits, int listCount, bool hasListTables)
    {
        ArgumentNullException.ThrowIfNull(owner);
        Owner = owner;
        Count = count;
        SubQuantizers = subQuantizers;
        Bits = bits;
        ListCount = listCount;
        HasListTables = hasListTables;
    }

    /// <summary>The backend that created this database; only it can scan it.</summary>
    public IVectorKernels Owner { get; }

    /// <summary>Number of rows (codes vectors).</summary>
    public int Count { get; }

    /// <summary>Codes per row (M, the number of sub-quantisers).</summary>
    public int SubQuantizers { get; }

    /// <summary>Bits per code (1 to 8); a code is below <see cref="Codebook"/>.</summary>
    public int Bits { get; }

    /// <summary>Entries per sub-quantiser table: <c>2^Bits</c>.</summary>
    public int Codebook => 1 << Bits;

    /// <summary>Number of inverted lists.</summary>
    public int ListCount { get; }

    /// <summary>True when every list has its own additive table of <c>SubQuantizers x Codebook</c> floats.</summary>
    public bool HasListTables { get; }

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
    /// <param name="disposing">True when called from <see cref="Dispose()"/>.</param>
    protected virtual void Dispose(bool disposing) { }
}

using Vec.Kernels;

namespace Vec.Index;

/// <summary>Entry points that work for every index kind.</summary>
public static class VectorIndex
{
    /// <summary>
    /// Loads an index written by <see cref="IVectorIndex.Save"/>, whatever its kind, validating every field.
    /// </summary>
    /// <param name="path">The index file.</param>
    /// <param name="kernels">Kernel backend for the loaded index; <see langword="null"/> for the default.</param>
    /// <exception cref="System.IO.InvalidDataException">The file is truncated, corrupted or not a VecRec index.</exception>
    public static IVectorIndex Load(string path, IVectorKernels? kernels = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        _ = kernels;
        throw new NotImplementedException("Persistence lands with the index file format.");
    }
}

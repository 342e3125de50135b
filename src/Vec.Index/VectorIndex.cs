using Vec.Internals;
using Vec.Index.Internals;
using Vec.Kernels;

namespace Vec.Index;

/// <summary>Entry points that work for every index kind.</summary>
public static class VectorIndex
{
    /// <summary>
    /// Loaders by the index kind written in the file header. Each takes a reader positioned after the header, reads the
    /// kind's sections (validating every field, throwing <see cref="InvalidDataException"/> through
    /// <see cref="IndexFileReader.Corrupt"/>) and returns the index; the end marker is checked afterwards.
    /// To plug in a new kind: give it an internal <c>FileKind</c> constant and a static
    /// <c>ReadFrom(IndexFileReader, IVectorKernels?)</c>, write its file with <see cref="IndexFileWriter"/> through
    /// <see cref="AtomicFile.Write"/>, and add one line here, e.g. <c>[IvfPqIndex.FileKind] = IvfPqIndex.ReadFrom,</c>.
    /// </summary>
    private static readonly Dictionary<string, Func<IndexFileReader, IVectorKernels?, IVectorIndex>> Loaders = new(StringComparer.Ordinal)
    {
        [FlatIndex.FileKind] = FlatIndex.ReadFrom,
        [IvfPqIndex.FileKind] = IvfPqIndex.ReadFrom,
    };

    /// <summary>
    /// Loads an index written by <see cref="IVectorIndex.Save"/>, whatever its kind, validating every field.
    /// </summary>
    /// <param name="path">The index file.</param>
    /// <param name="kernels">Kernel backend for the loaded index; <see langword="null"/> for the default (then owned
    /// and disposed by the index).</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is truncated, corrupted, not a VecRec index, of a newer format
    /// version, or of an unknown index kind.</exception>
    public static IVectorIndex Load(string path, IVectorKernels? kernels = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using FileStream stream = IndexFile.OpenRead(path);
        return LoadFrom(stream, path, kernels);
    }

    /// <summary>Loads an index from a seekable stream (tests and in-memory use); <paramref name="source"/> names it in messages.</summary>
    internal static IVectorIndex LoadFrom(Stream stream, string source, IVectorKernels? kernels = null) =>
        IndexFile.Read(stream, source, expectedKind: null, reader =>
        {
            if (!Loaders.TryGetValue(reader.Kind, out var loader))
                throw reader.Corrupt($"unknown index kind '{reader.Kind}' (this library reads: {string.Join(", ", Loaders.Keys.Order())})");
            return loader(reader, kernels);
        });
}

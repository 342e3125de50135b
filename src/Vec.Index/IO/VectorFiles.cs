using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Vec.Index.IO;

/// <summary>Vectors read from a TEXMEX file: row-major <see cref="Count"/> x <see cref="Dimension"/> values.</summary>
/// <typeparam name="T">Element type: <see cref="float"/> (.fvecs), <see cref="int"/> (.ivecs) or <see cref="byte"/> (.bvecs).</typeparam>
/// <param name="Data">The rows, row-major; length <c>Count * Dimension</c>.</param>
/// <param name="Count">Number of rows.</param>
/// <param name="Dimension">Values per row.</param>
public sealed record VectorFileData<T>(T[] Data, int Count, int Dimension)
{
    /// <summary>Row <paramref name="row"/> as a span.</summary>
    /// <param name="row">Row index in <c>[0, Count)</c>.</param>
    public ReadOnlySpan<T> Row(int row)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(row);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(row, Count);
        return Data.AsSpan(row * Dimension, Dimension);
    }
}

/// <summary>
/// Reads and writes the TEXMEX vector formats of the ANN benchmarks (SIFT, GIST, Deep): every record is a
/// little-endian int32 dimension <c>d</c> followed by <c>d</c> values: float32 (<c>.fvecs</c>), int32 (<c>.ivecs</c>,
/// ground-truth neighbour ids) or uint8 (<c>.bvecs</c>).
/// </summary>
/// <remarks>
/// Readers check every record: the dimension must be positive, at most <see cref="MaxDimension"/> and the same on every
/// row, and the file must end on a record boundary; otherwise they throw <see cref="InvalidDataException"/> naming the
/// file and the row. Writers write a temporary file in the target's folder, flush it to disk and rename it over the
/// target, so a reader never sees a half-written file.
/// </remarks>
public static class VectorFiles
{
    /// <summary>Largest dimension accepted (a sanity bound against reading garbage as a huge record).</summary>
    public const int MaxDimension = 1 << 16;

    /// <summary>Reads a <c>.fvecs</c> file (float32 rows).</summary>
    /// <param name="path">File to read.</param>
    /// <param name="maxRows">Read at most this many rows (the first ones); <see langword="null"/> for all.</param>
    /// <exception cref="InvalidDataException">The file is empty, truncated or has inconsistent or insane dimensions
    /// (with <paramref name="maxRows"/>, only the rows read are checked).</exception>
    public static VectorFileData<float> ReadFvecs(string path, int? maxRows = null) => Read<float>(path, maxRows);

    /// <summary>Reads an <c>.ivecs</c> file (int32 rows, e.g. ground-truth neighbour ids).</summary>
    /// <param name="path">File to read.</param>
    /// <param name="maxRows">Read at most this many rows (the first ones); <see langword="null"/> for all.</param>
    /// <exception cref="InvalidDataException">The file is empty, truncated or has inconsistent or insane dimensions
    /// (with <paramref name="maxRows"/>, only the rows read are checked).</exception>
    public static VectorFileData<int> ReadIvecs(string path, int? maxRows = null) => Read<int>(path, maxRows);

    /// <summary>Reads a <c>.bvecs</c> file (uint8 rows, e.g. SIFT1B).</summary>
    /// <param name="path">File to read.</param>
    /// <param name="maxRows">Read at most this many rows (the first ones); <see langword="null"/> for all.</param>
    /// <exception cref="InvalidDataException">The file is empty, truncated or has inconsistent or insane dimensions
    /// (with <paramref name="maxRows"/>, only the rows read are checked).</exception>
    public static VectorFileData<byte> ReadBvecs(string path, int? maxRows = null) => Read<byte>(path, maxRows);

    /// <summary>Writes float32 rows as an <c>.fvecs</c> file, atomically.</summary>
    /// <param name="path">Target file; replaced if it exists.</param>
    /// <param name="data">Row-major values, exactly <paramref name="count"/> x <paramref name="dimension"/>.</param>
    /// <param name="count">Number of rows (may be 0).</param>
    /// <param name="dimension">Values per row, in 1..<see cref="MaxDimension"/>.</param>
    public static void WriteFvecs(string path, ReadOnlySpan<float> data, int count, int dimension) => Write(path, data, count, dimension);

    /// <summary>Writes int32 rows as an <c>.ivecs</c> file, atomically.</summary>
    /// <param name="path">Target file; replaced if it exists.</param>
    /// <param name="data">Row-major values, exactly <paramref name="count"/> x <paramref name="dimension"/>.</param>
    /// <param name="count">Number of rows (may be 0).</param>
    /// <param name="dimension">Values per row, in 1..<see cref="MaxDimension"/>.</param>
    public static void WriteIvecs(string path, ReadOnlySpan<int> data, int count, int dimension) => Write(path, data, count, dimension);

    private static VectorFileData<T> Read<T>(string path, int? maxRows) where T : unmanaged
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (maxRows is { } m) ArgumentOutOfRangeException.ThrowIfNegative(m, nameof(maxRows));
        int size = Marshal.SizeOf<T>();
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        long length = stream.Length;
        if (length == 0) throw new InvalidDataException($"'{path}' is empty: no vectors.");
        Span<byte> header = stackalloc byte[4];
        ReadExactly(stream, header, path, 0);
        int dimension = BinaryPrimitives.ReadInt32LittleEndian(header);
        if (dimension <= 0 || dimension > MaxDimension)
            throw new InvalidDataException($"'{path}', row 0: dimension {dimension} is not in 1..{MaxDimension} (not a {Extension(size)} file?).");
        long record = 4 + (long)dimension * size;
        long wholeRows = length / record;
        long rowsToRead = maxRows is { } max ? Math.Min(max, wholeRows) : wholeRows;
        if (rowsToRead * dimension > Array.MaxLength)
            throw new InvalidDataException($"'{path}': {rowsToRead} rows of {dimension} values exceed the largest array; pass maxRows.");
        int count = (int)rowsToRead;
        var data = new T[(long)count * dimension];
        Span<byte> bytes = MemoryMarshal.AsBytes(data.AsSpan());
        int rowBytes = dimension * size;
        for (int r = 0; r < count; r++)
        {
            if (r > 0)
            {
                ReadExactly(stream, header, path, r);
                int d = BinaryPrimitives.ReadInt32LittleEndian(header);
                if (d != dimension)
                    throw new InvalidDataException($"'{path}', row {r}: dimension {d} differs from the first row's {dimension}.");
            }
            ReadExactly(stream, bytes.Slice(r * rowBytes, rowBytes), path, r);
        }
        if (maxRows is null || count < maxRows)
        {
            // Everything was asked for (or the file ran out): the rest must be empty, else the last record is cut short.
            long position = (long)count * record;
            if (position != length)
            {
                if (length - position >= 4)
                {
                    ReadExactly(stream, header, path, count);
                    int d = BinaryPrimitives.ReadInt32LittleEndian(header);
                    if (d != dimension)
                        throw new InvalidDataException($"'{path}', row {count}: dimension {d} differs from the first row's {dimension}.");
                }
                throw new InvalidDataException($"'{path}', row {count}: truncated record ({length - position} of {record} bytes; file of {length} bytes).");
            }
        }
        if (!BitConverter.IsLittleEndian && size > 1)
        {
            Span<int> words = MemoryMarshal.Cast<T, int>(data.AsSpan());
            BinaryPrimitives.ReverseEndianness(words, words);
        }
        return new VectorFileData<T>(data, count, dimension);
    }

    private static void ReadExactly(Stream stream, Span<byte> buffer, string path, int row)
    {
        int read = stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
        if (read < buffer.Length)
            throw new InvalidDataException($"'{path}', row {row}: truncated record (file ends {buffer.Length - read} bytes early).");
    }

    private static string Extension(int size) => size switch { 1 => ".bvecs", _ => ".fvecs/.ivecs" };

    private static void Write<T>(string path, ReadOnlySpan<T> data, int count, int dimension) where T : unmanaged
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dimension);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(dimension, MaxDimension);
        if (data.Length != (long)count * dimension)
            throw new ArgumentException($"Expected {(long)count * dimension} values ({count} x {dimension}), got {data.Length}.", nameof(data));
        string full = Path.GetFullPath(path);
        string folder = Path.GetDirectoryName(full) ?? throw new ArgumentException($"'{path}' has no folder.", nameof(path));
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"Folder '{folder}' of '{path}' does not exist.");
        string temp = Path.Combine(folder, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        int size = Marshal.SizeOf<T>();
        int rowBytes = dimension * size;
        var buffer = new byte[4 + rowBytes];
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                BinaryPrimitives.WriteInt32LittleEndian(buffer, dimension);
                for (int r = 0; r < count; r++)
                {
                    ReadOnlySpan<T> row = data.Slice(r * dimension, dimension);
                    Span<byte> payload = buffer.AsSpan(4);
                    MemoryMarshal.AsBytes(row).CopyTo(payload);
                    if (!BitConverter.IsLittleEndian && size > 1)
                    {
                        Span<int> words = MemoryMarshal.Cast<byte, int>(payload);
                        BinaryPrimitives.ReverseEndianness(words, words);
                    }
                    stream.Write(buffer);
                }
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            try { File.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }
}

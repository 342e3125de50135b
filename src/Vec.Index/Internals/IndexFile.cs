using System.Buffers;
using System.Buffers.Binary;
using System.IO.Hashing;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace Vec.Index.Internals;

/// <summary>
/// The VecRec index container format shared by every index kind (documented in docs/index-format.md).
/// </summary>
/// <remarks>
/// <para>Layout, all little-endian:</para>
/// <list type="bullet">
/// <item>Header (frozen in every version): 8-byte magic <c>VECRECIX</c>, uint32 format version, uint8 kind length,
/// the kind in ASCII (<c>[a-z0-9-]</c>, 1 to 32 bytes), uint64 XxHash64 of all preceding header bytes.</item>
/// <item>Sections, in the order the kind defines: 4-byte ASCII tag, int64 payload length, payload, uint64 XxHash64 of
/// the payload.</item>
/// <item>End marker: a section with tag <c>"END "</c> and an empty payload; nothing may follow it.</item>
/// </list>
/// </remarks>
internal static class IndexFile
{
    /// <summary>The 8 magic bytes every index file starts with.</summary>
    public static ReadOnlySpan<byte> Magic => "VECRECIX"u8;

    /// <summary>
    /// The newest format version this library reads and writes. Each kind writes the version its layout last changed
    /// in (flat: 1; ivfpq: 2, which added 4-bit fast scan), so files of unchanged kinds stay readable by older readers.
    /// </summary>
    public const uint Version = 2;

    /// <summary>Tag of the end marker section.</summary>
    public const string EndTag = "END ";

    /// <summary>Longest index kind name.</summary>
    public const int MaxKindLength = 32;

    internal const int BufferSize = 1 << 16;

    /// <summary>Opens an index file for reading (FileNotFoundException and other I/O errors pass through).</summary>
    public static FileStream OpenRead(string path) =>
        new(path, FileMode.Open, FileAccess.Read, FileShare.Read, BufferSize, FileOptions.SequentialScan);

    /// <summary>
    /// Reads a whole index file: header (checked against <paramref name="expectedKind"/> unless null), the body through
    /// <paramref name="body"/>, then the end marker. Every problem with the content becomes an
    /// <see cref="InvalidDataException"/>; what <paramref name="body"/> returns is disposed if the end marker fails.
    /// </summary>
    public static T Read<T>(Stream stream, string source, string? expectedKind, Func<IndexFileReader, T> body)
        where T : IDisposable
    {
        try
        {
            using var reader = new IndexFileReader(stream, source, leaveOpen: true);
            if (expectedKind is not null) reader.ExpectKind(expectedKind);
            T result = body(reader);
            try
            {
                reader.ReadEnd();
            }
            catch
            {
                result.Dispose();
                throw;
            }
            return result;
        }
        catch (Exception e) when (IsContentError(e))
        {
            throw new InvalidDataException($"VecRec index file '{source}' is invalid: {e.Message}", e);
        }
    }

    /// <summary>
    /// Exceptions that, escaping a loader, can only mean bad content (a missed check): they are rethrown as
    /// <see cref="InvalidDataException"/>. Genuine I/O failures other than end of stream pass through.
    /// </summary>
    internal static bool IsContentError(Exception e) =>
        e is EndOfStreamException or OverflowException or IndexOutOfRangeException or FormatException
        || (e is ArgumentException && e is not ArgumentNullException);

    /// <summary>Checks an index kind name or a section tag: printable ASCII of the allowed length.</summary>
    internal static void CheckKind(string kind)
    {
        if (kind.Length is 0 or > MaxKindLength || !kind.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-'))
            throw new ArgumentException($"Index kind '{kind}' must be 1 to {MaxKindLength} characters of [a-z0-9-].", nameof(kind));
    }

    internal static void CheckTag(string tag)
    {
        if (tag.Length != 4 || !tag.All(c => c is >= ' ' and <= '~'))
            throw new ArgumentException($"Section tag '{tag}' must be 4 printable ASCII characters.", nameof(tag));
    }

    internal static void RequireLittleEndian()
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("VecRec index files are read and written on little-endian machines only.");
    }
}

/// <summary>
/// Writes an index file: the header at construction, then sections (<see cref="BeginSection"/>, typed writes,
/// <see cref="EndSection"/>), then <see cref="Finish"/>. Payloads stream straight to the (seekable) stream with
/// incremental hashing; the section length is patched in when the section ends.
/// </summary>
internal sealed class IndexFileWriter
{
    private readonly Stream _stream;
    private readonly XxHash64 _hash = new();
    private long _lengthPosition = -1;
    private long _payloadStart;
    private bool _finished;

    /// <summary>Writes the header for an index of the given kind.</summary>
    /// <param name="stream">A writable, seekable stream.</param>
    /// <param name="kind">The index kind.</param>
    /// <param name="version">Format version to write in the header (1..<see cref="IndexFile.Version"/>): the version of
    /// the kind's layout.</param>
    public IndexFileWriter(Stream stream, string kind, uint version = IndexFile.Version)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanSeek || !stream.CanWrite) throw new ArgumentException("The stream must be writable and seekable.", nameof(stream));
        if (version is 0 or > IndexFile.Version) throw new ArgumentOutOfRangeException(nameof(version), version, $"Format versions are 1..{IndexFile.Version}.");
        IndexFile.CheckKind(kind);
        IndexFile.RequireLittleEndian();
        _stream = stream;

        Span<byte> header = stackalloc byte[8 + 4 + 1 + IndexFile.MaxKindLength + 8];
        IndexFile.Magic.CopyTo(header);
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], version);
        header[12] = (byte)kind.Length;
        int end = 13 + Encoding.ASCII.GetBytes(kind, header[13..]);
        BinaryPrimitives.WriteUInt64LittleEndian(header[end..], XxHash64.HashToUInt64(header[..end]));
        _stream.Write(header[..(end + 8)]);
    }

    /// <summary>Starts a section; every write until <see cref="EndSection"/> goes into its payload.</summary>
    public void BeginSection(string tag)
    {
        IndexFile.CheckTag(tag);
        if (_lengthPosition >= 0) throw new InvalidOperationException("The previous section was not ended.");
        if (_finished) throw new InvalidOperationException("The file is finished.");
        Span<byte> head = stackalloc byte[12];
        Encoding.ASCII.GetBytes(tag, head);
        BinaryPrimitives.WriteInt64LittleEndian(head[4..], 0);
        _lengthPosition = _stream.Position + 4;
        _stream.Write(head);
        _payloadStart = _stream.Position;
        _hash.Reset();
    }

    /// <summary>Ends the current section: writes the payload checksum and patches the length in.</summary>
    public void EndSection()
    {
        if (_lengthPosition < 0) throw new InvalidOperationException("No section is open.");
        long end = _stream.Position;
        Span<byte> buffer = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(buffer, _hash.GetCurrentHashAsUInt64());
        _stream.Write(buffer);
        long after = _stream.Position;
        _stream.Position = _lengthPosition;
        BinaryPrimitives.WriteInt64LittleEndian(buffer, end - _payloadStart);
        _stream.Write(buffer);
        _stream.Position = after;
        _lengthPosition = -1;
    }

    /// <summary>Writes the end marker and flushes.</summary>
    public void Finish()
    {
        BeginSection(IndexFile.EndTag);
        EndSection();
        _finished = true;
        _stream.Flush();
    }

    /// <summary>Writes raw payload bytes.</summary>
    public void WriteBytes(ReadOnlySpan<byte> bytes)
    {
        if (_lengthPosition < 0) throw new InvalidOperationException("Writes go inside a section.");
        _hash.Append(bytes);
        _stream.Write(bytes);
    }

    /// <summary>Writes a 32-bit integer.</summary>
    public void WriteInt32(int value)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(b, value);
        WriteBytes(b);
    }

    /// <summary>Writes a 64-bit integer.</summary>
    public void WriteInt64(long value)
    {
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(b, value);
        WriteBytes(b);
    }

    /// <summary>Writes a 32-bit float.</summary>
    public void WriteSingle(float value)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteSingleLittleEndian(b, value);
        WriteBytes(b);
    }

    /// <summary>Writes a string: int32 UTF-8 byte count, then the bytes.</summary>
    public void WriteString(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        byte[] bytes = Encoding.UTF8.GetBytes(value);
        WriteInt32(bytes.Length);
        WriteBytes(bytes);
    }

    /// <summary>Writes the elements of a span (float, long, int, byte, Half...) with no count prefix.</summary>
    public void WriteSpan<T>(ReadOnlySpan<T> values) where T : unmanaged => WriteBytes(MemoryMarshal.AsBytes(values));

    /// <summary>Writes an int64 element count, then the elements.</summary>
    public void WriteArray<T>(ReadOnlySpan<T> values) where T : unmanaged
    {
        WriteInt64(values.Length);
        WriteSpan(values);
    }
}

/// <summary>
/// Reads an index file: the header at construction, then sections in order. Each section's declared length is checked
/// against the bytes left in the stream and its checksum verified when it is opened, before any of it is parsed; typed
/// reads check they stay inside the section and validate ranges, so every problem is an
/// <see cref="InvalidDataException"/> naming the field.
/// </summary>
internal sealed class IndexFileReader : IDisposable
{
    private readonly Stream _stream;
    private readonly bool _leaveOpen;
    private readonly long _length;
    private string? _section;
    private long _sectionEnd;

    /// <summary>Reads and checks the header.</summary>
    /// <param name="stream">A readable, seekable stream positioned at the start of the file.</param>
    /// <param name="source">Name of the file for messages.</param>
    /// <param name="leaveOpen">Whether disposing the reader leaves the stream open.</param>
    public IndexFileReader(Stream stream, string source, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanSeek || !stream.CanRead) throw new ArgumentException("The stream must be readable and seekable.", nameof(stream));
        IndexFile.RequireLittleEndian();
        _stream = stream;
        _leaveOpen = leaveOpen;
        Source = source;
        _length = stream.Length;

        Span<byte> header = stackalloc byte[8 + 4 + 1 + IndexFile.MaxKindLength + 8];
        if (Remaining < 8 || !TryRead(header[..8]) || !header[..8].SequenceEqual(IndexFile.Magic))
            throw Corrupt("not a VecRec index file (it does not start with the VECRECIX magic)");
        if (Remaining < 5) throw Corrupt("the header is truncated");
        Read(header.Slice(8, 5));
        int kindLength = header[12];
        if (kindLength is 0 or > IndexFile.MaxKindLength) throw Corrupt($"the header's kind length {kindLength} is out of range (1 to {IndexFile.MaxKindLength}); the file is corrupted");
        if (Remaining < kindLength + 8) throw Corrupt("the header is truncated");
        Read(header.Slice(13, kindLength + 8));
        int end = 13 + kindLength;
        ulong stored = BinaryPrimitives.ReadUInt64LittleEndian(header[end..]);
        if (XxHash64.HashToUInt64(header[..end]) != stored) throw Corrupt("the header checksum does not match; the file is corrupted");
        FormatVersion = BinaryPrimitives.ReadUInt32LittleEndian(header[8..]);
        if (FormatVersion > IndexFile.Version)
            throw Corrupt($"format version {FormatVersion} is newer than this library supports ({IndexFile.Version}); upgrade VecRec to read it");
        if (FormatVersion == 0) throw Corrupt("format version 0 is not a valid version");
        ReadOnlySpan<byte> kind = header.Slice(13, kindLength);
        foreach (byte c in kind)
            if (c is not ((>= (byte)'a' and <= (byte)'z') or (>= (byte)'0' and <= (byte)'9') or (byte)'-'))
                throw Corrupt("the header's index kind is not valid ASCII [a-z0-9-]");
        Kind = Encoding.ASCII.GetString(kind);
    }

    /// <summary>Name of the file, for messages.</summary>
    public string Source { get; }

    /// <summary>Format version the file was written in.</summary>
    public uint FormatVersion { get; }

    /// <summary>The index kind the header names.</summary>
    public string Kind { get; }

    /// <summary>Bytes left in the current section's payload.</summary>
    public long SectionRemaining => _section is null ? 0 : _sectionEnd - _stream.Position;

    private long Remaining => _length - _stream.Position;

    /// <summary>Throws unless the file holds an index of the given kind.</summary>
    public void ExpectKind(string expected)
    {
        if (Kind != expected) throw Corrupt($"the file holds a '{Kind}' index, expected '{expected}'");
    }

    /// <summary>
    /// Opens the next section, which must carry <paramref name="tag"/>: checks its length against the bytes left and
    /// verifies its checksum.
    /// </summary>
    public void BeginSection(string tag)
    {
        if (_section is not null) throw new InvalidOperationException($"Section '{_section}' was not ended.");
        if (Remaining < 12) throw Corrupt($"the file is truncated before section '{tag.TrimEnd()}'");
        Span<byte> head = stackalloc byte[12];
        Read(head);
        string found = DescribeTag(head[..4]);
        if (!head[..4].SequenceEqual(Encoding.ASCII.GetBytes(tag)))
            throw Corrupt($"expected section '{tag.TrimEnd()}', found '{found}'; the file is corrupted or of another layout");
        long length = BinaryPrimitives.ReadInt64LittleEndian(head[4..]);
        if (length < 0 || length > Remaining - 8)
            throw Corrupt($"section '{found}' declares {length} bytes but only {Math.Max(0, Remaining - 8)} remain; the file is truncated or corrupted");
        long start = _stream.Position;
        ulong actual = HashRange(length);
        Span<byte> stored = stackalloc byte[8];
        Read(stored);
        if (BinaryPrimitives.ReadUInt64LittleEndian(stored) != actual)
            throw Corrupt($"the checksum of section '{found}' does not match; the file is corrupted");
        _stream.Position = start;
        _section = tag;
        _sectionEnd = start + length;
    }

    /// <summary>Closes the current section; all of its payload must have been read.</summary>
    public void EndSection()
    {
        if (_section is null) throw new InvalidOperationException("No section is open.");
        long left = SectionRemaining;
        if (left != 0) throw Corrupt($"section '{_section.TrimEnd()}' has {left} unexpected bytes left over");
        _stream.Position = _sectionEnd + 8;
        _section = null;
    }

    /// <summary>Reads the end marker; nothing may follow it.</summary>
    public void ReadEnd()
    {
        BeginSection(IndexFile.EndTag);
        EndSection();
        if (Remaining != 0) throw Corrupt($"{Remaining} unexpected bytes follow the end marker");
    }

    /// <summary>Reads a 32-bit integer in [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public int ReadInt32(string name, int min = int.MinValue, int max = int.MaxValue)
    {
        Span<byte> b = stackalloc byte[4];
        ReadPayload(b, name);
        int value = BinaryPrimitives.ReadInt32LittleEndian(b);
        if (value < min || value > max) throw Corrupt($"{name} = {value} is out of range [{min}, {max}]");
        return value;
    }

    /// <summary>Reads a 64-bit integer in [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public long ReadInt64(string name, long min = long.MinValue, long max = long.MaxValue)
    {
        Span<byte> b = stackalloc byte[8];
        ReadPayload(b, name);
        long value = BinaryPrimitives.ReadInt64LittleEndian(b);
        if (value < min || value > max) throw Corrupt($"{name} = {value} is out of range [{min}, {max}]");
        return value;
    }

    /// <summary>Reads a 32-bit float, by default required to be finite.</summary>
    public float ReadSingle(string name, bool requireFinite = true)
    {
        Span<byte> b = stackalloc byte[4];
        ReadPayload(b, name);
        float value = BinaryPrimitives.ReadSingleLittleEndian(b);
        if (requireFinite && !float.IsFinite(value)) throw Corrupt($"{name} = {value} is not finite");
        return value;
    }

    /// <summary>Reads an enum stored as int32; the value must be defined.</summary>
    public TEnum ReadEnum<TEnum>(string name) where TEnum : struct, Enum
    {
        if (Unsafe.SizeOf<TEnum>() != 4) throw new NotSupportedException("Only int-sized enums are stored.");
        int raw = ReadInt32(name);
        TEnum value = Unsafe.As<int, TEnum>(ref raw);
        if (!Enum.IsDefined(value)) throw Corrupt($"{name} = {raw} is not a known {typeof(TEnum).Name}");
        return value;
    }

    /// <summary>Reads a string (int32 UTF-8 byte count, then the bytes) of at most <paramref name="maxBytes"/> bytes.</summary>
    public string ReadString(string name, int maxBytes = 4096)
    {
        int length = ReadInt32(name + " length", 0, maxBytes);
        byte[] bytes = new byte[CheckFits(length, 1, name)];
        ReadPayload(bytes, name);
        try
        {
            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw Corrupt($"{name} is not valid UTF-8");
        }
    }

    /// <summary>
    /// Reads <paramref name="count"/> elements (no count prefix). The count is checked against the section's bytes left
    /// before anything is allocated.
    /// </summary>
    public T[] ReadSpan<T>(string name, long count) where T : unmanaged
    {
        var values = new T[CheckFits(count, Unsafe.SizeOf<T>(), name)];
        ReadPayload(MemoryMarshal.AsBytes(values.AsSpan()), name);
        return values;
    }

    /// <summary>Reads into <paramref name="destination"/> (no count prefix).</summary>
    public void ReadInto<T>(Span<T> destination, string name) where T : unmanaged
    {
        CheckFits(destination.Length, Unsafe.SizeOf<T>(), name);
        ReadPayload(MemoryMarshal.AsBytes(destination), name);
    }

    /// <summary>
    /// Reads an int64 element count, then the elements; with <paramref name="expectedCount"/> &gt;= 0 the count must
    /// equal it.
    /// </summary>
    public T[] ReadArray<T>(string name, long expectedCount = -1) where T : unmanaged
    {
        long count = ReadInt64(name + " count", 0);
        if (expectedCount >= 0 && count != expectedCount) throw Corrupt($"{name} holds {count} elements, expected {expectedCount}");
        return ReadSpan<T>(name, count);
    }

    /// <summary>Throws unless every value is finite, naming the first bad one.</summary>
    public void RequireFinite(ReadOnlySpan<float> values, string name)
    {
        for (int i = 0; i < values.Length; i++)
            if (!float.IsFinite(values[i])) throw Corrupt($"{name}[{i}] = {values[i]} is not finite");
    }

    /// <summary>Reads the <c>IDS </c> section: <paramref name="count"/> int64 ids, each unique and never -1.</summary>
    public long[] ReadIdSection(long count)
    {
        BeginSection("IDS ");
        long[] ids = ReadSpan<long>("ids", count);
        EndSection();
        var seen = new HashSet<long>(ids.Length);
        for (int i = 0; i < ids.Length; i++)
        {
            if (ids[i] == -1) throw Corrupt($"ids[{i}] is -1, which is reserved for missing results");
            if (!seen.Add(ids[i])) throw Corrupt($"id {ids[i]} appears more than once (again at position {i})");
        }
        return ids;
    }

    /// <summary>An <see cref="InvalidDataException"/> naming the file.</summary>
    public InvalidDataException Corrupt(string message) => new($"VecRec index file '{Source}' is invalid: {message}.");

    /// <inheritdoc />
    public void Dispose()
    {
        if (!_leaveOpen) _stream.Dispose();
    }

    private int CheckFits(long count, int elementSize, string name)
    {
        if (_section is null) throw new InvalidOperationException("Reads go inside a section.");
        if (count < 0) throw Corrupt($"{name} has a negative element count {count}");
        if (count > SectionRemaining / elementSize)
            throw Corrupt($"{name} needs {count} x {elementSize} bytes but section '{_section.TrimEnd()}' has only {SectionRemaining} left");
        if (count > Array.MaxLength) throw Corrupt($"{name} has {count} elements, more than an array can hold");
        return (int)count;
    }

    private void ReadPayload(Span<byte> destination, string name)
    {
        if (_section is null) throw new InvalidOperationException("Reads go inside a section.");
        if (destination.Length > SectionRemaining)
            throw Corrupt($"{name} needs {destination.Length} bytes but section '{_section.TrimEnd()}' has only {SectionRemaining} left");
        Read(destination);
    }

    private ulong HashRange(long length)
    {
        var hash = new XxHash64();
        byte[] buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(IndexFile.BufferSize, Math.Max(1, length)));
        try
        {
            while (length > 0)
            {
                int n = (int)Math.Min(buffer.Length, length);
                Read(buffer.AsSpan(0, n));
                hash.Append(buffer.AsSpan(0, n));
                length -= n;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        return hash.GetCurrentHashAsUInt64();
    }

    private void Read(Span<byte> destination)
    {
        try
        {
            _stream.ReadExactly(destination);
        }
        catch (EndOfStreamException)
        {
            throw Corrupt("the file ended unexpectedly (truncated)");
        }
    }

    private bool TryRead(Span<byte> destination) => _stream.ReadAtLeast(destination, destination.Length, throwOnEndOfStream: false) == destination.Length;

    private static string DescribeTag(ReadOnlySpan<byte> tag)
    {
        var sb = new StringBuilder(4);
        foreach (byte b in tag) sb.Append(b is >= 0x20 and <= 0x7e ? (char)b : '?');
        return sb.ToString().TrimEnd();
    }
}

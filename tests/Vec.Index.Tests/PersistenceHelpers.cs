using System.Buffers.Binary;
using System.IO.Hashing;
using Vec.Kernels;

namespace Vec.Index.Tests;

/// <summary>A temporary folder deleted with everything in it on dispose.</summary>
internal sealed class TempFolder : IDisposable
{
    public TempFolder()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "vecrec-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

/// <summary>A stream that passes through to another and throws an IOException once more than a set number of bytes were written.</summary>
internal sealed class FailingStream(Stream inner, long failAfterBytes) : Stream
{
    private long _written;

    public override bool CanRead => inner.CanRead;
    public override bool CanSeek => inner.CanSeek;
    public override bool CanWrite => inner.CanWrite;
    public override long Length => inner.Length;
    public override long Position { get => inner.Position; set => inner.Position = value; }
    public override void Flush() => inner.Flush();
    public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
    public override long Seek(long offset, SeekOrigin origin) => inner.Seek(offset, origin);
    public override void SetLength(long value) => inner.SetLength(value);
    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (_written + buffer.Length > failAfterBytes)
        {
            int part = (int)Math.Max(0, failAfterBytes - _written);
            inner.Write(buffer[..part]);
            _written += part;
            throw new IOException("Injected write failure (disk full).");
        }
        inner.Write(buffer);
        _written += buffer.Length;
    }
}

/// <summary>Walks the container of an index file (test-side, independent of the library's reader).</summary>
internal static class IndexFileLayout
{
    /// <summary>A section: where its payload starts and how long it is.</summary>
    public readonly record struct Section(string Tag, int HeadOffset, int PayloadOffset, int Length);

    /// <summary>Header length (magic, version, kind length, kind, checksum).</summary>
    public static int HeaderLength(byte[] file) => 13 + file[12] + 8;

    public static List<Section> Sections(byte[] file)
    {
        var list = new List<Section>();
        int o = HeaderLength(file);
        while (o < file.Length)
        {
            string tag = System.Text.Encoding.ASCII.GetString(file, o, 4);
            int length = checked((int)BinaryPrimitives.ReadInt64LittleEndian(file.AsSpan(o + 4)));
            list.Add(new Section(tag, o, o + 12, length));
            o += 12 + length + 8;
        }
        return list;
    }

    /// <summary>Recomputes the header and every section checksum in place (so field corruption reaches the loader's validation).</summary>
    public static void FixChecksums(byte[] file)
    {
        int h = 13 + file[12];
        if (h + 8 <= file.Length)
            BinaryPrimitives.WriteUInt64LittleEndian(file.AsSpan(h), XxHash64.HashToUInt64(file.AsSpan(0, h)));
        foreach (Section s in Sections(file))
            BinaryPrimitives.WriteUInt64LittleEndian(file.AsSpan(s.PayloadOffset + s.Length), XxHash64.HashToUInt64(file.AsSpan(s.PayloadOffset, s.Length)));
    }

    /// <summary>Bytes of a header with the given version and kind and a correct checksum.</summary>
    public static byte[] Header(uint version, string kind)
    {
        var b = new byte[13 + kind.Length + 8];
        "VECRECIX"u8.CopyTo(b);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(8), version);
        b[12] = (byte)kind.Length;
        System.Text.Encoding.ASCII.GetBytes(kind, b.AsSpan(13));
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(13 + kind.Length), XxHash64.HashToUInt64(b.AsSpan(0, 13 + kind.Length)));
        return b;
    }
}

/// <summary>Small valid indexes the fuzz harness corrupts; add a kind with one line in <see cref="Builders"/>.</summary>
internal static class FuzzIndexFactories
{
    public static readonly Dictionary<string, Func<IVectorKernels, IVectorIndex>> Builders = new()
    {
        ["flat-l2"] = k => Flat(k, Metric.L2, VectorStorage.Float32),
        ["flat-cosine-f16"] = k => Flat(k, Metric.Cosine, VectorStorage.Float16),
        ["ivfpq-l2-f32"] = k => Ivf(k, Metric.L2, RefineStorage.Float32, opq: false, bits: 5),
        ["ivfpq-ip-f16-4bit"] = k => Ivf(k, Metric.InnerProduct, RefineStorage.Float16, opq: false, bits: 4),
        ["ivfpq-cosine-opq"] = k => Ivf(k, Metric.Cosine, RefineStorage.None, opq: true, bits: 3),
        ["ivfpq-l2-4bit-generic"] = k => Ivf(k, Metric.L2, RefineStorage.Float32, opq: false, bits: 4, fastScan: false),
        ["ivfpq-l2-4bit-fastscan-odd-m"] = k => Ivf(k, Metric.L2, RefineStorage.None, opq: false, bits: 4, m: 3, d: 9),
    };

    private static IVectorIndex Ivf(IVectorKernels kernels, Metric metric, RefineStorage refine, bool opq, int bits, bool fastScan = true, int m = 2, int d = 8)
    {
        const int n = 40;
        var index = new IvfPqIndex(d, metric, new IvfPqOptions { Lists = 3, SubQuantizers = m, Bits = bits, Refine = refine, UseOpq = opq, FastScan = fastScan }, kernels);
        float[] x = TestData.Gaussian(n, d, 78);
        index.Train(x, n);
        index.Add(TestData.Range(5, n), x);
        index.Remove([7, 9]);
        return index;
    }

    private static IVectorIndex Flat(IVectorKernels kernels, Metric metric, VectorStorage storage)
    {
        const int n = 24, d = 6;
        var index = new FlatIndex(d, metric, kernels, new FlatIndexOptions { Storage = storage });
        index.Add(TestData.Range(5, n), TestData.Gaussian(n, d, 77));
        index.Remove([7, 9]);
        return index;
    }
}

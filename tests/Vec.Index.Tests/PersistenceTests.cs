using Vec.Internals;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using Vec.Index.Internals;
using Vec.Kernels;
using Xunit;

namespace Vec.Index.Tests;

public sealed class PersistenceTests
{
    public static TheoryData<Metric, VectorStorage> MetricsAndStorages()
    {
        var data = new TheoryData<Metric, VectorStorage>();
        foreach (Metric metric in Enum.GetValues<Metric>())
        {
            data.Add(metric, VectorStorage.Float32);
            data.Add(metric, VectorStorage.Float16);
        }
        data.Add(Metric.L2, VectorStorage.Int8);
        return data;
    }

    [Theory]
    [MemberData(nameof(MetricsAndStorages))]
    public void Flat_round_trip_gives_identical_results(Metric metric, VectorStorage storage)
    {
        const int n = 400, d = 19, m = 7, k = 10;
        using IVectorKernels kernels = KernelBackends.Create("simd");
        using var folder = new TempFolder();
        string path = folder.File("flat.vecidx");
        float[] x = TestData.Gaussian(n, d, 5);
        long[] ids = TestData.Range(-200, n).Select(i => i * 3 + 1).ToArray(); // negative ids other than -1 are fine
        using var index = new FlatIndex(d, metric, kernels, new FlatIndexOptions { Storage = storage });
        if (storage == VectorStorage.Float32)
        {
            // Several segments: the loaded index has one, the results must not change.
            index.Add(ids.AsSpan(0, 250), x.AsSpan(0, 250 * d));
            index.Add(ids.AsSpan(250), x.AsSpan(250 * d));
        }
        else
        {
            // Compressed rows: one segment, so the candidate scan sees the same rows before and after.
            index.Add(ids, x);
        }
        long[] removed = [ids[3], ids[100], ids[260]];
        Assert.Equal(3, index.Remove(removed));
        index.Save(path);

        float[] queries = TestData.Gaussian(m, d, 6);
        var options = new SearchOptions { Filter = IdFilter.Where(id => id % 2 == 0) };
        SearchResult before = index.Search(queries, k), beforeFiltered = index.Search(queries, k, options);

        using var loaded = FlatIndex.Load(path, kernels);
        using IVectorIndex generic = VectorIndex.Load(path, kernels);
        foreach (IVectorIndex other in new IVectorIndex[] { loaded, generic })
        {
            Assert.IsType<FlatIndex>(other);
            Assert.Equal(index.Count, other.Count);
            Assert.Equal(d, other.Dimension);
            Assert.Equal(metric, other.Metric);
            Assert.Equal(storage, ((FlatIndex)other).Options.Storage);
            Assert.All(removed, id => Assert.False(other.Contains(id)));
            Assert.True(other.Contains(ids[4]));
            SearchResult after = other.Search(queries, k), afterFiltered = other.Search(queries, k, options);
            Assert.Equal(before.Ids, after.Ids);
            Assert.Equal(before.Scores, after.Scores);
            Assert.Equal(beforeFiltered.Ids, afterFiltered.Ids);
            Assert.Equal(beforeFiltered.Scores, afterFiltered.Scores);
        }
        // The exported rows are the same, in the same order.
        Assert.Equal(index.Export().Ids, loaded.Export().Ids);
        Assert.Equal(index.Export().Vectors, loaded.Export().Vectors);
    }

    [Fact]
    public void Empty_index_round_trips()
    {
        using IVectorKernels kernels = KernelBackends.Create("scalar");
        using var folder = new TempFolder();
        string path = folder.File("empty.vecidx");
        using (var index = new FlatIndex(3, Metric.InnerProduct, kernels)) index.Save(path);
        using IVectorIndex loaded = VectorIndex.Load(path, kernels);
        Assert.Equal(0, loaded.Count);
        Assert.Equal(3, loaded.Dimension);
        Assert.Equal(new long[] { -1, -1 }, loaded.Search(new float[3], 2).Ids);
        // The loaded index is usable for writes.
        loaded.Add([1], new float[] { 1, 2, 3 });
        Assert.Equal(1, loaded.Count);
    }

    [Fact]
    public void Failed_save_leaves_the_old_file_intact_and_no_temporary_file()
    {
        using IVectorKernels kernels = KernelBackends.Create("simd");
        using var folder = new TempFolder();
        string path = folder.File("index.vecidx");
        using var small = new FlatIndex(8, Metric.L2, kernels);
        small.Add([1, 2], TestData.Gaussian(2, 8, 1));
        small.Save(path);
        byte[] old = File.ReadAllBytes(path);

        using var big = new FlatIndex(8, Metric.L2, kernels);
        big.Add(TestData.Range(10, 500), TestData.Gaussian(500, 8, 2));
        foreach (long failAfter in new long[] { 0, 30, 5000 })
        {
            AtomicFile.StreamWrapperForTests = s => new FailingStream(s, failAfter);
            try
            {
                var e = Assert.Throws<IOException>(() => big.Save(path));
                Assert.Contains("Injected", e.Message);
            }
            finally
            {
                AtomicFile.StreamWrapperForTests = null;
            }
            Assert.Equal(old, File.ReadAllBytes(path));
            Assert.Equal(new[] { "index.vecidx" }, Directory.GetFiles(folder.Path).Select(Path.GetFileName));
        }
        using (IVectorIndex reloaded = VectorIndex.Load(path, kernels)) Assert.Equal(2, reloaded.Count);

        // A failure on a new path leaves nothing behind; a later save succeeds and replaces the old file.
        AtomicFile.StreamWrapperForTests = s => new FailingStream(s, 100);
        try
        {
            Assert.Throws<IOException>(() => big.Save(folder.File("new.vecidx")));
        }
        finally
        {
            AtomicFile.StreamWrapperForTests = null;
        }
        Assert.False(File.Exists(folder.File("new.vecidx")));
        big.Save(path);
        Assert.Single(Directory.GetFiles(folder.Path));
        using (IVectorIndex reloaded = VectorIndex.Load(path, kernels)) Assert.Equal(500, reloaded.Count);
    }

    [Fact]
    public void AtomicFile_failure_in_the_writer_keeps_the_target()
    {
        using var folder = new TempFolder();
        string path = folder.File("data.bin");
        File.WriteAllBytes(path, [1, 2, 3]);
        Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(path, s =>
        {
            s.Write(new byte[1000]);
            throw new InvalidOperationException("boom");
        }));
        Assert.Equal(new byte[] { 1, 2, 3 }, File.ReadAllBytes(path));
        Assert.Single(Directory.GetFiles(folder.Path));
        AtomicFile.Write(path, s => s.Write(new byte[] { 9 }));
        Assert.Equal(new byte[] { 9 }, File.ReadAllBytes(path));
        Assert.Throws<ArgumentException>("path", () => AtomicFile.Write(folder.Path, _ => { }));
    }

    [Fact]
    public void Save_and_load_check_their_arguments()
    {
        using IVectorKernels kernels = KernelBackends.Create("scalar");
        using var index = new FlatIndex(2, Metric.L2, kernels);
        Assert.Throws<ArgumentException>("path", () => index.Save(""));
        Assert.Throws<ArgumentNullException>("path", () => index.Save(null!));
        Assert.Throws<ArgumentException>("path", () => VectorIndex.Load(""));
        Assert.Throws<ArgumentException>("path", () => FlatIndex.Load(""));
        using var folder = new TempFolder();
        Assert.Throws<FileNotFoundException>(() => VectorIndex.Load(folder.File("missing.vecidx"), kernels));
        Assert.Throws<FileNotFoundException>(() => FlatIndex.Load(folder.File("missing.vecidx"), kernels));
    }

    public static TheoryData<string, byte[], string> ForeignFiles()
    {
        var random = new byte[1000];
        new Random(3).NextBytes(random);
        byte[] png = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0x0D, 0x49, 0x48, 0x44, 0x52, 0, 0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0];
        byte[] newer = [.. IndexFileLayout.Header(7, "flat"), .. new byte[40]];
        byte[] zeroVersion = IndexFileLayout.Header(0, "flat");
        byte[] unknownKind = [.. IndexFileLayout.Header(1, "hnsw"), .. new byte[40]];
        byte[] badHeaderSum = IndexFileLayout.Header(1, "flat");
        badHeaderSum[^1] ^= 1;
        return new TheoryData<string, byte[], string>
        {
            { "empty", [], "not a VecRec index file" },
            { "png", png, "not a VecRec index file" },
            { "random", random, "not a VecRec index file" },
            { "text", "hello, world\n"u8.ToArray(), "not a VecRec index file" },
            { "magic only", "VECRECIX"u8.ToArray(), "truncated" },
            { "newer version", newer, "format version 7 is newer than this library supports" },
            { "version 0", zeroVersion, "version 0" },
            { "unknown kind", unknownKind, "unknown index kind 'hnsw'" },
            { "header checksum", badHeaderSum, "header checksum" },
            { "header only", IndexFileLayout.Header(1, "flat"), "truncated" },
        };
    }

    [Theory]
    [MemberData(nameof(ForeignFiles))]
    public void Foreign_files_give_InvalidDataException(string name, byte[] content, string message)
    {
        using var folder = new TempFolder();
        string path = folder.File(name + ".bin");
        File.WriteAllBytes(path, content);
        using IVectorKernels kernels = KernelBackends.Create("scalar");
        var e = Assert.Throws<InvalidDataException>(() => VectorIndex.Load(path, kernels));
        Assert.Contains(message, e.Message);
        Assert.Contains(path, e.Message);
        Assert.Throws<InvalidDataException>(() => FlatIndex.Load(path, kernels));
    }

    [Fact]
    public void FlatIndex_Load_rejects_another_kind()
    {
        using var folder = new TempFolder();
        string path = folder.File("other.vecidx");
        File.WriteAllBytes(path, [.. IndexFileLayout.Header(1, "ivfpq"), .. new byte[40]]);
        var e = Assert.Throws<InvalidDataException>(() => FlatIndex.Load(path, KernelBackends.Create("scalar")));
        Assert.Contains("holds a 'ivfpq' index, expected 'flat'", e.Message);
    }

    /// <summary>Flat files with valid checksums but a bad field each, written with the library's writer.</summary>
    public static TheoryData<string, string> BadFlatFields() => new()
    {
        { "dimension 0", "dimension = 0" },
        { "metric 9", "metric = 9 is not a known Metric" },
        { "storage -1", "storage = -1 is not a known VectorStorage" },
        { "negative count", "count = -5" },
        { "count too large", "needs" },
        { "count too small", "unexpected bytes left over" },
        { "id -1", "reserved" },
        { "duplicate id", "appears more than once" },
        { "NaN vector", "not finite" },
        { "missing section", "expected section 'VECS', found 'END'" },
        { "trailing bytes", "follow the end marker" },
    };

    [Theory]
    [MemberData(nameof(BadFlatFields))]
    public void Flat_loader_validates_every_field(string defect, string message)
    {
        int dimension = defect == "dimension 0" ? 0 : 2;
        int metric = defect == "metric 9" ? 9 : (int)Metric.L2;
        int storage = defect == "storage -1" ? -1 : 0;
        long count = defect switch { "negative count" => -5, "count too large" => 4, "count too small" => 2, _ => 3 };
        long[] ids = defect switch { "id -1" => [1, -1, 3], "duplicate id" => [1, 2, 1], _ => [1, 2, 3] };
        float[] vectors = [1, 2, 3, 4, 5, defect == "NaN vector" ? float.NaN : 6];

        var stream = new MemoryStream();
        var writer = new IndexFileWriter(stream, "flat");
        writer.BeginSection("PARM");
        writer.WriteInt32(dimension);
        writer.WriteInt32(metric);
        writer.WriteInt32(storage);
        writer.WriteInt64(count);
        writer.EndSection();
        writer.BeginSection("IDS ");
        writer.WriteSpan<long>(ids);
        writer.EndSection();
        if (defect != "missing section")
        {
            writer.BeginSection("VECS");
            writer.WriteSpan<float>(vectors);
            writer.EndSection();
        }
        writer.Finish();
        if (defect == "trailing bytes") stream.Write(new byte[3]);
        byte[] bytes = stream.ToArray();

        using IVectorKernels kernels = KernelBackends.Create("scalar");
        var e = Assert.Throws<InvalidDataException>(() => VectorIndex.LoadFrom(new MemoryStream(bytes), "test", kernels));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void Writer_output_round_trips_through_the_reader()
    {
        var stream = new MemoryStream();
        var writer = new IndexFileWriter(stream, "test-kind");
        writer.BeginSection("ABCD");
        writer.WriteInt32(-7);
        writer.WriteInt64(long.MaxValue);
        writer.WriteSingle(1.5f);
        writer.WriteString("héllo");
        writer.WriteArray<Half>([(Half)1, (Half)(-2.5)]);
        writer.WriteArray<int>([3, 4, 5]);
        writer.WriteArray<byte>([]);
        writer.EndSection();
        writer.BeginSection("EMPT");
        writer.EndSection();
        writer.Finish();

        stream.Position = 0;
        using var reader = new IndexFileReader(stream, "memory");
        Assert.Equal("test-kind", reader.Kind);
        Assert.Equal(IndexFile.Version, reader.FormatVersion);
        reader.BeginSection("ABCD");
        Assert.Equal(-7, reader.ReadInt32("a", -10, 0));
        Assert.Equal(long.MaxValue, reader.ReadInt64("b"));
        Assert.Equal(1.5f, reader.ReadSingle("c"));
        Assert.Equal("héllo", reader.ReadString("d"));
        Assert.Equal(new[] { (Half)1, (Half)(-2.5) }, reader.ReadArray<Half>("e"));
        Assert.Equal(new[] { 3, 4, 5 }, reader.ReadArray<int>("f", 3));
        Assert.Empty(reader.ReadArray<byte>("g"));
        Assert.Equal(0, reader.SectionRemaining);
        var e = Assert.Throws<InvalidDataException>(() => reader.ReadInt32("h"));
        Assert.Contains("h needs 4 bytes", e.Message);
        reader.EndSection();
        reader.BeginSection("EMPT");
        reader.EndSection();
        reader.ReadEnd();

        // Range checks name the field.
        stream.Position = 0;
        using var again = new IndexFileReader(stream, "memory", leaveOpen: true);
        again.BeginSection("ABCD");
        var range = Assert.Throws<InvalidDataException>(() => again.ReadInt32("nlist", 1, 100));
        Assert.Contains("nlist = -7 is out of range [1, 100]", range.Message);
    }

    // ---- Golden file: written once by this version (format v1), read back by every later version. ----

    private const string GoldenName = "flat-v1.vecidx";

    /// <summary>The index the golden file holds: d = 4, L2, float32, ids 100..106 with 103 removed.</summary>
    private static FlatIndex GoldenIndex(IVectorKernels kernels)
    {
        var index = new FlatIndex(4, Metric.L2, kernels);
        index.Add([100, 101, 102, 103, 104, 105, 106], new float[]
        {
            1, 0, 0, 0,
            0, 2, 0, 0,
            0, 0, 3, 0,
            0.5f, 0, 0, 0,
            1, 1, 0, 0,
            -1, -1, -1, 0,
            0, 0, 0, -2.5f,
        });
        index.Remove([103]);
        return index;
    }

    private static string GoldenPath => Path.Combine(AppContext.BaseDirectory, "Golden", GoldenName);

    [Fact]
    public void Golden_v1_flat_file_loads_with_the_values_it_was_written_with()
    {
        using IVectorKernels kernels = KernelBackends.Create("simd");
        using IVectorIndex index = VectorIndex.Load(GoldenPath, kernels);
        var flat = Assert.IsType<FlatIndex>(index);
        Assert.Equal(6, flat.Count);
        Assert.Equal(4, flat.Dimension);
        Assert.Equal(Metric.L2, flat.Metric);
        Assert.Equal(VectorStorage.Float32, flat.Options.Storage);
        Assert.Equal(new long[] { 100, 101, 102, 104, 105, 106 }, flat.Export().Ids);
        Assert.False(flat.Contains(103));
        SearchResult r = flat.Search(new float[] { 0, 0, 0, 0, 1, 1, 0, 0 }, 4);
        Assert.Equal(new long[] { 100, 104, 105, 101, 104, 100, 101, 106 }, r.Ids);
        Assert.Equal(new float[] { 1, 2, 3, 4, 0, 1, 2, 8.25f }, r.Scores);
    }

    /// <summary>
    /// This version's writer still produces the golden bytes. Set VECREC_WRITE_GOLDEN=1 to (re)generate the file in
    /// the source tree (only when a new format version is introduced: then add a new golden file and keep the old).
    /// </summary>
    [Fact]
    public void Golden_v1_flat_file_is_what_this_writer_produces()
    {
        using IVectorKernels kernels = KernelBackends.Create("scalar");
        using FlatIndex index = GoldenIndex(kernels);
        var stream = new MemoryStream();
        (long[] ids, float[] vectors) = index.Export();
        index.WriteTo(stream, ids, vectors);
        if (Environment.GetEnvironmentVariable("VECREC_WRITE_GOLDEN") == "1")
            File.WriteAllBytes(Path.Combine(SourceFolder(), "Golden", GoldenName), stream.ToArray());
        Assert.Equal(File.ReadAllBytes(GoldenPath), stream.ToArray());
        // And the header says what the format document says.
        byte[] golden = File.ReadAllBytes(GoldenPath);
        Assert.Equal("VECRECIX"u8.ToArray(), golden[..8]);
        Assert.Equal(1u, BinaryPrimitives.ReadUInt32LittleEndian(golden.AsSpan(8)));
        Assert.Equal(new[] { "PARM", "IDS ", "VECS", "END " }, IndexFileLayout.Sections(golden).Select(s => s.Tag));
    }

    private static string SourceFolder([CallerFilePath] string file = "") => Path.GetDirectoryName(file)!;
}

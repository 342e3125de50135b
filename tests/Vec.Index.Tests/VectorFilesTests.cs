using System.Buffers.Binary;
using Vec.Index.IO;
using Xunit;

namespace Vec.Index.Tests;

public sealed class VectorFilesTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("vecrec-vecfiles-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string PathOf(string name) => Path.Combine(_dir, name);

    /// <summary>Raw TEXMEX records: each row written with its own dimension header.</summary>
    private static byte[] Records(params int[][] rows)
    {
        var bytes = new List<byte>();
        Span<byte> word = stackalloc byte[4];
        foreach (int[] row in rows)
        {
            BinaryPrimitives.WriteInt32LittleEndian(word, row.Length);
            bytes.AddRange(word.ToArray());
            foreach (int v in row)
            {
                BinaryPrimitives.WriteInt32LittleEndian(word, v);
                bytes.AddRange(word.ToArray());
            }
        }
        return bytes.ToArray();
    }

    [Fact]
    public void Fvecs_round_trip_is_bit_exact_and_leaves_no_temp_file()
    {
        float[] data = TestData.Gaussian(37, 13, seed: 5);
        data[3] = float.NaN; data[4] = -0f; data[5] = float.MaxValue; data[6] = float.Epsilon;
        string path = PathOf("x.fvecs");
        VectorFiles.WriteFvecs(path, data, 37, 13);
        var read = VectorFiles.ReadFvecs(path);
        Assert.Equal(37, read.Count);
        Assert.Equal(13, read.Dimension);
        Assert.Equal(data.Select(BitConverter.SingleToInt32Bits), read.Data.Select(BitConverter.SingleToInt32Bits));
        Assert.Equal(37L * (4 + 13 * 4), new FileInfo(path).Length);
        Assert.Equal([path], Directory.GetFiles(_dir));
        Assert.Equal(data.AsSpan(13, 13).ToArray(), read.Row(1).ToArray());
    }

    [Fact]
    public void Ivecs_round_trip_overwrites_and_respects_max_rows()
    {
        int[] data = Enumerable.Range(-50, 60).ToArray();
        string path = PathOf("gt.ivecs");
        VectorFiles.WriteIvecs(path, new int[] { 1, 2, 3 }, 1, 3);
        VectorFiles.WriteIvecs(path, data, 6, 10);
        var all = VectorFiles.ReadIvecs(path);
        Assert.Equal((6, 10), (all.Count, all.Dimension));
        Assert.Equal(data, all.Data);
        var head = VectorFiles.ReadIvecs(path, maxRows: 2);
        Assert.Equal((2, 10), (head.Count, head.Dimension));
        Assert.Equal(data[..20], head.Data);
        Assert.Equal(6, VectorFiles.ReadIvecs(path, maxRows: 100).Count);
        Assert.Equal(0, VectorFiles.ReadIvecs(path, maxRows: 0).Count);
    }

    [Fact]
    public void Bvecs_reads_bytes()
    {
        string path = PathOf("b.bvecs");
        var bytes = new List<byte>();
        for (int r = 0; r < 3; r++)
        {
            bytes.AddRange(BitConverter.GetBytes(4));
            for (int j = 0; j < 4; j++) bytes.Add((byte)(r * 100 + j * 30));
        }
        File.WriteAllBytes(path, bytes.ToArray());
        var read = VectorFiles.ReadBvecs(path);
        Assert.Equal((3, 4), (read.Count, read.Dimension));
        Assert.Equal(new byte[] { 200, 230, 4, 34 }, read.Row(2).ToArray());
    }

    [Fact]
    public void Empty_set_round_trips_only_as_an_error_on_read()
    {
        string path = PathOf("empty.fvecs");
        VectorFiles.WriteFvecs(path, ReadOnlySpan<float>.Empty, 0, 8);
        Assert.Equal(0, new FileInfo(path).Length);
        var e = Assert.Throws<InvalidDataException>(() => VectorFiles.ReadFvecs(path));
        Assert.Contains("empty", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(9)]
    [InlineData(17)]
    [InlineData(21)]
    public void Truncated_file_names_the_file_and_row(int cut)
    {
        string path = PathOf("t.fvecs");
        VectorFiles.WriteFvecs(path, TestData.Gaussian(5, 4, seed: 1), 5, 4);
        byte[] bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^cut]);
        var e = Assert.Throws<InvalidDataException>(() => VectorFiles.ReadFvecs(path));
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Contains(cut <= 20 ? "row 4" : "row 3", e.Message, StringComparison.Ordinal);
        Assert.Contains("truncated", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Inconsistent_dimension_names_the_row()
    {
        string path = PathOf("mixed.ivecs");
        File.WriteAllBytes(path, Records([1, 2, 3], [4, 5, 6], [7, 8], [9, 10, 11]));
        var e = Assert.Throws<InvalidDataException>(() => VectorFiles.ReadIvecs(path));
        Assert.Contains("row 2", e.Message, StringComparison.Ordinal);
        Assert.Contains("dimension 2", e.Message, StringComparison.Ordinal);
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Inconsistent_dimension_in_a_short_tail_is_reported_as_such()
    {
        string path = PathOf("tail.ivecs");
        File.WriteAllBytes(path, Records([1, 2, 3], [4]));
        var e = Assert.Throws<InvalidDataException>(() => VectorFiles.ReadIvecs(path));
        Assert.Contains("row 1: dimension 1 differs", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-3)]
    [InlineData(VectorFiles.MaxDimension + 1)]
    public void Insane_dimension_is_rejected(int dimension)
    {
        string path = PathOf("bad.fvecs");
        var bytes = new byte[64];
        BinaryPrimitives.WriteInt32LittleEndian(bytes, dimension);
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<InvalidDataException>(() => VectorFiles.ReadFvecs(path));
        Assert.Contains("row 0", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Bad_arguments_name_the_parameter()
    {
        string path = PathOf("a.fvecs");
        Assert.Equal("data", Assert.Throws<ArgumentException>(() => VectorFiles.WriteFvecs(path, new float[5], 2, 3)).ParamName);
        Assert.Equal("dimension", Assert.Throws<ArgumentOutOfRangeException>(() => VectorFiles.WriteFvecs(path, [], 0, 0)).ParamName);
        Assert.Equal("count", Assert.Throws<ArgumentOutOfRangeException>(() => VectorFiles.WriteIvecs(path, [], -1, 3)).ParamName);
        Assert.Equal("path", Assert.Throws<ArgumentException>(() => VectorFiles.WriteFvecs(" ", new float[3], 1, 3)).ParamName);
        Assert.Equal("maxRows", Assert.Throws<ArgumentOutOfRangeException>(() => VectorFiles.ReadFvecs(path, -1)).ParamName);
        Assert.Throws<FileNotFoundException>(() => VectorFiles.ReadFvecs(path));
        Assert.Throws<DirectoryNotFoundException>(() => VectorFiles.WriteFvecs(Path.Combine(_dir, "no", "x.fvecs"), new float[3], 1, 3));
        Assert.Empty(Directory.GetFiles(_dir));
    }

    /// <summary>The shared SIFT10K set: env VECREC_SHARED, else ../shared above the repository root.</summary>
    private static string? SiftSmall()
    {
        string? shared = Environment.GetEnvironmentVariable("VECREC_SHARED");
        if (string.IsNullOrWhiteSpace(shared))
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "VecRec.sln")))
                {
                    shared = Path.Combine(dir.FullName, "..", "shared");
                    break;
                }
        }
        string? sift = shared is null ? null : Path.Combine(shared, "data", "ann", "siftsmall");
        return sift is not null && File.Exists(Path.Combine(sift, "siftsmall_base.fvecs")) ? sift : null;
    }

    [Fact]
    public void Reads_siftsmall_when_shared_data_exists()
    {
        string? sift = SiftSmall();
        if (sift is null) return; // no shared data on this machine
        var b = VectorFiles.ReadFvecs(Path.Combine(sift, "siftsmall_base.fvecs"));
        var q = VectorFiles.ReadFvecs(Path.Combine(sift, "siftsmall_query.fvecs"));
        var gt = VectorFiles.ReadIvecs(Path.Combine(sift, "siftsmall_groundtruth.ivecs"));
        Assert.Equal((10000, 128), (b.Count, b.Dimension));
        Assert.Equal((100, 128), (q.Count, q.Dimension));
        Assert.Equal((100, 100), (gt.Count, gt.Dimension));
        Assert.All(b.Data, v => Assert.True(v >= 0 && v <= 255 && v == MathF.Floor(v))); // SIFT descriptors are small integers
        Assert.All(gt.Data, id => Assert.InRange(id, 0, 9999));
        // The ground truth's first neighbour really is the nearest base vector (L2) for the first query.
        int best = -1;
        double bestDistance = double.MaxValue;
        for (int i = 0; i < b.Count; i++)
        {
            double s = 0;
            for (int j = 0; j < 128; j++) { double t = b.Row(i)[j] - q.Row(0)[j]; s += t * t; }
            if (s < bestDistance) (bestDistance, best) = (s, i);
        }
        Assert.Equal(gt.Row(0)[0], best);
        Assert.Equal(3, VectorFiles.ReadFvecs(Path.Combine(sift, "siftsmall_base.fvecs"), maxRows: 3).Count);
    }
}

using System.Text;
using Xunit;

namespace Vec.Embed.Tests;

public sealed class WordVectorEncoderTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "vecrec-wordvec-" + Guid.NewGuid().ToString("N"));

    public WordVectorEncoderTests() => Directory.CreateDirectory(_folder);

    public void Dispose()
    {
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    // A tiny 3-d vocabulary with easy numbers.
    private static readonly (string Word, float[] Vector)[] Tiny =
    [
        ("the", [1f, 0f, 0f]),
        ("cat", [0f, 1f, 0f]),
        ("sat", [0f, 0f, 2f]),
        ("mat", [0.5f, -1.5f, 3.25f]),
        ("café", [-1f, 2f, 0.25f]),
        ("東京", [3f, 0f, -4f]),
    ];

    private string WriteGlove(string name, (string Word, float[] Vector)[] entries, string? header = null)
    {
        var sb = new StringBuilder();
        if (header is not null)
        {
            sb.Append(header).Append('\n');
        }

        foreach ((string word, float[] vector) in entries)
        {
            sb.Append(word);
            foreach (float v in vector)
            {
                sb.Append(' ').Append(v.ToString("R", System.Globalization.CultureInfo.InvariantCulture));
            }

            sb.Append('\n');
        }

        return WriteText(name, sb.ToString());
    }

    private string WriteText(string name, string content)
    {
        string path = Path.Combine(_folder, name);
        File.WriteAllText(path, content, new UTF8Encoding(false));
        return path;
    }

    private string WriteWord2VecBinary(string name, (string Word, float[] Vector)[] entries, bool newlines = true, int? count = null, int? dimension = null)
    {
        string path = Path.Combine(_folder, name);
        using var stream = new MemoryStream();
        stream.Write(Encoding.ASCII.GetBytes($"{count ?? entries.Length} {dimension ?? entries[0].Vector.Length}\n"));
        foreach ((string word, float[] vector) in entries)
        {
            stream.Write(Encoding.UTF8.GetBytes(word));
            stream.WriteByte((byte)' ');
            foreach (float v in vector)
            {
                var bytes = new byte[4];
                System.Buffers.Binary.BinaryPrimitives.WriteSingleLittleEndian(bytes, v);
                stream.Write(bytes);
            }

            if (newlines)
            {
                stream.WriteByte((byte)'\n');
            }
        }

        File.WriteAllBytes(path, stream.ToArray());
        return path;
    }

    private static double[] Normalize(double[] v)
    {
        double norm = Math.Sqrt(v.Sum(x => x * x));
        return norm == 0 ? v : v.Select(x => x / norm).ToArray();
    }

    private static void AssertRow(double[] expected, ReadOnlySpan<float> actual, double tolerance = 1e-6)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance, $"component {i}: expected {expected[i]}, got {actual[i]}");
        }
    }

    [Fact]
    public void GloVe_text_loads_exactly_and_encodes_the_mean()
    {
        string path = WriteGlove("tiny.glove.txt", Tiny);
        using WordVectorEncoder encoder = WordVectorEncoder.Load(path);
        Assert.Equal("tiny.glove.txt", encoder.ModelId);
        Assert.Equal(3, encoder.Dimension);
        Assert.True(encoder.Normalized);
        Assert.Equal(Tiny.Length, encoder.Vectors.Count);
        for (int i = 0; i < Tiny.Length; i++)
        {
            Assert.Equal(Tiny[i].Word, encoder.Vectors.Words[i]);
            Assert.Equal(Tiny[i].Vector, encoder.Vectors.GetVector(i).ToArray());
        }

        // "The cat!" -> mean((1,0,0), (0,1,0)) = (0.5, 0.5, 0) -> normalised (1/sqrt2, 1/sqrt2, 0).
        AssertRow([Math.Sqrt(0.5), Math.Sqrt(0.5), 0], encoder.Encode("The cat!"));
        // Repeated words count each time; unknown words are ignored: (the + cat + cat + sat) / 4 = (0.25, 0.5, 0.5).
        AssertRow(Normalize([0.25, 0.5, 0.5]), encoder.Encode("the cat, CAT sat on a dog"));
        // Unicode words (accents, CJK) are looked up after tokenising.
        AssertRow(Normalize([1, 1, -1.875]), encoder.Encode("Café 東京"));
    }

    [Fact]
    public void Unnormalised_rows_are_the_plain_mean()
    {
        string path = WriteGlove("tiny.txt", Tiny);
        using WordVectorEncoder encoder = WordVectorEncoder.Load(path, new WordVectorEncoderOptions { Normalize = false });
        Assert.False(encoder.Normalized);
        AssertRow([0.25, 0.5, 0.5], encoder.Encode("the cat cat sat"));
        AssertRow([0.5, -1.5, 3.25], encoder.Encode("mat"));
        AssertRow([(0.5 + 3) / 2, -0.75, (3.25 - 4) / 2], encoder.Encode("mat 東京"));
    }

    [Fact]
    public void Texts_without_known_words_give_the_zero_row()
    {
        using WordVectorEncoder encoder = WordVectorEncoder.Load(WriteGlove("tiny.txt", Tiny));
        string[] texts = ["", "   ", "dog bird", "🙂🎉", "\u0000\u0007", "...", new string('x', 100_000)];
        float[] rows = encoder.Encode(texts);
        Assert.All(rows, x => Assert.Equal(0f, x));

        using WordVectorEncoder cased = WordVectorEncoder.Load(WriteGlove("tiny2.txt", Tiny), new WordVectorEncoderOptions { LowerCase = false });
        Assert.All(cased.Encode("THE Cat"), x => Assert.Equal(0f, x));
        AssertRow(Normalize([1, 1, 0]), cased.Encode("THE cat the"));

        using WordVectorEncoder stop = WordVectorEncoder.Load(WriteGlove("tiny3.txt", Tiny), new WordVectorEncoderOptions { RemoveEnglishStopWords = true });
        AssertRow([0, 1, 0], stop.Encode("the cat"));
    }

    [Fact]
    public void A_100000_character_text_is_encoded()
    {
        using WordVectorEncoder encoder = WordVectorEncoder.Load(WriteGlove("tiny.txt", Tiny), new WordVectorEncoderOptions { Normalize = false });
        var sb = new StringBuilder();
        int the = 0, cat = 0;
        for (int i = 0; sb.Length < 99_990; i++)
        {
            if (i % 3 == 0)
            {
                sb.Append("the ");
                the++;
            }
            else
            {
                sb.Append("cat, ");
                cat++;
            }
        }

        float[] row = encoder.Encode(sb.ToString());
        AssertRow([the / (double)(the + cat), cat / (double)(the + cat), 0], row, 1e-5);
    }

    [Fact]
    public void Word2vec_text_header_is_accepted_and_checked()
    {
        string path = WriteGlove("w2v.txt", Tiny[..3], header: "3 3");
        using WordVectorEncoder encoder = WordVectorEncoder.Load(path);
        Assert.Equal(3, encoder.Vectors.Count);
        AssertRow([0, 0, 1], encoder.Encode("sat"));

        string fewer = WriteGlove("fewer.txt", Tiny[..2], header: "3 3");
        Assert.Contains("truncated", Assert.Throws<InvalidDataException>(() => WordVectors.LoadText(fewer)).Message);
        string more = WriteGlove("more.txt", Tiny[..4], header: "3 3");
        Assert.Contains("line 5", Assert.Throws<InvalidDataException>(() => WordVectors.LoadText(more)).Message);
        string wrongDim = WriteGlove("dim.txt", Tiny[..3], header: "3 4");
        Assert.Contains("line 2", Assert.Throws<InvalidDataException>(() => WordVectors.LoadText(wrongDim)).Message);
        // maxWords stops before the count check.
        Assert.Equal(2, WordVectors.LoadText(fewer, maxWords: 2).Count);
    }

    [Fact]
    public void Word2vec_binary_loads_exactly_with_or_without_newlines()
    {
        foreach (bool newlines in new[] { true, false })
        {
            string path = WriteWord2VecBinary($"tiny-{newlines}.bin", Tiny, newlines);
            WordVectors vectors = WordVectors.Load(path);
            Assert.Equal($"tiny-{newlines}.bin", vectors.Name);
            Assert.Equal(Tiny.Select(t => t.Word), vectors.Words);
            Assert.Equal(Tiny.SelectMany(t => t.Vector).ToArray(), vectors.Vectors.ToArray());
            using var encoder = new WordVectorEncoder(vectors);
            AssertRow(Normalize([0.5, -1.5, 5.25]), encoder.Encode("mat sat")); // (mat + sat) / 2, normalised
        }

        Assert.Equal(2, WordVectors.LoadBinary(WriteWord2VecBinary("max.bin", Tiny), maxWords: 2).Count);
    }

    [Fact]
    public void Broken_binary_files_are_rejected_naming_file_and_entry()
    {
        string good = WriteWord2VecBinary("good.bin", Tiny);
        byte[] bytes = File.ReadAllBytes(good);

        void Expect(string name, byte[] content, string fragment)
        {
            string path = Path.Combine(_folder, name);
            File.WriteAllBytes(path, content);
            var e = Assert.Throws<InvalidDataException>(() => WordVectors.LoadBinary(path));
            Assert.Contains(path, e.Message);
            Assert.Contains(fragment, e.Message);
        }

        // Truncated inside the last vector: the size check catches it before reading entries.
        Expect("truncated.bin", bytes[..^3], "truncated");
        Expect("empty.bin", [], "header");
        Expect("header.bin", Encoding.ASCII.GetBytes("three 3\nthe "), "not 'count dim'");
        Expect("zero.bin", Encoding.ASCII.GetBytes("0 3\n"), "0 words");
        Expect("trailing.bin", [.. bytes, (byte)'x'], "data follows");

        // Truncated inside a word, where the size check cannot tell (enough bytes follow the header overall).
        string under = WriteWord2VecBinary("under.bin", Tiny, count: 6);
        byte[] underBytes = File.ReadAllBytes(under);
        Expect("mid-word.bin", [.. underBytes[..^14], .. Encoding.ASCII.GetBytes(new string('w', 40))], "entry 6");

        var nan = ((string, float[])[])Tiny.Clone();
        nan[2] = ("sat", [0f, float.NaN, 1f]);
        string nanPath = WriteWord2VecBinary("nan.bin", nan);
        var e = Assert.Throws<InvalidDataException>(() => WordVectors.LoadBinary(nanPath));
        Assert.Contains("entry 3", e.Message);
        Assert.Contains("not a finite number", e.Message);
    }

    [Fact]
    public void Broken_text_files_are_rejected_naming_file_and_line()
    {
        void Expect(string name, string content, string fragment)
        {
            string path = WriteText(name, content);
            var e = Assert.Throws<InvalidDataException>(() => WordVectors.LoadText(path));
            Assert.Contains(path, e.Message);
            Assert.Contains(fragment, e.Message);
        }

        Expect("short.txt", "a 1 2 3\nb 1 2\nc 1 2 3\n", "line 2");
        Expect("long.txt", "a 1 2 3\nb 1 2 3\nc 1 2 3 4\n", "line 3");
        Expect("nan.txt", "a 1 2 3\nb 1 NaN 3\n", "line 2");
        Expect("inf.txt", "a 1 2 3\nb 1 2 1e39\n", "line 2");
        Expect("garbage.txt", "a 1 2 3\nb 1 two 3\n", "'two'");
        Expect("noval.txt", "a\nb 1\n", "line 1");
        Expect("empty.txt", "", "no word vectors");
        Expect("blank.txt", "\n \n", "no word vectors");

        string invalidUtf8 = Path.Combine(_folder, "utf8.txt");
        File.WriteAllBytes(invalidUtf8, [.. Encoding.ASCII.GetBytes("a 1 2\n"), 0xC3, 0x28, .. Encoding.ASCII.GetBytes(" 1 2\n")]);
        var e = Assert.Throws<InvalidDataException>(() => WordVectors.LoadText(invalidUtf8));
        Assert.Contains("UTF-8", e.Message);
    }

    [Fact]
    public void Text_files_tolerate_blank_lines_crlf_tabs_bom_and_duplicates()
    {
        string path = Path.Combine(_folder, "messy.txt");
        File.WriteAllBytes(path, [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes("the 1 0\r\n\r\ncat\t0 1 \r\nthe 5 5\n")]);
        WordVectors vectors = WordVectors.LoadText(path);
        Assert.Equal(["the", "cat"], vectors.Words);
        Assert.Equal(1, vectors.DuplicatesSkipped);
        Assert.Equal([1f, 0f], vectors.GetVector(0).ToArray()); // the first occurrence wins
        Assert.Equal(2, vectors.Dimension);
    }

    [Fact]
    public void Fitted_idf_weights_the_mean()
    {
        string path = WriteGlove("tiny.txt", Tiny);
        using WordVectorEncoder plain = WordVectorEncoder.Load(path, new WordVectorEncoderOptions { Normalize = false });
        string[] corpus = ["the cat sat", "the mat", "the the cat", "a dog"];
        using WordVectorEncoder fitted = plain.Fit(corpus);
        Assert.True(fitted.IsFitted);
        Assert.False(plain.IsFitted);
        Assert.Equal(4, fitted.DocumentCount);
        // n = 4; df: the 3, cat 2, sat 1, mat 1, café 0, 東京 0.
        double Idf(int df) => Math.Log(5.0 / (1 + df)) + 1;
        Assert.Equal(Idf(3), fitted.GetIdf(0), 6);
        Assert.Equal(Idf(2), fitted.GetIdf(1), 6);
        Assert.Equal(Idf(0), fitted.GetIdf(5), 6);
        Assert.Equal(1f, plain.GetIdf(0));

        // "the cat" -> (idf_the * (1,0,0) + idf_cat * (0,1,0)) / (idf_the + idf_cat).
        double wThe = Idf(3), wCat = Idf(2);
        AssertRow([wThe / (wThe + wCat), wCat / (wThe + wCat), 0], fitted.Encode("the cat"));
        Assert.NotEqual(plain.Encode("the cat"), fitted.Encode("the cat"));
    }

    [Fact]
    public void Similar_texts_score_higher_than_unrelated_ones()
    {
        // Two topics in separate directions of a 4-d space.
        (string, float[])[] vocabulary =
        [
            ("stock", [1f, 0.1f, 0f, 0f]), ("market", [0.9f, 0.2f, 0f, 0f]), ("inflation", [0.8f, 0.3f, 0.1f, 0f]),
            ("pasta", [0f, 0f, 1f, 0.1f]), ("tomato", [0f, 0.1f, 0.9f, 0.2f]), ("basil", [0f, 0f, 0.8f, 0.4f]),
        ];
        using WordVectorEncoder encoder = WordVectorEncoder.Load(WriteGlove("topics.txt", vocabulary));
        float[] rows = encoder.Encode(["stock market news", "tomato and basil pasta", "inflation hits the market"]);
        float Dot(int a, int b) => Enumerable.Range(0, 4).Sum(j => rows[(a * 4) + j] * rows[(b * 4) + j]);
        Assert.True(Dot(0, 2) > Dot(0, 1));
        Assert.True(Dot(2, 0) > Dot(2, 1));
    }

    [Fact]
    public void Constructed_tables_validate_their_input()
    {
        Assert.Equal("words", Assert.Throws<ArgumentNullException>(() => new WordVectors(null!, [1f], 1, "x")).ParamName);
        Assert.Equal("dimension", Assert.Throws<ArgumentOutOfRangeException>(() => new WordVectors(["a"], [1f], 0, "x")).ParamName);
        Assert.Equal("vectors", Assert.Throws<ArgumentException>(() => new WordVectors(["a"], [1f, 2f], 1, "x")).ParamName);
        Assert.Equal("vectors", Assert.Throws<ArgumentException>(() => new WordVectors(["a"], [float.PositiveInfinity], 1, "x")).ParamName);
        Assert.Equal("words", Assert.Throws<ArgumentException>(() => new WordVectors(["a", "a"], [1f, 2f], 1, "x")).ParamName);
        Assert.Equal("words", Assert.Throws<ArgumentException>(() => new WordVectors([""], [1f], 1, "x")).ParamName);
        Assert.Equal("name", Assert.Throws<ArgumentException>(() => new WordVectors(["a"], [1f], 1, "")).ParamName);
        Assert.Equal("vectors", Assert.Throws<ArgumentNullException>(() => new WordVectorEncoder(null!)).ParamName);
        Assert.Equal("maxWords", Assert.Throws<ArgumentOutOfRangeException>(() => WordVectors.LoadText(WriteGlove("t.txt", Tiny), maxWords: 0)).ParamName);
        Assert.Equal("path", Assert.ThrowsAny<ArgumentException>(() => WordVectors.Load("")).ParamName);
        Assert.Throws<FileNotFoundException>(() => WordVectors.Load(Path.Combine(_folder, "missing.txt")));

        var table = new WordVectors(["big", "Big"], [3e38f, 3e38f, 3e38f, -3e38f], 2, "huge");
        using var encoder = new WordVectorEncoder(table, new WordVectorEncoderOptions { LowerCase = false });
        // The float sum overflows; the encoder falls back to double and still returns a unit row.
        float[] row = encoder.Encode("big big big");
        AssertRow([Math.Sqrt(0.5), Math.Sqrt(0.5)], row);
    }

    [Fact]
    public void Null_texts_throw_naming_texts_and_corpus()
    {
        using WordVectorEncoder encoder = WordVectorEncoder.Load(WriteGlove("tiny.txt", Tiny));
        Assert.Equal("texts", Assert.Throws<ArgumentNullException>(() => encoder.Encode((IReadOnlyList<string>)null!)).ParamName);
        Assert.Equal("texts", Assert.Throws<ArgumentNullException>(() => encoder.Encode(["the", null!])).ParamName);
        Assert.Equal("corpus", Assert.Throws<ArgumentNullException>(() => encoder.Fit(null!)).ParamName);
        Assert.Equal("corpus", Assert.Throws<ArgumentNullException>(() => encoder.Fit(["the", null!])).ParamName);
        Assert.Equal("corpus", Assert.Throws<ArgumentException>(() => encoder.Fit([])).ParamName);
    }

    [Fact]
    public void Concurrent_encoding_gives_identical_rows()
    {
        using WordVectorEncoder encoder = WordVectorEncoder.Load(WriteGlove("tiny.txt", Tiny)).Fit(["the cat", "mat sat", "café"]);
        string[] texts = ["the cat sat on the mat", "", "Café 東京", new string('a', 3000) + " the", "cat cat cat"];
        float[] expected = encoder.Encode(texts);
        int failures = 0;
        var threads = Enumerable.Range(0, 4).Select(_ => new Thread(() =>
        {
            for (int r = 0; r < 50; r++)
            {
                if (!encoder.Encode(texts).AsSpan().SequenceEqual(expected))
                {
                    Interlocked.Increment(ref failures);
                }
            }
        })).ToArray();
        foreach (Thread t in threads)
        {
            t.Start();
        }

        foreach (Thread t in threads)
        {
            t.Join();
        }

        Assert.Equal(0, failures);
    }

    [Fact]
    public async Task GenerateAsync_returns_the_rows_of_Encode()
    {
        using WordVectorEncoder encoder = WordVectorEncoder.Load(WriteGlove("tiny.txt", Tiny));
        string[] texts = ["the cat", "nothing known", "東京 mat"];
        float[] rows = encoder.Encode(texts);
        var generated = await encoder.GenerateAsync(texts);
        Assert.Equal(3, generated.Count);
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(rows.AsSpan(i * 3, 3).ToArray(), generated[i].Vector.ToArray());
            Assert.Equal("tiny.txt", generated[i].ModelId);
        }
    }
}

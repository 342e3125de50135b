using System.IO.Hashing;
using System.Text;
using System.Text.RegularExpressions;
using Vec.Embed.Internals;
using Xunit;

namespace Vec.Embed.Tests;

public sealed class HashingTextEncoderTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "vecrec-hashing-" + Guid.NewGuid().ToString("N"));

    public HashingTextEncoderTests() => Directory.CreateDirectory(_folder);

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

    private static readonly string[] Corpus =
    [
        "The quick brown fox jumps over the lazy dog",
        "A quick brown dog outpaces a quick red fox",
        "Stock markets fell sharply on Monday amid inflation fears",
        "Investors worry about inflation and interest rates",
        "The lazy cat sleeps all day in the sun",
        "Fresh pasta with tomato sauce and basil",
        "Homemade tomato soup with fresh basil and garlic",
        "Central bank raises interest rates to fight inflation",
    ];

    // ---------------------------------------------------------------------------------------------------------------
    // A straightforward reference: regex words, string n-grams, a dictionary of counts, doubles throughout.

    private static readonly Regex WordPattern = new(@"[\p{L}\p{N}][\p{L}\p{N}\p{M}]*", RegexOptions.CultureInvariant);

    private static List<string> ReferenceWords(string text, HashingTextEncoderOptions options)
    {
        var words = new List<string>();
        foreach (Match m in WordPattern.Matches(text))
        {
            string w = options.LowerCase ? m.Value.ToLowerInvariant() : m.Value;
            if (options.RemoveEnglishStopWords && EnglishStopWords.Set.Contains(w))
            {
                continue;
            }

            words.Add(w);
        }

        return words;
    }

    private static Dictionary<string, int> ReferenceTerms(string text, HashingTextEncoderOptions options)
    {
        List<string> words = ReferenceWords(text, options);
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int n = 1; n <= options.MaxNGram; n++)
        {
            for (int i = 0; i + n <= words.Count; i++)
            {
                string term = string.Join(" ", words.GetRange(i, n));
                counts[term] = counts.GetValueOrDefault(term) + 1;
            }
        }

        return counts;
    }

    private static (int Bucket, int Sign) ReferenceHash(string term, int dimension)
    {
        ulong h = XxHash3.HashToUInt64(Encoding.UTF8.GetBytes(term), HashingTextEncoder.HashSeed);
        int bucket = (int)(Math.BigMul((uint)h, (uint)dimension) >> 32);
        return (bucket, (h >> 63) == 1 ? -1 : 1);
    }

    private static double[] ReferenceIdf(IEnumerable<string> corpus, HashingTextEncoderOptions options)
    {
        int d = options.Dimension;
        var df = new int[d];
        int n = 0;
        foreach (string text in corpus)
        {
            n++;
            var buckets = new HashSet<int>();
            foreach (string term in ReferenceTerms(text, options).Keys)
            {
                buckets.Add(ReferenceHash(term, d).Bucket);
            }

            foreach (int b in buckets)
            {
                df[b]++;
            }
        }

        return df.Select(x => Math.Log((1.0 + n) / (1.0 + x)) + 1.0).ToArray();
    }

    private static double[] ReferenceRow(string text, HashingTextEncoderOptions options, double[]? idf)
    {
        var row = new double[options.Dimension];
        foreach ((string term, int tf) in ReferenceTerms(text, options))
        {
            (int bucket, int sign) = ReferenceHash(term, options.Dimension);
            row[bucket] += sign * (options.SublinearTf ? 1 + Math.Log(tf) : tf);
        }

        if (idf is not null)
        {
            for (int b = 0; b < row.Length; b++)
            {
                row[b] *= idf[b];
            }
        }

        double norm = Math.Sqrt(row.Sum(x => x * x));
        return norm == 0 ? row : row.Select(x => x / norm).ToArray();
    }

    private static void AssertRow(double[] expected, ReadOnlySpan<float> actual, double tolerance = 1e-5)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance, $"component {i}: expected {expected[i]}, got {actual[i]}");
        }
    }

    private static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        float s = 0;
        for (int i = 0; i < a.Length; i++)
        {
            s += a[i] * b[i];
        }

        return s;
    }

    // ---------------------------------------------------------------------------------------------------------------

    public static TheoryData<int, int, bool, bool, bool> OptionCases => new()
    {
        { 8, 1, true, false, true },
        { 8, 2, true, false, true },
        { 8, 3, true, true, true },
        { 16, 2, false, false, true },
        { 7, 2, true, false, false },
        { 1, 2, true, false, true },
        { 1024, 3, true, true, false },
    };

    [Theory]
    [MemberData(nameof(OptionCases))]
    public void Unfitted_rows_match_the_dictionary_reference(int dimension, int maxNGram, bool lowerCase, bool stopWords, bool sublinear)
    {
        var options = new HashingTextEncoderOptions { Dimension = dimension, MaxNGram = maxNGram, LowerCase = lowerCase, RemoveEnglishStopWords = stopWords, SublinearTf = sublinear };
        using var encoder = new HashingTextEncoder(options);
        string[] texts = [.. Corpus, "to be or not to be, that is the question", "Ünïcödé Straße café ÉCOLE", "a a a b b c"];
        float[] rows = encoder.Encode(texts);
        for (int i = 0; i < texts.Length; i++)
        {
            AssertRow(ReferenceRow(texts[i], options, null), rows.AsSpan(i * dimension, dimension));
        }
    }

    [Theory]
    [MemberData(nameof(OptionCases))]
    public void Fitted_idf_and_rows_match_the_reference(int dimension, int maxNGram, bool lowerCase, bool stopWords, bool sublinear)
    {
        var options = new HashingTextEncoderOptions { Dimension = dimension, MaxNGram = maxNGram, LowerCase = lowerCase, RemoveEnglishStopWords = stopWords, SublinearTf = sublinear };
        using var unfitted = new HashingTextEncoder(options);
        using HashingTextEncoder encoder = unfitted.Fit(Corpus);
        Assert.True(encoder.IsFitted);
        Assert.False(unfitted.IsFitted);
        Assert.Equal(Corpus.Length, encoder.DocumentCount);
        double[] idf = ReferenceIdf(Corpus, options);
        AssertRow(idf, encoder.GetIdf());
        Assert.All(unfitted.GetIdf(), x => Assert.Equal(1f, x));

        string[] queries = ["quick fox", "inflation and interest rates", "tomato basil soup", "nothing in common here"];
        float[] rows = encoder.Encode(queries);
        for (int i = 0; i < queries.Length; i++)
        {
            AssertRow(ReferenceRow(queries[i], options, idf), rows.AsSpan(i * dimension, dimension));
        }
    }

    [Fact]
    public void Hand_computed_row_for_a_tiny_text()
    {
        // "b a a" with unigrams only: tf(a) = 2 -> 1 + ln 2, tf(b) = 1 -> 1, each at its bucket with its sign.
        var options = new HashingTextEncoderOptions { Dimension = 8, MaxNGram = 1 };
        using var encoder = new HashingTextEncoder(options);
        float[] row = encoder.Encode("b A a");
        (int ba, int sa) = ReferenceHash("a", 8);
        (int bb, int sb) = ReferenceHash("b", 8);
        var expected = new double[8];
        expected[ba] += sa * (1 + Math.Log(2));
        expected[bb] += sb * 1.0;
        double norm = Math.Sqrt(expected.Sum(x => x * x));
        AssertRow(expected.Select(x => x / norm).ToArray(), row);

        // One word in any case: a single +-1 component.
        float[] single = encoder.Encode("Word word WORD");
        Assert.Equal(1, single.Count(x => x != 0));
        Assert.Equal(1f, Math.Abs(single.Single(x => x != 0)), 6);
    }

    [Fact]
    public void Hash_values_are_stable_across_processes_and_versions()
    {
        // Golden values: the XxHash3 term hash with the fixed seed must never change (saved idf files and indexes of
        // encoded rows depend on it). Computed once by this implementation and frozen here.
        ulong h = XxHash3.HashToUInt64("hello world"u8, HashingTextEncoder.HashSeed);
        Assert.Equal(HashingTextEncoder.Bucket(h, 1024), ReferenceHash("hello world", 1024).Bucket);
        using var encoder = new HashingTextEncoder();
        float[] row = encoder.Encode("hello world");
        int[] nonZero = Enumerable.Range(0, row.Length).Where(i => row[i] != 0).ToArray();
        string signature = string.Join(",", nonZero.Select(i => (row[i] > 0 ? "+" : "-") + i));
        Assert.Equal(GoldenHelloWorld, signature);
    }

    private const string GoldenHelloWorld = "+85,-148,-644"; // the buckets of "hello", "world" and "hello world" at d = 1024, in bucket order

    [Fact]
    public void Default_options_and_model_id()
    {
        using var encoder = new HashingTextEncoder();
        Assert.Equal(1024, encoder.Dimension);
        Assert.Equal(2, encoder.Options.MaxNGram);
        Assert.True(encoder.Normalized);
        Assert.False(encoder.IsFitted);
        Assert.Equal("hashing-tfidf-d1024-ng2", encoder.ModelId);
        using var other = new HashingTextEncoder(new HashingTextEncoderOptions { Dimension = 64, MaxNGram = 3, RemoveEnglishStopWords = true, LowerCase = false, SublinearTf = false });
        Assert.Equal("hashing-tfidf-d64-ng3-stop-cased-rawtf", other.ModelId);
    }

    [Fact]
    public void Texts_without_words_give_the_zero_row()
    {
        using HashingTextEncoder encoder = new HashingTextEncoder(new HashingTextEncoderOptions { Dimension = 32 }).Fit(Corpus);
        string[] texts = ["", "   \t\r\n ", "!!! ... ,,, ---", "🙂🎉👍🏽", "\u0000\u0001\u001f\u007f\u200b", "\ud800 \udc00"];
        float[] rows = encoder.Encode(texts);
        Assert.All(rows, x => Assert.Equal(0f, x));

        using var stop = new HashingTextEncoder(new HashingTextEncoderOptions { Dimension = 32, RemoveEnglishStopWords = true });
        Assert.All(stop.Encode("The and of THE to"), x => Assert.Equal(0f, x));
    }

    [Fact]
    public void Unicode_words_cjk_accents_and_control_characters()
    {
        var options = new HashingTextEncoderOptions { Dimension = 4096, MaxNGram = 1 };
        using var encoder = new HashingTextEncoder(options);
        float[] cjk = encoder.Encode("東京タワー 서울");
        Assert.Equal(2, cjk.Count(x => x != 0)); // two words (letters of other scripts are words too)
        Assert.Equal(1f, Math.Sqrt(cjk.Sum(x => (double)x * x)), 5);

        // Accents are kept; case is folded; a decomposed accent stays inside its word.
        Assert.Equal(encoder.Encode("café"), encoder.Encode("CAFÉ"));
        Assert.NotEqual(encoder.Encode("café"), encoder.Encode("cafe"));
        Assert.NotEqual(encoder.Encode("cafe\u0301"), encoder.Encode("cafe"));
        Assert.Equal(1, encoder.Encode("cafe\u0301").Count(x => x != 0));

        // Control characters, emoji and punctuation separate words.
        Assert.Equal(encoder.Encode("alpha beta"), encoder.Encode("alpha\u0000beta"));
        Assert.Equal(encoder.Encode("alpha beta"), encoder.Encode("🙂alpha🎉beta!"));

        // Characters outside the BMP: a letter from a supplementary plane is a word.
        Assert.Single(encoder.Encode("𝒳𝒴"), x => x != 0);
    }

    [Fact]
    public void A_100000_character_text_encodes_like_the_reference()
    {
        var random = new Random(7);
        string[] vocabulary = ["alpha", "beta", "gamma", "delta", "épsilon", "ζήτα", "東京", "x1", "42"];
        var sb = new StringBuilder();
        while (sb.Length < 100_000)
        {
            sb.Append(vocabulary[random.Next(vocabulary.Length)]).Append(random.Next(5) == 0 ? ", " : " ");
        }

        string text = sb.ToString(0, 100_000);
        var options = new HashingTextEncoderOptions { Dimension = 256, MaxNGram = 3 };
        using HashingTextEncoder encoder = new HashingTextEncoder(options).Fit(Corpus.Append(text));
        float[] row = encoder.Encode(text);
        Assert.All(row, x => Assert.True(float.IsFinite(x)));
        AssertRow(ReferenceRow(text, options, ReferenceIdf(Corpus.Append(text), options)), row, 1e-4);

        // A single 100,000-character word is fine as well.
        Assert.Equal(1, encoder.Encode(new string('z', 100_000)).Count(x => x != 0));
    }

    [Fact]
    public void Similar_texts_score_higher_than_unrelated_ones()
    {
        using HashingTextEncoder encoder = new HashingTextEncoder().Fit(Corpus);
        float[] rows = encoder.Encode(Corpus);
        int d = encoder.Dimension;
        float[] q = encoder.Encode("inflation worries and rising interest rates");
        float related = Dot(q, rows.AsSpan(3 * d, d));
        float alsoRelated = Dot(q, rows.AsSpan(7 * d, d));
        float unrelated = Dot(q, rows.AsSpan(5 * d, d));
        float unrelated2 = Dot(q, rows.AsSpan(0, d));
        Assert.True(related > unrelated && related > unrelated2, $"{related} vs {unrelated}, {unrelated2}");
        Assert.True(alsoRelated > unrelated && alsoRelated > unrelated2, $"{alsoRelated} vs {unrelated}, {unrelated2}");

        float[] soup = encoder.Encode("fresh tomato and basil");
        Assert.True(Dot(soup, rows.AsSpan(6 * d, d)) > Dot(soup, rows.AsSpan(2 * d, d)));
        // The identical text scores 1.
        Assert.Equal(1f, Dot(rows.AsSpan(0, d), encoder.Encode(Corpus[0])), 5);
    }

    [Fact]
    public void Separate_instances_give_identical_rows()
    {
        using HashingTextEncoder a = new HashingTextEncoder().Fit(Corpus);
        using HashingTextEncoder b = new HashingTextEncoder(new HashingTextEncoderOptions()).Fit(Corpus.ToList());
        Assert.Equal(a.Encode(Corpus), b.Encode(Corpus));
        Assert.Equal(a.GetIdf(), b.GetIdf());
    }

    [Fact]
    public void Concurrent_encoding_gives_identical_rows()
    {
        using HashingTextEncoder encoder = new HashingTextEncoder(new HashingTextEncoderOptions { Dimension = 512, MaxNGram = 3 }).Fit(Corpus);
        string[] texts = [.. Corpus, new string('q', 5000) + " tail", "", "東京 café"];
        float[] expected = encoder.Encode(texts);
        var failures = 0;
        var threads = Enumerable.Range(0, 4).Select(t => new Thread(() =>
        {
            for (int r = 0; r < 40; r++)
            {
                // Vary the order so threads interleave different texts (and scratch sizes).
                string[] local = r % 2 == 0 ? texts : [.. texts.Reverse()];
                float[] rows = encoder.Encode(local);
                float[] check = r % 2 == 0 ? rows : ReverseRows(rows, texts.Length, encoder.Dimension);
                if (!check.AsSpan().SequenceEqual(expected))
                {
                    Interlocked.Increment(ref failures);
                }
            }
        })).ToArray();
        foreach (Thread thread in threads)
        {
            thread.Start();
        }

        foreach (Thread thread in threads)
        {
            thread.Join();
        }

        Assert.Equal(0, failures);
    }

    private static float[] ReverseRows(float[] rows, int count, int d)
    {
        var result = new float[rows.Length];
        for (int i = 0; i < count; i++)
        {
            rows.AsSpan((count - 1 - i) * d, d).CopyTo(result.AsSpan(i * d, d));
        }

        return result;
    }

    [Fact]
    public void Save_and_load_round_trip()
    {
        var options = new HashingTextEncoderOptions { Dimension = 100, MaxNGram = 3, RemoveEnglishStopWords = true, SublinearTf = false, LowerCase = false };
        using HashingTextEncoder fitted = new HashingTextEncoder(options).Fit(Corpus);
        string path = Path.Combine(_folder, "fitted.vrh");
        fitted.Save(path);
        using HashingTextEncoder loaded = HashingTextEncoder.Load(path);
        Assert.Equal(options, loaded.Options);
        Assert.True(loaded.IsFitted);
        Assert.Equal(Corpus.Length, loaded.DocumentCount);
        Assert.Equal(fitted.ModelId, loaded.ModelId);
        Assert.Equal(fitted.GetIdf(), loaded.GetIdf());
        Assert.Equal(fitted.Encode(Corpus), loaded.Encode(Corpus));

        using var unfitted = new HashingTextEncoder();
        string path2 = Path.Combine(_folder, "unfitted.vrh");
        unfitted.Save(path2);
        using HashingTextEncoder loaded2 = HashingTextEncoder.Load(path2);
        Assert.False(loaded2.IsFitted);
        Assert.Equal(unfitted.Encode(Corpus), loaded2.Encode(Corpus));

        // Overwriting is atomic and leaves no temporary files behind.
        fitted.Save(path2);
        Assert.True(HashingTextEncoder.Load(path2).IsFitted);
        Assert.Equal(2, Directory.GetFiles(_folder).Length);
    }

    [Fact]
    public void A_failed_save_leaves_the_existing_file_untouched()
    {
        using HashingTextEncoder fitted = new HashingTextEncoder(new HashingTextEncoderOptions { Dimension = 64 }).Fit(Corpus);
        string path = Path.Combine(_folder, "keep.vrh");
        fitted.Save(path);
        byte[] before = File.ReadAllBytes(path);
        using var other = new HashingTextEncoder(new HashingTextEncoderOptions { Dimension = 128 });
        Vec.Internals.AtomicFile.StreamWrapperForTests = _ => throw new IOException("disk full (simulated)");
        try
        {
            Assert.Throws<IOException>(() => other.Save(path));
        }
        finally
        {
            Vec.Internals.AtomicFile.StreamWrapperForTests = null;
        }

        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Single(Directory.GetFiles(_folder));
    }

    [Fact]
    public void Corrupted_and_truncated_files_are_rejected_naming_the_file()
    {
        using HashingTextEncoder fitted = new HashingTextEncoder(new HashingTextEncoderOptions { Dimension = 16 }).Fit(Corpus);
        string path = Path.Combine(_folder, "good.vrh");
        fitted.Save(path);
        byte[] good = File.ReadAllBytes(path);

        void Expect(string name, byte[] content, string fragment)
        {
            string bad = Path.Combine(_folder, name);
            File.WriteAllBytes(bad, content);
            var e = Assert.Throws<InvalidDataException>(() => HashingTextEncoder.Load(bad));
            Assert.Contains(bad, e.Message);
            Assert.Contains(fragment, e.Message);
        }

        Expect("truncated.vrh", good[..^5], "truncated");
        Expect("short.vrh", good[..10], "shorter");
        Expect("empty.vrh", [], "shorter");
        Expect("trailing.vrh", [.. good, 0], "trailing");
        byte[] flipped = (byte[])good.Clone();
        flipped[40] ^= 0x10;
        Expect("flipped.vrh", flipped, "checksum");
        byte[] magic = (byte[])good.Clone();
        magic[0] = (byte)'X';
        Expect("magic.vrh", magic, "magic");
        byte[] version = (byte[])good.Clone();
        version[8] = 9;
        Expect("version.vrh", version, "version 9");

        // Values that pass the checksum but not the validation (checksum recomputed).
        Expect("nan.vrh", WithIdf(good, 3, float.NaN), "bucket 3");
        Expect("small.vrh", WithIdf(good, 5, 0.5f), "bucket 5");
        byte[] ngram = (byte[])good.Clone();
        ngram[16] = 7;
        Expect("ngram.vrh", Rehash(ngram), "n-gram 7");
        byte[] flags = (byte[])good.Clone();
        flags[20] |= 0x80;
        Expect("flags.vrh", Rehash(flags), "flags");

        Assert.Throws<FileNotFoundException>(() => HashingTextEncoder.Load(Path.Combine(_folder, "missing.vrh")));
    }

    private static byte[] WithIdf(byte[] file, int bucket, float value)
    {
        byte[] copy = (byte[])file.Clone();
        BitConverter.TryWriteBytes(copy.AsSpan(32 + (4 * bucket)), value);
        return Rehash(copy);
    }

    private static byte[] Rehash(byte[] file)
    {
        BitConverter.TryWriteBytes(file.AsSpan(file.Length - 8), XxHash64.HashToUInt64(file.AsSpan(0, file.Length - 8)));
        return file;
    }

    [Fact]
    public void Null_texts_and_null_elements_throw_naming_texts()
    {
        using var encoder = new HashingTextEncoder();
        Assert.Equal("texts", Assert.Throws<ArgumentNullException>(() => encoder.Encode((IReadOnlyList<string>)null!)).ParamName);
        Assert.Equal("texts", Assert.Throws<ArgumentNullException>(() => encoder.Encode(["a", null!])).ParamName);
        Assert.Equal("texts", Assert.Throws<ArgumentNullException>(() => encoder.Encode(["a", null!], new float[2048])).ParamName);
        Assert.Equal("destination", Assert.Throws<ArgumentException>(() => encoder.Encode(["a", "b"], new float[2047])).ParamName);
        Assert.Equal("corpus", Assert.Throws<ArgumentNullException>(() => encoder.Fit(null!)).ParamName);
        Assert.Equal("corpus", Assert.Throws<ArgumentNullException>(() => encoder.Fit(["a", null!])).ParamName);
        Assert.Equal("corpus", Assert.Throws<ArgumentException>(() => encoder.Fit([])).ParamName);
        Assert.Equal("path", Assert.ThrowsAny<ArgumentException>(() => encoder.Save("")).ParamName);
        Assert.Equal("path", Assert.ThrowsAny<ArgumentException>(() => HashingTextEncoder.Load(null!)).ParamName);
    }

    [Fact]
    public void Bad_options_throw_naming_the_option()
    {
        Assert.Equal("Dimension", Assert.Throws<ArgumentOutOfRangeException>(() => new HashingTextEncoderOptions { Dimension = 0 }).ParamName);
        Assert.Equal("Dimension", Assert.Throws<ArgumentOutOfRangeException>(() => new HashingTextEncoderOptions { Dimension = -5 }).ParamName);
        Assert.Equal("Dimension", Assert.Throws<ArgumentOutOfRangeException>(() => new HashingTextEncoderOptions { Dimension = HashingTextEncoderOptions.MaxDimension + 1 }).ParamName);
        Assert.Equal("MaxNGram", Assert.Throws<ArgumentOutOfRangeException>(() => new HashingTextEncoderOptions { MaxNGram = 0 }).ParamName);
        Assert.Equal("MaxNGram", Assert.Throws<ArgumentOutOfRangeException>(() => new HashingTextEncoderOptions { MaxNGram = 4 }).ParamName);
        var ok = new HashingTextEncoderOptions { Dimension = 1, MaxNGram = 3 };
        Assert.Equal("Dimension", Assert.Throws<ArgumentOutOfRangeException>(() => ok with { Dimension = 0 }).ParamName);
    }

    [Fact]
    public async Task GenerateAsync_returns_the_rows_of_Encode()
    {
        using HashingTextEncoder encoder = new HashingTextEncoder(new HashingTextEncoderOptions { Dimension = 64 }).Fit(Corpus);
        string[] texts = ["quick fox", "", "inflation", "東京"];
        float[] rows = encoder.Encode(texts);
        var generated = await encoder.GenerateAsync(texts);
        Assert.Equal(texts.Length, generated.Count);
        for (int i = 0; i < texts.Length; i++)
        {
            Assert.Equal(rows.AsSpan(i * 64, 64).ToArray(), generated[i].Vector.ToArray());
            Assert.Equal(encoder.ModelId, generated[i].ModelId);
        }
    }

    [Fact]
    public void Cancellation_is_observed()
    {
        using var encoder = new HashingTextEncoder();
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.Throws<OperationCanceledException>(() => encoder.Encode(["a"], cts.Token));
        Assert.Throws<OperationCanceledException>(() => encoder.Fit(Corpus, cts.Token));
    }
}

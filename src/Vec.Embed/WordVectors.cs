using System.Buffers.Binary;
using System.Globalization;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Text;
using Vec.Embed.Internals;

namespace Vec.Embed;

/// <summary>
/// A table of static word vectors (GloVe, word2vec, fastText <c>.vec</c>): words, one <see cref="Dimension"/>-float
/// row per word, and a look-up by word. Immutable; safe for concurrent reads.
/// </summary>
/// <remarks>
/// Loaders keep the first vector of a word that occurs more than once in a file and count the others in
/// <see cref="DuplicatesSkipped"/>. Words are matched ordinally (case-sensitive): a lower-cased vocabulary such as
/// GloVe's needs lower-cased look-ups.
/// </remarks>
public sealed class WordVectors
{
    /// <summary>Longest word (in bytes) a word2vec binary file may hold.</summary>
    public const int MaxWordBytes = 4096;

    private readonly string[] _words;
    private readonly float[] _vectors;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _lookup;

    /// <summary>Creates a table from words and their row-major vectors.</summary>
    /// <param name="words">The words: none null or empty, no duplicates.</param>
    /// <param name="vectors">Row-major <c>words.Count x dimension</c> finite values (copied).</param>
    /// <param name="dimension">Length of every vector, at least 1.</param>
    /// <param name="name">The table's name (the encoders' model id), e.g. a file name.</param>
    /// <exception cref="ArgumentNullException">An argument or a word is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dimension"/> is below 1.</exception>
    /// <exception cref="ArgumentException">A word is empty or repeated, the vectors have the wrong length or a
    /// non-finite value, or <paramref name="name"/> is empty.</exception>
    public WordVectors(IReadOnlyList<string> words, ReadOnlySpan<float> vectors, int dimension, string name)
    {
        ArgumentNullException.ThrowIfNull(words);
        ArgumentOutOfRangeException.ThrowIfLessThan(dimension, 1);
        ArgumentException.ThrowIfNullOrEmpty(name);
        long expected = (long)words.Count * dimension;
        if (vectors.Length != expected)
        {
            throw new ArgumentException($"{words.Count} words x {dimension} need {expected} values, got {vectors.Length}.", nameof(vectors));
        }

        int bad = vectors.IndexOfAnyExceptInRange(float.MinValue, float.MaxValue);
        if (bad >= 0)
        {
            throw new ArgumentException($"Value {vectors[bad]} of word {bad / dimension} is not finite.", nameof(vectors));
        }

        var index = new Dictionary<string, int>(words.Count, StringComparer.Ordinal);
        var copy = new string[words.Count];
        for (int i = 0; i < copy.Length; i++)
        {
            string word = words[i] ?? throw new ArgumentNullException(nameof(words), $"Word {i} is null.");
            if (word.Length == 0)
            {
                throw new ArgumentException($"Word {i} is empty.", nameof(words));
            }

            if (!index.TryAdd(word, i))
            {
                throw new ArgumentException($"Word '{word}' appears more than once (again at {i}).", nameof(words));
            }

            copy[i] = word;
        }

        _words = copy;
        _vectors = vectors.ToArray();
        Dimension = dimension;
        Name = name;
        _lookup = index.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    private WordVectors(string[] words, float[] vectors, int dimension, string name, Dictionary<string, int> index, int duplicates)
    {
        _words = words;
        _vectors = vectors;
        Dimension = dimension;
        Name = name;
        DuplicatesSkipped = duplicates;
        _lookup = index.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>The table's name: the file name for loaded tables.</summary>
    public string Name { get; }

    /// <summary>Length of every vector.</summary>
    public int Dimension { get; }

    /// <summary>Number of words.</summary>
    public int Count => _words.Length;

    /// <summary>The words, in file order.</summary>
    public IReadOnlyList<string> Words => _words;

    /// <summary>All vectors, row-major <c>Count x Dimension</c>.</summary>
    public ReadOnlySpan<float> Vectors => _vectors;

    /// <summary>Number of later occurrences of repeated words that a loader skipped (0 for constructed tables).</summary>
    public int DuplicatesSkipped { get; }

    /// <summary>The vector of word <paramref name="index"/>.</summary>
    /// <param name="index">0 to <see cref="Count"/> - 1.</param>
    /// <returns><see cref="Dimension"/> floats.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is out of range.</exception>
    public ReadOnlySpan<float> GetVector(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        return _vectors.AsSpan(index * Dimension, Dimension);
    }

    /// <summary>Finds a word (ordinal, case-sensitive).</summary>
    /// <param name="word">The word.</param>
    /// <param name="index">Its index, or -1.</param>
    /// <returns>Whether the word is in the table.</returns>
    public bool TryGetIndex(ReadOnlySpan<char> word, out int index)
    {
        if (_lookup.TryGetValue(word, out index))
        {
            return true;
        }

        index = -1;
        return false;
    }

    /// <summary>
    /// Loads a word-vector file: word2vec binary when the name ends in <c>.bin</c>, otherwise text (GloVe or word2vec
    /// text; see <see cref="LoadText"/>).
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="maxWords">Keep only the first this many words (files are usually sorted by frequency); null for all.</param>
    /// <returns>The table, named after the file.</returns>
    /// <exception cref="ArgumentException"><paramref name="path"/> is null, empty or malformed.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxWords"/> is below 1.</exception>
    /// <exception cref="InvalidDataException">The file is malformed (the message names it and the line or entry).</exception>
    public static WordVectors Load(string path, int? maxWords = null)
    {
        EncoderFile.FullPath(path, nameof(path));
        return path.EndsWith(".bin", StringComparison.OrdinalIgnoreCase) ? LoadBinary(path, maxWords) : LoadText(path, maxWords);
    }

    /// <summary>
    /// Loads a text file of word vectors: one <c>word v1 ... vd</c> line per word (UTF-8, fields separated by spaces or
    /// tabs), as GloVe writes; a first line of two integers <c>count dim</c> (word2vec / fastText text header) is
    /// checked against the rest of the file. Blank lines are skipped.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="maxWords">Keep only the first this many words; null for all.</param>
    /// <returns>The table, named after the file.</returns>
    /// <exception cref="ArgumentException"><paramref name="path"/> is null, empty or malformed.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxWords"/> is below 1.</exception>
    /// <exception cref="InvalidDataException">The file is malformed: invalid UTF-8, a line with a different number of
    /// values, a value that is not a finite number, a count that disagrees with the header, or no words.</exception>
    /// <remarks>A word may not contain spaces (a GloVe line whose word holds one reads as having too many values).
    /// A file whose first line is a word that is an integer followed by a single integer value reads as a header.</remarks>
    public static WordVectors LoadText(string path, int? maxWords = null)
    {
        string fullPath = EncoderFile.FullPath(path, nameof(path));
        int limit = CheckMaxWords(maxWords);
        using FileStream stream = EncoderFile.OpenRead(fullPath);
        using var reader = new StreamReader(stream, new UTF8Encoding(false, throwOnInvalidBytes: true), detectEncodingFromByteOrderMarks: false, bufferSize: 1 << 16);
        var builder = new Builder(path);
        long lineNumber = 0;
        long headerCount = -1;
        int dimension = -1;
        float[] row = [];
        bool stoppedEarly = false;
        while (true)
        {
            string? line;
            try
            {
                line = reader.ReadLine();
            }
            catch (DecoderFallbackException e)
            {
                throw new InvalidDataException($"Word-vector file '{path}' is invalid: line {lineNumber + 1} is not valid UTF-8.", e);
            }

            if (line is null)
            {
                break;
            }

            lineNumber++;
            ReadOnlySpan<char> rest = line.AsSpan();
            if (lineNumber == 1 && rest.Length > 0 && rest[0] == '\uFEFF')
            {
                rest = rest[1..];
            }

            rest = rest.TrimEnd(" \t\r");
            if (rest.IsWhiteSpace())
            {
                continue;
            }

            ReadOnlySpan<char> word = NextField(ref rest);
            if (dimension < 0)
            {
                // The first line: a header "count dim", or the first vector, which sets the dimension.
                int fields = CountFields(rest);
                if (fields == 1
                    && long.TryParse(word, NumberStyles.None, CultureInfo.InvariantCulture, out long count)
                    && int.TryParse(rest.Trim(" \t"), NumberStyles.None, CultureInfo.InvariantCulture, out int headerDimension))
                {
                    if (headerDimension < 1)
                    {
                        throw builder.Invalid($"line {lineNumber}: the header gives dimension {headerDimension}");
                    }

                    headerCount = count;
                    dimension = headerDimension;
                    row = new float[dimension];
                    continue;
                }

                if (fields == 0)
                {
                    throw builder.Invalid($"line {lineNumber}: the word '{word}' has no values");
                }

                dimension = fields;
                row = new float[dimension];
            }

            int parsed = 0;
            while (true)
            {
                ReadOnlySpan<char> field = NextField(ref rest);
                if (field.IsEmpty)
                {
                    break;
                }

                if (parsed == dimension)
                {
                    throw builder.Invalid($"line {lineNumber}: the word '{word}' has more than {dimension} values");
                }

                if (!float.TryParse(field, NumberStyles.Float, CultureInfo.InvariantCulture, out float value) || !float.IsFinite(value))
                {
                    throw builder.Invalid($"line {lineNumber}: value {parsed + 1} of the word '{word}' ('{field}') is not a finite number");
                }

                row[parsed++] = value;
            }

            if (parsed != dimension)
            {
                throw builder.Invalid($"line {lineNumber}: the word '{word}' has {parsed} values, expected {dimension}");
            }

            if (headerCount >= 0 && builder.Entries == headerCount)
            {
                throw builder.Invalid($"line {lineNumber}: the header announces {headerCount} words but there are more");
            }

            builder.Add(word, row);
            if (builder.Count == limit)
            {
                stoppedEarly = true;
                break;
            }
        }

        if (headerCount >= 0 && !stoppedEarly && builder.Entries != headerCount)
        {
            throw builder.Invalid($"the header announces {headerCount} words but the file holds {builder.Entries} (truncated?)");
        }

        return builder.Build(dimension, Path.GetFileName(fullPath));
    }

    /// <summary>
    /// Loads a word2vec binary file: an ASCII header line <c>count dim</c>, then per word its UTF-8 bytes up to a space
    /// (leading newlines skipped), <c>dim</c> little-endian float32 values and an optional newline.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="maxWords">Keep only the first this many words; null for all.</param>
    /// <returns>The table, named after the file.</returns>
    /// <exception cref="ArgumentException"><paramref name="path"/> is null, empty or malformed.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxWords"/> is below 1.</exception>
    /// <exception cref="InvalidDataException">The file is malformed: a bad header, a file too short for the header's
    /// count, a truncated entry, an empty or over-long word, a non-finite value, or data after the last entry.</exception>
    /// <remarks>Invalid UTF-8 in a word is replaced by U+FFFD (some published files hold such words).</remarks>
    public static WordVectors LoadBinary(string path, int? maxWords = null)
    {
        string fullPath = EncoderFile.FullPath(path, nameof(path));
        int limit = CheckMaxWords(maxWords);
        using FileStream stream = EncoderFile.OpenRead(fullPath);
        var builder = new Builder(path);

        // Header: "count dim" then '\n'.
        Span<byte> headerBytes = stackalloc byte[64];
        int headerLength = 0;
        while (true)
        {
            int b = stream.ReadByte();
            if (b < 0)
            {
                throw builder.Invalid("the header line 'count dim' is missing or unterminated");
            }

            if (b == '\n')
            {
                break;
            }

            if (headerLength == headerBytes.Length)
            {
                throw builder.Invalid("the header line is longer than 64 bytes (not a word2vec binary file)");
            }

            headerBytes[headerLength++] = (byte)b;
        }

        string header = Encoding.ASCII.GetString(headerBytes[..headerLength]).Trim();
        string[] parts = header.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length != 2
            || !long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out long count)
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int dimension))
        {
            throw builder.Invalid($"the header line '{header}' is not 'count dim'");
        }

        if (dimension < 1 || count < 1)
        {
            throw builder.Invalid($"the header gives {count} words of dimension {dimension}");
        }

        long toRead = Math.Min(count, limit);
        // Each entry holds at least a one-byte word, a space and the values.
        long needed = toRead * ((4L * dimension) + 2);
        long available = stream.Length - stream.Position;
        if (needed > available)
        {
            throw builder.Invalid($"the header announces {count} words of dimension {dimension}, which need at least {needed} more bytes, but only {available} follow (truncated)");
        }

        builder.Reserve(toRead, dimension);
        byte[] wordBytes = new byte[MaxWordBytes];
        byte[] valueBytes = new byte[4 * dimension];
        float[] row = new float[dimension];
        var utf8 = new UTF8Encoding(false, throwOnInvalidBytes: false);
        for (long entry = 1; entry <= toRead; entry++)
        {
            int b = stream.ReadByte();
            while (b is '\n' or '\r')
            {
                b = stream.ReadByte();
            }

            int length = 0;
            while (b != ' ')
            {
                if (b < 0)
                {
                    throw builder.Invalid($"entry {entry}: the file ends inside the word (truncated)");
                }

                if (length == MaxWordBytes)
                {
                    throw builder.Invalid($"entry {entry}: the word is longer than {MaxWordBytes} bytes");
                }

                wordBytes[length++] = (byte)b;
                b = stream.ReadByte();
            }

            if (length == 0)
            {
                throw builder.Invalid($"entry {entry}: the word is empty");
            }

            string word = utf8.GetString(wordBytes, 0, length);
            int read = stream.ReadAtLeast(valueBytes, valueBytes.Length, throwOnEndOfStream: false);
            if (read < valueBytes.Length)
            {
                throw builder.Invalid($"entry {entry} ('{word}'): the file ends after {read / 4} of {dimension} values (truncated)");
            }

            if (BitConverter.IsLittleEndian)
            {
                MemoryMarshal.Cast<byte, float>(valueBytes).CopyTo(row);
            }
            else
            {
                for (int j = 0; j < dimension; j++)
                {
                    row[j] = BinaryPrimitives.ReadSingleLittleEndian(valueBytes.AsSpan(4 * j));
                }
            }

            if (!TensorPrimitives.IsFiniteAll<float>(row))
            {
                int bad = row.AsSpan().IndexOfAnyExceptInRange(float.MinValue, float.MaxValue);
                throw builder.Invalid($"entry {entry} ('{word}'): value {bad + 1} is {row[bad]}, not a finite number");
            }

            builder.Add(word, row);
        }

        if (toRead == count)
        {
            // Only line breaks and spaces may follow the last entry.
            int b;
            while ((b = stream.ReadByte()) >= 0)
            {
                if (b is not ('\n' or '\r' or ' '))
                {
                    throw builder.Invalid($"data follows the last of the {count} entries the header announces");
                }
            }
        }

        return builder.Build(dimension, Path.GetFileName(fullPath));
    }

    private static int CheckMaxWords(int? maxWords)
    {
        if (maxWords is int value)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1, nameof(maxWords));
            return value;
        }

        return int.MaxValue;
    }

    private static ReadOnlySpan<char> NextField(ref ReadOnlySpan<char> rest)
    {
        rest = rest.TrimStart(" \t");
        int end = rest.IndexOfAny(' ', '\t');
        ReadOnlySpan<char> field;
        if (end < 0)
        {
            field = rest;
            rest = default;
        }
        else
        {
            field = rest[..end];
            rest = rest[end..];
        }

        return field;
    }

    private static int CountFields(ReadOnlySpan<char> rest)
    {
        int fields = 0;
        while (!NextField(ref rest).IsEmpty)
        {
            fields++;
        }

        return fields;
    }

    /// <summary>Accumulates loaded words and vectors.</summary>
    private sealed class Builder(string path)
    {
        private readonly Dictionary<string, int> _index = new(StringComparer.Ordinal);
        private readonly List<string> _words = [];
        private float[] _vectors = [];
        private long _used;

        /// <summary>Entries read, duplicates included.</summary>
        public long Entries { get; private set; }

        /// <summary>Distinct words kept.</summary>
        public int Count => _words.Count;

        public InvalidDataException Invalid(string reason) => new($"Word-vector file '{path}' is invalid: {reason}.");

        public void Reserve(long words, int dimension)
        {
            long values = words * dimension;
            if (values > Array.MaxLength)
            {
                throw Invalid($"{words} words of dimension {dimension} exceed the largest table ({Array.MaxLength} values); pass maxWords");
            }

            _vectors = new float[values];
        }

        public void Add(ReadOnlySpan<char> word, ReadOnlySpan<float> row)
        {
            Entries++;
            var lookup = _index.GetAlternateLookup<ReadOnlySpan<char>>();
            if (lookup.ContainsKey(word))
            {
                return;
            }

            string text = word.ToString();
            _index.Add(text, _words.Count);
            _words.Add(text);
            long end = _used + row.Length;
            if (end > _vectors.Length)
            {
                if (end > Array.MaxLength)
                {
                    throw Invalid($"more than {Array.MaxLength} values; pass maxWords");
                }

                Array.Resize(ref _vectors, (int)Math.Min(Array.MaxLength, Math.Max(end, Math.Max(1024, _vectors.Length * 2L))));
            }

            row.CopyTo(_vectors.AsSpan((int)_used));
            _used = end;
        }

        public WordVectors Build(int dimension, string name)
        {
            if (_words.Count == 0)
            {
                throw Invalid("it holds no word vectors");
            }

            float[] vectors = _vectors.Length == _used ? _vectors : _vectors.AsSpan(0, (int)_used).ToArray();
            return new WordVectors([.. _words], vectors, dimension, name, _index, (int)(Entries - _words.Count));
        }
    }
}

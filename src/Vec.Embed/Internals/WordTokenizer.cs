using System.Buffers;
using System.Collections.Frozen;
using System.Globalization;
using System.Text;

namespace Vec.Embed.Internals;

/// <summary>Tokens of one text: lower-cased (optionally) characters, one range per token.</summary>
internal sealed class TokenBuffer
{
    private const int InitialChars = 256;
    private const int InitialTokens = 64;

    /// <summary>Texts longer than this give buffers that are not kept for reuse.</summary>
    internal const int KeepLimit = 1 << 20;

    public char[] Chars = new char[InitialChars];
    public int[] Starts = new int[InitialTokens];
    public int[] Lengths = new int[InitialTokens];
    public int Count;

    /// <summary>Token <paramref name="index"/>.</summary>
    public ReadOnlySpan<char> this[int index] => Chars.AsSpan(Starts[index], Lengths[index]);

    /// <summary>Whether the buffers have grown past what is worth keeping between texts.</summary>
    public bool IsLarge => Chars.Length > KeepLimit;

    public void EnsureChars(int needed)
    {
        if (Chars.Length < needed)
        {
            Chars = new char[Math.Max(needed, Chars.Length * 2)];
        }
    }

    public void Add(int start, int length)
    {
        if (Count == Starts.Length)
        {
            Array.Resize(ref Starts, Count * 2);
            Array.Resize(ref Lengths, Count * 2);
        }

        Starts[Count] = start;
        Lengths[Count] = length;
        Count++;
    }
}

/// <summary>
/// The word tokeniser shared by the lexical encoders. A word is a maximal run of Unicode letters (categories L*) and
/// digits (N*), continued by combining marks (M*) so decomposed accents stay inside their word; every other character
/// (spaces, punctuation, symbols and emoji, control characters, unpaired surrogates) separates words. Lower-casing is
/// invariant-culture, per code point (<see cref="Rune.ToLowerInvariant(Rune)"/>); accents are kept (no folding).
/// </summary>
internal static class WordTokenizer
{
    /// <summary>
    /// Splits <paramref name="text"/> into <paramref name="tokens"/> (cleared first), dropping the words in
    /// <paramref name="stopWords"/> when it is given (the check sees the token as emitted, i.e. after lower-casing).
    /// </summary>
    public static void Tokenize(ReadOnlySpan<char> text, bool lowerCase, FrozenSet<string>? stopWords, TokenBuffer tokens)
    {
        tokens.Count = 0;
        // A code point takes at most two UTF-16 units before and after lower-casing and at least one unit of input.
        tokens.EnsureChars(checked(text.Length * 2));
        Span<char> chars = tokens.Chars;
        FrozenSet<string>.AlternateLookup<ReadOnlySpan<char>> stop = default;
        bool filter = stopWords is not null;
        if (filter)
        {
            stop = stopWords!.GetAlternateLookup<ReadOnlySpan<char>>();
        }

        int write = 0;
        int start = -1;
        int i = 0;
        while (i < text.Length)
        {
            char c = text[i];
            bool word;
            if (c < 0x80)
            {
                i++;
                word = char.IsAsciiLetterOrDigit(c);
                if (word)
                {
                    if (start < 0)
                    {
                        start = write;
                    }

                    chars[write++] = lowerCase && char.IsAsciiLetterUpper(c) ? (char)(c | 0x20) : c;
                    continue;
                }
            }
            else
            {
                OperationStatus status = Rune.DecodeFromUtf16(text[i..], out Rune rune, out int consumed);
                i += consumed;
                if (status == OperationStatus.Done)
                {
                    UnicodeCategory category = Rune.GetUnicodeCategory(rune);
                    word = IsLetterOrDigit(category) || (start >= 0 && IsMark(category));
                    if (word)
                    {
                        if (start < 0)
                        {
                            start = write;
                        }

                        if (lowerCase)
                        {
                            rune = Rune.ToLowerInvariant(rune);
                        }

                        write += rune.EncodeToUtf16(chars[write..]);
                        continue;
                    }
                }
            }

            if (start >= 0)
            {
                write = End(tokens, start, write, filter, stop);
                start = -1;
            }
        }

        if (start >= 0)
        {
            End(tokens, start, write, filter, stop);
        }
    }

    private static int End(TokenBuffer tokens, int start, int write, bool filter, FrozenSet<string>.AlternateLookup<ReadOnlySpan<char>> stop)
    {
        if (filter && stop.Contains(tokens.Chars.AsSpan(start, write - start)))
        {
            return start;
        }

        tokens.Add(start, write - start);
        return write;
    }

    private static bool IsLetterOrDigit(UnicodeCategory category) => category
        is UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
        or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter
        or UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber;

    private static bool IsMark(UnicodeCategory category) => category
        is UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark;
}

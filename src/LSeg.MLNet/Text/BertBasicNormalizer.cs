using System.Globalization;
using System.Text;
using Microsoft.ML.Tokenizers;

namespace LSeg.MLNet.Text;

/// <summary>
/// The text clean-up of BERT's uncased BasicTokenizer (what all-MiniLM-L6-v2's tokenizer does before WordPiece),
/// written out so that a whitespace split of its result gives BERT's words: control and format characters removed,
/// every whitespace character a space, CJK ideographs and punctuation set apart by spaces, lower case, accents removed.
/// </summary>
/// <remarks>
/// Microsoft.ML.Tokenizers' own BERT basic tokenization (2.0) keeps accents by default, so "café" became [UNK], and
/// its word-or-punctuation split drops characters that are neither word characters nor Unicode punctuation: BERT
/// counts the ASCII symbols <c>$ + &lt; = &gt; ^ ` | ~</c> as punctuation and keeps them, and turns tabs and newlines into
/// spaces where the library removed them ("traffic\tlight" became one word). Each rule below is one of BERT's.
/// </remarks>
internal sealed class BertBasicNormalizer : Normalizer
{
    /// <summary>The one instance (the normalizer has no state).</summary>
    public static BertBasicNormalizer Instance { get; } = new();

    private BertBasicNormalizer()
    {
    }

    /// <inheritdoc/>
    public override string Normalize(string original) => Normalize(original.AsSpan());

    /// <inheritdoc/>
    public override string Normalize(ReadOnlySpan<char> original)
    {
        var cleaned = new StringBuilder(original.Length + 8);
        foreach (Rune rune in original.EnumerateRunes())
        {
            if (IsWhitespace(rune))
                cleaned.Append(' ');
            else if (rune.Value is 0 or 0xFFFD || IsControl(rune))
                continue;
            else if (IsCjkIdeograph(rune.Value))
                cleaned.Append(' ').Append(rune.ToString()).Append(' ');
            else
                cleaned.Append(rune.ToString());
        }

        // Lower case, then accents off: decomposed, without its non-spacing marks (Python's unicodedata "Mn").
        string decomposed = cleaned.ToString().ToLowerInvariant().Normalize(NormalizationForm.FormD);
        var result = new StringBuilder(decomposed.Length + 8);
        foreach (Rune rune in decomposed.EnumerateRunes())
        {
            if (Rune.GetUnicodeCategory(rune) == UnicodeCategory.NonSpacingMark)
                continue;
            if (IsPunctuation(rune))
                result.Append(' ').Append(rune.ToString()).Append(' ');
            else
                result.Append(rune.ToString());
        }
        return result.ToString();
    }

    // BERT: space, \t, \n, \r and the Unicode space separators (Zs).
    private static bool IsWhitespace(Rune rune) =>
        rune.Value is ' ' or '\t' or '\n' or '\r' || Rune.GetUnicodeCategory(rune) == UnicodeCategory.SpaceSeparator;

    // BERT: categories starting with "C" (control, format, private use, surrogate, unassigned), except the whitespace above.
    private static bool IsControl(Rune rune) => Rune.GetUnicodeCategory(rune) is UnicodeCategory.Control or UnicodeCategory.Format
        or UnicodeCategory.PrivateUse or UnicodeCategory.Surrogate or UnicodeCategory.OtherNotAssigned;

    // BERT: every non-letter, non-digit ASCII character from '!' to '~', and every Unicode punctuation category ("P*").
    private static bool IsPunctuation(Rune rune)
    {
        int cp = rune.Value;
        if (cp is (>= 33 and <= 47) or (>= 58 and <= 64) or (>= 91 and <= 96) or (>= 123 and <= 126))
            return true;
        return Rune.GetUnicodeCategory(rune) is UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation
            or UnicodeCategory.OpenPunctuation or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation
            or UnicodeCategory.FinalQuotePunctuation or UnicodeCategory.OtherPunctuation;
    }

    // BERT's _is_chinese_char: the CJK Unified Ideographs blocks and their extensions and compatibility blocks.
    private static bool IsCjkIdeograph(int cp) =>
        cp is (>= 0x4E00 and <= 0x9FFF) or (>= 0x3400 and <= 0x4DBF) or (>= 0x20000 and <= 0x2A6DF) or (>= 0x2A700 and <= 0x2B73F)
            or (>= 0x2B740 and <= 0x2B81F) or (>= 0x2B820 and <= 0x2CEAF) or (>= 0xF900 and <= 0xFAFF) or (>= 0x2F800 and <= 0x2FA1F);
}

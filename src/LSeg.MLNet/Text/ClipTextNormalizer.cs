using System.Globalization;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace LSeg.MLNet.Text;

/// <summary>
/// CLIP's text clean-up before BPE (OpenAI <c>simple_tokenizer.py</c>): Unicode NFC (what ftfy applies to clean
/// text), HTML-unescape twice, collapse whitespace runs to one space, trim, then Python's <c>str.lower()</c>.
/// </summary>
internal sealed partial class ClipTextNormalizer : Normalizer
{
    [GeneratedRegex(@"\s+")]
    private static partial Regex WhitespaceRun();

    /// <inheritdoc/>
    public override string Normalize(string original)
    {
        string text = original.Normalize(NormalizationForm.FormC);
        text = WebUtility.HtmlDecode(WebUtility.HtmlDecode(text)).Trim();
        text = WhitespaceRun().Replace(text, " ").Trim();
        return PythonLower(text);
    }

    /// <inheritdoc/>
    public override string Normalize(ReadOnlySpan<char> original) => Normalize(original.ToString());

    /// <summary>
    /// Python's <c>str.lower()</c>: the full Unicode lower-case mapping, which differs from .NET's invariant
    /// lower-casing for U+0130 (İ → i + combining dot) and for a capital sigma that ends a word (→ ς).
    /// </summary>
    internal static string PythonLower(string text)
    {
        var builder = new StringBuilder(text.Length);
        for (int i = 0; i < text.Length;)
        {
            var rune = Rune.GetRuneAt(text, i);
            if (rune.Value == 0x130)
                builder.Append("i\u0307");
            else if (rune.Value == 0x3A3)
                builder.Append(IsFinalSigma(text, i) ? 'ς' : 'σ');
            else
                builder.Append(Rune.ToLowerInvariant(rune).ToString());
            i += rune.Utf16SequenceLength;
        }
        return builder.ToString();
    }

    // Unicode Final_Sigma: preceded by a cased letter (skipping case-ignorable ones) and not followed by one.
    private static bool IsFinalSigma(string text, int index)
    {
        static bool IsCased(char c) => char.IsLetter(c) && (char.IsUpper(c) || char.IsLower(c) || CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.TitlecaseLetter);
        static bool IsIgnorable(char c) => CharUnicodeInfo.GetUnicodeCategory(c) is UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark or UnicodeCategory.Format or UnicodeCategory.ModifierLetter or UnicodeCategory.ModifierSymbol || c is '\'' or '.' or ':' or '\u00B7' or '\u2019';
        int before = index - 1;
        while (before >= 0 && IsIgnorable(text[before]))
            before--;
        if (before < 0 || !IsCased(text[before]))
            return false;
        int after = index + 1;
        while (after < text.Length && IsIgnorable(text[after]))
            after++;
        return after >= text.Length || !IsCased(text[after]);
    }
}

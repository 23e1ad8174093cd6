using System.Globalization;
using System.Text;

namespace LSeg.Cli.Common;

/// <summary>
/// Text from the user (labels, paths) made safe to print: control and format characters (ANSI escape sequences,
/// carriage returns, bidirectional overrides) are written as <c>\uXXXX</c>, so a label cannot move the cursor, recolour
/// the terminal or hide text.
/// </summary>
internal static class TerminalText
{
    /// <summary><paramref name="text"/> with every control or format character escaped.</summary>
    public static string Escape(string text)
    {
        if (!text.Any(NeedsEscape))
            return text;
        var builder = new StringBuilder(text.Length + 8);
        foreach (char c in text)
            builder.Append(NeedsEscape(c) ? $"\\u{(int)c:X4}" : c);
        return builder.ToString();
    }

    /// <summary>Each line of <paramref name="text"/> escaped, the line breaks kept (a table whose cells hold user text).</summary>
    public static string EscapeLines(string text) => string.Join('\n', text.Split('\n').Select(line => Escape(line.TrimEnd('\r')) + (line.EndsWith('\r') ? "\r" : "")));

    // The zero-width non-joiner and joiner (U+200C, U+200D) are format characters too, but part of how Persian, Indic
    // scripts and emoji sequences are written: escaping them would print a file name that no longer matches the file.
    private static bool NeedsEscape(char c) =>
        c is not ('\u200C' or '\u200D')
        && char.GetUnicodeCategory(c) is UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator;
}

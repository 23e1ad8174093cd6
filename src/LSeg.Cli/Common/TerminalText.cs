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

    private static bool NeedsEscape(char c) =>
        char.GetUnicodeCategory(c) is UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator;
}

using System.Globalization;
using System.Text;

namespace LSeg.MLNet.Package;

/// <summary>
/// The form in which a label is matched against a manifest's calibrated and trained names: trimmed, each run of white
/// space one space, control and format characters (a zero-width space pasted with the text) dropped, compared ignoring
/// case. MiniLM reads a label so (BERT's cleaning collapses white space and drops those characters; CLIP's collapses
/// white space), so "sign  symbol" and "sign symbol", which get one embedding, also get one calibration.
/// </summary>
internal static class LabelNameKey
{
    /// <summary>How keys compare.</summary>
    public static StringComparer Comparer => StringComparer.OrdinalIgnoreCase;

    /// <summary>The key of <paramref name="label"/>.</summary>
    public static string Of(string label)
    {
        var key = new StringBuilder(label.Length);
        bool space = false;
        foreach (char c in label)
        {
            if (char.IsWhiteSpace(c))
            {
                space = key.Length > 0;
                continue;
            }
            if (char.GetUnicodeCategory(c) is UnicodeCategory.Control or UnicodeCategory.Format)
                continue;
            if (space)
                key.Append(' ');
            key.Append(c);
            space = false;
        }
        return key.ToString();
    }
}

using System.Globalization;

namespace LSeg.MLNet.Text;

/// <summary>
/// A label as error messages quote it: whole when it is short, otherwise its start and its length. A label is user
/// input of any size (a pasted paragraph, a file read by mistake): quoted whole, a refusal of a 100,000-character label
/// was a 240 KB message, twice the label, in a log line or a problem+json answer.
/// </summary>
internal static class QuotedLabel
{
    /// <summary>Labels up to this many characters are quoted whole.</summary>
    public const int WholeUpTo = 80;

    private const int StartKept = 40;

    /// <summary><c>'label'</c>, or <c>'its first 40 characters…' (N characters)</c> for a label over <see cref="WholeUpTo"/>.</summary>
    public static string Of(string label)
    {
        if (label.Length <= WholeUpTo)
            return $"'{label}'";
        // Not cut between the two halves of a surrogate pair: the message stays valid text.
        int kept = char.IsHighSurrogate(label[StartKept - 1]) ? StartKept - 1 : StartKept;
        return string.Create(CultureInfo.InvariantCulture, $"'{label[..kept]}…' ({label.Length:N0} characters)");
    }
}

namespace LSeg.Serving.Api;

/// <summary>
/// The label list of a request: from the comma-separated <c>labels</c> form field of <c>/v1/segment</c> (split,
/// trimmed, empty entries dropped, as <c>lseg segment --labels</c>) or the JSON array of a label change, then checked
/// against the server's limits. The model's own checks (tokens, a fixed label table) come after, in EncodeLabels.
/// A label's length is counted in Unicode characters (runes), as the refusal says: an emoji outside the Basic
/// Multilingual Plane is one character, not its two UTF-16 code units.
/// </summary>
internal static class LabelInput
{
    /// <exception cref="ServingProblem">No label, too many, a label too long, empty or repeated.</exception>
    public static string[] FromCommaSeparated(string? text, LanguageSegmentationServingOptions options)
    {
        // A multipart text field is bounded only by the body limit (megabytes): the limits are checked on a scan of the
        // text first, so an oversized field costs one pass, not millions of strings.
        int count = 0, tooLong = -1, tooLongLength = 0;
        var span = (text ?? "").AsSpan();
        foreach (var range in span.Split(','))
        {
            var label = span[range].Trim();
            if (label.IsEmpty)
                continue;
            // Runes are counted only past the limit in code units: a label within it in code units is within it in runes.
            if (tooLong < 0 && label.Length > options.MaxLabelLength && Length(label) is int length && length > options.MaxLabelLength)
                (tooLong, tooLongLength) = (count, length);
            count++;
        }
        if (count > options.MaxLabels)
            throw Problems.TooManyLabels(count, options.MaxLabels);
        if (tooLong >= 0)
            throw Problems.LabelTooLong(tooLong, tooLongLength, options.MaxLabelLength);
        var labels = (text ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (labels.Length == 0)
            throw Problems.MissingLabels("send a form field 'labels' with comma-separated labels, e.g. labels=cat, floor, other");
        return Checked(labels, options);
    }

    /// <exception cref="ServingProblem">No label, too many, a label too long, empty or repeated.</exception>
    public static string[] FromList(IReadOnlyList<string?>? labels, LanguageSegmentationServingOptions options)
    {
        if (labels is null || labels.Count == 0)
            throw Problems.MissingLabels("send a JSON body such as {\"labels\": [\"cat\", \"floor\", \"other\"]}");
        var trimmed = new string[labels.Count];
        for (int i = 0; i < labels.Count; i++)
            trimmed[i] = labels[i]?.Trim() ?? "";
        return Checked(trimmed, options);
    }

    /// <summary>Characters (runes) in <paramref name="label"/>; half of a surrogate pair counts as one (the model refuses it later).</summary>
    private static int Length(ReadOnlySpan<char> label)
    {
        int count = 0;
        foreach (var _ in label.EnumerateRunes())
            count++;
        return count;
    }

    private static string[] Checked(string[] labels, LanguageSegmentationServingOptions options)
    {
        if (labels.Length > options.MaxLabels)
            throw Problems.TooManyLabels(labels.Length, options.MaxLabels);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < labels.Length; i++)
        {
            if (labels[i].Length == 0)
                throw Problems.EmptyLabel(i);
            if (labels[i].Length > options.MaxLabelLength && Length(labels[i]) is int length && length > options.MaxLabelLength)
                throw Problems.LabelTooLong(i, length, options.MaxLabelLength);
            if (!seen.Add(labels[i]))
                throw Problems.DuplicateLabel(labels[i], i);
        }
        return labels;
    }
}

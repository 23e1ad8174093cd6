using LSeg.MLNet;

namespace LSeg.Cli.Common;

/// <summary>Turns a <c>--labels</c> value ("dog, grass, other") into the list of labels the model scores.</summary>
internal static class LabelList
{
    /// <summary>The most labels one mask PNG can hold: its pixels are 8-bit label indices, 0 to 255.</summary>
    public const int MaxLabels = 256;

    /// <summary>Splits on commas, trims each label and drops empty entries.</summary>
    /// <exception cref="CommandFailure">A usage error (exit 2): no label remains, a label repeats (ignoring case), or there are more than <see cref="MaxLabels"/>.</exception>
    public static IReadOnlyList<string> Parse(string? text, string optionName = "--labels")
    {
        if (string.IsNullOrWhiteSpace(text))
            throw new CommandFailure($"{optionName} is empty: give comma-separated labels, e.g. {optionName} \"dog, grass, other\".", ExitCodes.Usage);
        var labels = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (labels.Length == 0)
            throw new CommandFailure($"{optionName} \"{text}\" contains no label, only commas and spaces: give comma-separated labels, e.g. {optionName} \"dog, grass, other\".", ExitCodes.Usage);
        if (labels.Length > MaxLabels)
            throw new CommandFailure($"{optionName} has {labels.Length} labels; a mask PNG holds 8-bit label indices (0 to 255), so at most {MaxLabels} labels.", ExitCodes.Usage);
        // Case-blind: the text encoders (MiniLM, CLIP) lower-case their input, so "Dog" and "dog" are one label to them.
        var seen = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (string label in labels)
        {
            if (seen.TryGetValue(label, out string? first))
            {
                string spelled = first == label ? "" : $" (as \"{first}\" and \"{label}\": the text encoders ignore case)";
                throw new CommandFailure($"{optionName} names \"{label}\" twice{spelled}: each label must appear once.", ExitCodes.Usage);
            }
            seen.Add(label, label);
        }
        return labels;
    }

    /// <summary>
    /// Encodes <paramref name="labels"/> with <paramref name="model"/>. A label the model refuses (two it cannot tell
    /// apart, such as "hot dog" and "hot  dog", or "café" and "cafe" for MiniLM; a label with no word it knows; one too
    /// long) is a usage error (exit 2) in the model's words, as a repeat that <see cref="Parse"/> finds.
    /// </summary>
    /// <exception cref="CommandFailure">The model refuses a label.</exception>
    public static LabelEmbeddings Encode(LanguageSegmentationModel model, IReadOnlyList<string> labels)
    {
        try
        {
            return model.EncodeLabels(labels);
        }
        catch (ArgumentException e) when (e.ParamName == "labels")
        {
            throw new CommandFailure(e.Message.Replace(" (Parameter 'labels')", "", StringComparison.Ordinal), ExitCodes.Usage);
        }
    }
}

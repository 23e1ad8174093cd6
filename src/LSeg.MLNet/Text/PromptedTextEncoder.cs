using System.Globalization;

namespace LSeg.MLNet.Text;

/// <summary>
/// Applies the package's prompt templates (e.g. <c>a photo of a {0}.</c>) to each label before encoding. With several
/// templates the label's embedding is the mean of the L2-normalised embeddings of its prompts (CLIP's prompt
/// ensembling); the head normalises it again, so only its direction matters.
/// </summary>
internal sealed class PromptedTextEncoder : ILabelTextEncoder
{
    private readonly ILabelTextEncoder _inner;
    private readonly string[] _templates;

    /// <summary>Wraps <paramref name="inner"/> (owned) with one or more templates, each holding <c>{0}</c> once.</summary>
    /// <exception cref="ArgumentException">No template, or a template without exactly one <c>{0}</c>.</exception>
    public PromptedTextEncoder(ILabelTextEncoder inner, IReadOnlyList<string> templates)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(templates);
        if (templates.Count == 0)
            throw new ArgumentException("At least one prompt template is needed.", nameof(templates));
        foreach (string template in templates)
            RequireTemplate(template);
        _inner = inner;
        _templates = [.. templates];
    }

    /// <summary>The templates, in order.</summary>
    public IReadOnlyList<string> Templates => _templates;

    /// <inheritdoc/>
    public int EmbeddingSize => _inner.EmbeddingSize;

    /// <summary>Checks that <paramref name="template"/> holds <c>{0}</c> exactly once and no other placeholder.</summary>
    /// <exception cref="ArgumentException">Names the template and what is wrong with it.</exception>
    public static void RequireTemplate(string template)
    {
        if (string.IsNullOrWhiteSpace(template))
            throw new ArgumentException("A prompt template is empty.", nameof(template));
        // Formatted with a marker rather than searched for "{0}": "{{0}}" is a literal "{0}" and holds no label, while
        // "{0,-5}" does hold one.
        const string Marker = "\u0001label\u0001";
        string formatted;
        try
        {
            formatted = string.Format(CultureInfo.InvariantCulture, template, Marker);
        }
        catch (FormatException e)
        {
            throw new ArgumentException($"Prompt template '{template}' is not a valid format string (braces other than {{0}} must be doubled): {e.Message}", nameof(template), e);
        }
        int first = formatted.IndexOf(Marker, StringComparison.Ordinal);
        if (first < 0 || formatted.IndexOf(Marker, first + Marker.Length, StringComparison.Ordinal) >= 0)
            throw new ArgumentException($"Prompt template '{template}' must contain '{{0}}' (the label) exactly once.", nameof(template));
    }

    /// <inheritdoc/>
    public float[][] Encode(IReadOnlyList<string> labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        var prompts = new string[labels.Count * _templates.Length];
        for (int l = 0; l < labels.Count; l++)
        {
            for (int t = 0; t < _templates.Length; t++)
                prompts[l * _templates.Length + t] = string.Format(CultureInfo.InvariantCulture, _templates[t], labels[l]);
        }
        float[][] encoded;
        try
        {
            encoded = _inner.Encode(prompts);
        }
        catch (ArgumentException e) when (Array.FindIndex(prompts, p => e.Message.Contains(QuotedLabel.Of(p), StringComparison.Ordinal)) is int p and >= 0)
        {
            // The inner encoder names the prompt it was given, a text the caller never wrote: name their label instead,
            // and say what to do (ArgumentException.Message ends with the parameter, which this message states itself).
            string detail = Runtime.ArgumentMessage.WithoutParameter(e);
            string template = _templates[p % _templates.Length];
            string label = QuotedLabel.Of(labels[p / _templates.Length]);
            string remedy = $"Shorten it, or set {nameof(LanguageSegmentationModelOptions)}.{nameof(LanguageSegmentationModelOptions.TruncateLongLabels)} to cut such labels.";
            throw new ArgumentException(
                template == "{0}"
                    ? $"{detail} {remedy}"
                    : $"Label {label} cannot be encoded in this model's prompt '{template}', which adds tokens: in that prompt {detail.Replace("Label " + QuotedLabel.Of(prompts[p]), "it", StringComparison.Ordinal)} {remedy}",
                nameof(labels), e);
        }
        if (_templates.Length == 1)
            return encoded;
        var result = new float[labels.Count][];
        for (int l = 0; l < labels.Count; l++)
        {
            var mean = new float[EmbeddingSize];
            for (int t = 0; t < _templates.Length; t++)
            {
                float[] vector = encoded[l * _templates.Length + t];
                double norm = Math.Sqrt(vector.Sum(v => (double)v * v));
                float scale = norm > 0 ? (float)(1.0 / (norm * _templates.Length)) : 0f;
                for (int i = 0; i < mean.Length; i++)
                    mean[i] += vector[i] * scale;
            }
            result[l] = mean;
        }
        return result;
    }

    /// <inheritdoc/>
    /// <remarks>Asked of the label itself: the template's own words would otherwise always be known.</remarks>
    public bool KnowsNoWordOf(string label) => _inner.KnowsNoWordOf(label);

    /// <inheritdoc/>
    public void Dispose() => _inner.Dispose();
}

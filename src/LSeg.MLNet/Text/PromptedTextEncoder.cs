namespace LSeg.MLNet.Text;

/// <summary>Applies the package's prompt template (e.g. <c>a photo of a {0}.</c>) to each label before encoding.</summary>
internal sealed class PromptedTextEncoder(ILabelTextEncoder inner, string prompt) : ILabelTextEncoder
{
    /// <inheritdoc/>
    public int EmbeddingSize => inner.EmbeddingSize;

    /// <inheritdoc/>
    public float[][] Encode(IReadOnlyList<string> labels) =>
        inner.Encode(labels.Select(label => string.Format(System.Globalization.CultureInfo.InvariantCulture, prompt, label)).ToArray());

    /// <inheritdoc/>
    public void Dispose() => inner.Dispose();
}

namespace LSeg.MLNet.Text;

/// <summary>
/// Turns label texts into the embeddings the segmentation head compares pixels with (paper Fig. 2, text encoder).
/// Implementations are thread-safe; each returned vector has <see cref="EmbeddingSize"/> elements.
/// </summary>
internal interface ILabelTextEncoder : IDisposable
{
    /// <summary>Number of elements of each label embedding.</summary>
    int EmbeddingSize { get; }

    /// <summary>Encodes each label to one embedding, in the order given.</summary>
    float[][] Encode(IReadOnlyList<string> labels);
}

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

    /// <summary>
    /// True when the encoder's tokenizer knows none of the words of <paramref name="label"/>: every token but the
    /// special ones is its unknown token, or there is none (a WordPiece vocabulary reading "猫" or a 1,000-letter word,
    /// or dropping "🐱"), so the
    /// embedding says nothing about the label and every such label gets the same one. False for tokenizers that read
    /// any text (CLIP's byte-level BPE) and for fixed tables.
    /// </summary>
    bool KnowsNoWordOf(string label) => false;
}

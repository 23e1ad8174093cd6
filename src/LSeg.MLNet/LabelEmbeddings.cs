namespace LSeg.MLNet;

/// <summary>
/// Encoded labels of one <see cref="LanguageSegmentationModel"/>: one L2-comparable embedding per label, in the order
/// given. Made by <see cref="LanguageSegmentationModel.EncodeLabels"/>; immutable and shareable between threads.
/// </summary>
public sealed class LabelEmbeddings
{
    private readonly float[] _values;

    internal LabelEmbeddings(LanguageSegmentationModel model, string[] labels, float[] values, int embeddingSize, float[] logitOffsets)
    {
        Model = model;
        Labels = labels;
        _values = values;
        EmbeddingSize = embeddingSize;
        LogitOffsets = logitOffsets;
    }

    internal LanguageSegmentationModel Model { get; }

    /// <summary>The labels, in the order their indices appear in a <see cref="SegmentationResult.Mask"/>.</summary>
    public IReadOnlyList<string> Labels { get; }

    /// <summary>Number of labels.</summary>
    public int Count => Labels.Count;

    /// <summary>Size C of each embedding.</summary>
    public int EmbeddingSize { get; }

    /// <summary>Row-major [Count, EmbeddingSize] embeddings.</summary>
    public ReadOnlyMemory<float> Values => _values;

    internal float[] Buffer => _values;

    /// <summary>
    /// Per label, the offset the package adds to its logits (the manifest's <c>labelLogitOffsets</c>, e.g. for a
    /// calibrated catch-all label such as "other"); 0 for labels without one.
    /// </summary>
    internal float[] LogitOffsets { get; }
}

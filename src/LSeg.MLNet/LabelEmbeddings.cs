namespace LSeg.MLNet;

/// <summary>
/// Encoded labels of one <see cref="LanguageSegmentationModel"/>: one L2-comparable embedding per label, in the order
/// given. Made by <see cref="LanguageSegmentationModel.EncodeLabels"/>; immutable and shareable between threads.
/// </summary>
public sealed class LabelEmbeddings
{
    private readonly float[] _values;

    /// <param name="model">The model that encoded them.</param>
    /// <param name="labels">The offered labels.</param>
    /// <param name="values">Row-major embeddings of the offered labels, then of the unoffered trained names the catch-all absorbs.</param>
    /// <param name="embeddingSize">Values per embedding.</param>
    /// <param name="logitOffsets">One offset per row of <paramref name="values"/>.</param>
    /// <param name="catchAllIndex">The offered label that takes the pixels the rows after the offered labels win; -1 when there are none.</param>
    internal LabelEmbeddings(LanguageSegmentationModel model, string[] labels, float[] values, int embeddingSize, float[] logitOffsets, int catchAllIndex = -1)
    {
        Model = model;
        Labels = labels;
        _values = values;
        EmbeddingSize = embeddingSize;
        LogitOffsets = logitOffsets;
        ScoredCount = values.Length / embeddingSize;
        CatchAllIndex = ScoredCount > labels.Length ? catchAllIndex : -1;
    }

    internal LanguageSegmentationModel Model { get; }

    /// <summary>The labels, in the order their indices appear in a <see cref="SegmentationResult.Mask"/>.</summary>
    public IReadOnlyList<string> Labels { get; }

    /// <summary>Number of labels.</summary>
    public int Count => Labels.Count;

    /// <summary>Size C of each embedding.</summary>
    public int EmbeddingSize { get; }

    /// <summary>Row-major [Count, EmbeddingSize] embeddings.</summary>
    public ReadOnlyMemory<float> Values => _values.AsMemory(0, Count * EmbeddingSize);

    /// <summary>
    /// Every row the head scores: the <see cref="Count"/> offered labels, then the unoffered trained names whose pixels
    /// go to <see cref="CatchAllIndex"/> (the package's <c>untrainedLabels.unofferedLabelSimilarity</c>).
    /// </summary>
    internal float[] Buffer => _values;

    /// <summary>Rows of <see cref="Buffer"/>: <see cref="Count"/> plus the absorbed trained names.</summary>
    internal int ScoredCount { get; }

    /// <summary>The offered label that takes what an absorbed name wins; -1 when nothing is absorbed.</summary>
    internal int CatchAllIndex { get; }

    /// <summary>
    /// Maps a head's winners over <see cref="ScoredCount"/> rows to offered labels: an absorbed name's pixels become
    /// the catch-all's. No-op when nothing is absorbed.
    /// </summary>
    internal void FoldAbsorbed(Span<int> winners)
    {
        if (CatchAllIndex < 0)
            return;
        int count = Count, catchAll = CatchAllIndex;
        for (int i = 0; i < winners.Length; i++)
        {
            if (winners[i] >= count)
                winners[i] = catchAll;
        }
    }

    /// <summary>Pixel counts over <see cref="ScoredCount"/> rows, folded to one per offered label like <see cref="FoldAbsorbed(Span{int})"/>.</summary>
    internal long[] FoldAbsorbed(long[] countsPerRow)
    {
        if (countsPerRow.Length == Count)
            return countsPerRow;
        var counts = countsPerRow[..Count];
        for (int k = Count; k < countsPerRow.Length; k++)
            counts[CatchAllIndex] += countsPerRow[k];
        return counts;
    }

    /// <summary>
    /// Per label, the offset the package adds to its logits (the manifest's <c>labelLogitOffsets</c>, e.g. for a
    /// calibrated catch-all label such as "other"); 0 for labels without one.
    /// </summary>
    internal float[] LogitOffsets { get; }
}

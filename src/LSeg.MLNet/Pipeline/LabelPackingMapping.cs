using System.ComponentModel;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms;

namespace LSeg.MLNet.Pipeline;

/// <summary>Input of <see cref="LabelPackingMapping"/>: [N, C, then N·C embedding values, then N logit offsets, then the offered-label count and the catch-all index] of the row's labels.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class LabelPackingInput
{
    /// <summary>The label count N, the embedding size C, the row-major [N, C] embeddings, then the N logit offsets
    /// (absent in models saved before packages had offsets: read as zeros), then the offered-label count and the
    /// catch-all index (absent in models saved before them: N and 0).</summary>
    [ColumnName(PipelineColumns.LabelEmbeddingsRaw)]
    public float[] Raw { get; set; } = [];
}

/// <summary>Output of <see cref="LabelPackingMapping"/>: the embeddings in a fixed-size vector, and their shape.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class LabelPackingOutput
{
    /// <summary>The [N, C] embeddings followed by the N logit offsets, the offered-label count and the catch-all index, zero-padded to <see cref="LabelPackingMapping.Capacity"/> values.</summary>
    [ColumnName(SegmentationGraph.LabelEmbeddingsColumn)]
    [VectorType(LabelPackingMapping.Capacity)]
    public float[] Embeddings { get; set; } = [];

    /// <summary>[N, C].</summary>
    [ColumnName(SegmentationGraph.LabelShapeColumn)]
    [VectorType(2)]
    public long[] Shape { get; set; } = [];
}

/// <summary>
/// Puts a row's label embeddings into a fixed-size vector: ML.NET's ApplyOnnxModel accepts only known-size vector
/// inputs, while the number of labels varies. The composed graph slices the first N·C values back out, and the N logit
/// offsets after them when the head takes offsets.
/// Stateless, saved by its contract name.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
[CustomMappingFactoryAttribute(ContractName)]
public sealed class LabelPackingMapping : CustomMappingFactory<LabelPackingInput, LabelPackingOutput>
{
    /// <summary>The contract name stored in saved models.</summary>
    public const string ContractName = "LSeg.PackLabels";

    /// <summary>Values the packed vector holds: N·C + N may not exceed it (e.g. 680 labels of 384 values).</summary>
    public const int Capacity = 1 << 18;

    /// <summary>Fills <paramref name="output"/> from <paramref name="input"/>.</summary>
    /// <exception cref="ArgumentException">N·C + N exceeds <see cref="Capacity"/>.</exception>
    public static void Map(LabelPackingInput input, LabelPackingOutput output)
    {
        var raw = input.Raw;
        long count = (long)raw[0], size = (long)raw[1], rows = count * (size + 1);
        if (rows + 2 > Capacity)
            throw new ArgumentException($"A row has {count} labels of {size} values; the pipeline carries at most {Capacity} values ({(Capacity - 2) / Math.Max(size + 1, 1)} labels).", nameof(input));
        var packed = new float[Capacity];
        // Embeddings and, when present, the offsets after them; a raw vector without offsets leaves them 0.
        Array.Copy(raw, 2, packed, 0, Math.Min(raw.Length - 2, rows));
        // Then the offered-label count and the catch-all index (LabelEmbeddings.FoldAbsorbed). A raw vector saved before
        // them scores only offered labels: count N, nothing to fold.
        bool hasFold = raw.Length >= 2 + rows + 2;
        packed[rows] = hasFold ? raw[2 + rows] : count;
        packed[rows + 1] = hasFold ? raw[2 + rows + 1] : 0;
        output.Embeddings = packed;
        output.Shape = [count, size];
    }

    /// <summary>
    /// The raw form <see cref="Map"/> reads: [N, C, embeddings…, logit offsets…, offered labels, catch-all index], N
    /// counting the trained names the catch-all absorbs after the offered labels.
    /// </summary>
    /// <exception cref="ArgumentException">The labels, with the trained names the catch-all absorbs, need more than <see cref="Capacity"/> values.</exception>
    internal static float[] Raw(LabelEmbeddings embeddings)
    {
        int rows = embeddings.ScoredCount;
        // Checked here, where fixed labels are encoded at Fit and WithLabels, rather than only when a row is read.
        if ((long)rows * (embeddings.EmbeddingSize + 1) + 2 > Capacity)
        {
            string absorbed = rows > embeddings.Count ? $" (scored as {rows} with the {rows - embeddings.Count} trained names the catch-all stands for)" : "";
            throw new ArgumentException(
                $"{embeddings.Count} labels{absorbed} of {embeddings.EmbeddingSize} values are more than an ML.NET LanguageSegment pipeline carries per row " +
                $"({Capacity} values: {(Capacity - 2) / (embeddings.EmbeddingSize + 1)} scored labels with this model). Offer fewer labels, or use " +
                $"{nameof(LanguageSegmentationModel)}.{nameof(LanguageSegmentationModel.Segment)}, which has no such limit.", nameof(embeddings));
        }
        var raw = new float[2 + embeddings.Buffer.Length + rows + 2];
        raw[0] = rows;
        raw[1] = embeddings.EmbeddingSize;
        embeddings.Buffer.CopyTo(raw, 2);
        embeddings.LogitOffsets.CopyTo(raw, 2 + embeddings.Buffer.Length);
        raw[^2] = embeddings.Count;
        raw[^1] = Math.Max(embeddings.CatchAllIndex, 0);
        return raw;
    }

    /// <inheritdoc/>
    public override Action<LabelPackingInput, LabelPackingOutput> GetMapping() => Map;
}

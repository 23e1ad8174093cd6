using System.ComponentModel;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms;

namespace LSeg.MLNet.Pipeline;

/// <summary>Input of <see cref="OriginalSizeMapping"/>: the head's outputs at the model input size, and the sizes.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class OriginalSizeInput
{
    /// <summary>Row-major winning label per pixel of the model input.</summary>
    [ColumnName(SegmentationGraph.LabelMapColumn)]
    public long[] LabelMap { get; set; } = [];

    /// <summary>Row-major winning logit per pixel of the model input.</summary>
    [ColumnName(SegmentationGraph.ScoresColumn)]
    public float[] Scores { get; set; } = [];

    /// <summary>One element: the number of labels of the row.</summary>
    [ColumnName(SegmentationGraph.LabelCountColumn)]
    public long[] LabelCount { get; set; } = [];

    /// <summary>[1, 3, H, W] of the model input.</summary>
    [ColumnName(PipelineColumns.PixelShape)]
    public long[] PixelShape { get; set; } = [];

    /// <summary>The pipeline settings (<see cref="PipelineSettings"/>).</summary>
    [ColumnName(PipelineColumns.Settings)]
    public double[] Settings { get; set; } = [];

    /// <summary>Width of the original image.</summary>
    [ColumnName(PipelineColumns.OriginalWidth)]
    public int Width { get; set; }

    /// <summary>Height of the original image.</summary>
    [ColumnName(PipelineColumns.OriginalHeight)]
    public int Height { get; set; }
}

/// <summary>Output of <see cref="OriginalSizeMapping"/>.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class OriginalSizeOutput
{
    /// <summary>Row-major label index (0-based) per pixel of the original image.</summary>
    [ColumnName(PipelineColumns.MaskIndices)]
    public uint[] Mask { get; set; } = [];

    /// <summary>Row-major winning logit per pixel of the original image.</summary>
    [ColumnName(PipelineColumns.FullScores)]
    public float[] Scores { get; set; } = [];

    /// <summary>Pixels of each label.</summary>
    [ColumnName(PipelineColumns.PixelCounts)]
    public long[] PixelCounts { get; set; } = [];

    /// <summary>[C, h, w] of the dense pixel embeddings (the model input size divided by the embedding stride).</summary>
    [ColumnName(PipelineColumns.EmbeddingsShape)]
    [VectorType(3)]
    public long[] EmbeddingsShape { get; set; } = [];
}

/// <summary>
/// Maps the label map and scores from the model input size back to the original image size and counts pixels per
/// label, with the low-level API's own function. Stateless, saved by contract name.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
[CustomMappingFactoryAttribute(ContractName)]
public sealed class OriginalSizeMapping : CustomMappingFactory<OriginalSizeInput, OriginalSizeOutput>
{
    /// <summary>The contract name stored in saved models.</summary>
    public const string ContractName = "LSeg.OriginalSize";

    /// <summary>Fills <paramref name="output"/> from <paramref name="input"/>.</summary>
    public static void Map(OriginalSizeInput input, OriginalSizeOutput output)
    {
        var mapped = OriginalSize.Map(input, withScores: true);
        output.Mask = mapped.Mask;
        output.Scores = mapped.Scores;
        output.PixelCounts = mapped.PixelCounts;
        output.EmbeddingsShape = mapped.EmbeddingsShape;
    }

    /// <inheritdoc/>
    public override Action<OriginalSizeInput, OriginalSizeOutput> GetMapping() => Map;
}

/// <summary>Output of <see cref="OriginalSizeMaskMapping"/>: <see cref="OriginalSizeOutput"/> without the scores.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class OriginalSizeMaskOutput
{
    /// <summary>Row-major label index (0-based) per pixel of the original image.</summary>
    [ColumnName(PipelineColumns.MaskIndices)]
    public uint[] Mask { get; set; } = [];

    /// <summary>Pixels of each label.</summary>
    [ColumnName(PipelineColumns.PixelCounts)]
    public long[] PixelCounts { get; set; } = [];

    /// <summary>[C, h, w] of the dense pixel embeddings (the model input size divided by the embedding stride).</summary>
    [ColumnName(PipelineColumns.EmbeddingsShape)]
    [VectorType(3)]
    public long[] EmbeddingsShape { get; set; } = [];
}

/// <summary>
/// <see cref="OriginalSizeMapping"/> for a pipeline that does not output scores: a CustomMapping computes every output
/// column of a row at once, and the full-size scores of a 12-megapixel photo are 48 MB resampled for nothing.
/// Stateless, saved by contract name.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
[CustomMappingFactoryAttribute(ContractName)]
public sealed class OriginalSizeMaskMapping : CustomMappingFactory<OriginalSizeInput, OriginalSizeMaskOutput>
{
    /// <summary>The contract name stored in saved models.</summary>
    public const string ContractName = "LSeg.OriginalSizeMask";

    /// <summary>Fills <paramref name="output"/> from <paramref name="input"/>.</summary>
    public static void Map(OriginalSizeInput input, OriginalSizeMaskOutput output)
    {
        var mapped = OriginalSize.Map(input, withScores: false);
        output.Mask = mapped.Mask;
        output.PixelCounts = mapped.PixelCounts;
        output.EmbeddingsShape = mapped.EmbeddingsShape;
    }

    /// <inheritdoc/>
    public override Action<OriginalSizeInput, OriginalSizeMaskOutput> GetMapping() => Map;
}

/// <summary>The function both original-size mappings run.</summary>
internal static class OriginalSize
{
    public static (uint[] Mask, float[] Scores, long[] PixelCounts, long[] EmbeddingsShape) Map(OriginalSizeInput input, bool withScores)
    {
        var settings = PipelineSettings.FromVector(input.Settings);
        // The head upsamples the embedding grid (input / stride) by 2, as in LanguageSegmentationModel.RunHead.
        int gridHeight = (int)input.PixelShape[2] / settings.EmbeddingStride, gridWidth = (int)input.PixelShape[3] / settings.EmbeddingStride;
        int mapHeight = 2 * gridHeight, mapWidth = 2 * gridWidth;
        if (input.LabelMap.Length != mapWidth * mapHeight)
            throw new InvalidOperationException($"The label map has {input.LabelMap.Length} values; the {mapWidth}×{mapHeight} model input needs {mapWidth * mapHeight}.");
        var labelMap = new int[input.LabelMap.Length];
        for (int i = 0; i < labelMap.Length; i++)
            labelMap[i] = (int)input.LabelMap[i];
        // Written straight into the output's uint[] (the same bits as the int labels): a copy of the full-size mask was
        // 48 MB more per 12-megapixel photo.
        int pixels = checked(input.Width * input.Height), labelCount = (int)input.LabelCount[0];
        var mask = new uint[pixels];
        var scores = withScores ? new float[pixels] : [];
        var counts = new long[labelCount];
        Runtime.LabelMapToOriginalSize.MapInto(labelMap, input.Scores, mapWidth, mapHeight, input.Width, input.Height, labelCount, null,
            System.Runtime.InteropServices.MemoryMarshal.Cast<uint, int>(mask.AsSpan()), scores, counts);
        return (mask, scores, counts, [settings.EmbeddingSize, gridHeight, gridWidth]);
    }
}

using System.ComponentModel;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms;

namespace LSeg.MLNet.Pipeline;

/// <summary>Input of <see cref="OriginalSizeMapping"/>: the head's outputs at the square model input size, and the original size.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class OriginalSizeInput
{
    /// <summary>Row-major winning label per pixel of the padded square input.</summary>
    [ColumnName(SegmentationGraph.LabelMapColumn)]
    public long[] LabelMap { get; set; } = [];

    /// <summary>Row-major winning logit per pixel of the padded square input.</summary>
    [ColumnName(SegmentationGraph.ScoresColumn)]
    public float[] Scores { get; set; } = [];

    /// <summary>One element: the number of labels of the row.</summary>
    [ColumnName(SegmentationGraph.LabelCountColumn)]
    public long[] LabelCount { get; set; } = [];

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
}

/// <summary>
/// Removes the padding that ML.NET's <c>ResizeImages(IsoPad)</c> added and maps the label map and scores back to
/// the original image size (nearest neighbour), then counts pixels per label. Stateless, saved by contract name.
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
        int side = (int)Math.Round(Math.Sqrt(input.LabelMap.Length));
        if (side * side != input.LabelMap.Length)
            throw new InvalidOperationException($"The label map has {input.LabelMap.Length} elements; a square model input was expected.");
        var (left, top, regionWidth, regionHeight) = PaddedRegion(input.Width, input.Height, side);
        int labelCount = (int)input.LabelCount[0];
        var mask = Runtime.LabelMapResampler.Resample<long, uint>(input.LabelMap, side, left, top, regionWidth, regionHeight, input.Width, input.Height, static v => (uint)v);
        output.Mask = mask;
        output.Scores = Runtime.LabelMapResampler.Resample<float, float>(input.Scores, side, left, top, regionWidth, regionHeight, input.Width, input.Height, static v => v);
        var counts = new long[labelCount];
        foreach (uint label in mask)
            counts[label]++;
        output.PixelCounts = counts;
    }

    /// <summary>
    /// Where ML.NET 5.0.1's padded resize (<c>MLImage.CloneWithResizing(…, Pad)</c>) draws a
    /// <paramref name="width"/> × <paramref name="height"/> image inside a <paramref name="side"/>² square; the same
    /// single-precision arithmetic, so the region matches pixel for pixel.
    /// </summary>
    internal static (int Left, int Top, int Width, int Height) PaddedRegion(int width, int height, int side)
    {
        float widthAspect = (float)side / width;
        float heightAspect = (float)side / height;
        int left = 0, top = 0;
        float aspect;
        if (heightAspect < widthAspect)
        {
            aspect = heightAspect;
            left = (int)((side - (width * aspect)) / 2);
        }
        else
        {
            aspect = widthAspect;
            top = (int)((side - (height * aspect)) / 2);
        }
        int regionWidth = Math.Clamp((int)(width * aspect), 1, side - left);
        int regionHeight = Math.Clamp((int)(height * aspect), 1, side - top);
        return (left, top, regionWidth, regionHeight);
    }

    /// <inheritdoc/>
    public override Action<OriginalSizeInput, OriginalSizeOutput> GetMapping() => Map;
}

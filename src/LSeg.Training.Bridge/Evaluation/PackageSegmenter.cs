using LSeg.MLNet;
using LSeg.MLNet.Imaging;
using LSeg.Training.Bridge.Data;
using Microsoft.ML.Data;

namespace LSeg.Training.Bridge.Evaluation;

/// <summary>
/// Segments images through an exported model package with <see cref="LanguageSegmentationModel"/> (ONNX Runtime):
/// exactly the path an application gets. Single scale: the image is encoded at <see cref="InputSize"/> (the longer
/// side, rounded to a multiple of 32; the package's <c>defaultInputSize</c> when null) and the label map comes back at
/// the image's size. Multi-scale and flip (the paper's evaluation): <see cref="LanguageSegmentationModel.SegmentMultiScale"/>,
/// which sums the logits of every scale, and of the mirrored image, resized bilinearly to the image's size (to the
/// largest pass's output when the image is larger, and the label map then scaled up by nearest neighbour).
/// Label embeddings are cached by the model, so a fixed label set is encoded once per split.
/// </summary>
public sealed class PackageSegmenter
{
    private readonly LanguageSegmentationModel _model;

    /// <summary>Wraps a loaded model (not owned: the caller disposes it).</summary>
    /// <param name="model">The loaded package.</param>
    /// <param name="inputSize">Longer side at scale 1, or null for the package's default.</param>
    /// <param name="scales">Scales of <paramref name="inputSize"/> whose logits are summed; null or [1]: single scale.</param>
    /// <param name="flip">Add the logits of the mirrored image.</param>
    /// <exception cref="ArgumentException">A scale the model cannot run at this input size (parameter <c>scales</c>).</exception>
    public PackageSegmenter(LanguageSegmentationModel model, int? inputSize = null, IReadOnlyList<double>? scales = null, bool flip = false)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (scales is not null && scales.Any(s => !(s > 0)))
            throw new ArgumentOutOfRangeException(nameof(scales), string.Join(", ", scales), "Every scale must be positive.");
        _model = model;
        InputSize = inputSize;
        Scales = scales is { Count: > 0 } ? scales : [1.0];
        Flip = flip;
        // A scale the passes cannot run fails here, before any image is segmented (after a whole split was read).
        if (CombinesPasses)
            model.PassSizes(Scales, inputSize);
    }

    /// <summary>Longer side the image encoder sees at scale 1, or null for the package's default.</summary>
    public int? InputSize { get; }

    /// <summary>Scales whose logits are summed ([1]: single scale).</summary>
    public IReadOnlyList<double> Scales { get; }

    /// <summary>Whether the mirrored image's logits are added.</summary>
    public bool Flip { get; }

    /// <summary>True when more than one pass is combined (multi-scale or flip).</summary>
    public bool CombinesPasses => Flip || Scales.Count > 1 || Scales[0] != 1.0;

    /// <summary>The predictor to hand to the evaluators.</summary>
    public SegmentationPredictor Predictor => Predict;

    /// <summary>Index of the winning label for every pixel of <paramref name="image"/>.</summary>
    public int[] Predict(RgbImage image, IReadOnlyList<string> labels)
    {
        ArgumentNullException.ThrowIfNull(image);
        var encodedLabels = _model.EncodeLabels(labels);
        using var mlImage = ToMLImage(image);
        return CombinesPasses
            ? _model.SegmentMultiScale(mlImage, encodedLabels, Scales, Flip, InputSize).Mask
            : _model.Segment(_model.EncodeImage(mlImage, InputSize), encodedLabels).Mask;
    }

    /// <summary>An ML.NET image with the same pixels (RGBA, opaque).</summary>
    internal static MLImage ToMLImage(RgbImage image)
    {
        var rgba = new byte[image.Width * image.Height * 4];
        for (int i = 0, n = image.Width * image.Height; i < n; i++)
        {
            rgba[i * 4] = image.Pixels[i * 3];
            rgba[i * 4 + 1] = image.Pixels[i * 3 + 1];
            rgba[i * 4 + 2] = image.Pixels[i * 3 + 2];
            rgba[i * 4 + 3] = 255;
        }
        return MLImage.CreateFromPixels(image.Width, image.Height, MLPixelFormat.Rgba32, rgba);
    }
}

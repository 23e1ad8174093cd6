using LSeg.MLNet;
using LSeg.Training.Bridge.Data;
using Microsoft.ML.Data;

namespace LSeg.Training.Bridge.Evaluation;

/// <summary>
/// Segments images through an exported model package with <see cref="LanguageSegmentationModel"/> (ONNX Runtime):
/// exactly the path an application gets. The image is encoded at <see cref="InputSize"/> (the longer side, rounded to
/// a multiple of 32; the package's <c>defaultInputSize</c> when null) and the label map comes back at the image's size.
/// Label embeddings are cached by the model, so a fixed label set is encoded once per split.
/// </summary>
public sealed class PackageSegmenter
{
    private readonly LanguageSegmentationModel _model;

    /// <summary>Wraps a loaded model (not owned: the caller disposes it).</summary>
    public PackageSegmenter(LanguageSegmentationModel model, int? inputSize = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        _model = model;
        InputSize = inputSize;
    }

    /// <summary>Longer side the image encoder sees, or null for the package's default.</summary>
    public int? InputSize { get; }

    /// <summary>The predictor to hand to the evaluators.</summary>
    public SegmentationPredictor Predictor => Predict;

    /// <summary>Index of the winning label for every pixel of <paramref name="image"/>.</summary>
    public int[] Predict(RgbImage image, IReadOnlyList<string> labels)
    {
        ArgumentNullException.ThrowIfNull(image);
        using var mlImage = ToMLImage(image);
        var encodedLabels = _model.EncodeLabels(labels);
        var encoded = _model.EncodeImage(mlImage, InputSize);
        return _model.Segment(encoded, encodedLabels).Mask;
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

using LSeg.MLNet.Runtime;
using LSeg.Training.Bridge.Data;
using LSeg.Training.Bridge.Network;
using LSeg.Training.Bridge.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace LSeg.Training.Bridge.Evaluation;

/// <summary>
/// Segments images with the TorchSharp <see cref="LSegNet"/> by the same rules as inference through a model package
/// (<see cref="LSeg.MLNet.LanguageSegmentationModel"/>), so that validation during training, evaluation and an app
/// see the same pixels and get the same label map for the same photo: the image is resized bilinearly
/// (<see cref="LSeg.MLNet.Imaging.Resampling"/>) so that its longer side is about <see cref="LongSide"/> and both sides
/// are multiples of 32, and the label map computed at that size goes back to the original size by nearest neighbour.
/// Optional multi-scale and flip evaluation sums the logits of every pass, each resized bilinearly to the original size,
/// as the paper's evaluation does (<see cref="PackageSegmenter"/> does so for images no larger than its largest pass).
/// The package's label calibration (logit offsets, the untrained-name drop, names absorbed by "other") is not applied:
/// label sets with "other" or untrained names score differently here than through the package.
/// </summary>
public sealed class TorchSegmenter
{
    private readonly LSegNet _net;
    private readonly LabelEmbeddingTable _labels;

    /// <summary>Creates a segmenter; the network is put in evaluation mode by each call.</summary>
    public TorchSegmenter(LSegNet net, LabelEmbeddingTable labels, int longSide = 0, IReadOnlyList<double>? scales = null, bool flip = false)
    {
        ArgumentNullException.ThrowIfNull(net);
        ArgumentNullException.ThrowIfNull(labels);
        if (longSide < 0 || longSide % LSegNet.InputSizeMultiple != 0)
            throw new ArgumentOutOfRangeException(nameof(longSide), longSide, $"The long side must be 0 (native size) or a multiple of {LSegNet.InputSizeMultiple}.");
        _net = net;
        _labels = labels;
        LongSide = longSide;
        Scales = scales is { Count: > 0 } ? scales : [1.0];
        Flip = flip;
    }

    /// <summary>Longer image side the network sees at scale 1 (0: the image's own size).</summary>
    public int LongSide { get; }

    /// <summary>Scales whose logits are summed (1.0 alone: single scale).</summary>
    public IReadOnlyList<double> Scales { get; }

    /// <summary>Whether the mirrored image's logits are added too.</summary>
    public bool Flip { get; }

    /// <summary>The predictor to hand to the evaluators.</summary>
    public SegmentationPredictor Predictor => Predict;

    /// <summary>True when more than one pass is combined (multi-scale or flip).</summary>
    public bool CombinesPasses => Flip || Scales.Count > 1 || Scales[0] != 1.0;

    /// <summary>Index of the winning label for every pixel of <paramref name="image"/>.</summary>
    public int[] Predict(RgbImage image, IReadOnlyList<string> labels)
    {
        ArgumentNullException.ThrowIfNull(image);
        _net.eval();
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var embeddings = _labels.Lookup(labels);
        int baseSize = LongSide == 0 ? Math.Max(image.Width, image.Height) : LongSide;
        if (!CombinesPasses)
        {
            var (logits, width, height) = InputLogits(image, embeddings, baseSize);
            var map = logits.argmax(1).reshape(-1).to(ScalarType.Int32).cpu().data<int>().ToArray();
            return LabelMapResampler.Resample<int, int>(map, width, 0, 0, width, height, image.Width, image.Height, static v => v);
        }
        Tensor? sum = null;
        foreach (int size in ModelInputSize.ForScales(baseSize, Scales, LSegNet.InputSizeMultiple))
        {
            sum = Add(sum, ToOriginalSize(InputLogits(image, embeddings, size).Logits, image));
            if (Flip)
                sum = Add(sum, ToOriginalSize(InputLogits(image, embeddings, size, mirrored: true).Logits, image));
        }
        return sum!.argmax(1).reshape(-1).to(ScalarType.Int32).cpu().data<int>().ToArray();
    }

    /// <summary>
    /// The pixels the network sees for <paramref name="image"/> at <paramref name="inputSize"/>: planar RGB 0–255 at the
    /// model input size (<see cref="ModelInputSize"/>), exactly what inference feeds a package's image encoder.
    /// </summary>
    internal static (float[] Pixels, int Width, int Height) InputPixels(RgbImage image, int inputSize)
    {
        var (width, height) = ModelInputSize.For(image.Width, image.Height, inputSize, LSegNet.InputSizeMultiple);
        return (image.ToPlanarFloats(width, height), width, height);
    }

    // Logits [1, N, h, w] at the model input size; for a mirrored pass the image is mirrored and the logits mirrored back.
    private (Tensor Logits, int Width, int Height) InputLogits(RgbImage image, Tensor embeddings, int inputSize, bool mirrored = false)
    {
        var (pixels, width, height) = InputPixels(image, inputSize);
        var input = tensor(pixels, [1, 3, height, width]).to(_labels.Device);
        if (!mirrored)
            return (_net.forward(input, embeddings), width, height);
        return (_net.forward(input.flip(3), embeddings).flip(3), width, height);
    }

    private static Tensor ToOriginalSize(Tensor logits, RgbImage original) =>
        nn.functional.interpolate(logits, [original.Height, original.Width], mode: InterpolationMode.Bilinear, align_corners: false);

    private static Tensor Add(Tensor? sum, Tensor logits) => sum is null ? logits : sum + logits;
}

using LSeg.Training.Bridge.Data;
using LSeg.Training.Bridge.Network;
using LSeg.Training.Bridge.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace LSeg.Training.Bridge.Evaluation;

/// <summary>
/// Segments images with the TorchSharp <see cref="LSegNet"/>: the image is resized so its longer side is
/// <see cref="LongSide"/> (0: kept), padded to a multiple of 32 with the mean colour, and the logits of the unpadded
/// region are resized bilinearly to the original size before the argmax. Optional multi-scale and flip evaluation
/// sums the logits of every scale and of the mirrored image, as the paper's evaluation does.
/// </summary>
public sealed class TorchSegmenter
{
    private static readonly byte[] PadColor = [123, 116, 103];
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

    /// <summary>Index of the winning label for every pixel of <paramref name="image"/>.</summary>
    public int[] Predict(RgbImage image, IReadOnlyList<string> labels)
    {
        ArgumentNullException.ThrowIfNull(image);
        _net.eval();
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var embeddings = _labels.Lookup(labels);
        double baseScale = LongSide == 0 ? 1.0 : (double)LongSide / Math.Max(image.Width, image.Height);
        Tensor? sum = null;
        foreach (double scale in Scales)
        {
            int width = Math.Max(1, (int)Math.Round(image.Width * baseScale * scale));
            int height = Math.Max(1, (int)Math.Round(image.Height * baseScale * scale));
            var input = PadToMultiple(image.ResizeBilinear(width, height), LSegNet.InputSizeMultiple);
            var pixels = tensor(input.ToPlanarFloats(), [1, 3, input.Height, input.Width]).to(_labels.Device);
            var logits = Logits(pixels, embeddings, height, width, image);
            sum = sum is null ? logits : sum + logits;
            if (Flip)
                sum += Logits(pixels.flip(3), embeddings, height, width, image, mirrored: input.Width - width);
        }
        var labelMap = sum!.argmax(1).reshape(-1).to(ScalarType.Int32).cpu();
        return labelMap.data<int>().ToArray();
    }

    // Logits of the valid (unpadded) region resized to the original image size. For a mirrored input the valid region
    // sits at the right, after `mirrored` padding columns, and is flipped back.
    private Tensor Logits(Tensor pixels, Tensor embeddings, int height, int width, RgbImage original, int mirrored = -1)
    {
        var logits = _net.forward(pixels, embeddings);
        if (mirrored >= 0)
            logits = logits[.., .., ..height, mirrored..(mirrored + width)].flip(3);
        else
            logits = logits[.., .., ..height, ..width];
        return nn.functional.interpolate(logits, [original.Height, original.Width], mode: InterpolationMode.Bilinear, align_corners: false);
    }

    /// <summary>Pads the bottom and right of an image with the mean colour up to multiples of <paramref name="multiple"/>.</summary>
    internal static RgbImage PadToMultiple(RgbImage image, int multiple)
    {
        int width = (image.Width + multiple - 1) / multiple * multiple;
        int height = (image.Height + multiple - 1) / multiple * multiple;
        if (width == image.Width && height == image.Height)
            return image;
        var pixels = new byte[width * height * 3];
        for (int i = 0; i < width * height; i++)
            PadColor.CopyTo(pixels, i * 3);
        for (int y = 0; y < image.Height; y++)
            Array.Copy(image.Pixels, y * image.Width * 3, pixels, y * width * 3, image.Width * 3);
        return new RgbImage(width, height, pixels);
    }
}

using LSeg.MLNet.Imaging;

namespace LSeg.Training.Bridge.Data;

/// <summary>
/// Makes one training crop from a sample: random scale, random horizontal flip, then a random crop of the
/// configured size; where the crop reaches past the scaled image it is padded (pixels with the ImageNet mean colour,
/// which the network normalises to about zero; labels with the ignore target so padding is never scored).
/// The image is bilinearly resampled, the labels by nearest neighbour, in one pass over the crop.
/// </summary>
public sealed class Augmenter
{
    /// <summary>The target value that cross-entropy ignores.</summary>
    public const byte IgnoreTarget = 255;

    private static readonly float[] PadColor = [123.15f, 115.9f, 103.06f];
    private readonly AugmentationOptions _options;

    /// <summary>Creates an augmenter; the options are validated.</summary>
    public Augmenter(AugmentationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
    }

    /// <summary>Crop height.</summary>
    public int Height => _options.CropHeight;

    /// <summary>Crop width.</summary>
    public int Width => _options.CropWidth;

    /// <summary>
    /// Writes one crop: planar RGB 0–255 floats into <paramref name="pixels"/> ([3, H, W]) and targets into
    /// <paramref name="targets"/> ([H, W]); <paramref name="targetOfValue"/> maps each label value to its target
    /// (<see cref="IgnoreTarget"/> for ignored values).
    /// </summary>
    public void Crop(SegmentationSample sample, ReadOnlySpan<byte> targetOfValue, Random random, Span<float> pixels, Span<byte> targets)
    {
        int cropH = _options.CropHeight, cropW = _options.CropWidth;
        if (pixels.Length != 3 * cropH * cropW || targets.Length != cropH * cropW)
            throw new ArgumentException($"Buffers must hold 3×{cropH}×{cropW} pixels and {cropH}×{cropW} targets.");
        if (targetOfValue.Length != 256)
            throw new ArgumentException($"{nameof(targetOfValue)} must have 256 entries; got {targetOfValue.Length}.", nameof(targetOfValue));
        double scale = _options.ScaleMin + random.NextDouble() * (_options.ScaleMax - _options.ScaleMin);
        bool flip = random.NextDouble() < _options.FlipProbability;
        var image = sample.Image;
        var labels = sample.Labels;
        int scaledW = Math.Max(1, (int)Math.Round(image.Width * scale));
        int scaledH = Math.Max(1, (int)Math.Round(image.Height * scale));
        int offsetX = RandomOffset(random, scaledW, cropW);
        int offsetY = RandomOffset(random, scaledH, cropH);
        // The project's one resampling rule (the same taps and blend as evaluation and inference at this size).
        var columns = Resampling.Bilinear(image.Width, scaledW);
        var rows = Resampling.Bilinear(image.Height, scaledH);
        var labelColumns = Resampling.Nearest(image.Width, scaledW);
        var labelRows = Resampling.Nearest(image.Height, scaledH);
        int plane = cropH * cropW;
        byte[] src = image.Pixels;
        for (int y = 0; y < cropH; y++)
        {
            int v = y + offsetY;
            bool rowInside = v >= 0 && v < scaledH;
            for (int x = 0; x < cropW; x++)
            {
                int o = y * cropW + x;
                int u = x + offsetX;
                if (!rowInside || u < 0 || u >= scaledW)
                {
                    pixels[o] = PadColor[0];
                    pixels[plane + o] = PadColor[1];
                    pixels[2 * plane + o] = PadColor[2];
                    targets[o] = IgnoreTarget;
                    continue;
                }
                if (flip)
                    u = scaledW - 1 - u;
                int a = (rows.Lower[v] * image.Width + columns.Lower[u]) * 3, b = (rows.Lower[v] * image.Width + columns.Upper[u]) * 3;
                int c = (rows.Upper[v] * image.Width + columns.Lower[u]) * 3, d = (rows.Upper[v] * image.Width + columns.Upper[u]) * 3;
                float fx = columns.Weight[u], fy = rows.Weight[v];
                for (int channel = 0; channel < 3; channel++)
                    pixels[channel * plane + o] = Resampling.Blend(src[a + channel], src[b + channel], src[c + channel], src[d + channel], fx, fy);
                targets[o] = targetOfValue[labels.Pixels[labelRows[v] * labels.Width + labelColumns[u]]];
            }
        }
    }

    // Where the crop window starts in the scaled image: inside it when it is larger than the crop, otherwise a
    // random placement of the image inside the (padded) crop.
    private static int RandomOffset(Random random, int scaled, int crop) =>
        scaled >= crop ? random.Next(0, scaled - crop + 1) : -random.Next(0, crop - scaled + 1);
}

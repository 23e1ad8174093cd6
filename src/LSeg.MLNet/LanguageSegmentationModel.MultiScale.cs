using LSeg.MLNet.Imaging;
using LSeg.MLNet.Runtime;
using Microsoft.ML.Data;

namespace LSeg.MLNet;

public sealed partial class LanguageSegmentationModel
{
    /// <summary>
    /// Segments <paramref name="image"/> with several passes combined, as the paper evaluates: the image at each of
    /// <paramref name="scales"/> × the input size (each rounded to a multiple of 32), and with <paramref name="flip"/>
    /// also mirrored; the logits of every pass are resized bilinearly to one map (the image's size, or the largest
    /// pass's output when the image is larger) and summed before the argmax. Scores are the winning label's mean
    /// logit over the passes. Each pass costs a full image encoding: scales 0.75, 1, 1.25 with flip take six.
    /// </summary>
    /// <param name="image">The image.</param>
    /// <param name="labels">Labels encoded by this model.</param>
    /// <param name="scales">
    /// Factors of the input size, each positive (e.g. 0.75, 1, 1.25); [1] without flip costs one ordinary pass, and its
    /// mask can differ from <see cref="Segment(MLImage, IReadOnlyList{string}, int?)"/>'s at region boundaries, since the
    /// logits are resized before the argmax here.
    /// </param>
    /// <param name="flip">Also segment the mirrored image and add its logits, mirrored back.</param>
    /// <param name="inputSize">The input size at scale 1 (the longer side); default: the manifest's <c>defaultInputSize</c>.</param>
    /// <exception cref="ArgumentException">No scale, a scale that is not a positive number, or labels encoded by another model.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A scaled input size is not in 32 … 2048.</exception>
    public SegmentationResult SegmentMultiScale(MLImage image, LabelEmbeddings labels, IReadOnlyList<double> scales, bool flip = false, int? inputSize = null)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(labels);
        using var call = BeginCall(); // the passes finish even if the model is disposed between them; a disposed model says so first, as Segment does
        if (!ReferenceEquals(labels.Model, this))
            throw new ArgumentException("The labels were encoded by another LanguageSegmentationModel; encode them with this one.", nameof(labels));

        int[] sizes = PassSizes(scales, inputSize);
        // The image's limits before the mirrored copy (each pass checks them again): a 300-megapixel photo is refused
        // without first copying it twice.
        CheckImages([image], nameof(image));
        using var mirrored = flip ? Mirrored(image) : null;
        int width = image.Width, height = image.Height, n = labels.ScoredCount;
        int sumWidth = 0, sumHeight = 0, passes = 0;
        float[]? sum = null;
        foreach (int size in sizes)
        {
            foreach (var (pass, isMirror) in flip ? [(image, false), (mirrored!, true)] : new[] { (image, false) })
            {
                var (logits, mapWidth, mapHeight) = ComputeLogits(pass, labels, size);
                if (sum is null)
                {
                    // At the image's size when it is no larger than this pass's output (no detail lost); otherwise at that output.
                    (sumWidth, sumHeight) = (long)width * height <= (long)mapWidth * mapHeight ? (width, height) : (mapWidth, mapHeight);
                    sum = new float[(long)n * sumWidth * sumHeight];
                }
                AddResized(logits, mapWidth, mapHeight, n, isMirror, sum, sumWidth, sumHeight);
                passes++;
            }
        }

        int plane = sumWidth * sumHeight;
        var labelMap = new int[plane];
        var scores = new float[plane];
        for (int p = 0; p < plane; p++)
        {
            int best = 0;
            for (int k = 1; k < n; k++)
            {
                if (sum![(long)k * plane + p] > sum[(long)best * plane + p])
                    best = k;
            }
            labelMap[p] = best;
            scores[p] = sum![(long)best * plane + p] / passes;
        }
        labels.FoldAbsorbed(labelMap);
        return ToResult(labelMap, scores, sumWidth, sumHeight, width, height, labels, null);
    }

    /// <summary>Adds logits [n, h, w] resized bilinearly (the one rule of Resampling) to [n, sumHeight, sumWidth], mirrored back if needed.</summary>
    private static void AddResized(float[] logits, int width, int height, int n, bool mirrored, float[] sum, int sumWidth, int sumHeight)
    {
        var columns = Resampling.Bilinear(width, sumWidth);
        var rows = Resampling.Bilinear(height, sumHeight);
        long plane = (long)sumWidth * sumHeight, inPlane = (long)width * height;
        for (int y = 0; y < sumHeight; y++)
        {
            int y0 = rows.Lower[y] * width, y1 = rows.Upper[y] * width;
            float fy = rows.Weight[y];
            for (int x = 0; x < sumWidth; x++)
            {
                int sourceX = mirrored ? sumWidth - 1 - x : x;
                int x0 = columns.Lower[sourceX], x1 = columns.Upper[sourceX];
                float fx = columns.Weight[sourceX];
                for (int k = 0; k < n; k++)
                {
                    long o = k * inPlane;
                    sum[k * plane + (long)y * sumWidth + x] += Resampling.Blend(logits[o + y0 + x0], logits[o + y0 + x1], logits[o + y1 + x0], logits[o + y1 + x1], fx, fy);
                }
            }
        }
    }

    /// <summary>The image mirrored left to right (a new image the caller disposes).</summary>
    private static MLImage Mirrored(MLImage image)
    {
        var (pixels, bgra) = ImagePixelAccess.Read(image);
        int width = image.Width, height = image.Height;
        var mirrored = new byte[pixels.Length];
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
                Array.Copy(pixels, ((long)y * width + x) * 4, mirrored, ((long)y * width + width - 1 - x) * 4, 4);
        }
        return MLImage.CreateFromPixels(width, height, bgra ? MLPixelFormat.Bgra32 : MLPixelFormat.Rgba32, mirrored);
    }

    /// <summary>
    /// The model input size of each pass of <see cref="SegmentMultiScale"/>, largest first; throws for a scale the
    /// passes cannot run, before any image is read (callers such as an evaluation check their scales with it up front).
    /// </summary>
    /// <exception cref="ArgumentException">No scale, or one that is not a positive number (parameter <c>scales</c>).</exception>
    /// <exception cref="ArgumentOutOfRangeException">A scaled input size outside the model's limits (parameter <c>scales</c>), or an invalid <paramref name="inputSize"/>.</exception>
    internal int[] PassSizes(IReadOnlyList<double> scales, int? inputSize)
    {
        ArgumentNullException.ThrowIfNull(scales);
        if (scales.Count == 0)
            throw new ArgumentException("Give at least one scale (1 is the ordinary pass).", nameof(scales));
        if (scales.Any(s => !double.IsFinite(s) || s <= 0))
            throw new ArgumentException($"Every scale must be a positive number; got {string.Join(", ", scales)}.", nameof(scales));
        int baseSize = inputSize ?? Manifest.DefaultInputSize, multiple = Manifest.InputSizeMultiple;
        RequireInputSize(baseSize, nameof(inputSize));
        // Each scaled size is checked before it is rounded to the multiple (rounding and the clamp to one multiple would
        // otherwise turn a scale of 0.01 into a silent 32-pixel pass, and a huge one overflow), and named here: a pass
        // would report only the scaled size, which the caller never gave.
        foreach (double scale in scales)
        {
            double scaled = baseSize * scale;
            if (scaled < LanguageSegmentationModelOptions.Defaults.MinInputSize || scaled > LanguageSegmentationModelOptions.Defaults.MaxInputSize)
                throw new ArgumentOutOfRangeException(nameof(scales), scale,
                    $"A scale of {scale} × input size {baseSize} is {scaled:0.#} pixels; each scaled input size must be {LanguageSegmentationModelOptions.Defaults.MinInputSize} to {LanguageSegmentationModelOptions.Defaults.MaxInputSize}.");
        }
        // Largest pass first: it decides the map the passes are summed on.
        int[] sizes = ModelInputSize.ForScales(baseSize, scales, multiple);
        foreach (int size in sizes)
            RequireInputSize(size, nameof(scales), $" from a scale of {string.Join(", ", scales)} × input size {baseSize}");
        return sizes;
    }
}

namespace LSeg.MLNet.Runtime;

/// <summary>
/// Chooses the size an image is resized to before the image encoder: the longer side becomes about the requested
/// input size, the aspect ratio is kept, and both sides are rounded to multiples of the model's stride (32).
/// </summary>
internal static class ModelInputSize
{
    /// <summary>The model input (width, height) for an image of <paramref name="width"/> × <paramref name="height"/>.</summary>
    public static (int Width, int Height) For(int width, int height, int inputSize, int multiple)
    {
        double scale = (double)inputSize / Math.Max(width, height);
        return (RoundToMultiple(width * scale, multiple), RoundToMultiple(height * scale, multiple));
    }

    /// <summary>
    /// The input sizes of a multi-scale segmentation's passes, largest first: each scale × <paramref name="baseSize"/>
    /// to the nearest pixel, which <see cref="For"/> then rounds as it rounds a single pass's size, so that a scale of 1
    /// is exactly the single pass.
    /// </summary>
    /// <exception cref="ArgumentException">Two scales give the same encoder input (the longer side rounds to the same multiple): one pass would be counted twice.</exception>
    public static int[] ForScales(int baseSize, IReadOnlyList<double> scales, int multiple)
    {
        var passes = scales.Select(s => (Scale: s, Size: (int)Math.Round(baseSize * s, MidpointRounding.AwayFromZero))).ToList();
        if (passes.GroupBy(p => RoundToMultiple(p.Size, multiple)).FirstOrDefault(g => g.Count() > 1) is { } same)
            throw new ArgumentException(
                $"The scales {string.Join(" and ", same.Select(p => p.Scale))} × input size {baseSize} both give an input of {same.Key} pixels (the longer side is rounded to a multiple of {multiple}), so one pass would count twice; give scales that differ more.",
                nameof(scales));
        return [.. passes.Select(p => p.Size).OrderDescending()];
    }

    private static int RoundToMultiple(double value, int multiple) =>
        Math.Max(multiple, (int)Math.Round(value / multiple, MidpointRounding.AwayFromZero) * multiple);
}

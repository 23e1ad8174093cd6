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

    private static int RoundToMultiple(double value, int multiple) =>
        Math.Max(multiple, (int)Math.Round(value / multiple, MidpointRounding.AwayFromZero) * multiple);
}

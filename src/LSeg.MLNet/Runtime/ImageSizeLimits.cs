namespace LSeg.MLNet.Runtime;

/// <summary>The image sizes a model accepts (<see cref="LanguageSegmentationModelOptions.MinImageSide"/>, <see cref="LanguageSegmentationModelOptions.MaxImagePixels"/>), checked the same way by every path.</summary>
internal readonly record struct ImageSizeLimits(int MinImageSide, long MaxImagePixels)
{
    /// <summary>Throws when a <paramref name="width"/> × <paramref name="height"/> image is outside the limits.</summary>
    /// <exception cref="ArgumentException">The image is too small or too large; the message gives its size and the option to change.</exception>
    public void Check(int width, int height, string parameterName)
    {
        if (width < MinImageSide || height < MinImageSide)
            throw new ArgumentException(
                $"The image is {width}×{height} pixels; LSeg needs at least {MinImageSide} pixels on each side ({nameof(LanguageSegmentationModelOptions.MinImageSide)}) to produce a meaningful label map.",
                parameterName);
        if ((long)width * height > MaxImagePixels)
            throw new ArgumentException(
                $"The image is {width}×{height} = {(long)width * height:N0} pixels; the limit is {MaxImagePixels:N0} ({nameof(LanguageSegmentationModelOptions.MaxImagePixels)}). Downscale it first or raise the limit in the {nameof(LanguageSegmentationModelOptions)} the model is loaded with (an ML.NET pipeline keeps the limit of the model it was fitted with, also when saved: fit it again with the raised limit).",
                parameterName);
    }
}

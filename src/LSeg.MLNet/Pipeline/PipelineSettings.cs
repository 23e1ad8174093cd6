namespace LSeg.MLNet.Pipeline;

/// <summary>
/// What the stateless mappings of a saved pipeline need to know about its model and options, carried as a constant
/// vector column (a value mapping saved in the model): the image size limits, the input size rule, the embedding size.
/// </summary>
internal sealed record PipelineSettings(int MinImageSide, long MaxImagePixels, int InputSize, int InputSizeMultiple, int EmbeddingSize, int EmbeddingStride)
{
    /// <summary>The settings for <paramref name="model"/> at <paramref name="inputSize"/>.</summary>
    public static PipelineSettings For(LanguageSegmentationModel model, int inputSize) => new(
        model.SizeLimits.MinImageSide, model.SizeLimits.MaxImagePixels, inputSize, model.Manifest.InputSizeMultiple,
        model.Manifest.EmbeddingSize, model.Manifest.EmbeddingStride);

    /// <summary>The column form (doubles hold every value exactly).</summary>
    public double[] ToVector() => [MinImageSide, MaxImagePixels, InputSize, InputSizeMultiple, EmbeddingSize, EmbeddingStride];

    /// <summary>Reads the column form.</summary>
    /// <exception cref="InvalidOperationException">The vector is not a settings vector (a model saved by another version).</exception>
    public static PipelineSettings FromVector(double[] values)
    {
        if (values.Length != 6)
            throw new InvalidOperationException($"The LanguageSegment settings column holds {values.Length} values, not 6: the model was saved by another version of LSeg.MLNet.");
        return new((int)values[0], (long)values[1], (int)values[2], (int)values[3], (int)values[4], (int)values[5]);
    }

    public Runtime.ImageSizeLimits SizeLimits => new(MinImageSide, MaxImagePixels);
}

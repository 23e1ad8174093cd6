using LSeg.MLNet;

namespace Microsoft.ML;

/// <summary>
/// <c>mlContext.Transforms.LanguageSegment(labels)</c>: language-driven semantic segmentation (LSeg) of an image
/// column for any list of text labels.
/// </summary>
public static class LanguageSegmentationCatalog
{
    /// <summary>
    /// Creates a <see cref="LanguageSegmentationEstimator"/> that labels every pixel of the images in
    /// <paramref name="inputColumnName"/> with one of <paramref name="labels"/>.
    /// </summary>
    /// <remarks>
    /// Input: an image column (<c>MLImage</c>, e.g. from <c>LoadImages</c>) of any size. Outputs:
    /// <paramref name="outputColumnName"/>, a key-typed vector (row-major, original width × height) whose key values are
    /// the labels in the order given (<c>MapKeyToValue</c> gives label names); <c>{output}Width</c> and
    /// <c>{output}Height</c> (Int32); <c>{output}PixelCounts</c> (Int64 per label). No training: <c>Fit</c> only
    /// builds the pipeline. Needs the Microsoft.ML.OnnxRuntime.Gpu package (CPU included); CUDA 13 + cuDNN 9 for the GPU.
    /// </remarks>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="labels">The labels; non-empty, distinct, no empty or whitespace label.</param>
    /// <param name="outputColumnName">Name of the mask column.</param>
    /// <param name="inputColumnName">Name of the image column.</param>
    /// <param name="model">The model; null loads the default model embedded in LSeg.MLNet.</param>
    /// <param name="gpuDeviceId">CUDA device; null runs on the CPU.</param>
    /// <param name="fallbackToCpu">Run on the CPU when CUDA cannot be used instead of throwing.</param>
    /// <exception cref="ArgumentException">The labels are empty, contain an empty, whitespace or duplicate label.</exception>
    public static LanguageSegmentationEstimator LanguageSegment(this TransformsCatalog catalog, string[] labels,
        string outputColumnName = LanguageSegmentationOptions.Defaults.OutputColumnName,
        string inputColumnName = LanguageSegmentationOptions.Defaults.InputColumnName,
        LanguageSegmentationModel? model = null, int? gpuDeviceId = null, bool fallbackToCpu = LanguageSegmentationOptions.Defaults.FallbackToCpu)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new LanguageSegmentationEstimator(new LanguageSegmentationOptions
        {
            Labels = labels,
            OutputColumnName = outputColumnName,
            InputColumnName = inputColumnName,
            Model = model,
            GpuDeviceId = gpuDeviceId,
            FallbackToCpu = fallbackToCpu,
        });
    }

    /// <summary>Creates a <see cref="LanguageSegmentationEstimator"/> from <paramref name="options"/> (labels or a per-row labels column, outputs, device).</summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="options">What to segment and how.</param>
    /// <exception cref="ArgumentException">The options are inconsistent (no labels and no labels column, both, bad labels).</exception>
    public static LanguageSegmentationEstimator LanguageSegment(this TransformsCatalog catalog, LanguageSegmentationOptions options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(options);
        return new LanguageSegmentationEstimator(options.Clone());
    }
}

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
    /// builds the pipeline. Images keep their aspect ratio (the rule of <c>LanguageSegmentationModel.EncodeImage</c>), so
    /// the pipeline's mask equals the low-level API's. A truncated image file read by <c>LoadImages</c> fails its row with
    /// an <see cref="System.IO.InvalidDataException"/> (through <c>Transform</c> and cursors, ML.NET delivers it as the
    /// inner exception of an <see cref="InvalidOperationException"/>; ML.NET's own decoder refuses a file it cannot read at all with an
    /// <see cref="ArgumentException"/>). Runs on ONNX Runtime's CPU runtime; the LSeg.MLNet.Gpu package (CUDA 13 +
    /// cuDNN 9) for the GPU. Thread safety: see <see cref="LanguageSegmentationTransformer"/>.
    /// </remarks>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="labels">The labels; non-empty, distinct, no empty or whitespace label.</param>
    /// <param name="outputColumnName">Name of the mask column.</param>
    /// <param name="inputColumnName">Name of the image column.</param>
    /// <param name="model">The model; null loads the default model (the LSeg.MLNet.DefaultModel package).</param>
    /// <param name="gpuDeviceId">CUDA device; null takes the <c>MLContext</c>'s <c>GpuDeviceId</c>, then the given model's own device (null there too: the CPU).</param>
    /// <param name="fallbackToCpu">Run on the CPU when the CUDA device of <paramref name="gpuDeviceId"/> cannot be used, instead of throwing. A GPU asked for through the <c>MLContext</c> (<paramref name="gpuDeviceId"/> null) follows the context's own <c>FallbackToCpu</c> instead.</param>
    /// <exception cref="ArgumentException">The labels are empty, contain an empty, whitespace or duplicate label.</exception>
    /// <example>
    /// <code>
    /// var pipeline = mlContext.Transforms.LoadImages("Image", imageFolder, "ImagePath")
    ///     .Append(mlContext.Transforms.LanguageSegment(["cat", "wall", "other"]));
    /// </code>
    /// </example>
    public static LanguageSegmentationEstimator LanguageSegment(this TransformsCatalog catalog, string[] labels,
        string outputColumnName = LanguageSegmentationOptions.Defaults.OutputColumnName,
        string inputColumnName = LanguageSegmentationOptions.Defaults.InputColumnName,
        LanguageSegmentationModel? model = null, int? gpuDeviceId = null, bool fallbackToCpu = LanguageSegmentationOptions.Defaults.FallbackToCpu)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(labels);
        return new LanguageSegmentationEstimator(LSeg.MLNet.Pipeline.CallerContext.DeviceOf(catalog), new LanguageSegmentationOptions
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
        return new LanguageSegmentationEstimator(LSeg.MLNet.Pipeline.CallerContext.DeviceOf(catalog), options.Clone());
    }
}

namespace LSeg.MLNet;

/// <summary>
/// Options of <c>mlContext.Transforms.LanguageSegment(options)</c>: which labels, which columns, which model and
/// device. Either <see cref="Labels"/> (one label set for every row) or <see cref="LabelsColumnName"/> (a text-vector
/// column: each row its own labels) must be given.
/// </summary>
public sealed class LanguageSegmentationOptions
{
    /// <summary>Default values of the options.</summary>
    public static class Defaults
    {
        /// <summary>Name of the output mask column.</summary>
        public const string OutputColumnName = "SegmentationMask";

        /// <summary>Name of the input image column.</summary>
        public const string InputColumnName = "Image";

        /// <summary>Fall back to the CPU when CUDA cannot be used.</summary>
        public const bool FallbackToCpu = true;
    }

    /// <summary>The labels, in the order of the mask's key values (key k is label k − 1). Null when <see cref="LabelsColumnName"/> is used.</summary>
    public string[]? Labels { get; set; }

    /// <summary>
    /// A text-vector input column holding each row's own labels. The mask is then a vector of 0-based label indices
    /// (UInt32) into that row's labels, since a key type cannot name different labels per row. Such a pipeline
    /// encodes each row's labels with the in-memory model: it saves, but a loaded one needs its model passed back
    /// (<see cref="LanguageSegmentationTransformer.FromTransformerChain"/>).
    /// </summary>
    public string? LabelsColumnName { get; set; }

    /// <summary>Name of the output mask column (default <c>SegmentationMask</c>); the other outputs are named after it.</summary>
    public string OutputColumnName { get; set; } = Defaults.OutputColumnName;

    /// <summary>Name of the input image column (an ML.NET image, e.g. from <c>LoadImages</c>; default <c>Image</c>).</summary>
    public string InputColumnName { get; set; } = Defaults.InputColumnName;

    /// <summary>
    /// The model; null loads the default model (the LSeg.MLNet.DefaultModel package), once per estimator, when the first transformer is
    /// fitted (shared by the estimator's transformers and released with the last of them).
    /// </summary>
    public LanguageSegmentationModel? Model { get; set; }

    /// <summary>
    /// CUDA device to run the segmentation graph on; null takes the calling <c>MLContext</c>'s <c>GpuDeviceId</c>, then the
    /// device <see cref="Model"/> was loaded on (<see cref="LanguageSegmentationModelOptions.GpuDeviceId"/>); null there
    /// too: the CPU.
    /// </summary>
    public int? GpuDeviceId { get; set; }

    /// <summary>When CUDA was asked for here but cannot be used, run on the CPU instead of throwing. Default true. (A GPU asked for through the <c>MLContext</c> follows its <c>FallbackToCpu</c>.)</summary>
    public bool FallbackToCpu { get; set; } = Defaults.FallbackToCpu;

    /// <summary>
    /// The model input size: the image's longer side is resized to about this many pixels, keeping its aspect ratio,
    /// both sides rounded to multiples of 32: the rule of <see cref="LanguageSegmentationModel.EncodeImage"/>, so the
    /// pipeline and the low-level API give the same mask. Any whole number from 32 to 2048 (33 gives what 32 gives). Null
    /// uses the manifest's default input size.
    /// </summary>
    public int? InputSize { get; set; }

    /// <summary>Also output <c>{OutputColumnName}Scores</c>: the winning label's logit per pixel (Single vector, original size).</summary>
    public bool OutputScores { get; set; }

    /// <summary>
    /// Also output <c>{OutputColumnName}Embeddings</c>: the dense pixel embeddings, not normalised, a Single vector
    /// [C, h, w] at the embedding grid of the model input, and <c>{OutputColumnName}EmbeddingsShape</c>: [C, h, w].
    /// </summary>
    public bool OutputEmbeddings { get; set; }

    /// <summary>Name of the width column: <c>{OutputColumnName}Width</c>.</summary>
    public string WidthColumnName => OutputColumnName + "Width";

    /// <summary>Name of the height column: <c>{OutputColumnName}Height</c>.</summary>
    public string HeightColumnName => OutputColumnName + "Height";

    /// <summary>Name of the per-label pixel count column (Int64 vector): <c>{OutputColumnName}PixelCounts</c>.</summary>
    public string PixelCountsColumnName => OutputColumnName + "PixelCounts";

    /// <summary>Name of the scores column: <c>{OutputColumnName}Scores</c>.</summary>
    public string ScoresColumnName => OutputColumnName + "Scores";

    /// <summary>Name of the embeddings column: <c>{OutputColumnName}Embeddings</c>.</summary>
    public string EmbeddingsColumnName => OutputColumnName + "Embeddings";

    /// <summary>Name of the embeddings shape column (Int64 vector [C, h, w]): <c>{OutputColumnName}EmbeddingsShape</c>.</summary>
    public string EmbeddingsShapeColumnName => OutputColumnName + "EmbeddingsShape";

    internal LanguageSegmentationOptions Clone() => (LanguageSegmentationOptions)MemberwiseClone();
}

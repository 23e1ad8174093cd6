namespace LSeg.MLNet;

/// <summary>How a <see cref="LanguageSegmentationModel"/> is loaded and which inputs it accepts.</summary>
public sealed class LanguageSegmentationModelOptions
{
    /// <summary>Default values of the options.</summary>
    public static class Defaults
    {
        /// <summary>Fall back to the CPU when CUDA cannot be used.</summary>
        public const bool FallbackToCpu = true;

        /// <summary>Reject labels longer than the text encoder's context instead of cutting them.</summary>
        public const bool TruncateLongLabels = false;

        /// <summary>Largest image accepted, in pixels (width × height): 40 megapixels.</summary>
        public const long MaxImagePixels = 40_000_000;

        /// <summary>Smallest image side accepted, in pixels.</summary>
        public const int MinImageSide = 8;

        /// <summary>Most label embeddings a model keeps cached.</summary>
        public const int LabelCacheCapacity = 10_000;

        /// <summary>Largest model input size (longer side, pixels) accepted by <see cref="LanguageSegmentationModel.EncodeImage"/>.</summary>
        public const int MaxInputSize = 2048;
    }

    /// <summary>CUDA device to run on; null (the default) runs on the CPU.</summary>
    public int? GpuDeviceId { get; set; }

    /// <summary>When CUDA was asked for but cannot be used, run on the CPU instead of throwing. Default true.</summary>
    public bool FallbackToCpu { get; set; } = Defaults.FallbackToCpu;

    /// <summary>Cut labels longer than the text encoder's context instead of rejecting them. Default false.</summary>
    public bool TruncateLongLabels { get; set; } = Defaults.TruncateLongLabels;

    /// <summary>Images with more pixels than this are rejected with an <see cref="ArgumentException"/> (default 40 megapixels).</summary>
    public long MaxImagePixels { get; set; } = Defaults.MaxImagePixels;

    /// <summary>
    /// Most label embeddings the model keeps cached (least recently used are forgotten first); default 10,000. Encoding a
    /// forgotten label again costs one text-encoder pass.
    /// </summary>
    public int LabelCacheCapacity { get; set; } = Defaults.LabelCacheCapacity;

    /// <summary>Images with a side shorter than this are rejected with an <see cref="ArgumentException"/> (default 8).</summary>
    public int MinImageSide { get; set; } = Defaults.MinImageSide;
}

using Microsoft.ML.OnnxRuntime;

namespace LSeg.MLNet;

/// <summary>How a <see cref="LanguageSegmentationModel"/> is loaded, which inputs it accepts, and how ONNX Runtime runs it.</summary>
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

        /// <summary>
        /// The most <see cref="LanguageSegmentationModelOptions.MaxImagePixels"/> may allow: 500 megapixels. An image's
        /// 4-byte pixels are read into one .NET array, which holds under 2^31 bytes.
        /// </summary>
        public const long LargestMaxImagePixels = 500_000_000;

        /// <summary>Smallest image side accepted, in pixels.</summary>
        public const int MinImageSide = 8;

        /// <summary>Most label embeddings a model keeps cached.</summary>
        public const int LabelCacheCapacity = 10_000;

        /// <summary>Largest model input size (longer side, pixels) accepted by <see cref="LanguageSegmentationModel.EncodeImage"/>.</summary>
        public const int MaxInputSize = 2048;

        /// <summary>The smallest model input size: one stride of the image encoder.</summary>
        public const int MinInputSize = 32;

        /// <summary>
        /// The one input-size rule every path states (the low-level API, <see cref="LanguageSegmentationOptions.InputSize"/>,
        /// <c>lseg --size</c>): any whole number of pixels from <see cref="MinInputSize"/> to <see cref="MaxInputSize"/>.
        /// </summary>
        internal const string InputSizeRule = "32 to 2048 pixels (the longer image side is resized to about it, both sides rounded to multiples of 32)";

        /// <summary>
        /// Images per run of the image encoder in <see cref="LanguageSegmentationModel.EncodeImages"/>: 1. On the CPU a
        /// batch of 4 or 8 images of 480×480 was no faster per image than single images (docs/performance.md) and
        /// holds that many images' activations at once.
        /// </summary>
        public const int ImageBatchSize = 1;

        /// <summary>
        /// ONNX Runtime's graph optimisations: <c>extended</c> (operator fusions, without the NCHWc layout changes of
        /// <c>all</c>). In <c>lseg bench runtime</c> and <c>lseg bench memory</c> (docs/performance.md), <c>all</c> was
        /// a few percent faster but kept about 120–150 MB more per process (blocked copies of the weights and
        /// activations), which took one segmentation above 600 MB.
        /// </summary>
        public const GraphOptimizationLevel GraphOptimization = GraphOptimizationLevel.ORT_ENABLE_EXTENDED;

        /// <summary>
        /// ONNX Runtime's CPU memory arena: on. Without it every run asks the system for its buffers again, which cost
        /// 3.5 times the time of a full segmentation in <c>lseg bench runtime</c> for about a fifth less peak memory
        /// (docs/performance.md). The weights are kept outside the arena either way.
        /// </summary>
        public const bool EnableMemoryArena = true;
    }

    /// <summary>CUDA device to run on; null (the default) runs on the CPU.</summary>
    public int? GpuDeviceId { get; set; }

    /// <summary>When CUDA was asked for but cannot be used, run on the CPU instead of throwing. Default true.</summary>
    public bool FallbackToCpu { get; set; } = Defaults.FallbackToCpu;

    /// <summary>Cut labels longer than the text encoder's context instead of rejecting them. Default false.</summary>
    public bool TruncateLongLabels { get; set; } = Defaults.TruncateLongLabels;

    /// <summary>Images with more pixels than this are rejected with an <see cref="ArgumentException"/> (default 40 megapixels, at most <see cref="Defaults.LargestMaxImagePixels"/>).</summary>
    public long MaxImagePixels { get; set; } = Defaults.MaxImagePixels;

    /// <summary>
    /// Most label embeddings the model keeps cached (least recently used are forgotten first); default 10,000. Encoding a
    /// forgotten label again costs one text-encoder pass.
    /// </summary>
    public int LabelCacheCapacity { get; set; } = Defaults.LabelCacheCapacity;

    /// <summary>Images with a side shorter than this are rejected with an <see cref="ArgumentException"/> (default 8).</summary>
    public int MinImageSide { get; set; } = Defaults.MinImageSide;

    /// <summary>Images per run of the image encoder when several are encoded at once (see <see cref="Defaults.ImageBatchSize"/>); at least 1.</summary>
    public int ImageBatchSize { get; set; } = Defaults.ImageBatchSize;

    /// <summary>
    /// Threads ONNX Runtime uses inside one operator, lowered to <see cref="Environment.ProcessorCount"/> when above it;
    /// null (the default) lets it use one per physical core. Also caps the ONNX step of an ML.NET pipeline built on this model (on the CPU;
    /// after <c>Model.Load</c>, the loading context's own ONNX session options apply).
    /// </summary>
    public int? IntraOpThreads { get; set; }

    /// <summary>
    /// <see cref="IntraOpThreads"/> lowered to the processors this process may use (<see cref="Environment.ProcessorCount"/>,
    /// which follows a container's CPU limit): each of the model's sessions starts a pool of that many threads, and
    /// beyond the processors they only wait on each other (64 on 2 cores made one segmentation 25 times slower, 256
    /// about 170 times), while a setting made for a larger machine should still run on a smaller one.
    /// </summary>
    internal int? IntraOpThreadsUsed => IntraOpThreads is int threads ? Math.Min(threads, Environment.ProcessorCount) : null;

    /// <summary>ONNX Runtime's graph optimisation level (see <see cref="Defaults.GraphOptimization"/>: extended).</summary>
    public GraphOptimizationLevel GraphOptimization { get; set; } = Defaults.GraphOptimization;

    /// <summary>Use ONNX Runtime's CPU memory arena for activations (see <see cref="Defaults.EnableMemoryArena"/>; default true).</summary>
    public bool EnableMemoryArena { get; set; } = Defaults.EnableMemoryArena;

    /// <summary>
    /// A copy the model keeps: it validates the options once, at load, so it must not see the caller change them
    /// afterwards (a batch size of 0, or a pixel limit past the cap, set on the caller's object after Load).
    /// </summary>
    internal LanguageSegmentationModelOptions Copy() => (LanguageSegmentationModelOptions)MemberwiseClone();

    /// <summary>Checks the values; called when a model is loaded.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of range; the message names the option.</exception>
    internal void Validate()
    {
        if (ImageBatchSize < 1)
            throw new ArgumentOutOfRangeException(nameof(ImageBatchSize), ImageBatchSize, $"{nameof(ImageBatchSize)} must be at least 1.");
        if (IntraOpThreads is < 1)
            throw new ArgumentOutOfRangeException(nameof(IntraOpThreads), IntraOpThreads, $"{nameof(IntraOpThreads)} must be at least 1, or null for ONNX Runtime's default.");
        if (!Enum.IsDefined(GraphOptimization))
            throw new ArgumentOutOfRangeException(nameof(GraphOptimization), GraphOptimization, $"{nameof(GraphOptimization)} is not a GraphOptimizationLevel value.");
        if (LabelCacheCapacity < 1)
            throw new ArgumentOutOfRangeException(nameof(LabelCacheCapacity), LabelCacheCapacity, $"{nameof(LabelCacheCapacity)} must be at least 1.");
        if (MinImageSide < 1)
            throw new ArgumentOutOfRangeException(nameof(MinImageSide), MinImageSide, $"{nameof(MinImageSide)} must be at least 1.");
        if (MaxImagePixels < (long)MinImageSide * MinImageSide)
            throw new ArgumentOutOfRangeException(MinImageSide > Defaults.MinImageSide ? nameof(MinImageSide) : nameof(MaxImagePixels),
                MinImageSide > Defaults.MinImageSide ? MinImageSide : MaxImagePixels,
                $"{nameof(MinImageSide)} = {MinImageSide} and {nameof(MaxImagePixels)} = {MaxImagePixels:N0} allow no image: {nameof(MaxImagePixels)} must be at least {nameof(MinImageSide)}² ({(long)MinImageSide * MinImageSide:N0}).");
        if (MaxImagePixels > Defaults.LargestMaxImagePixels)
            throw new ArgumentOutOfRangeException(nameof(MaxImagePixels), MaxImagePixels, $"{nameof(MaxImagePixels)} may be at most {Defaults.LargestMaxImagePixels:N0}: an image's 4-byte pixels are held in one array, which holds under 2 GB.");
    }

    /// <summary>Applies the runtime settings (threads, graph optimisation, arena) to ONNX Runtime session options.</summary>
    internal void ApplyTo(SessionOptions sessionOptions)
    {
        sessionOptions.GraphOptimizationLevel = GraphOptimization;
        sessionOptions.EnableCpuMemArena = EnableMemoryArena;
        // Weights allocated exactly, not in arena chunks that grow by doubling: the arena is for activations.
        sessionOptions.AddSessionConfigEntry("session.use_device_allocator_for_initializers", "1");
        if (IntraOpThreadsUsed is int threads)
            sessionOptions.IntraOpNumThreads = threads;
    }
}

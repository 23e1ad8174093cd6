namespace LSeg.Orleans;

/// <summary>How a silo segments the images it is handed (see <c>AddLanguageSegmentationWorker</c>).</summary>
public sealed class SegmentationWorkerOptions
{
    /// <summary>Default values of the options.</summary>
    public static class Defaults
    {
        /// <summary>Images segmented at the same time on one silo.</summary>
        public const int MaxParallelImages = 2;

        /// <summary>Run on the CPU when the requested GPU cannot be used.</summary>
        public const bool FallbackToCpu = true;
    }

    /// <summary>
    /// Images this silo segments at the same time, whatever the number of jobs and chunks it holds (default 2). ONNX
    /// Runtime already spreads one image over the CPU cores; a second image overlaps decoding and PNG writing with
    /// inference, and keeps a GPU busy.
    /// </summary>
    public int MaxParallelImages { get; set; } = Defaults.MaxParallelImages;

    /// <summary>CUDA device the silo's models run on; null (the default) runs on the CPU.</summary>
    public int? GpuDeviceId { get; set; }

    /// <summary>When <see cref="GpuDeviceId"/> is set but CUDA cannot be used, run on the CPU instead of failing. Default true.</summary>
    public bool FallbackToCpu { get; set; } = Defaults.FallbackToCpu;

    /// <summary>The first problem with the options, or null when they are valid.</summary>
    internal string? Problem() =>
        MaxParallelImages < 1 ? $"{nameof(MaxParallelImages)} is {MaxParallelImages}; give 1 or more."
        : GpuDeviceId < 0 ? $"{nameof(GpuDeviceId)} is {GpuDeviceId}; give a CUDA device index (0 or more) or null for the CPU."
        : null;
}

using LSeg.MLNet;

namespace LSeg.Serving;

/// <summary>
/// What <c>services.AddLanguageSegmentation(...)</c> serves and within which limits: the model and device, the size of
/// accepted uploads and label lists, the memory of the encoded-image cache and how much work may wait. Checked when the
/// application starts; a bad value stops it with a message naming the option.
/// </summary>
public sealed class LanguageSegmentationServingOptions
{
    /// <summary>Default values of the options.</summary>
    public static class Defaults
    {
        /// <summary>Largest accepted upload, in bytes: 20 MiB.</summary>
        public const long MaxImageBytes = 20L * 1024 * 1024;

        /// <summary>Largest accepted image, in pixels (width × height): the model's own default, 40 megapixels.</summary>
        public const long MaxImagePixels = LanguageSegmentationModelOptions.Defaults.MaxImagePixels;

        /// <summary>Most labels in one request.</summary>
        public const int MaxLabels = 64;

        /// <summary>Most characters (Unicode characters, not UTF-16 code units) in one label.</summary>
        public const int MaxLabelLength = 100;

        /// <summary>Memory bound of the encoded-image cache, in MiB.</summary>
        public const int ImageCacheMegabytes = 1024;

        /// <summary>How long an encoded image stays usable after its last use: 10 minutes.</summary>
        public static readonly TimeSpan ImageTimeToLive = TimeSpan.FromMinutes(10);

        /// <summary>Requests of each kind (image encodings, label changes) that run the model at the same time.</summary>
        public const int MaxConcurrentInferences = 2;

        /// <summary>Requests of each kind that may wait for the model; more are answered 503 with Retry-After.</summary>
        public const int MaxQueuedRequests = 16;

        /// <summary>Default <see cref="LanguageSegmentationServingOptions.UploadTimeout"/>: 60 seconds.</summary>
        public static readonly TimeSpan UploadTimeout = TimeSpan.FromSeconds(60);

        /// <summary>Fall back to the CPU when CUDA cannot be used.</summary>
        public const bool FallbackToCpu = true;
    }

    /// <summary>The most labels an 8-bit mask PNG can index.</summary>
    public const int LabelLimit = 256;

    /// <summary>
    /// The most <see cref="MaxLabelLength"/> may be: 10,000 characters, far past what a text encoder reads (MiniLM takes
    /// 256 tokens, CLIP 77). The label-change body limit grows with it, and a body is read whole before labels are checked.
    /// </summary>
    public const int LabelLengthLimit = 10_000;

    /// <summary>
    /// Model package directory (or its manifest.json); null (the default), empty or white space serves the default model,
    /// which the application carries only when it references LSeg.MLNet.DefaultModel (the host refuses to start
    /// otherwise). Empty counts as not set so that an empty environment variable (<c>LSeg__ModelPath=</c>) means the default.
    /// </summary>
    public string? ModelPath { get; set; }

    /// <summary>CUDA device to run on; null (the default) runs on the CPU.</summary>
    public int? GpuDeviceId { get; set; }

    /// <summary>When CUDA was asked for but cannot be used, run on the CPU instead of failing to start. Default true.</summary>
    public bool FallbackToCpu { get; set; } = Defaults.FallbackToCpu;

    /// <summary>Model input size (the longer image side is resized to about this); null uses the model's default.</summary>
    public int? InputSize { get; set; }

    /// <summary>Uploads larger than this many bytes are refused with 413 (default 20 MiB; at most 2,000,000,000, since an upload is held in one array).</summary>
    public long MaxImageBytes { get; set; } = Defaults.MaxImageBytes;

    /// <summary>Images with more pixels than this are refused with 413 before they are decoded (default 40 megapixels).</summary>
    public long MaxImagePixels { get; set; } = Defaults.MaxImagePixels;

    /// <summary>Requests with more labels than this are refused with 400 (default 64, at most <see cref="LabelLimit"/>).</summary>
    public int MaxLabels { get; set; } = Defaults.MaxLabels;

    /// <summary>
    /// Labels longer than this many characters are refused with 400 (default 100, at most <see cref="LabelLengthLimit"/>).
    /// Counted in Unicode code points (runes): 🐱 is one, although it takes two UTF-16 code units; an emoji made of several
    /// code points (a flag, a skin tone) counts each.
    /// </summary>
    public int MaxLabelLength { get; set; } = Defaults.MaxLabelLength;

    /// <summary>
    /// Memory bound of the cache of encoded images (<c>POST /v1/images</c>), in MiB; the least recently used image is
    /// evicted to stay under it (default 1024). Must hold at least one image at the model input size.
    /// </summary>
    public int ImageCacheMegabytes { get; set; } = Defaults.ImageCacheMegabytes;

    /// <summary>An encoded image expires this long after its last use (default 10 minutes).</summary>
    public TimeSpan ImageTimeToLive { get; set; } = Defaults.ImageTimeToLive;

    /// <summary>
    /// Requests that run the model at the same time, for each of the two kinds of work (default 2 each): image
    /// encodings (one-shot segmentation, <c>POST /v1/images</c>) and label changes, which have their own slots so
    /// that a label change never waits behind an image encoding.
    /// </summary>
    public int MaxConcurrentInferences { get; set; } = Defaults.MaxConcurrentInferences;

    /// <summary>
    /// Requests of each kind that may wait for a free model slot; beyond this the server answers 503 with Retry-After
    /// (default 16).
    /// </summary>
    public int MaxQueuedRequests { get; set; } = Defaults.MaxQueuedRequests;

    /// <summary>
    /// The longest an image upload may take to arrive (default 60 s; 20 MB then needs about 2.7 Mbit/s); a slower one is
    /// answered 408. An upload holds one of the <see cref="MaxConcurrentInferences"/> + <see cref="MaxQueuedRequests"/>
    /// admissions of its lane while it is read, so without a bound a few clients sending slowly would keep every other
    /// upload refused with 503.
    /// </summary>
    public TimeSpan UploadTimeout { get; set; } = Defaults.UploadTimeout;
}

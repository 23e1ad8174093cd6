using LSeg.MLNet.Head;
using LSeg.MLNet.Package;
using LSeg.MLNet.Runtime;
using LSeg.MLNet.Text;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;

namespace LSeg.MLNet;

/// <summary>
/// A loaded LSeg model package: the image encoder, the segmentation head and the text encoder, independent of any
/// label set. Encode an image once (<see cref="EncodeImage"/>), encode labels once (<see cref="EncodeLabels"/>, cached
/// per label), then <see cref="Segment(EncodedImage, LabelEmbeddings, bool)"/> runs only the small head.
/// </summary>
/// <remarks>
/// Owns ONNX Runtime sessions: dispose it when done. All members are thread-safe. Runs on CUDA when
/// <see cref="LanguageSegmentationModelOptions.GpuDeviceId"/> is set and CUDA 13 + cuDNN 9 are installed
/// (Microsoft.ML.OnnxRuntime.Gpu), otherwise on the CPU.
/// </remarks>
public sealed partial class LanguageSegmentationModel : IDisposable
{
    private const string PixelsInput = "pixels";
    private const string PixelEmbeddingsName = "pixel_embeddings";
    private const string PixelFeaturesName = "pixel_features";
    private const string LabelEmbeddingsInput = "label_embeddings";
    private const string LabelMapOutput = "label_map";
    private const string ScoresOutput = "scores";
    internal const string LabelLogitOffsetsInput = "label_logit_offsets";

    private readonly ImageSessionsSlot _sessions;
    private readonly ILabelTextEncoder _textEncoder;
    private readonly LabelEmbeddingCache _labelCache;
    private readonly UnofferedTrainedLabels? _unofferedTrainedLabels;
    private readonly ModelManifest _calibration;
    private readonly LanguageSegmentationModelOptions _options;
    private readonly PixelProjection? _projection;
    private int _disposed;
    private int _callsInFlight;
    private int _sessionsReleased;

    /// <summary>How many of this model's calls the current flow of execution is inside (see <see cref="BeginCall"/>).</summary>
    private readonly AsyncLocal<int> _callDepth = new();

    private LanguageSegmentationModel(string packagePath, ModelManifest manifest, ExecutionDevice device, LanguageSegmentationModelOptions options,
        ImageSessionsSlot sessions, ILabelTextEncoder textEncoder, PixelProjection? projection)
    {
        PackagePath = packagePath;
        Manifest = manifest;
        Device = device;
        _options = options;
        _sessions = sessions;
        _textEncoder = textEncoder;
        _labelCache = new LabelEmbeddingCache(options.LabelCacheCapacity);
        // The calibration is read on every EncodeLabels from a copy of its own: the public Manifest's collections are
        // writable, and a caller editing them (or setting an offset to NaN) must not change, or break, calls under way.
        _calibration = ModelManifest.FromJson(manifest.ToJson(), Path.Combine(packagePath, ModelManifest.FileName));
        _unofferedTrainedLabels = UnofferedTrainedLabels.For(_calibration, names => textEncoder.Encode(names));
        if (manifest.TextEncoder.Kind == "table")
        {
            try
            {
                _unofferedTrainedLabels?.EncodeNow();
            }
            catch (ArgumentException e)
            {
                throw new InvalidDataException($"{Path.Combine(packagePath, ModelManifest.FileName)}: untrainedLabels names a trained label its fixed label table lacks: {e.Message}", e);
            }
        }
        _projection = projection;
    }

    /// <summary>Full path of the package directory the model was loaded from.</summary>
    public string PackagePath { get; }

    /// <summary>
    /// The package's manifest, as it was loaded. The model reads its calibration (logit offsets, trained names) from a
    /// copy of its own: editing this object's collections changes nothing the model computes.
    /// </summary>
    public ModelManifest Manifest { get; }

    /// <summary>True when the graphs run on a CUDA device.</summary>
    public bool UsesGpu => Device.UsesGpu;

    /// <summary>
    /// The most memory one image encoded by <see cref="EncodeImage"/> at <paramref name="inputSize"/> (default: the
    /// package's) holds, as <see cref="EncodedImage.MemoryBytes"/> counts it: a square image, whose grid is the largest.
    /// The grid holds the decoder features (with a pixel projection) or the embeddings, plus one norm per grid pixel; for
    /// sizing a cache of encoded images. An image whose <see cref="EncodedImage.PixelEmbeddings"/> were read holds those
    /// too (C values per grid pixel more), which this figure leaves out.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="inputSize"/> is outside 32 to 2048, the sizes an image can be encoded at.</exception>
    public long LargestEncodedImageBytes(int? inputSize = null)
    {
        int size = inputSize ?? Manifest.DefaultInputSize;
        RequireInputSize(size, nameof(inputSize));
        int multiple = Manifest.InputSizeMultiple;
        long side = (size + multiple - 1) / multiple * multiple / Manifest.EmbeddingStride;
        long valuesPerPixel = HeadIsCorrelationOnly ? (_projection?.FeatureSize ?? Manifest.EmbeddingSize) + 1 : Manifest.EmbeddingSize;
        return side * side * valuesPerPixel * sizeof(float);
    }

    /// <summary>Why a requested GPU is not used (null when none was asked for or CUDA works).</summary>
    public string? GpuFallbackReason => Device.FallbackReason;

    internal ExecutionDevice Device { get; }

    internal LanguageSegmentationModelOptions Options => _options;

    /// <summary>Full path of the image encoder graph.</summary>
    internal string ImageEncoderPath => Path.Combine(PackagePath, Manifest.Graphs.ImageEncoder);

    /// <summary>Full path of the head graph.</summary>
    internal string HeadPath => Path.Combine(PackagePath, Manifest.Graphs.Head);

    /// <summary>
    /// Makes sure the package's image encoder and head files are still on disk, for an ML.NET pipeline that composes its
    /// graph from them (at Fit, and at Save when a temporary-folder cleaner removed the composed graph): the default
    /// model's extracted copy is extracted again (to the same folder), another package's absence is explained.
    /// </summary>
    /// <exception cref="InvalidOperationException">The package this model was loaded from is gone (moved or deleted).</exception>
    internal void RequirePackageFiles()
    {
        bool FilesThere() => File.Exists(ImageEncoderPath) && File.Exists(HeadPath);
        if (FilesThere())
            return;
        // The default model is extracted to a folder named by its manifest's hash: extracting it again restores this path.
        if (DefaultModelPackage.IsEmbedded)
        {
            string extracted = DefaultModelPackage.Extract();
            if (string.Equals(Path.GetFullPath(PackagePath), Path.GetFullPath(extracted), StringComparison.Ordinal) && FilesThere())
                return;
        }
        throw new InvalidOperationException(
            $"The model package '{PackagePath}' this model was loaded from is gone (moved or deleted): an ML.NET pipeline composes its graph from the package's files. Load the model from where the package is now, and fit again.");
    }

    /// <summary>
    /// True when the head is only correlation + upsampling (no spatial regularisation block): the low-level API then
    /// computes it in C# on a grid made once per encoded image (<see cref="WordPixelCorrelation"/>, <see cref="LogitUpsampling"/>),
    /// which makes a label change cost a few milliseconds; heads with spatial blocks run the head graph.
    /// </summary>
    internal bool HeadIsCorrelationOnly => IsCorrelationOnly(Manifest);

    private static bool IsCorrelationOnly(ModelManifest manifest) => manifest.SpatialRegularization.Block == "none";

    /// <summary>Number of distinct labels encoded so far (the label-embedding cache).</summary>
    internal int CachedLabelCount => _labelCache.Count;

    /// <summary>
    /// Loads the model package in <paramref name="packagePath"/> (a directory written by the exporter, or its
    /// <c>manifest.json</c>), after checking every file's size and sha256 against the manifest.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The directory does not exist, or the path is a file other than the manifest.</exception>
    /// <exception cref="FileNotFoundException">The manifest or a file it lists is missing.</exception>
    /// <exception cref="InvalidDataException">The manifest is invalid or of an unknown version, a file's size or sha256 differs, or the manifest's temperature is not the one its head graph divides by.</exception>
    /// <exception cref="InvalidOperationException">A GPU was asked for without fallback and CUDA cannot be used.</exception>
    public static LanguageSegmentationModel Load(string packagePath, LanguageSegmentationModelOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(packagePath);
        string directory = ModelManifest.PackageDirectory(Path.GetFullPath(packagePath));
        if (File.Exists(directory))
            throw new DirectoryNotFoundException($"'{directory}' is a file, not a model package directory (a folder holding manifest.json and its graphs); a saved ML.NET model (.zip) loads with mlContext.Model.Load.");
        if (!Directory.Exists(directory))
            throw new DirectoryNotFoundException($"Model package directory '{directory}' does not exist.");
        return LoadVerified(directory, ModelManifest.ReadVerified(directory), options);
    }

    /// <summary>Loads the package in <paramref name="directory"/>, whose files have just been verified against <paramref name="manifest"/>.</summary>
    private static LanguageSegmentationModel LoadVerified(string directory, ModelManifest manifest, LanguageSegmentationModelOptions? options, bool deferImageSessions = false)
    {
        // A private copy: validated once here, and read on every call after.
        options = options?.Copy() ?? new LanguageSegmentationModelOptions();
        foreach (string graph in new[] { manifest.Graphs.ImageEncoder, manifest.Graphs.Head })
        {
            if (!File.Exists(Path.Combine(directory, graph)))
                throw new FileNotFoundException($"Model package '{directory}' is missing its graph '{graph}'.", Path.Combine(directory, graph));
        }
        HeadGraphTemperature.RequireAgreement(directory, manifest);

        options.Validate();
        var device = ExecutionDevice.Select(options.GpuDeviceId, options.FallbackToCpu);
        try
        {
            return LoadOn(device, directory, manifest, options, deferImageSessions);
        }
        catch (OnnxRuntimeException e) when (device.UsesGpu)
        {
            // The probe only loads the CUDA provider; a device that is missing (a container without the GPU passed
            // through, an id beyond the GPUs present, a driver too old) fails only here, when a session is created.
            var cpu = ExecutionDevice.CpuInsteadOf(device, e.Message.Trim(), options.FallbackToCpu);
            return LoadOn(cpu, directory, manifest, options, deferImageSessions);
        }
    }

    /// <summary>
    /// Creates the package's sessions on <paramref name="device"/> and checks them against the manifest; the image side's
    /// later when <paramref name="deferImageSessions"/> (see <see cref="ImageSessionsFor"/>).
    /// </summary>
    private static LanguageSegmentationModel LoadOn(ExecutionDevice device, string directory, ModelManifest manifest, LanguageSegmentationModelOptions options, bool deferImageSessions)
    {
        ILabelTextEncoder? textEncoder = null;
        ImageSessionsSlot? sessions = null;
        try
        {
            using var sessionOptions = CreateSessionOptions(device, options);
            var projection = ReadPixelProjection(directory, manifest);
            sessions = ImageSessionsFor(directory, manifest, device, options, sessionOptions, projection, deferImageSessions);
            textEncoder = PackageTextEncoder.Create(directory, manifest.TextEncoder, manifest.EmbeddingSize, options.TruncateLongLabels, sessionOptions);
            if (textEncoder.EmbeddingSize != manifest.EmbeddingSize)
                throw new InvalidDataException($"The {manifest.TextEncoder.Kind} text encoder gives {textEncoder.EmbeddingSize}-d embeddings; the manifest's embeddingSize is {manifest.EmbeddingSize}.");
            return new LanguageSegmentationModel(directory, manifest, device, options, sessions, textEncoder, projection);
        }
        catch
        {
            sessions?.DisposeIfCreated();
            textEncoder?.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Loads the default model, which the LSeg.MLNet.DefaultModel package (or project) carries: an application references
    /// it to use this method (nothing is downloaded). The package is extracted once per version to a cache directory
    /// under the temporary folder, checked by sha256, and loaded.
    /// </summary>
    /// <exception cref="InvalidOperationException">The application does not reference LSeg.MLNet.DefaultModel, or it was built without a default model.</exception>
    public static LanguageSegmentationModel LoadDefault(LanguageSegmentationModelOptions? options = null)
    {
        // Extraction verifies every file (or the cached copy's); loading does not hash them a second time.
        var (directory, manifest) = DefaultModelPackage.ExtractVerified();
        return LoadVerified(directory, manifest, options);
    }

    /// <summary>True when the application carries the default model (it references LSeg.MLNet.DefaultModel; see <see cref="LoadDefault"/>).</summary>
    public static bool HasDefaultModel => DefaultModelPackage.IsEmbedded;

    /// <summary>
    /// Extracts the default model's package as <see cref="LoadDefault"/> does (once per version, every file checked by
    /// sha256) and returns its directory, without loading it: to read its manifest, or to give it to a tool that takes a
    /// package path (<c>lseg info</c>, <c>lseg upgrade</c>, <c>lseg quantize</c>). Treat the directory as read-only.
    /// </summary>
    /// <exception cref="InvalidOperationException">The application does not reference LSeg.MLNet.DefaultModel, or it was built without a default model.</exception>
    public static string ExtractDefaultModel() => DefaultModelPackage.Extract();

    private static void RequireNames(InferenceSession session, string[] inputs, string[] outputs, string graph)
    {
        foreach (string name in inputs)
        {
            if (!session.InputMetadata.ContainsKey(name))
                throw new InvalidDataException($"Graph '{graph}' has no input '{name}' (inputs: {string.Join(", ", session.InputNames)}); see docs/model-package.md.");
        }
        foreach (string name in outputs)
        {
            if (!session.OutputMetadata.ContainsKey(name))
                throw new InvalidDataException($"Graph '{graph}' has no output '{name}' (outputs: {string.Join(", ", session.OutputNames)}); see docs/model-package.md.");
        }
    }

    /// <summary>Most labels the text encoder reads in one run (a longer list is encoded in several).</summary>
    internal const int LabelsPerTextEncoderRun = 64;

    /// <summary>
    /// Encodes <paramref name="labels"/> with the package's text encoder. Each label is encoded once per model and
    /// cached (up to <see cref="LanguageSegmentationModelOptions.LabelCacheCapacity"/> labels), so changing the label
    /// set costs only the labels not seen recently.
    /// </summary>
    /// <exception cref="ArgumentException">The list is empty, a label is null, empty or whitespace, a label appears twice, a label is too long for the text encoder (unless truncation is on), a label has no word the text encoder knows (all of it unknown tokens to a WordPiece vocabulary such as MiniLM's: "猫", "🐱"), or two labels get the same embedding (e.g. "cat" and "Cat" with an uncased text encoder: only the first could ever win).</exception>
    public LabelEmbeddings EncodeLabels(IReadOnlyList<string> labels)
    {
        using var call = BeginCall();
        string[] checkedLabels = ValidateLabels(labels, nameof(labels));
        RequireKnownWords(checkedLabels, nameof(labels));
        // What the model reads: the label without surrounding white space (" grass" from "dog, grass".Split(',') is
        // "grass" to the text encoder, the cache, the logit offsets and the catch-all's rules alike); the result keeps
        // the labels as given.
        string[] texts = [.. checkedLabels.Select(label => label.Trim())];
        var embeddings = new float[texts.Length][];
        var missing = new List<int>();
        for (int i = 0; i < texts.Length; i++)
        {
            embeddings[i] = _labelCache.Get(texts[i])!;
            if (embeddings[i] is null)
                missing.Add(i);
        }
        // In runs of at most LabelsPerTextEncoderRun: one run pads every label to the longest, and a transformer's
        // attention grows with labels × tokens² (a thousand new labels, one of them long, would need gigabytes at once).
        for (int start = 0; start < missing.Count; start += LabelsPerTextEncoderRun)
        {
            var run = missing.GetRange(start, Math.Min(LabelsPerTextEncoderRun, missing.Count - start));
            var encoded = _textEncoder.Encode(run.Select(i => texts[i]).ToArray());
            for (int k = 0; k < run.Count; k++)
            {
                embeddings[run[k]] = encoded[k];
                _labelCache.Add(texts[run[k]], encoded[k]);
            }
        }
        RequireDistinguishable(checkedLabels, embeddings, nameof(labels));
        var offsets = _calibration.LogitOffsetsOf(texts);
        var (catchAll, absorbed, absorbedOffset) = _unofferedTrainedLabels?.Absorbed(texts, embeddings) ?? (-1, [], 0f);
        int size = Manifest.EmbeddingSize, rows = checkedLabels.Length + absorbed.Count;
        var values = new float[rows * size];
        for (int i = 0; i < checkedLabels.Length; i++)
            embeddings[i].CopyTo(values, i * size);
        for (int k = 0; k < absorbed.Count; k++)
            absorbed[k].CopyTo(values, (checkedLabels.Length + k) * size);
        // Absorbed names are trained and uncalibrated: raw logits, as an offered trained name gets, except beside an
        // untrained name, where they stand for the catch-all and are lowered by its drop (UnofferedTrainedLabels).
        Array.Resize(ref offsets, rows);
        Array.Fill(offsets, absorbedOffset, checkedLabels.Length, absorbed.Count);
        return new LabelEmbeddings(this, checkedLabels, values, size, offsets, catchAll);
    }

    /// <summary>
    /// Refuses a label the text encoder knows none of the words of (a WordPiece vocabulary reads it as unknown tokens
    /// only): its embedding would be that of any other unreadable label, and its mask silently meaningless.
    /// </summary>
    private void RequireKnownWords(string[] labels, string parameterName)
    {
        foreach (string label in labels)
        {
            if (_textEncoder.KnowsNoWordOf(label))
                throw new ArgumentException(
                    $"Label {QuotedLabel.Of(label)} cannot be encoded: this model's text encoder knows none of its words (its tokenizer reads all of it as unknown tokens, or drops it), so the label would mean nothing to the model. Use words in the text encoder's vocabulary (the default model's MiniLM reads English).",
                    parameterName);
        }
    }

    /// <summary>
    /// Refuses labels the text encoder cannot tell apart: with identical embeddings every pixel scores them equally and
    /// the later one never wins, so the mask would silently never use it.
    /// </summary>
    private static void RequireDistinguishable(string[] labels, float[][] embeddings, string parameterName)
    {
        var firstWithContent = new Dictionary<int, List<int>>();
        for (int i = 0; i < embeddings.Length; i++)
        {
            var hash = new HashCode();
            hash.AddBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(embeddings[i].AsSpan()));
            int key = hash.ToHashCode();
            if (!firstWithContent.TryGetValue(key, out var sameHash))
                firstWithContent[key] = sameHash = [];
            foreach (int j in sameHash)
            {
                if (embeddings[j].AsSpan().SequenceEqual(embeddings[i]))
                    throw new ArgumentException(
                        $"Labels {QuotedLabel.Of(labels[j])} and {QuotedLabel.Of(labels[i])} get the same embedding from this model's text encoder ({WhySame(labels[j], labels[i])}), so {QuotedLabel.Of(labels[i])} could never win a pixel; keep one of them.",
                        parameterName);
            }
            sameHash.Add(i);
        }
    }

    /// <summary>The likely reason two labels got one embedding, for the message.</summary>
    private static string WhySame(string first, string second) =>
        string.Equals(first, second, StringComparison.OrdinalIgnoreCase)
            ? "they differ only in case, which it ignores"
            : "its tokenizer reads them as the same tokens, e.g. it ignores case, accents or punctuation";

    /// <summary>True when <paramref name="text"/> is not well-formed UTF-16: every tokenizer's Unicode normalisation throws on it.</summary>
    private static bool HasLoneSurrogate(string text)
    {
        for (int i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
                i++;
            else if (char.IsSurrogate(text[i]))
                return true;
        }
        return false;
    }

    /// <summary>Checks a label list: not empty, no null/empty/whitespace label, no half character, no duplicate. Returns a copy.</summary>
    /// <exception cref="ArgumentException">The list breaks one of the rules; the message names the label.</exception>
    internal static string[] ValidateLabels(IReadOnlyList<string>? labels, string parameterName)
    {
        if (labels is null)
            throw new ArgumentNullException(parameterName);
        if (labels.Count == 0)
            throw new ArgumentException("The label list is empty; give at least one label.", parameterName);
        var seen = new Dictionary<string, string>(StringComparer.Ordinal);
        var copy = new string[labels.Count];
        for (int i = 0; i < labels.Count; i++)
        {
            string? label = labels[i];
            if (label is null)
                throw new ArgumentException($"Label {i} is null; every label must be non-empty text.", parameterName);
            if (string.IsNullOrWhiteSpace(label))
                throw new ArgumentException($"Label {i} ({QuotedLabel.Of(label)}) is empty or whitespace; every label must be non-empty text.", parameterName);
            if (HasLoneSurrogate(label))
                throw new ArgumentException($"Label {i} ({QuotedLabel.Of(label)}) holds half of a UTF-16 surrogate pair (text cut in the middle of a character such as an emoji); give whole characters.", parameterName);
            // Compared as the model reads them, without surrounding spaces ("cat" and "cat " are one label).
            if (!seen.TryAdd(label.Trim(), label))
                throw new ArgumentException(seen[label.Trim()] == label
                    ? $"Label {QuotedLabel.Of(label)} appears more than once (again at index {i}); labels must be distinct."
                    : $"Label {QuotedLabel.Of(label)} appears more than once (again at index {i}, differing only in surrounding spaces, which labels are read without); labels must be distinct.", parameterName);
            copy[i] = label;
        }
        return copy;
    }

    /// <summary>
    /// Runs the image encoder once. The image is resized (bilinear) keeping its aspect ratio so that its longer side
    /// is about <paramref name="inputSize"/> (default: the manifest's <c>defaultInputSize</c>), both sides rounded
    /// to multiples of 32.
    /// </summary>
    /// <exception cref="ArgumentException">The image is smaller than <see cref="LanguageSegmentationModelOptions.MinImageSide"/> on a side or larger than <see cref="LanguageSegmentationModelOptions.MaxImagePixels"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="inputSize"/> is not in 32 … 2048.</exception>
    /// <exception cref="ObjectDisposedException">The model or the image was disposed.</exception>
    public EncodedImage EncodeImage(MLImage image, int? inputSize = null) => Encode(image, inputSize, forLabelChanges: true);

    /// <summary>
    /// Runs the image encoder on one image. <paramref name="forLabelChanges"/> keeps the grid the C# head reads (worth
    /// its transpose only when the image is segmented more than once); otherwise the planar output goes to the head graph.
    /// </summary>
    private EncodedImage Encode(MLImage image, int? inputSize, bool forLabelChanges)
    {
        ArgumentNullException.ThrowIfNull(image);
        return EncodeAll([image], inputSize, forLabelChanges, nameof(image))[0];
    }

    /// <summary>The image sizes this model accepts, from its options.</summary>
    internal ImageSizeLimits SizeLimits => new(_options.MinImageSide, _options.MaxImagePixels);

    /// <summary>
    /// Segments an encoded image with encoded labels: runs only the head (word-pixel correlation, spatial
    /// regularisation, upsampling, argmax), then maps the label map back to the original image size.
    /// </summary>
    /// <param name="image">An image encoded by this model.</param>
    /// <param name="labels">Labels encoded by this model.</param>
    /// <param name="includeEmbeddings">Attach the encoded image, with its dense pixel embeddings (<see cref="SegmentationResult.EncodedImage"/>).</param>
    /// <exception cref="ArgumentException">The image or labels were encoded by another model.</exception>
    public SegmentationResult Segment(EncodedImage image, LabelEmbeddings labels, bool includeEmbeddings = false)
    {
        using var call = BeginCall();
        RequireEncodedByThisModel(image, labels);

        var embeddings = includeEmbeddings ? image : null;
        if (image.Grid is not { } grid)
        {
            var head = RunHead(image.Planar, image.EmbeddingSize, image.EmbeddingHeight, image.EmbeddingWidth, labels);
            return ToResult(head.LabelMap, head.Scores, head.Width, head.Height, image.OriginalWidth, image.OriginalHeight, labels, embeddings);
        }
        int outWidth = 2 * grid.Width, outHeight = 2 * grid.Height, outPixels = outWidth * outHeight;
        // At the original size the map is the result itself; otherwise only a step towards it, rented like the logits
        // (see LogitUpsampling).
        bool mapIsResult = outWidth == image.OriginalWidth && outHeight == image.OriginalHeight;
        // Uninitialised: every element is written by the upsampling.
        var labelMap = mapIsResult ? GC.AllocateUninitializedArray<int>(outPixels) : ScratchArrays.Rent<int>(outPixels);
        var scores = mapIsResult ? GC.AllocateUninitializedArray<float>(outPixels) : ScratchArrays.Rent<float>(outPixels);
        try
        {
            var counts = RunCorrelationHead(grid, labels, labelMap, scores);
            return ToResult(labelMap, scores, outWidth, outHeight, image.OriginalWidth, image.OriginalHeight, labels, embeddings, counts);
        }
        finally
        {
            if (!mapIsResult)
            {
                ScratchArrays.Return(labelMap);
                ScratchArrays.Return(scores);
            }
        }
    }

    /// <summary>
    /// Segments an encoded image with encoded labels like <see cref="Segment(EncodedImage, LabelEmbeddings, bool)"/>,
    /// but writes the mask, the scores and the pixel counts into buffers the caller owns and reuses. For applications that
    /// segment the same image many times (a label editor re-segmenting as the user types): no result memory is
    /// allocated per call, which on a 480×480 image is about half of a label change's cost.
    /// </summary>
    /// <param name="image">An image encoded by this model.</param>
    /// <param name="labels">Labels encoded by this model.</param>
    /// <param name="mask">Receives each pixel's 0-based label index, row-major: exactly
    /// <see cref="EncodedImage.OriginalWidth"/> × <see cref="EncodedImage.OriginalHeight"/> elements.</param>
    /// <param name="scores">Receives each pixel's winning logit, the same size as <paramref name="mask"/>.</param>
    /// <param name="pixelCounts">Receives the pixels per label: exactly <see cref="LabelEmbeddings.Count"/> elements.</param>
    /// <exception cref="ArgumentException">The image or labels were encoded by another model, or a buffer's length is not the one required.</exception>
    public void SegmentInto(EncodedImage image, LabelEmbeddings labels, Span<int> mask, Span<float> scores, Span<long> pixelCounts)
    {
        using var call = BeginCall();
        RequireEncodedByThisModel(image, labels);
        int width = image.OriginalWidth, height = image.OriginalHeight;
        RequireLength(mask.Length, width * height, nameof(mask), $"the image's {width}×{height} pixels");
        RequireLength(scores.Length, width * height, nameof(scores), $"the image's {width}×{height} pixels");
        RequireLength(pixelCounts.Length, labels.Count, nameof(pixelCounts), $"one per label ({labels.Count})");

        if (image.Grid is not { } grid)
        {
            var head = RunHead(image.Planar, image.EmbeddingSize, image.EmbeddingHeight, image.EmbeddingWidth, labels);
            LabelMapToOriginalSize.MapInto(head.LabelMap, head.Scores, head.Width, head.Height, width, height, labels.Count, null, mask, scores, pixelCounts);
            return;
        }
        int mapWidth = 2 * grid.Width, mapHeight = 2 * grid.Height;
        var labelMap = ScratchArrays.Rent<int>(mapWidth * mapHeight);
        var mapScores = ScratchArrays.Rent<float>(mapWidth * mapHeight);
        try
        {
            var counts = RunCorrelationHead(grid, labels, labelMap, mapScores);
            LabelMapToOriginalSize.MapInto(labelMap, mapScores, mapWidth, mapHeight, width, height, labels.Count, counts, mask, scores, pixelCounts);
        }
        finally
        {
            ScratchArrays.Return(labelMap);
            ScratchArrays.Return(mapScores);
        }
    }

    private void RequireEncodedByThisModel(EncodedImage image, LabelEmbeddings labels)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(labels);
        if (!ReferenceEquals(image.Model, this))
            throw new ArgumentException("The image was encoded by another LanguageSegmentationModel; encode it with this one.", nameof(image));
        if (!ReferenceEquals(labels.Model, this))
            throw new ArgumentException("The labels were encoded by another LanguageSegmentationModel; encode them with this one.", nameof(labels));
    }

    private static void RequireLength(int length, int required, string parameterName, string what)
    {
        if (length != required)
            throw new ArgumentException($"{parameterName} holds {length} elements; it must hold exactly {required}, {what}.", parameterName);
    }

    /// <summary>The label map and scores at the model's output size, mapped back to the original image size, with per-label counts.</summary>
    private static SegmentationResult ToResult(int[] labelMap, float[] scores, int mapWidth, int mapHeight, int width, int height, LabelEmbeddings labels, EncodedImage? embeddings,
        long[]? countsAtMapSize = null)
    {
        var (mask, fullScores, counts) = LabelMapToOriginalSize.Map(labelMap, scores, mapWidth, mapHeight, width, height, labels.Count, countsAtMapSize);
        return new SegmentationResult(width, height, labels.Labels, mask, fullScores, counts, embeddings);
    }

    /// <summary>
    /// The head without spatial blocks, in C#: correlation on the grid, then upsampling and argmax at 2h × 2w, written to
    /// the first 2h × 2w elements of <paramref name="labelMap"/> and <paramref name="scores"/>; returns the pixels per label
    /// of that map.
    /// </summary>
    private long[] RunCorrelationHead(PixelGrid grid, LabelEmbeddings labels, int[] labelMap, float[] scores)
    {
        var preparedLabels = WordPixelCorrelation.PrepareLabels(labels.Buffer, labels.ScoredCount, labels.EmbeddingSize, (float)Manifest.Temperature, _projection, labels.LogitOffsets);
        var logits = ScratchArrays.Rent<float>(WordPixelCorrelation.LogitCount(grid, labels.ScoredCount));
        var gridWinners = ScratchArrays.Rent<int>(grid.PixelCount);
        try
        {
            WordPixelCorrelation.Logits(grid, preparedLabels, logits, gridWinners);
            var counts = LogitUpsampling.ArgMaxAtTwiceTheSize(logits, gridWinners, grid.Height, grid.Width, labels.ScoredCount, labelMap, scores);
            labels.FoldAbsorbed(labelMap.AsSpan(0, 4 * grid.PixelCount));
            return labels.FoldAbsorbed(counts);
        }
        finally
        {
            ScratchArrays.Return(logits);
            ScratchArrays.Return(gridWinners);
        }
    }

    /// <summary>Runs the head graph on [1, C, h, w] pixel embeddings and the labels; returns the label map and scores at 2h × 2w.</summary>
    internal (int[] LabelMap, float[] Scores, int Width, int Height) RunHead(float[] pixelEmbeddings, int channels, int height, int width, LabelEmbeddings labels)
    {
        using var pixels = OrtValue.CreateTensorValueFromMemory(pixelEmbeddings, [1, channels, height, width]);
        var (maps, mapWidth, mapHeight) = RunHead(pixels, labels);
        return (maps[0].LabelMap, maps[0].Scores, mapWidth, mapHeight);
    }

    /// <summary>Runs the head graph on a batch of pixel embeddings [B, C, h, w]; returns each image's label map and scores at 2h × 2w.</summary>
    private ((int[] LabelMap, float[] Scores)[] Maps, int Width, int Height) RunHead(OrtValue pixelEmbeddings, LabelEmbeddings labels)
    {
        using var outputs = RunHeadGraph(pixelEmbeddings, labels, [LabelMapOutput, ScoresOutput]);
        var shape = outputs[0].GetTensorTypeAndShape().Shape;
        int count = (int)shape[0], mapHeight = (int)shape[1], mapWidth = (int)shape[2], pixels = mapHeight * mapWidth;
        var labelMaps = outputs[0].GetTensorDataAsSpan<long>();
        var scores = outputs[1].GetTensorDataAsSpan<float>();
        var maps = new (int[], float[])[count];
        for (int b = 0; b < count; b++)
        {
            var map = new int[pixels];
            var source = labelMaps.Slice(b * pixels, pixels);
            for (int i = 0; i < pixels; i++)
                map[i] = (int)source[i];
            labels.FoldAbsorbed(map);
            maps[b] = (map, scores.Slice(b * pixels, pixels).ToArray());
        }
        return (maps, mapWidth, mapHeight);
    }

    /// <summary>
    /// Runs the head graph on pixel embeddings and labels, with the labels' logit offsets when the graph takes them (a
    /// package whose manifest has offsets always does: <see cref="Load"/> checks it).
    /// </summary>
    private IDisposableReadOnlyCollection<OrtValue> RunHeadGraph(OrtValue pixelEmbeddings, LabelEmbeddings labels, string[] outputNames)
    {
        var embeddings = OrtValue.CreateTensorValueFromMemory(labels.Buffer, [labels.ScoredCount, labels.EmbeddingSize]);
        var sessions = Sessions;
        OrtValue? offsets = sessions.HeadTakesLogitOffsets ? OrtValue.CreateTensorValueFromMemory(labels.LogitOffsets, [labels.ScoredCount]) : null;
        try
        {
            using var runOptions = new RunOptions();
            return offsets is null
                ? sessions.Head.Run(runOptions, [PixelEmbeddingsName, LabelEmbeddingsInput], [pixelEmbeddings, embeddings], outputNames)
                : sessions.Head.Run(runOptions, [PixelEmbeddingsName, LabelEmbeddingsInput, LabelLogitOffsetsInput], [pixelEmbeddings, embeddings, offsets], outputNames);
        }
        finally
        {
            embeddings.Dispose();
            offsets?.Dispose();
        }
    }

    /// <summary>
    /// Encodes <paramref name="image"/> and segments it with <paramref name="labels"/> in one call (the image encoder's
    /// output goes straight to the head, nothing is kept for label changes).
    /// </summary>
    /// <param name="image">The image.</param>
    /// <param name="labels">The labels, as for <see cref="EncodeLabels"/>.</param>
    /// <param name="inputSize">The model input size of the longer side (see <see cref="EncodeImage"/>); default: the manifest's <c>defaultInputSize</c>.</param>
    /// <exception cref="ArgumentException">See <see cref="EncodeLabels"/> and <see cref="EncodeImage"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="inputSize"/> is not in 32 … 2048.</exception>
    public SegmentationResult Segment(MLImage image, IReadOnlyList<string> labels, int? inputSize = null)
    {
        ArgumentNullException.ThrowIfNull(image);
        return SegmentAll([image], labels, inputSize, nameof(image))[0];
    }

    /// <summary>
    /// Marks a call that uses the ONNX Runtime sessions; disposing the result ends it. Throws once the model is disposed,
    /// except inside a call that started before: the lease is re-entrant, so a composite call (one-shot
    /// <c>Segment</c> encodes the labels, then segments; <see cref="SegmentMultiScale"/> runs several passes) finishes
    /// after a <see cref="Dispose"/> that lands between its steps. Every member that runs a session holds one for its
    /// whole duration, so that <see cref="Dispose"/> on another thread never frees a session under a running call
    /// (which would crash the process in native code).
    /// </summary>
    private SessionCall BeginCall()
    {
        int depth = _callDepth.Value;
        Interlocked.Increment(ref _callsInFlight);
        // Sessions already released can only be seen by work that outlived the call it came from: refused as well.
        if (Volatile.Read(ref _disposed) != 0 && (depth == 0 || Volatile.Read(ref _sessionsReleased) != 0))
        {
            EndCall();
            throw new ObjectDisposedException(GetType().FullName, "The LanguageSegmentationModel was disposed; load it again to segment.");
        }
        _callDepth.Value = depth + 1;
        return new SessionCall(this, depth);
    }

    private void EndCall()
    {
        // The last call to end after Dispose releases the sessions (Dispose itself does when none is running).
        if (Interlocked.Decrement(ref _callsInFlight) == 0 && Volatile.Read(ref _disposed) != 0)
            ReleaseSessions();
    }

    private readonly struct SessionCall(LanguageSegmentationModel model, int outerDepth) : IDisposable
    {
        public void Dispose()
        {
            model._callDepth.Value = outerDepth;
            model.EndCall();
        }
    }

    /// <summary>
    /// Releases the ONNX Runtime sessions: at once when no call is running, otherwise when the last running call ends
    /// (a call that has started finishes, all its steps included; calls that start after this throw
    /// <see cref="ObjectDisposedException"/>).
    /// </summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        if (Volatile.Read(ref _callsInFlight) == 0)
            ReleaseSessions();
    }

    private void ReleaseSessions()
    {
        if (Interlocked.Exchange(ref _sessionsReleased, 1) != 0)
            return;
        _sessions.DisposeIfCreated();
        _textEncoder.Dispose();
    }
}

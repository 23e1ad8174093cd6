using LSeg.MLNet.Package;
using LSeg.Training.Bridge.Export;
using LSeg.Training.Bridge.Network;

namespace LSeg.Training.Bridge.Training;

/// <summary>
/// A trained network as a model package with its run's text encoder: MiniLM, or a fine-tune's initial model's encoder,
/// whose files are copied unchanged (a CLIP text tower is never retrained). Used by <c>lseg train</c> and <c>lseg export</c>.
/// </summary>
public static class TrainedPackage
{
    /// <summary>
    /// Exports <paramref name="net"/>, loaded from <paramref name="checkpoint"/>, to <paramref name="directory"/>
    /// (atomic) with the text encoder of the run the checkpoint comes from: the prompt templates and the initial model
    /// whose text encoder a fine-tune keeps, read from the checkpoint folder's <c>config.json</c>; MiniLM without prompts
    /// for a checkpoint file or a folder without one. The text-encoder settings and the default input size of
    /// <paramref name="options"/> are set from the run (see <see cref="ExportBest"/>); the rest (name, float16,
    /// offsets…) are the caller's.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The run was fine-tuned from a model package that no longer exists.</exception>
    /// <exception cref="InvalidDataException">That package, or the run's <c>config.json</c>, is damaged.</exception>
    public static ModelManifest ExportCheckpoint(LSegNet net, string checkpoint, string directory, ModelPackageExportOptions options)
    {
        ArgumentNullException.ThrowIfNull(net);
        ArgumentNullException.ThrowIfNull(checkpoint);
        ArgumentNullException.ThrowIfNull(options);
        var run = CheckpointFolder.ReadRunConfig(checkpoint);
        // A fixed-label run learned its own label table (no text encoder): its head means nothing next to any text
        // encoder a package could carry, which is why lseg train ships no package for it either.
        if (run?["textEncoder"]?.GetValue<string>() == TrainingNetwork.FixedLabels)
            throw new InvalidDataException($"Checkpoint '{checkpoint}' is of a fixed-label run (textEncoder \"{TrainingNetwork.FixedLabels}\"): its labels are a learned table, not text, so it cannot become a model package that segments by text labels.");
        var prompts = run?["textPrompts"]?.AsArray().Select(p => p!.GetValue<string>()).ToList();
        var textEncoder = RunTextEncoder.OfRun(run?["initialModel"]?.GetValue<string>(), prompts, run?["textProjection"]?.GetValue<string>());
        return Export(net, textEncoder, ValidationSizeOf(run), directory, options);
    }

    /// <summary>The longer side the run validated and tested at (<c>validationLongSide</c>); null when not set.</summary>
    private static int? ValidationSizeOf(System.Text.Json.Nodes.JsonNode? run) =>
        run?["validationLongSide"]?.GetValue<int>() is int size && size > 0 ? size : null;

    /// <summary>
    /// Exports the best checkpoint of the finished run <paramref name="result"/> (replacing a package already there). The
    /// package's default input size is the size its run was validated and tested at, so that <c>lseg evaluate</c> on it
    /// reproduces the run's own test; a fine-tune keeps its initial package's size.
    /// </summary>
    /// <param name="result">The finished run.</param>
    /// <param name="directory">The package directory to write.</param>
    /// <param name="name">The package's model name.</param>
    /// <param name="provenance">Key/value facts recorded in the manifest (dataset, epochs…).</param>
    public static ModelManifest ExportBest(TrainingResult result, string directory, string name, Dictionary<string, string> provenance)
    {
        ArgumentNullException.ThrowIfNull(result);
        using var net = LSegNet.Create(result.NetworkConfig, pretrainedBackbone: false);
        net.load(Path.Combine(result.BestCheckpoint, Trainer.ModelFileName));
        return Export(net, result.Network.Text, ValidationSizeOf(CheckpointFolder.ReadRunConfig(result.BestCheckpoint)), directory,
            new ModelPackageExportOptions { Name = name, Overwrite = true, Provenance = provenance });
    }

    /// <summary>
    /// Exports <paramref name="net"/> to <paramref name="directory"/> (atomic) with <paramref name="textEncoder"/>'s settings
    /// in <paramref name="options"/>; <paramref name="validationSize"/>, when the run set one, is the default input size
    /// unless the text encoder's initial package gives its own.
    /// </summary>
    private static ModelManifest Export(LSegNet net, RunTextEncoder textEncoder, int? validationSize, string directory, ModelPackageExportOptions options)
    {
        if (validationSize is int size)
            options.DefaultInputSize = size;
        textEncoder.ApplyTo(options);
        // A run's MiniLM without a projection gives 384-d label embeddings: a network of another width (a checkpoint file
        // without its run's settings, say) would be exported, then refused at load.
        if (options.TextEncoder is { Kind: "minilm", Projection: null } && net.Config.EmbeddingSize != TrainingNetwork.MiniLmEmbeddingSize)
            throw new ArgumentException(
                $"The package's text encoder would be MiniLM ({TrainingNetwork.MiniLmEmbeddingSize}-d label embeddings, no projection), but the network's embeddingSize is {net.Config.EmbeddingSize}: export the checkpoint folder of its run (whose settings name its text encoder), or fit a projection to {net.Config.EmbeddingSize}-d (lseg text-projection).",
                nameof(net));
        return ModelPackageExporter.Export(net, directory, options);
    }
}

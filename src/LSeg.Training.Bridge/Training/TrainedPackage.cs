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
    /// for a checkpoint file or a folder without one. The text-encoder settings of <paramref name="options"/> are set
    /// from the run; the rest (name, float16, offsets…) are the caller's.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The run was fine-tuned from a model package that no longer exists.</exception>
    /// <exception cref="InvalidDataException">That package, or the run's <c>config.json</c>, is damaged.</exception>
    public static ModelManifest ExportCheckpoint(LSegNet net, string checkpoint, string directory, ModelPackageExportOptions options)
    {
        ArgumentNullException.ThrowIfNull(net);
        ArgumentNullException.ThrowIfNull(checkpoint);
        ArgumentNullException.ThrowIfNull(options);
        return Export(net, TextEncoderOfRun(checkpoint), directory, options);
    }

    /// <summary>The text encoder of the training run a checkpoint folder comes from; MiniLM without prompts for a checkpoint file.</summary>
    private static RunTextEncoder TextEncoderOfRun(string checkpoint)
    {
        string path = Path.Combine(checkpoint, Trainer.RunConfigFileName);
        if (!Directory.Exists(checkpoint) || !File.Exists(path))
            return RunTextEncoder.OfRun(null, null);
        System.Text.Json.Nodes.JsonNode? run;
        try
        {
            // Only these fields are read: the run's datasets need not exist where the checkpoint is exported.
            run = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(path));
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new InvalidDataException($"The checkpoint's run configuration '{path}' is not valid JSON: {e.Message}", e);
        }
        var prompts = run?["textPrompts"]?.AsArray().Select(p => p!.GetValue<string>()).ToList();
        return RunTextEncoder.OfRun(run?["initialModel"]?.GetValue<string>(), prompts);
    }

    /// <summary>Exports the best checkpoint of the finished run <paramref name="result"/> (replacing a package already there).</summary>
    /// <param name="result">The finished run.</param>
    /// <param name="directory">The package directory to write.</param>
    /// <param name="name">The package's model name.</param>
    /// <param name="provenance">Key/value facts recorded in the manifest (dataset, epochs…).</param>
    public static ModelManifest ExportBest(TrainingResult result, string directory, string name, Dictionary<string, string> provenance)
    {
        ArgumentNullException.ThrowIfNull(result);
        using var net = LSegNet.Create(result.NetworkConfig, pretrainedBackbone: false);
        net.load(Path.Combine(result.BestCheckpoint, Trainer.ModelFileName));
        return Export(net, result.Network.Text, directory, new ModelPackageExportOptions { Name = name, Overwrite = true, Provenance = provenance });
    }

    /// <summary>Exports <paramref name="net"/> to <paramref name="directory"/> (atomic) with <paramref name="textEncoder"/>'s settings in <paramref name="options"/>.</summary>
    private static ModelManifest Export(LSegNet net, RunTextEncoder textEncoder, string directory, ModelPackageExportOptions options)
    {
        textEncoder.ApplyTo(options);
        return ModelPackageExporter.Export(net, directory, options);
    }
}

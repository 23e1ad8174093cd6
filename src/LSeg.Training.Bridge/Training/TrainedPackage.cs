using LSeg.MLNet.Package;
using LSeg.Training.Bridge.Export;
using LSeg.Training.Bridge.Network;

namespace LSeg.Training.Bridge.Training;

/// <summary>
/// A trained network as a model package with its run's text encoder: MiniLM, or a fine-tune's initial model's encoder,
/// whose files are copied unchanged (a CLIP text tower is never retrained). Used by <c>lseg train</c> and <c>lseg export</c>.
/// </summary>
internal static class TrainedPackage
{
    /// <summary>Exports <paramref name="net"/> to <paramref name="directory"/> (atomic).</summary>
    public static ModelManifest Export(LSegNet net, RunTextEncoder textEncoder, string directory, string name, Dictionary<string, string> provenance,
        bool overwrite = true, bool float16 = false, bool includeMiniLm = true, IReadOnlyDictionary<string, double>? labelLogitOffsets = null)
    {
        ArgumentNullException.ThrowIfNull(textEncoder);
        var options = new ModelPackageExportOptions
        {
            Name = name,
            Overwrite = overwrite,
            Provenance = provenance,
            StoreWeightsAsFloat16 = float16,
            IncludeMiniLm = includeMiniLm,
            LabelLogitOffsets = labelLogitOffsets is null ? new() : new Dictionary<string, double>(labelLogitOffsets),
        };
        textEncoder.ApplyTo(options);
        return ModelPackageExporter.Export(net, directory, options);
    }

    /// <summary>Exports the best checkpoint of the finished run <paramref name="result"/> (replacing a package already there).</summary>
    public static ModelManifest ExportBest(TrainingResult result, string directory, string name, Dictionary<string, string> provenance)
    {
        ArgumentNullException.ThrowIfNull(result);
        using var net = LSegNet.Create(result.NetworkConfig, pretrainedBackbone: false);
        net.load(Path.Combine(result.BestCheckpoint, Trainer.ModelFileName));
        return Export(net, result.Network.Text, directory, name, provenance);
    }
}

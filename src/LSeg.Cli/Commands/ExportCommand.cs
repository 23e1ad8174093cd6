using System.CommandLine;
using LSeg.Cli.Common;
using LSeg.Cli.Training;
using LSeg.MLNet.Package;
using LSeg.Training.Bridge.Export;
using LSeg.Training.Bridge.Network;
using LSeg.Training.Bridge.Training;

namespace LSeg.Cli.Commands;

/// <summary><c>lseg export --checkpoint PATH --out DIR</c>: a training checkpoint to a model package.</summary>
internal static class ExportCommand
{
    public static Command Create(CliConsole console)
    {
        var checkpoint = new Option<string>("--checkpoint") { Description = "A checkpoint file (LSegNet.SaveCheckpoint) or a checkpoint folder of 'lseg train' (model.bin and net-config.json).", Required = true, HelpName = "PATH" };
        var output = new Option<string>("--out", "-o") { Description = "Package directory to write (written atomically).", Required = true, HelpName = "DIR" }.NotEmpty();
        var name = new Option<string?>("--name") { Description = "Model name recorded in the manifest (default: the output folder's name).", HelpName = "NAME" };
        var overwrite = new Option<bool>("--overwrite") { Description = "Replace an existing package at --out." };
        var float16 = new Option<bool>("--float16") { Description = "Store weights as float16 (half the size)." };
        var withoutMiniLm = CommonOptions.WithoutMiniLm();
        var logitOffsets = CommonOptions.LabelLogitOffsets();
        var calibratedLabelDrop = CommonOptions.CalibratedLabelDrop();
        var trainedLabels = CommonOptions.TrainedLabels();
        var unofferedLabelSimilarity = CommonOptions.UnofferedLabelSimilarity();
        var unofferedLabels = CommonOptions.UnofferedLabels();
        var besideSimilarity = CommonOptions.UnofferedLabelSimilarityBesideUntrained();
        var besideLabels = CommonOptions.UnofferedLabelsBesideUntrained();
        var command = new Command("export", "Export a training checkpoint to a model package (image_encoder.onnx, head.onnx, manifest.json with sha256 of every file).")
        {
            checkpoint, output, name, overwrite, float16, withoutMiniLm, logitOffsets, calibratedLabelDrop, trainedLabels, unofferedLabelSimilarity, unofferedLabels, besideSimilarity, besideLabels,
        };
        command.SetAction(parsed => Run(console, parsed.GetRequiredValue(checkpoint), parsed.GetRequiredValue(output), parsed.GetValue(name),
            parsed.GetValue(overwrite), parsed.GetValue(float16), !parsed.GetValue(withoutMiniLm), parsed.GetValue(logitOffsets),
            CommonOptions.WithUnofferedLabelSimilarity(CommonOptions.ParseUntrainedLabels(parsed.GetValue(calibratedLabelDrop), parsed.GetValue(trainedLabels)),
                parsed.GetValue(unofferedLabelSimilarity), parsed.GetValue(unofferedLabels), parsed.GetValue(besideSimilarity), parsed.GetValue(besideLabels), "--calibrated-label-drop with --trained-labels")));
        return command;
    }

    private static int Run(CliConsole console, string checkpoint, string output, string? name, bool overwrite, bool float16, bool includeMiniLm, string[]? logitOffsets, UntrainedLabelCalibration? untrainedLabels)
    {
        var offsets = CommonOptions.ParseLabelLogitOffsets(logitOffsets);
        if (untrainedLabels is not null && offsets.Count == 0)
            throw new CommandFailure("--calibrated-label-drop lowers the labels given a --label-logit-offset (such as other=2), which gives none; add one.", ExitCodes.Usage);
        if (!File.Exists(checkpoint) && !Directory.Exists(checkpoint))
            throw new CommandFailure($"Checkpoint '{checkpoint}' does not exist.");
        OutputFolder.RequireReplaceablePackage(output, overwrite, checkpoint);

        using var net = Load(checkpoint);
        string modelName = name ?? Path.GetFileName(Path.GetFullPath(output).TrimEnd(Path.DirectorySeparatorChar));
        var options = new ModelPackageExportOptions
        {
            Name = modelName,
            Overwrite = overwrite,
            Provenance = new Dictionary<string, string> { ["exportedFrom"] = Path.GetFileName(Path.GetFullPath(checkpoint).TrimEnd(Path.DirectorySeparatorChar)) },
            StoreWeightsAsFloat16 = float16,
            IncludeMiniLm = includeMiniLm,
            LabelLogitOffsets = offsets,
            UntrainedLabels = untrainedLabels,
        };
        ModelManifest manifest;
        try
        {
            manifest = TrainedPackage.ExportCheckpoint(net, checkpoint, output, options);
        }
        catch (Exception e) when (e is DirectoryNotFoundException or FileNotFoundException or InvalidDataException)
        {
            throw new CommandFailure(e.Message);
        }
        long bytes = manifest.Files.Values.Sum(f => f.Bytes);
        console.Out.WriteLine($"wrote {Path.GetFullPath(output)}: {manifest.Backbone}, embedding {manifest.EmbeddingSize}, {manifest.Files.Count} files, {Sizes.Human(bytes)}");
        return ExitCodes.Success;
    }

    /// <summary>Reads a checkpoint file, or a training checkpoint folder.</summary>
    private static LSegNet Load(string checkpoint)
    {
        if (File.Exists(checkpoint))
            return LSegNet.LoadCheckpoint(checkpoint);
        try
        {
            return CheckpointFolder.LoadNetwork(checkpoint);
        }
        catch (FileNotFoundException e)
        {
            throw new CommandFailure(e.Message);
        }
    }
}

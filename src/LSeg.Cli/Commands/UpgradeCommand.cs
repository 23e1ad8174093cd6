using System.CommandLine;
using LSeg.Cli.Common;
using LSeg.MLNet.Package;
using LSeg.Training.Bridge.Export;

namespace LSeg.Cli.Commands;

/// <summary><c>lseg upgrade --model PATH --out DIR</c>: a model package of an older format rewritten at the current one.</summary>
internal static class UpgradeCommand
{
    public static Command Create(CliConsole console)
    {
        var model = new Option<string>("--model") { Description = "The package to upgrade (a directory holding manifest.json).", Required = true, HelpName = "PATH" };
        var output = new Option<string>("--out", "-o") { Description = "Package directory to write (written atomically).", Required = true, HelpName = "DIR" }.NotEmpty();
        var overwrite = new Option<bool>("--overwrite") { Description = "Replace an existing package at --out." };
        var withoutMiniLm = CommonOptions.WithoutMiniLm();
        var logitOffsets = CommonOptions.LabelLogitOffsets();
        var calibratedLabelDrop = CommonOptions.CalibratedLabelDrop();
        var trainedLabels = CommonOptions.TrainedLabels();
        var unofferedLabelSimilarity = CommonOptions.UnofferedLabelSimilarity();
        var unofferedLabels = CommonOptions.UnofferedLabels();
        var besideSimilarity = CommonOptions.UnofferedLabelSimilarityBesideUntrained();
        var besideLabels = CommonOptions.UnofferedLabelsBesideUntrained();
        var command = new Command("upgrade", "Rewrite a model package of an older format as packages are written today (format 2, 3 with label logit offsets, 4 with a calibrated-label drop for untrained names, 6 with a catch-all that absorbs unoffered trained names, 7 also beside untrained names): same weights and text encoder, plus what the format adds (the pixel projection for fast label changes, the MiniLM text encoder inside the package).")
        {
            model, output, overwrite, withoutMiniLm, logitOffsets, calibratedLabelDrop, trainedLabels, unofferedLabelSimilarity, unofferedLabels, besideSimilarity, besideLabels,
        };
        command.SetAction(parsed => Run(console, parsed.GetRequiredValue(model), parsed.GetRequiredValue(output), parsed.GetValue(overwrite), !parsed.GetValue(withoutMiniLm),
            parsed.GetValue(logitOffsets),
            parsed.GetValue(calibratedLabelDrop), parsed.GetValue(trainedLabels), parsed.GetValue(unofferedLabelSimilarity), parsed.GetValue(unofferedLabels),
            parsed.GetValue(besideSimilarity), parsed.GetValue(besideLabels)));
        return command;
    }

    private static int Run(CliConsole console, string model, string output, bool overwrite, bool includeMiniLm, string[]? logitOffsets, double? calibratedLabelDrop, string? trainedLabelsPath,
        double? unofferedLabelSimilarity, string? unofferedLabelsPath, double? besideSimilarity, string? besideLabelsPath)
    {
        var offsets = CommonOptions.ParseLabelLogitOffsets(logitOffsets);
        string source = ModelPackagePath.Require(model);
        var sourceManifest = ModelManifest.Read(source);
        int from = sourceManifest.FormatVersion;
        // The package keeps what the options do not change: a new drop must not quietly switch absorption off.
        var untrainedLabels = CommonOptions.WithUnofferedLabelSimilarity(
            CommonOptions.WithCalibratedLabelDrop(sourceManifest.UntrainedLabels, calibratedLabelDrop, trainedLabelsPath), unofferedLabelSimilarity, unofferedLabelsPath,
            besideSimilarity, besideLabelsPath, "--calibrated-label-drop with --trained-labels, or a package that has untrainedLabels");
        OutputFolder.RequireReplaceablePackage(output, overwrite, source);
        var manifest = ModelPackageUpgrader.Upgrade(source, output, overwrite, includeMiniLm, offsets.Count > 0 ? offsets : null, untrainedLabels);
        long bytes = manifest.Files.Values.Sum(f => f.Bytes);
        console.Out.WriteLine($"wrote {Path.GetFullPath(output)}: package format {from} → {manifest.FormatVersion}, {manifest.Files.Count} files, {Sizes.Human(bytes)}");
        return ExitCodes.Success;
    }
}

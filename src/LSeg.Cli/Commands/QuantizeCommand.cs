using System.CommandLine;
using LSeg.Cli.Common;
using LSeg.MLNet.Package;
using LSeg.Training.Bridge.Quantization;

namespace LSeg.Cli.Commands;

/// <summary><c>lseg quantize --model PATH --out DIR [--calibration DIR]</c>: an int8 copy of a model package.</summary>
internal static class QuantizeCommand
{
    private const int DefaultCalibrationCount = 32;

    public static Command Create(CliConsole console)
    {
        var model = new Option<string>("--model") { Description = "The package to quantize (a directory holding manifest.json).", Required = true, HelpName = "PATH" };
        var output = new Option<string>("--out", "-o") { Description = "Package directory to write (written atomically).", Required = true, HelpName = "DIR" }.NotEmpty();
        var method = new Option<string?>("--method") { Description = "static (convolutions, calibrated; the default for ResNet backbones) or dynamic (linear layers, no calibration; the default for ViT backbones).", HelpName = "static|dynamic" };
        method.AcceptOnlyFromAmong("static", "dynamic");
        var calibration = new Option<string[]>("--calibration") { Description = "Folder of calibration images (training images, never test images); repeat for several folders.", HelpName = "DIR", Arity = ArgumentArity.ZeroOrMore };
        var count = new Option<int?>("--calibration-count") { Description = $"Calibration images in all, spread evenly over the folders (default {DefaultCalibrationCount}).", HelpName = "N" };
        var overwrite = new Option<bool>("--overwrite") { Description = "Replace an existing package at --out." };
        var command = new Command("quantize", "Write an int8 copy of a model package: the image encoder's weights int8 (static QDQ with calibration images for convolutional models, dynamic for ViT linear layers); the head, the pixel projection and the text encoder stay float.")
        {
            model, output, method, calibration, count, overwrite,
        };
        command.SetAction(parsed => Run(console, parsed.GetRequiredValue(model), parsed.GetRequiredValue(output), parsed.GetValue(method),
            parsed.GetValue(calibration) ?? [], parsed.GetValue(count), parsed.GetValue(overwrite)));
        return command;
    }

    private static int Run(CliConsole console, string model, string output, string? method, string[] calibration, int? countOption, bool overwrite)
    {
        int count = countOption ?? DefaultCalibrationCount;
        if (count < 1)
            throw new CommandFailure($"--calibration-count must be at least 1; got {count}.", ExitCodes.Usage);
        string source = ModelPackagePath.Require(model);
        var manifest = ModelManifest.Read(source);
        OutputFolder.RequireReplaceablePackage(output, overwrite, [source, .. calibration]);
        var chosen = method switch
        {
            "static" => QuantizationMethod.Static,
            "dynamic" => QuantizationMethod.Dynamic,
            _ => manifest.Backbone.StartsWith("vit", StringComparison.Ordinal) ? QuantizationMethod.Dynamic : QuantizationMethod.Static,
        };
        if (chosen == QuantizationMethod.Dynamic && (calibration.Length > 0 || countOption is not null))
            throw new CommandFailure($"--calibration{(calibration.Length > 0 ? "" : "-count")} only serves static quantization; dynamic quantization calibrates nothing (leave it out, or pass --method static).", ExitCodes.Usage);
        if (calibration.Length > count)
            throw new CommandFailure($"--calibration-count {count} is fewer than the {calibration.Length} --calibration folders; each folder gives at least one image.", ExitCodes.Usage);
        var images = new List<string>();
        for (int i = 0; i < calibration.Length; i++)
        {
            if (!Directory.Exists(calibration[i]))
                throw new CommandFailure($"--calibration '{calibration[i]}' is not a folder.");
            // The first folders take the remainder, so that the total is exactly --calibration-count when there are enough images.
            int share = count / calibration.Length + (i < count % calibration.Length ? 1 : 0);
            var found = ModelPackageQuantizer.ImagesIn(calibration[i], share);
            if (found.Count == 0)
                throw new CommandFailure($"--calibration '{calibration[i]}' holds no PNG, JPEG or BMP image.");
            images.AddRange(found);
        }
        if (chosen == QuantizationMethod.Static && images.Count == 0)
            throw new CommandFailure("Static quantization needs calibration images: pass --calibration DIR (training images of the kind the model will segment), or --method dynamic.", ExitCodes.Usage);

        var written = ModelPackageQuantizer.Quantize(source, output, new QuantizationOptions { Method = chosen, CalibrationImages = images, Overwrite = overwrite }, console.Error);
        long before = manifest.Files[manifest.Graphs.ImageEncoder].Bytes, after = written.Files[written.Graphs.ImageEncoder].Bytes;
        console.Out.WriteLine($"wrote {Path.GetFullPath(output)}: {written.Provenance["quantization"]}; image encoder {Sizes.Human(before)} → {Sizes.Human(after)}");
        return ExitCodes.Success;
    }
}

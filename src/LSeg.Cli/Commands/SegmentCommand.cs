using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using LSeg.Cli.Common;
using LSeg.MLNet;
using Spectre.Console;

namespace LSeg.Cli.Commands;

/// <summary>
/// <c>lseg segment IMAGE... --labels "dog, grass, other"</c>: for each image writes <c>NAME.mask.png</c> (8-bit label
/// indices) and <c>NAME.overlay.png</c> (photo, coloured labels, legend) and reports each label's pixel share.
/// </summary>
internal static class SegmentCommand
{
    public static Command Create(CliConsole console)
    {
        var images = new Argument<string[]>("IMAGE") { Description = "Image files to segment (PNG, JPEG, BMP, GIF, WebP).", Arity = ArgumentArity.OneOrMore };
        var labels = new Option<string>("--labels", "-l") { Description = "Comma-separated text labels, e.g. \"dog, grass, other\". Mask value i is the i-th label.", Required = true, HelpName = "LIST" };
        var model = CommonOptions.Model();
        var output = CommonOptions.OutputDirectory("Folder for NAME.mask.png and NAME.overlay.png (default: the current folder; created if missing).");
        var json = CommonOptions.Json("Print the results (files written, per-label pixel shares) as JSON on stdout.");
        var size = CommonOptions.Size();
        var gpu = CommonOptions.Gpu();
        var maxPixels = CommonOptions.MaxPixels();
        var scales = CommonOptions.Scales();
        var flip = CommonOptions.Flip();
        ParseErrors.RefuseUnknownOptions(images);
        var command = new Command("segment", "Segment images with any text labels: writes NAME.mask.png (8-bit label indices) and NAME.overlay.png (photo with coloured labels and a legend), and prints each label's share of the pixels.")
        {
            images, labels, model, output, json, size, gpu, maxPixels, scales, flip,
        };
        command.SetAction(parsed => Run(console, new Request(
            parsed.GetRequiredValue(images), parsed.GetRequiredValue(labels), parsed.GetValue(model),
            parsed.GetValue(output) ?? Directory.GetCurrentDirectory(), parsed.GetValue(json), parsed.GetValue(size), parsed.GetValue(gpu), parsed.GetValue(maxPixels),
            parsed.GetValue(scales), parsed.GetValue(flip))));
        return command;
    }

    private sealed record Request(string[] Images, string Labels, string? Model, string OutputDirectory, bool Json, int? Size, int? Gpu, long? MaxPixels,
        string? Scales, bool Flip);

    /// <summary>Scales and flip of a multi-pass segmentation; null: one ordinary pass.</summary>
    private sealed record Passes(IReadOnlyList<double> Scales, bool Flip)
    {
        public int Count => Scales.Count * (Flip ? 2 : 1);
    }

    /// <summary>One image's outcome; <see cref="EncodeSeconds"/> is null for a multi-pass segmentation, where every pass encodes.</summary>
    private sealed record ImageReport(string Image, int Width, int Height, double? EncodeSeconds, double SegmentSeconds, SegmentationOutputs Outputs);

    private static int Run(CliConsole console, Request request)
    {
        // Everything that can be checked is checked before the model loads or any file is written.
        var labels = LabelList.Parse(request.Labels);
        long maxPixels = CommonOptions.RequireValidMaxPixels(request.MaxPixels);
        var images = InputImages.Validate(request.Images, maxPixels, request.OutputDirectory);
        int? size = CommonOptions.RequireValidSize(request.Size);
        var scaleList = CommonOptions.ParseScales(request.Scales);
        Passes? passes = scaleList is not null || request.Flip ? new Passes(scaleList ?? [1.0], request.Flip) : null;
        string? package = ModelLoading.Validate(request.Model);
        OutputFolder.RequireWritable(request.OutputDirectory);

        var clock = Stopwatch.StartNew();
        using var segmentationModel = ModelLoading.Load(package, request.Gpu, console, maxPixels);
        var encodedLabels = LabelList.Encode(segmentationModel, labels);
        double loadSeconds = clock.Elapsed.TotalSeconds;

        var reports = new List<ImageReport>();
        string? failing = null;  // the image being segmented when something failed (not the progress display after it)
        void SegmentAll(Action? advance)
        {
            foreach (string image in images)
            {
                failing = image;
                reports.Add(SegmentOne(segmentationModel, encodedLabels, image, size, passes, request.OutputDirectory));
                failing = null;
                advance?.Invoke();
            }
        }

        // Everything checkable was checked above, but an image can still fail here (a full disk, a file changed since
        // the check). The images before it keep their files: they are listed as usual, so that what stays on disk is said.
        Exception? failure = null;
        try
        {
            if (console.IsInteractive && images.Count > 1 && !request.Json)
            {
                if (PlainProgress.Wanted)
                {
                    var progress = new PlainProgress(console.Error, "Segmenting", images.Count);
                    SegmentAll(progress.Advance);
                }
                else
                {
                    AnsiConsole.Progress().Start(context =>
                    {
                        var task = context.AddTask("Segmenting", maxValue: images.Count);
                        SegmentAll(() => task.Increment(1));
                    });
                }
            }
            else
            {
                SegmentAll(null);
            }
        }
        catch (Exception e) when (reports.Count > 0 && failing is not null)
        {
            failure = e;
        }

        if (request.Json)
            console.Out.WriteLine(ToJson(segmentationModel, labels, size, passes, loadSeconds, reports, failure));
        else
            Print(console.Out, segmentationModel, loadSeconds, reports);
        if (failure is not null)
        {
            string image = failing!;
            throw new CommandFailure(
                $"'{image}' failed: {CliApp.Describe(failure)} The {reports.Count} image{(reports.Count == 1 ? "" : "s")} before it kept {(reports.Count == 1 ? "its" : "their")} files (listed on stdout); {images.Count - reports.Count} image{(images.Count - reports.Count == 1 ? " was" : "s were")} not segmented.",
                failure is CommandFailure { ExitCode: var code } ? code : ExitCodes.Failure);
        }
        return ExitCodes.Success;
    }

    private static ImageReport SegmentOne(LanguageSegmentationModel model, LabelEmbeddings labels, string image, int? size, Passes? passes, string outputDirectory)
    {
        using var photo = InputImages.Decode(image);
        var clock = Stopwatch.StartNew();
        if (passes is not null)
        {
            SegmentationResult combined;
            try
            {
                combined = model.SegmentMultiScale(photo, labels, passes.Scales, passes.Flip, size);
            }
            catch (ArgumentException e) when (e.ParamName == "scales")
            {
                // Checked before any pass, so the first image fails before anything is written.
                throw new CommandFailure($"--scales: {CliApp.Describe(e)}", ExitCodes.Usage);
            }
            double seconds = clock.Elapsed.TotalSeconds;
            var written = SegmentationOutputs.Write(outputDirectory, InputImages.OutputName(image), photo, combined);
            return new ImageReport(image, combined.Width, combined.Height, null, seconds, written);
        }
        var encoded = model.EncodeImage(photo, size);
        double encodeSeconds = clock.Elapsed.TotalSeconds;
        clock.Restart();
        var result = model.Segment(encoded, labels);
        double segmentSeconds = clock.Elapsed.TotalSeconds;
        var outputs = SegmentationOutputs.Write(outputDirectory, InputImages.OutputName(image), photo, result);
        return new ImageReport(image, result.Width, result.Height, encodeSeconds, segmentSeconds, outputs);
    }

    private static void Print(TextWriter output, LanguageSegmentationModel model, double loadSeconds, List<ImageReport> reports)
    {
        // Paths and the manifest's name are text from outside, escaped like labels: a file name may hold terminal codes.
        output.WriteLine($"Model {TerminalText.Escape(model.Manifest.Name)} ({TerminalText.Escape(model.Manifest.Backbone)}, {TerminalText.Escape(model.Manifest.TextEncoder.Kind)}) loaded in {loadSeconds:0.00} s on {(model.UsesGpu ? "GPU" : "CPU")}");
        foreach (var report in reports)
        {
            output.WriteLine();
            output.WriteLine(report.EncodeSeconds is { } encode
                ? $"{TerminalText.Escape(report.Image)}  {report.Width}x{report.Height}  encode {encode:0.000} s, segment {report.SegmentSeconds:0.000} s"
                : $"{TerminalText.Escape(report.Image)}  {report.Width}x{report.Height}  segment (every pass encodes) {report.SegmentSeconds:0.000} s");
            SegmentationOutputs.PrintShares(output, report.Outputs.Shares);
            output.WriteLine($"  wrote {TerminalText.Escape(report.Outputs.MaskPath ?? "")}");
            output.WriteLine($"  wrote {TerminalText.Escape(report.Outputs.OverlayPath ?? "")}");
        }
    }

    private static string ToJson(LanguageSegmentationModel model, IReadOnlyList<string> labels, int? size, Passes? passes, double loadSeconds, List<ImageReport> reports, Exception? failure)
    {
        var root = new JsonObject
        {
            ["model"] = model.PackagePath,
            ["modelName"] = model.Manifest.Name,
            ["device"] = CliJson.Device(model.UsesGpu),
            ["labels"] = new JsonArray(labels.Select(l => (JsonNode)JsonValue.Create(l)).ToArray()),
            ["inputSize"] = CommonOptions.EffectiveInputSize(size, model.Manifest),
            ["scales"] = new JsonArray((passes?.Scales ?? [1.0]).Select(v => (JsonNode)JsonValue.Create(v)).ToArray()),
            ["flip"] = passes?.Flip ?? false,
            ["loadSeconds"] = Math.Round(loadSeconds, 4),
            ["images"] = new JsonArray(reports.Select(r => (JsonNode)new JsonObject
            {
                ["image"] = r.Image,
                ["width"] = r.Width,
                ["height"] = r.Height,
                ["mask"] = Path.GetFullPath(r.Outputs.MaskPath!),
                ["overlay"] = Path.GetFullPath(r.Outputs.OverlayPath!),
                ["encodeSeconds"] = r.EncodeSeconds is { } encode ? Math.Round(encode, 4) : null,
                ["segmentSeconds"] = Math.Round(r.SegmentSeconds, 4),
                ["shares"] = SegmentationOutputs.SharesJson(r.Outputs.Shares),
            }).ToArray()),
        };
        // Only a run that stopped midway has it: the images listed are then those done before the failure.
        if (failure is not null)
            root["error"] = CliApp.Describe(failure);
        return root.ToJsonString(CliJson.Indented);
    }
}

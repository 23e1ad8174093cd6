using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using LSeg.Cli.Common;
using LSeg.MLNet;

namespace LSeg.Cli.Commands;

/// <summary>
/// <c>lseg relabel IMAGE --labels "..." --labels "..."</c>: encodes the image once, then segments it with each label
/// set, timing every step (the paper's interactive use: changing labels costs only the small head).
/// </summary>
internal static class RelabelCommand
{
    public static Command Create(CliConsole console)
    {
        var image = new Argument<string>("IMAGE") { Description = "The image to segment." };
        var labels = new Option<string[]>("--labels", "-l")
        {
            Description = "A comma-separated label set; repeat the option for each set, e.g. --labels \"cat, other\" --labels \"cat, eyes, fur, other\".",
            Required = true,
            HelpName = "LIST",
            Arity = ArgumentArity.OneOrMore,
            AllowMultipleArgumentsPerToken = false,
        };
        var model = CommonOptions.Model();
        var output = CommonOptions.OutputDirectory("Also write NAME.setK.mask.png and NAME.setK.overlay.png for each label set K (1, 2, ...) into this folder.");
        var json = CommonOptions.Json("Print the timings and per-set shares as JSON on stdout.");
        var size = CommonOptions.Size();
        var gpu = CommonOptions.Gpu();
        var maxPixels = CommonOptions.MaxPixels();
        ParseErrors.RefuseUnknownOptions(image);
        var command = new Command("relabel", "Encode an image once and segment it with several label sets, printing the time of each step.")
        {
            image, labels, model, output, json, size, gpu, maxPixels,
        };
        command.SetAction(parsed => Run(console, parsed.GetRequiredValue(image), parsed.GetRequiredValue(labels), parsed.GetValue(model),
            parsed.GetValue(output), parsed.GetValue(json), parsed.GetValue(size), parsed.GetValue(gpu), parsed.GetValue(maxPixels)));
        return command;
    }

    /// <summary>The base name of label set <paramref name="index"/>'s outputs (0-based): <c>dog.set1</c> for the first.</summary>
    private static string SetOutputName(string imagePath, int index) => $"{InputImages.OutputName(imagePath)}.set{index + 1}";

    private sealed record SetReport(int Number, IReadOnlyList<string> Labels, double EncodeLabelsSeconds, double SegmentSeconds, SegmentationOutputs Outputs);

    private static int Run(CliConsole console, string imagePath, string[] labelSets, string? modelPath, string? outputDirectory, bool asJson, int? size, int? gpu, long? maxPixelsOption)
    {
        var sets = labelSets.Select((text, i) => LabelList.Parse(text, labelSets.Length == 1 ? "--labels" : $"--labels #{i + 1}")).ToList();
        long maxPixels = CommonOptions.RequireValidMaxPixels(maxPixelsOption);
        CommonOptions.RequireValidSize(size);  // a usage error before anything is read
        InputImages.RequireReadable(imagePath, maxPixels);
        string? package = ModelLoading.Validate(modelPath);
        if (outputDirectory is not null)
        {
            OutputFolder.RequireWritable(outputDirectory);
            for (int i = 0; i < sets.Count; i++)
                SegmentationOutputs.RequireFileTargets(outputDirectory, SetOutputName(imagePath, i), imagePath);
        }

        var clock = Stopwatch.StartNew();
        using var segmentationModel = ModelLoading.Load(package, gpu, console, maxPixels);
        double loadSeconds = clock.Elapsed.TotalSeconds;

        using var photo = InputImages.Decode(imagePath);
        clock.Restart();
        var encoded = segmentationModel.EncodeImage(photo, size);
        double encodeImageSeconds = clock.Elapsed.TotalSeconds;

        // Every set is encoded before anything is written, so a set the model refuses (labels it cannot tell apart, such
        // as "dog, DOG") fails the run with no file of an earlier set left behind.
        var encodedSets = new List<(LabelEmbeddings Labels, double Seconds)>();
        foreach (var set in sets)
        {
            clock.Restart();
            encodedSets.Add((LabelList.Encode(segmentationModel, set), clock.Elapsed.TotalSeconds));
        }

        var reports = new List<SetReport>();
        for (int i = 0; i < sets.Count; i++)
        {
            var (encodedLabels, encodeLabelsSeconds) = encodedSets[i];
            clock.Restart();
            var result = segmentationModel.Segment(encoded, encodedLabels);
            double segmentSeconds = clock.Elapsed.TotalSeconds;
            var outputs = outputDirectory is null
                ? new SegmentationOutputs(null, null, SegmentationOutputs.SharesOf(result))
                : SegmentationOutputs.Write(outputDirectory, SetOutputName(imagePath, i), photo, result);
            reports.Add(new SetReport(i + 1, sets[i], encodeLabelsSeconds, segmentSeconds, outputs));
        }

        if (asJson)
        {
            var root = new JsonObject
            {
                ["image"] = imagePath,
                ["width"] = encoded.OriginalWidth,
                ["height"] = encoded.OriginalHeight,
                ["inputWidth"] = encoded.InputWidth,
                ["inputHeight"] = encoded.InputHeight,
                ["loadSeconds"] = Math.Round(loadSeconds, 4),
                ["encodeImageSeconds"] = Math.Round(encodeImageSeconds, 4),
                ["sets"] = new JsonArray(reports.Select(r => (JsonNode)new JsonObject
                {
                    ["set"] = r.Number,
                    ["labels"] = new JsonArray(r.Labels.Select(l => (JsonNode)JsonValue.Create(l)).ToArray()),
                    ["encodeLabelsSeconds"] = Math.Round(r.EncodeLabelsSeconds, 4),
                    ["segmentSeconds"] = Math.Round(r.SegmentSeconds, 4),
                    ["mask"] = r.Outputs.MaskPath is null ? null : Path.GetFullPath(r.Outputs.MaskPath),
                    ["overlay"] = r.Outputs.OverlayPath is null ? null : Path.GetFullPath(r.Outputs.OverlayPath),
                    ["shares"] = SegmentationOutputs.SharesJson(r.Outputs.Shares),
                }).ToArray()),
            };
            console.Out.WriteLine(root.ToJsonString(CliJson.Indented));
            return ExitCodes.Success;
        }

        var output = console.Out;
        output.WriteLine($"load model     {loadSeconds * 1000,9:0.0} ms  ({TerminalText.Escape(segmentationModel.Manifest.Name)}, {(segmentationModel.UsesGpu ? "GPU" : "CPU")})");
        output.WriteLine($"encode image   {encodeImageSeconds * 1000,9:0.0} ms  ({encoded.OriginalWidth}x{encoded.OriginalHeight} -> {encoded.InputWidth}x{encoded.InputHeight}, once)");
        foreach (var report in reports)
        {
            output.WriteLine();
            output.WriteLine($"set {report.Number}: {TerminalText.Escape(string.Join(", ", report.Labels))}");
            output.WriteLine($"  encode labels {report.EncodeLabelsSeconds * 1000,8:0.0} ms  (cached labels are free)");
            output.WriteLine($"  segment       {report.SegmentSeconds * 1000,8:0.0} ms  (head only)");
            SegmentationOutputs.PrintShares(output, report.Outputs.Shares);
            if (report.Outputs.OverlayPath is not null)
                output.WriteLine($"  wrote {TerminalText.Escape(report.Outputs.MaskPath ?? "")}, {TerminalText.Escape(report.Outputs.OverlayPath)}");
        }
        return ExitCodes.Success;
    }
}

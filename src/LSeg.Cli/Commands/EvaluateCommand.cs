using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using LSeg.Cli.Common;
using LSeg.MLNet;
using LSeg.Training.Bridge.Data;
using LSeg.Training.Bridge.Evaluation;
using Microsoft.ML.Data;

namespace LSeg.Cli.Commands;

/// <summary>
/// <c>lseg evaluate --data DIR</c>: mIoU, pixel accuracy and per-class IoU of a model package on a folder dataset
/// (<c>images/</c>, <c>labels/</c>, <c>classes.txt</c>), through the same ONNX path applications use.
/// </summary>
internal static class EvaluateCommand
{
    public static Command Create(CliConsole console)
    {
        var data = new Option<string>("--data", "-d") { Description = "Dataset folder with images/, labels/ (8-bit index PNGs named like the images) and classes.txt (INDEX<TAB>NAME; 'void' is ignored).", Required = true, HelpName = "DIR" };
        var split = new Option<string?>("--split") { Description = "File listing the base names to evaluate, one per line (a path, or a name inside DIR such as test.txt). Default: every labelled image.", HelpName = "LIST" };
        var labels = new Option<string?>("--labels", "-l") { Description = "One text label per non-void class, comma-separated, in classes.txt order (default: the class names).", HelpName = "LIST" };
        var model = CommonOptions.Model();
        var json = CommonOptions.Json("Print the metrics as JSON (mIoU, pixelAccuracy and per-class IoU, all in percent).");
        var size = CommonOptions.Size();
        var gpu = CommonOptions.Gpu();
        var maxImages = new Option<int?>("--max-images") { Description = "Evaluate at most N images, evenly spaced through the list (a quick check).", HelpName = "N" };
        var protocol = new Option<string?>("--protocol") { Description = $"Run an evaluation protocol (docs/cli.md) instead of a plain folder: {string.Join(", ", EvaluationProtocolRunner.Names)}. --data is then the folder holding msrc-v2/, camvid/ and ccp/.", HelpName = "NAME" };
        var fold = new Option<int?>("--fold") { Description = "Zero-shot fold 0-3 (protocols zero-shot and zero-shot-generalized).", HelpName = "N" };
        var scales = CommonOptions.Scales();
        var flip = CommonOptions.Flip();
        var command = new Command("evaluate", "Evaluate a model on a labelled folder dataset (mIoU, pixel accuracy, per-class IoU), or run one of the evaluation protocols with --protocol.")
        {
            data, split, labels, model, json, size, gpu, maxImages, protocol, fold, scales, flip,
        };
        command.SetAction(parsed =>
        {
            var passes = new EvaluationPasses(CommonOptions.RequireValidSize(parsed.GetValue(size)), CommonOptions.ParseScales(parsed.GetValue(scales)), parsed.GetValue(flip));
            if (parsed.GetValue(protocol) is { } name)
            {
                // A protocol fixes its own images and labels: an option that would be ignored is refused instead.
                foreach (var (given, option) in new[] { (parsed.GetValue(split) is not null, "--split"), (parsed.GetValue(labels) is not null, "--labels"), (parsed.GetValue(maxImages) is not null, "--max-images") })
                {
                    if (given)
                        throw new CommandFailure($"{option} applies to a plain folder dataset, not to --protocol {name}, whose images and labels are fixed.", ExitCodes.Usage);
                }
                return EvaluationProtocolRunner.Run(console, name, parsed.GetRequiredValue(data), parsed.GetValue(fold), parsed.GetValue(model), parsed.GetValue(json), passes, parsed.GetValue(gpu));
            }
            if (parsed.GetValue(fold) is not null)
                throw new CommandFailure("--fold applies to the zero-shot protocols (--protocol zero-shot or zero-shot-generalized), not to a plain folder dataset.", ExitCodes.Usage);
            return Run(console, parsed.GetRequiredValue(data), parsed.GetValue(split), parsed.GetValue(labels), parsed.GetValue(model),
                parsed.GetValue(json), passes, parsed.GetValue(gpu), parsed.GetValue(maxImages));
        });
        return command;
    }

    private static int Run(CliConsole console, string dataFolder, string? splitList, string? labelText, string? modelPath, bool asJson, EvaluationPasses passes, int? gpu, int? maxImages)
    {
        if (!Directory.Exists(dataFolder))
            throw CommandFailure.NoFolder("Dataset folder", dataFolder);
        string? split = ResolveSplit(dataFolder, splitList);
        if (maxImages is <= 0)
            throw new CommandFailure($"--max-images {maxImages} must be positive.", ExitCodes.Usage);
        string? package = ModelLoading.Validate(modelPath);

        var options = new FolderDatasetOptions { Name = Path.GetFileName(Path.GetFullPath(dataFolder).TrimEnd('/')), Folder = dataFolder, Split = split };
        if (labelText is not null)
            options.LabelNames = MapLabels(dataFolder, options, LabelList.Parse(labelText));
        Action<string>? log = console.IsInteractive ? message => console.Error.WriteLine(message) : null;
        // Before the split is decoded: a scale the model cannot run is a usage error, found in seconds.
        using var segmentationModel = ModelLoading.Load(package, gpu, console);
        var segmenter = passes.Segmenter(segmentationModel);
        // Warnings about the data reach stderr even when the output is redirected (progress lines do not): label values
        // the class list does not name are left out of the scores, which can make every figure meaningless.
        var dataset = FolderDataset.Load(options, log, warn: message => console.Error.WriteLine(message), maxImages: maxImages ?? 0);
        if (dataset.Samples.Count == 0)
            throw new CommandFailure($"Dataset '{dataFolder}' has no labelled image to evaluate{(split is null ? "" : $" in split '{split}'")}.");

        var clock = Stopwatch.StartNew();
        string title = $"{options.Name}{(split is null ? "" : $" {Path.GetFileNameWithoutExtension(split)}")}{passes.Describe()}";
        var metrics = SegmentationEvaluator.EvaluateFixedLabels(dataset, segmenter.Predictor, title: title, log: log);
        double seconds = clock.Elapsed.TotalSeconds;

        if (asJson)
        {
            console.Out.WriteLine(ToJson(segmentationModel, dataset, split, metrics, seconds, passes));
        }
        else
        {
            console.Out.WriteLine($"Model {segmentationModel.Manifest.Name} on {(segmentationModel.UsesGpu ? "GPU" : "CPU")}, {metrics.Images} images in {seconds:0.0} s");
            console.Out.Write(TerminalText.EscapeLines(metrics.ToTable()));  // class names come from the user's files
        }
        return ExitCodes.Success;
    }

    /// <summary>
    /// A split list given as a file name inside the dataset folder (a bare name such as <c>test.txt</c> is the dataset's
    /// own list first, even when the current folder holds a file of that name), or as a path.
    /// </summary>
    internal static string? ResolveSplit(string dataFolder, string? split)
    {
        if (split is null)
            return null;
        string inFolder = Path.Combine(dataFolder, split);
        bool bareName = string.IsNullOrEmpty(Path.GetDirectoryName(split));
        if (bareName && File.Exists(inFolder))
            return Path.GetFullPath(inFolder);
        if (File.Exists(split))
            return Path.GetFullPath(split);
        if (File.Exists(inFolder))
            return Path.GetFullPath(inFolder);
        throw Directory.Exists(split) || Directory.Exists(inFolder)
            ? CommandFailure.NoFile("Split list", Directory.Exists(split) ? split : inFolder)
            : new CommandFailure($"Split list '{split}' does not exist (looked for it as given and inside '{dataFolder}').");
    }

    /// <summary>Pairs <c>--labels</c> with the non-void classes of classes.txt, in order.</summary>
    private static Dictionary<string, string> MapLabels(string dataFolder, FolderDatasetOptions options, IReadOnlyList<string> labels)
    {
        string classesPath = FolderDataset.ResolveClassesPath(options);
        if (!File.Exists(classesPath))
            throw new CommandFailure($"Dataset '{dataFolder}' has no classes.txt (looked for '{classesPath}').");
        var classes = ClassList.Load(classesPath);
        var named = classes.Names.Where(p => p.Key != classes.VoidIndex).OrderBy(p => p.Key).Select(p => p.Value).ToList();
        if (named.Count != labels.Count)
            throw new CommandFailure($"--labels gives {labels.Count} labels but '{classesPath}' has {named.Count} non-void classes ({string.Join(", ", named)}); give one label per class, in that order.", ExitCodes.Usage);
        return named.Zip(labels).ToDictionary(p => p.First, p => p.Second);
    }

    private static string ToJson(LanguageSegmentationModel model, FolderDataset dataset, string? split, SegmentationMetrics metrics, double seconds, EvaluationPasses passes)
    {
        static JsonNode? Percent(double value) => double.IsNaN(value) ? null : JsonValue.Create(Math.Round(100 * value, 4));
        var classes = new JsonArray();
        var perClass = new JsonObject();
        var indices = dataset.LabelClassIndices;
        for (int c = 0; c < metrics.ClassNames.Count; c++)
        {
            string className = dataset.Classes.Names[indices[c]];
            classes.Add(new JsonObject
            {
                ["index"] = indices[c],
                ["name"] = className,
                ["label"] = metrics.ClassNames[c],
                ["iou"] = Percent(metrics.ClassIoU[c]),
                ["pixels"] = metrics.ClassPixels[c],
            });
            perClass[className] = Percent(metrics.ClassIoU[c]);
        }
        var root = new JsonObject
        {
            ["model"] = model.PackagePath,
            ["modelName"] = model.Manifest.Name,
            ["dataset"] = dataset.Name,
            ["split"] = split,
            ["images"] = metrics.Images,
            ["seconds"] = Math.Round(seconds, 3),
            // How it was computed, as the protocols' JSON says it: a multi-scale run must not read as a single-scale one.
            ["inputSize"] = CommonOptions.EffectiveInputSize(passes.InputSize, model.Manifest),
            ["scales"] = new JsonArray([.. (passes.Scales ?? [1.0]).Select(s => (JsonNode?)JsonValue.Create(s))]),
            ["flip"] = passes.Flip,
            ["mIoU"] = Percent(metrics.MeanIoU),
            ["pixelAccuracy"] = Percent(metrics.PixelAccuracy),
            ["fbIoU"] = metrics.FBIoU is double fb ? Percent(fb) : null,
            ["perClassIoU"] = perClass,
            ["classes"] = classes,
        };
        return root.ToJsonString(CliJson.Indented);
    }
}

using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using LSeg.Cli.Benchmarks;
using LSeg.Cli.Common;
using LSeg.Training.Bridge.Benchmarks;
using LSeg.Training.Bridge.Network;
using LSeg.Training.Bridge.Network.ImageEncoders;

namespace LSeg.Cli.Commands;

/// <summary><c>lseg bench ...</c>: the project's benchmarks, each a subcommand.</summary>
internal static class BenchCommand
{
    public static Command Create(CliConsole console)
    {
        var command = new Command("bench", "Benchmarks: 'export' times the exported model under ONNX Runtime against the TorchSharp forward (float32 and int8); 'segment' times a full segmentation against a label change, image-encoder batches, and ML.NET against the low-level API; 'runtime' compares ONNX Runtime settings; 'memory' is the peak memory of one segmentation; 'serve' loads the HTTP service with concurrent clients; 'batch' measures images/s on Orleans silos; 'train' times a training step for decoder widths and frozen parts.");
        command.Subcommands.Add(CreateExport(console));
        command.Subcommands.Add(CreateSegment(console));
        command.Subcommands.Add(CreateRuntime(console));
        command.Subcommands.Add(CreateMemory(console));
        command.Subcommands.Add(BenchServeCommand.Create(console));
        command.Subcommands.Add(BatchCommand.CreateBenchmark(console));
        command.Subcommands.Add(CreateTrain(console));
        return command;
    }

    private static Command CreateTrain(CliConsole console)
    {
        var defaults = new TrainingStepBenchmark.Options();
        var crop = new Option<string>("--crop") { Description = $"Crop HxW, multiples of {LSegNet.InputSizeMultiple}.", DefaultValueFactory = _ => $"{defaults.CropHeight}x{defaults.CropWidth}", HelpName = "HxW" };
        var batch = new Option<int>("--batch") { Description = $"Crops per step, 2 or more (BatchNorm; default {defaults.BatchSize}).", DefaultValueFactory = _ => defaults.BatchSize, HelpName = "N" }.InRange(2);
        var labels = new Option<int>("--labels") { Description = "Labels per step.", DefaultValueFactory = _ => defaults.Labels, HelpName = "N" }.InRange(1);
        var rounds = new Option<int>("--rounds") { Description = "Timed rounds; the median is reported.", DefaultValueFactory = _ => defaults.Rounds, HelpName = "N" }.InRange(1);
        var threads = new Option<int>("--threads") { Description = "libtorch threads.", DefaultValueFactory = _ => defaults.Threads, HelpName = "N" }.InRange(1);
        var decoder = new Option<int[]>("--decoder-features") { Description = "Decoder width; repeat to compare several (default 128).", HelpName = "N", Arity = ArgumentArity.ZeroOrMore }.InRange(1);
        var freeze = new Option<string[]>("--freeze") { Description = "Comma-separated state-dict prefixes kept frozen, or 'none'; repeat to compare several (default none).", HelpName = "LIST", Arity = ArgumentArity.ZeroOrMore };
        var command = new Command("train", "Seconds per training step (forward, loss, backward, AdamW) of the ResNet18 LSeg network on random crops, for several decoder widths and frozen parts, measured alternately in one run.")
        {
            crop, batch, labels, rounds, threads, decoder, freeze,
        };
        command.SetAction(parsed =>
        {
            string cropText = parsed.GetValue(crop)!;
            var parts = cropText.Split('x', 'X');
            if (parts.Length != 2 || !int.TryParse(parts[0], out int height) || !int.TryParse(parts[1], out int width))
                throw new CommandFailure($"--crop '{cropText}' is not HxW, e.g. 224x320.", ExitCodes.Usage);
            // The network takes sides that are multiples of 32; a crop past 2048 is not a training crop (libtorch would run out of memory).
            if (height % LSegNet.InputSizeMultiple != 0 || width % LSegNet.InputSizeMultiple != 0 || Math.Min(height, width) < LSegNet.InputSizeMultiple || Math.Max(height, width) > 2048)
                throw new CommandFailure($"--crop '{cropText}': both sides must be multiples of {LSegNet.InputSizeMultiple} from {LSegNet.InputSizeMultiple} to 2048, e.g. 224x320.", ExitCodes.Usage);
            int[] widths = parsed.GetValue(decoder) is { Length: > 0 } d ? d : [128];
            var freezes = (parsed.GetValue(freeze) is { Length: > 0 } f ? f : ["none"])
                .Select(text => text == "none" ? [] : text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)).ToList();
            var variants = widths.SelectMany(w => freezes.Select(fr => new TrainingStepBenchmark.Variant(w, fr))).ToList();
            var options = new TrainingStepBenchmark.Options(height, width, parsed.GetValue(batch), parsed.GetValue(labels), parsed.GetValue(rounds), parsed.GetValue(threads));
            try
            {
                TrainingStepBenchmark.Run(options, variants, console.Out);
            }
            catch (ArgumentException e)
            {
                throw new CommandFailure(e.Message);
            }
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command CreateExport(CliConsole console)
    {
        var defaults = new ExportBenchmark.Options();
        var size = new Option<int>("--size") { Description = $"Image height and width, a multiple of {LSegNet.InputSizeMultiple}.", DefaultValueFactory = _ => defaults.Size, HelpName = "N" };
        var labels = new Option<int>("--labels") { Description = "Number of labels N.", DefaultValueFactory = _ => defaults.Labels, HelpName = "N" }.InRange(1);
        var iterations = new Option<int>("--iterations") { Description = "Timed passes per runtime; the median is reported.", DefaultValueFactory = _ => defaults.Iterations, HelpName = "N" }.InRange(1);
        var warmup = new Option<int>("--warmup") { Description = "Untimed passes first.", DefaultValueFactory = _ => defaults.Warmup, HelpName = "N" }.InRange(0);
        var threads = new Option<int>("--threads") { Description = "Threads for both runtimes (0: all cores).", DefaultValueFactory = _ => defaults.Threads, HelpName = "N" }.InRange(0);
        var backbones = new Option<string[]>("--backbone") { Description = $"Backbone to measure; repeat for several (default: {string.Join(", ", ExportBenchmark.DefaultBackbones)}).", HelpName = "NAME", Arity = ArgumentArity.ZeroOrMore };
        // An unknown name is a usage error naming the known ones, not a run that measures nothing and exits 0.
        backbones.AcceptOnlyFromAmong([.. ImageBackboneCatalog.Names]);
        var json = CommonOptions.Json("Print the results as JSON on stdout (the progress lines go to stderr).");
        var command = new Command("export", "Time per image of the exported model (ONNX Runtime, CPU), of the TorchSharp eager forward, and of the int8 package of the export, on the same random weights and input, batch 1, timed alternately.")
        {
            size, labels, iterations, warmup, threads, backbones, json,
        };
        command.SetAction(parsed =>
        {
            int side = parsed.GetValue(size);
            if (side is < LSegNet.InputSizeMultiple or > 2048 || side % LSegNet.InputSizeMultiple != 0)
                throw new CommandFailure($"--size {side} must be a multiple of {LSegNet.InputSizeMultiple} from {LSegNet.InputSizeMultiple} to 2048.", ExitCodes.Usage);
            var chosen = parsed.GetValue(backbones);
            var options = new ExportBenchmark.Options(parsed.GetValue(size), parsed.GetValue(labels), parsed.GetValue(iterations), parsed.GetValue(warmup),
                parsed.GetValue(threads), Backbones: chosen is { Length: > 0 } ? chosen : null);
            bool asJson = parsed.GetValue(json);
            var results = ExportBenchmark.Run(options, asJson ? console.Error : console.Out);
            if (asJson)
            {
                var array = new JsonArray(results.Select(r => (JsonNode)new JsonObject
                {
                    ["backbone"] = r.Backbone, ["size"] = r.Size, ["labels"] = r.Labels,
                    ["onnxRuntimeMs"] = Math.Round(r.OnnxRuntimeMilliseconds, 3), ["torchSharpMs"] = Math.Round(r.TorchSharpMilliseconds, 3),
                    ["ratio"] = Math.Round(r.Ratio, 3), ["maxLogitDifference"] = r.MaxLogitDifference,
                    ["int8Method"] = r.Int8Method, ["int8Ms"] = Math.Round(r.Int8Milliseconds, 3), ["int8Speedup"] = Math.Round(r.Int8Speedup, 3),
                }).ToArray());
                console.Out.WriteLine(array.ToJsonString(CliJson.Indented));
            }
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command CreateSegment(CliConsole console)
    {
        var defaults = new SegmentationBenchmark.Options();
        var model = CommonOptions.Model();
        var size = new Option<int>("--size") { Description = "Side of the square test images and the model input size.", DefaultValueFactory = _ => defaults.ImageSize, HelpName = "N" };
        var images = new Option<int>("--images") { Description = "Images in the ML.NET vs low-level comparison.", DefaultValueFactory = _ => defaults.Images, HelpName = "N" }.InRange(1);
        var labels = new Option<int>("--labels") { Description = $"Labels per label set, 1 to {SegmentationBenchmark.MaxLabels}.", DefaultValueFactory = _ => defaults.Labels, HelpName = "N" }.InRange(1, SegmentationBenchmark.MaxLabels);
        var iterations = new Option<int>("--iterations") { Description = "Timed repetitions; the median is reported.", DefaultValueFactory = _ => defaults.Iterations, HelpName = "N" }.InRange(1);
        var json = CommonOptions.Json("Print the results as JSON on stdout (the progress lines go to stderr).");
        var command = new Command("segment", "Measured in one run: full segmentation vs a label change on an encoded image, ML.NET Transform vs the low-level API over the same images, memory per image.")
        {
            model, size, images, labels, iterations, json,
        };
        command.SetAction(parsed =>
        {
            string? package = parsed.GetValue(model);
            CommonOptions.RequireValidSize(parsed.GetValue(size));
            var options = defaults with
            {
                PackagePath = package is null ? null : ModelPackagePath.Require(package),
                ImageSize = parsed.GetValue(size),
                Images = parsed.GetValue(images),
                Labels = parsed.GetValue(labels),
                Iterations = parsed.GetValue(iterations),
            };
            bool asJson = parsed.GetValue(json);
            var result = SegmentationBenchmark.Run(options, asJson ? console.Error : console.Out, FreshProcess.MeasurePeakMemory);
            if (asJson)
                console.Out.WriteLine(JsonSerializer.Serialize(result, BenchmarkJson.Options));
            return ExitCodes.Success;
        });
        return command;
    }


    private static Command CreateRuntime(CliConsole console)
    {
        var defaults = new RuntimeSettingsBenchmark.Options();
        var model = CommonOptions.Model();
        var size = new Option<int>("--size") { Description = "Side of the square test image and the model input size.", DefaultValueFactory = _ => defaults.ImageSize, HelpName = "N" };
        var rounds = new Option<int>("--rounds") { Description = "Alternating timed rounds; the median is reported.", DefaultValueFactory = _ => defaults.Rounds, HelpName = "N" }.InRange(1);
        var json = CommonOptions.Json("Print the results as JSON on stdout (the progress lines go to stderr).");
        var command = new Command("runtime", "ONNX Runtime settings compared in one run: time of a full segmentation (alternating rounds) and peak memory of one segmentation (a fresh process each) for the defaults, the memory arena switched, each other graph optimisation level (all, extended, basic), and one thread.")
        {
            model, size, rounds, json,
        };
        command.SetAction(parsed =>
        {
            string? package = parsed.GetValue(model);
            CommonOptions.RequireValidSize(parsed.GetValue(size));
            var options = defaults with { PackagePath = package is null ? null : ModelPackagePath.Require(package), ImageSize = parsed.GetValue(size), Rounds = parsed.GetValue(rounds) };
            bool asJson = parsed.GetValue(json);
            var results = RuntimeSettingsBenchmark.Run(options, FreshProcess.MeasurePeakMemory, asJson ? console.Error : console.Out);
            if (asJson)
                console.Out.WriteLine(JsonSerializer.Serialize(results, BenchmarkJson.Options));
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command CreateMemory(CliConsole console)
    {
        var model = CommonOptions.Model();
        var width = new Option<int>("--width") { Description = "Width of the synthetic image.", DefaultValueFactory = _ => 480, HelpName = "N" }.InRange(1);
        var height = new Option<int>("--height") { Description = "Height of the synthetic image.", DefaultValueFactory = _ => 480, HelpName = "N" }.InRange(1);
        var size = new Option<int>("--size") { Description = "Model input size, the longer side.", DefaultValueFactory = _ => 480, HelpName = "N" };
        var arena = new Option<string>("--arena") { Description = "ONNX Runtime's CPU memory arena: on or off.", DefaultValueFactory = _ => LSeg.MLNet.LanguageSegmentationModelOptions.Defaults.EnableMemoryArena ? "on" : "off", HelpName = "on|off" };
        arena.AcceptOnlyFromAmong("on", "off");
        var optimization = new Option<string>("--optimization") { Description = "Graph optimisation: none, basic, extended or all.", DefaultValueFactory = _ => RuntimeSettings.OptimizationName(LSeg.MLNet.LanguageSegmentationModelOptions.Defaults.GraphOptimization), HelpName = "LEVEL" };
        optimization.AcceptOnlyFromAmong("none", "basic", "extended", "all");
        var threads = new Option<int?>("--threads") { Description = "Intra-op threads (default: ONNX Runtime's).", HelpName = "N" }.InRange(1);
        var labels = new Option<string>("--labels") { Description = $"Comma-separated labels to segment with (default: {string.Join(", ", PeakMemory.DefaultLabels)}).", HelpName = "LABELS" };
        var through = new Option<string>("--through") { Description = "low-level: LanguageSegmentationModel.Segment; mlnet: an ML.NET pipeline (LoadImages, LanguageSegment) whose mask column is read.", DefaultValueFactory = _ => "low-level", HelpName = "low-level|mlnet" };
        through.AcceptOnlyFromAmong("low-level", "mlnet");
        var command = new Command("memory", "Peak memory (MB, the process's peak resident set) of loading the model and segmenting one synthetic image in this process, which should do nothing else; prints the number alone.")
        {
            model, width, height, size, arena, optimization, threads, labels, through,
        };
        command.SetAction(parsed =>
        {
            string? package = parsed.GetValue(model);
            CommonOptions.RequireValidSize(parsed.GetValue(size));
            // Checked before the model loads: an image the model would refuse, or one too large to write, is a usage error.
            int w = parsed.GetValue(width), h = parsed.GetValue(height);
            int limits = LSeg.MLNet.LanguageSegmentationModelOptions.Defaults.MinImageSide;
            if (Math.Min(w, h) < limits || (long)w * h > LSeg.MLNet.LanguageSegmentationModelOptions.Defaults.MaxImagePixels)
                throw new CommandFailure(
                    $"--width {w} --height {h}: the image must be at least {limits} pixels on a side and at most {LSeg.MLNet.LanguageSegmentationModelOptions.Defaults.MaxImagePixels:N0} pixels (the model's defaults).", ExitCodes.Usage);
            var labelList = parsed.GetValue(labels) is { } text ? LabelList.Parse(text, "--labels") : null;
            var settings = new RuntimeSettings(parsed.GetValue(arena) == "on", RuntimeSettings.ParseOptimization(parsed.GetValue(optimization)!), parsed.GetValue(threads));
            double peak = PeakMemory.Run(new PeakMemory.Request(package is null ? null : ModelPackagePath.Require(package), w, h, parsed.GetValue(size), settings, labelList, parsed.GetValue(through) == "mlnet"));
            console.Out.WriteLine(peak.ToString("F1", System.Globalization.CultureInfo.InvariantCulture));
            return ExitCodes.Success;
        });
        return command;
    }
}

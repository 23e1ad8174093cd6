// Train on your own folder dataset, evaluate, and use the result in an ML.NET pipeline: the Model Builder workflow.
// The `lseg` tool trains and evaluates (it carries TorchSharp); this application only consumes what it writes
// (model.zip and the model package), so it references LSeg.MLNet alone.
//   dotnet run --project examples/TrainCustom [DATA_DIR]
// DATA_DIR holds images/, labels/ (8-bit index PNGs) and classes.txt; without it a small synthetic dataset is made.
// The tool is found through LSEG_CLI (a path to lseg.dll or an lseg executable), else `dotnet run --project src/LSeg.Cli`.
// Everything is written to a temporary folder, deleted at the end unless LSEG_KEEP_EXAMPLE_OUTPUT=1.
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using LSeg.MLNet;
using Microsoft.ML;
using Microsoft.ML.Data;
using SkiaSharp;

CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
string work = Path.Combine(Path.GetTempPath(), $"lseg-train-custom-{Environment.ProcessId}");
Directory.CreateDirectory(work);
try
{
    string data = args.Length > 0 ? Path.GetFullPath(args[0]) : SyntheticDataset.Write(Path.Combine(work, "data"));
    string run = Path.Combine(work, "run");

    // 1. A Model-Builder-like configuration: the dataset folder, the network, one short epoch.
    string config = Path.Combine(work, "train.json");
    File.WriteAllText(config, JsonSerializer.Serialize(new
    {
        name = "my-colours",
        datasets = new[] { new { name = "mine", folder = data } },
        network = new { backbone = "resnet18", embeddingSize = 384, decoderFeatures = 32 },
        pretrainedBackbone = true,
        textEncoder = "minilm",
        augmentation = new { cropHeight = 64, cropWidth = 64, scaleMin = 1.0, scaleMax = 1.0, flipProbability = 0.5 },
        epochs = 1,
        batchSize = 2,
        learningRate = 0.001,
        outputDirectory = run,
    }, new JsonSerializerOptions { WriteIndented = true }));

    // 2. Train: writes run/model (the package), run/model.zip (ML.NET) and run/ConsumeModel.cs.
    LSegTool.Run("train", "--config", config);

    // 3. Evaluate the package on the dataset (a real project evaluates on a held-out split: --split test.txt).
    using (var metrics = JsonDocument.Parse(LSegTool.Run("evaluate", "--model", Path.Combine(run, "model"), "--data", data, "--json", "--size", "64")))
    {
        var root = metrics.RootElement;
        Console.WriteLine($"evaluation: mIoU {root.GetProperty("mIoU").GetDouble():0.0}%, pixel accuracy {root.GetProperty("pixelAccuracy").GetDouble():0.0}% over {root.GetProperty("images")} images");
    }

    // 4. Use it in an ML.NET pipeline: load the zip, segment an image, then switch labels with WithLabels.
    var mlContext = new MLContext();
    var loaded = mlContext.Model.Load(Path.Combine(run, "model.zip"), out var inputSchema);
    using var loadedOwner = loaded as IDisposable; // the loaded chain owns its ONNX Runtime session (and a temporary copy of its graph)
    using var package = LanguageSegmentationModel.Load(Path.Combine(run, "model"));
    using var segmenter = LanguageSegmentationTransformer.FromTransformerChain(loaded, inputSchema, package);
    string image = Directory.GetFiles(Path.Combine(data, "images")).Order(StringComparer.Ordinal).First();
    var file = mlContext.Data.LoadFromEnumerable(new[] { new ImageFile { ImagePath = image } });
    var images = mlContext.Transforms.LoadImages("Image", null, nameof(ImageFile.ImagePath)).Fit(file).Transform(file);

    Print(mlContext, segmenter, images, Path.GetFileName(image));
    using var twoLabels = segmenter.WithLabels([segmenter.Labels![0], "other"]);
    Print(mlContext, twoLabels, images, Path.GetFileName(image));
    bool keep = Environment.GetEnvironmentVariable("LSEG_KEEP_EXAMPLE_OUTPUT") == "1";
    Console.WriteLine($"the generated consumption code is in {Path.Combine(run, "ConsumeModel.cs")} ({(keep ? "kept: LSEG_KEEP_EXAMPLE_OUTPUT=1" : "deleted with the temporary folder; set LSEG_KEEP_EXAMPLE_OUTPUT=1 to keep it")})");
    return 0;
}
finally
{
    if (Environment.GetEnvironmentVariable("LSEG_KEEP_EXAMPLE_OUTPUT") != "1")
        Directory.Delete(work, recursive: true);
}

static void Print(MLContext mlContext, LanguageSegmentationTransformer segmenter, IDataView images, string name)
{
    var row = mlContext.Data.CreateEnumerable<MaskCounts>(segmenter.Transform(images), reuseRowObject: false).Single();
    long total = row.PixelCounts.Sum();
    string shares = string.Join(", ", segmenter.Labels!.Select((label, i) => $"{label} {100.0 * row.PixelCounts[i] / total:0.0}%"));
    Console.WriteLine($"pipeline on {name}: {shares}");
}

/// <summary>Runs the lseg tool and returns its stdout; a failure stops the example with the tool's one-line error.</summary>
static class LSegTool
{
    public static string Run(params string[] args)
    {
        string? cli = Environment.GetEnvironmentVariable("LSEG_CLI");
        var start = cli is null
            ? new ProcessStartInfo("dotnet") { ArgumentList = { "run", "--project", Path.Combine(RepositoryRoot(), "src", "LSeg.Cli"), "--" } }
            : cli.EndsWith(".dll", StringComparison.OrdinalIgnoreCase) ? new ProcessStartInfo("dotnet") { ArgumentList = { cli } } : new ProcessStartInfo(cli);
        foreach (string arg in args)
            start.ArgumentList.Add(arg);
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        Console.WriteLine($"> lseg {string.Join(' ', args)}");
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"lseg {args[0]} failed ({process.ExitCode}): {error.Result.Trim()}");
        return output;
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "LSeg.sln")))
                return dir.FullName;
        return Directory.GetCurrentDirectory();
    }
}

/// <summary>Six 64×64 images of red, blue and green regions with their label maps: a stand-in for your data.</summary>
static class SyntheticDataset
{
    public static string Write(string folder)
    {
        Directory.CreateDirectory(Path.Combine(folder, "images"));
        Directory.CreateDirectory(Path.Combine(folder, "labels"));
        File.WriteAllText(Path.Combine(folder, "classes.txt"), "0\tvoid\n1\tred\n2\tblue\n3\tgreen\n");
        SKColor[] colours = [new(255, 0, 0), new(0, 0, 255), new(0, 160, 0)];
        for (int i = 0; i < 6; i++)
        {
            int split = 16 + i * 6, left = i % 3, right = (i + 1) % 3;
            using var photo = new SKBitmap(64, 64, SKColorType.Rgba8888, SKAlphaType.Opaque);
            using var labels = new SKBitmap(64, 64, SKColorType.Gray8, SKAlphaType.Opaque);
            for (int y = 0; y < 64; y++)
            {
                for (int x = 0; x < 64; x++)
                {
                    int cls = x < split ? left : right;
                    photo.SetPixel(x, y, colours[cls]);
                    labels.SetPixel(x, y, new SKColor((byte)(cls + 1), (byte)(cls + 1), (byte)(cls + 1)));
                }
            }
            Save(photo, Path.Combine(folder, "images", $"sample{i}.png"));
            Save(labels, Path.Combine(folder, "labels", $"sample{i}.png"));
        }
        return folder;
    }

    private static void Save(SKBitmap bitmap, string path)
    {
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        File.WriteAllBytes(path, data.ToArray());
    }
}

/// <summary>Input row: an image file.</summary>
public sealed class ImageFile
{
    public string ImagePath { get; set; } = "";
}

/// <summary>Per-label pixel counts of one image.</summary>
public sealed class MaskCounts
{
    [ColumnName("SegmentationMaskPixelCounts")] public long[] PixelCounts { get; set; } = [];
}

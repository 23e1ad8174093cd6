// LSeg in an ML.NET pipeline: LoadImages → LanguageSegment → MapKeyToValue, a PredictionEngine, Save and Load,
// and WithLabels to change the label set without rebuilding anything.
//   dotnet run --project examples/MlNetPipeline [MODEL_PACKAGE [LABELS [OTHER_LABELS]]]
//   dotnet run --project examples/MlNetPipeline -- --consume MODEL.zip IMAGE   (a zip written by `lseg train`)
using LSeg.Examples;
using LSeg.MLNet;
using Microsoft.ML;
using Microsoft.ML.Data;

var mlContext = new MLContext(seed: 1);
if (args.Length > 0 && args[0] == "--consume")
{
    if (args.Length == 3)
        return Consume(mlContext, args[1], args[2]);
    Console.Error.WriteLine("usage: dotnet run --project examples/MlNetPipeline -- --consume MODEL.zip IMAGE");
    return 2;
}

string[] labels = Split(args.Length > 1 ? args[1] : "horse, grass, sky, other");
string[] otherLabels = Split(args.Length > 2 ? args[2] : "animal, background");
using var model = args.Length > 0 && args[0].Length > 0 ? LanguageSegmentationModel.Load(args[0]) : LanguageSegmentationModel.LoadDefault();
string imageFolder = Path.GetDirectoryName(ExampleFiles.Image("horse.png"))!;

// 1. The pipeline: file path → image → key-typed mask (one key per pixel) → label names.
var files = mlContext.Data.LoadFromEnumerable(new[] { new ImageFile { ImagePath = "horse.png" }, new ImageFile { ImagePath = "coffee.png" } });
var pipeline = mlContext.Transforms.LoadImages("Image", imageFolder, nameof(ImageFile.ImagePath))
    .Append(mlContext.Transforms.LanguageSegment(labels, model: model))
    .Append(mlContext.Transforms.Conversion.MapKeyToValue("SegmentationLabels", "SegmentationMask"));
using var fitted = pipeline.Fit(files); // no training: Fit builds the chain (disposing it releases its ONNX Runtime session)

// 2. A PredictionEngine for one image at a time (one per thread). OwnsTransformer = false: by ML.NET's default the engine
// owns `fitted`, and disposing the engine would dispose the pipeline that step 4 and every other engine still use.
var sharesModel = new PredictionEngineOptions { OwnsTransformer = false };
using var engine = mlContext.Model.CreatePredictionEngine<ImageFile, NamedMask>(fitted, sharesModel);
var horse = engine.Predict(new ImageFile { ImagePath = "horse.png" });
Console.WriteLine($"horse.png {horse.Width}x{horse.Height}, centre pixel: {horse.Labels[(horse.Height / 2) * horse.Width + horse.Width / 2]}");
PrintShares(labels, horse.PixelCounts);

// 3. Save and load: the zip holds the whole chain (ONNX graphs included); the loaded model gives the same mask.
string zip = Path.Combine(Path.GetTempPath(), $"lseg-pipeline-{Environment.ProcessId}.zip");
try
{
    mlContext.Model.Save(fitted, files.Schema, zip);
    var loaded = mlContext.Model.Load(zip, out _);
    using var loadedOwner = loaded as IDisposable; // the loaded chain owns its own session
    using var loadedEngine = mlContext.Model.CreatePredictionEngine<ImageFile, NamedMask>(loaded, sharesModel);
    var again = loadedEngine.Predict(new ImageFile { ImagePath = "horse.png" });
    Console.WriteLine($"saved to {Path.GetFileName(zip)} ({new FileInfo(zip).Length / 1024} KiB) and loaded: same mask = {again.Labels.SequenceEqual(horse.Labels)}");
}
finally
{
    File.Delete(zip);
}

// 4. WithLabels: another label set on the same encoder session, no re-fitting.
var segmenter = fitted.OfType<LanguageSegmentationTransformer>().Single();
using var relabelled = segmenter.WithLabels(otherLabels);
var images = mlContext.Transforms.LoadImages("Image", imageFolder, nameof(ImageFile.ImagePath)).Fit(files).Transform(files);
foreach (var row in mlContext.Data.CreateEnumerable<MaskCounts>(relabelled.Transform(images), reuseRowObject: false))
{
    Console.WriteLine($"{row.ImagePath} with [{string.Join(", ", otherLabels)}]:");
    PrintShares(otherLabels, row.PixelCounts);
}
return 0;

// Consumes a model zip written by `lseg train` (the LanguageSegment transformer alone, input column "Image").
static int Consume(MLContext mlContext, string zipPath, string imagePath)
{
    var loaded = mlContext.Model.Load(zipPath, out var inputSchema);
    using var loadedOwner = loaded as IDisposable; // what Model.Load returned owns the session; the segmenter shares it
    using var segmenter = LanguageSegmentationTransformer.FromTransformerChain(loaded, inputSchema);
    var file = mlContext.Data.LoadFromEnumerable(new[] { new ImageFile { ImagePath = Path.GetFullPath(imagePath) } });
    var image = mlContext.Transforms.LoadImages("Image", null, nameof(ImageFile.ImagePath)).Fit(file).Transform(file);
    var row = mlContext.Data.CreateEnumerable<MaskCounts>(segmenter.Transform(image), reuseRowObject: false).Single();
    Console.WriteLine($"{Path.GetFileName(imagePath)} with the labels saved in {Path.GetFileName(zipPath)}:");
    PrintShares(segmenter.Labels!.ToArray(), row.PixelCounts);
    return 0;
}

static void PrintShares(string[] labels, long[] counts)
{
    long total = counts.Sum();
    for (int i = 0; i < labels.Length; i++)
        Console.WriteLine($"  {labels[i],-12} {100.0 * counts[i] / total,5:0.0}%");
}

static string[] Split(string text) => text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);

/// <summary>Input row: an image file, relative to the image folder.</summary>
public sealed class ImageFile
{
    public string ImagePath { get; set; } = "";
}

/// <summary>The mask as label names (MapKeyToValue), with its size and per-label pixel counts.</summary>
public sealed class NamedMask
{
    [ColumnName("SegmentationLabels")] public string[] Labels { get; set; } = [];
    [ColumnName("SegmentationMaskWidth")] public int Width { get; set; }
    [ColumnName("SegmentationMaskHeight")] public int Height { get; set; }
    [ColumnName("SegmentationMaskPixelCounts")] public long[] PixelCounts { get; set; } = [];
}

/// <summary>Per-label pixel counts of one image.</summary>
public sealed class MaskCounts
{
    public string ImagePath { get; set; } = "";
    [ColumnName("SegmentationMaskPixelCounts")] public long[] PixelCounts { get; set; } = [];
}

// Relabel: encode a photo once, then segment it with several label sets. Only the small head runs per label set,
// which is what makes LSeg interactive (paper, section 4): try labels until the segmentation says what you mean.
//   dotnet run --project examples/Relabel [IMAGE [MODEL_PACKAGE [LABELS]...]]
using System.Diagnostics;
using LSeg.Examples;
using LSeg.MLNet;
using LSeg.MLNet.Imaging;

if (args.Length > 1 && args[1].Contains(',') && !Directory.Exists(args[1]) && !File.Exists(args[1]))
{
    // Quickstart takes IMAGE LABELS; here the model comes second, so that several label sets can follow it.
    Console.Error.WriteLine($"'{args[1]}' looks like labels, not a model package: usage: dotnet run --project examples/Relabel [IMAGE [MODEL_PACKAGE [LABELS]...]] (pass \"\" for the default model, e.g. photo.jpg \"\" \"cat, other\")");
    return 2;
}
string imagePath = args.Length > 0 ? args[0] : ExampleFiles.Image("chelsea.png");
string[][] labelSets = args.Length > 2
    ? args[2..].Select(Split).ToArray()
    : [["cat", "other"], ["cat", "wall", "other"], ["fur", "eyes", "nose", "background"], ["animal", "background"]];

var clock = Stopwatch.StartNew();
using var model = args.Length > 1 && args[1].Length > 0 ? LanguageSegmentationModel.Load(args[1]) : LanguageSegmentationModel.LoadDefault();
Console.WriteLine($"load model      {clock.Elapsed.TotalMilliseconds,8:0.0} ms  ({model.Manifest.Name})");

using var image = ImageFileReader.Read(imagePath); // refuses a truncated or corrupt file (MLImage.CreateFromFile paints the missing part grey)
clock.Restart();
EncodedImage encoded = model.EncodeImage(image);
Console.WriteLine($"encode image    {clock.Elapsed.TotalMilliseconds,8:0.0} ms  ({encoded.OriginalWidth}x{encoded.OriginalHeight} at {encoded.InputWidth}x{encoded.InputHeight}, once)");

foreach (string[] labels in labelSets)
{
    clock.Restart();
    LabelEmbeddings embeddings = model.EncodeLabels(labels); // cached per label: repeated labels are free
    double encodeMs = clock.Elapsed.TotalMilliseconds;
    clock.Restart();
    SegmentationResult result = model.Segment(encoded, embeddings);
    double segmentMs = clock.Elapsed.TotalMilliseconds;

    long total = (long)result.Width * result.Height;
    string shares = string.Join(", ", result.Labels.Select((label, i) => $"{label} {100.0 * result.PixelCounts[i] / total:0.0}%"));
    Console.WriteLine($"[{string.Join(", ", labels)}]");
    Console.WriteLine($"  encode labels {encodeMs,8:0.0} ms, segment {segmentMs,8:0.0} ms: {shares}");
}
return 0;

static string[] Split(string text) => text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);

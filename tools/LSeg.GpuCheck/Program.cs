using System.Diagnostics;
using LSeg.MLNet;
using Microsoft.ML.Data;

// Usage: LSeg.GpuCheck PACKAGE_DIR IMAGE_DIR "label, label, ..." [RUNS]
// Loads the package twice (CPU; CUDA device 0 with no fallback), segments every image of IMAGE_DIR with both,
// and prints the share of pixels whose label agrees plus the median time of encode + segment on each device.
// Exit code: 0 when every image agrees on at least 99.9% of its pixels, 1 otherwise, 2 when CUDA cannot be used.
//
// Usage: LSeg.GpuCheck --make-table-package SOURCE_DIR DEST_DIR "label, label, ..."
// Copies a package, replacing its text encoder by a fixed table of the given labels' embeddings (computed here by
// the package's own text encoder), so the GPU machine needs neither MiniLM nor a tokenizer.
if (args.Length == 4 && args[0] == "--make-table-package")
{
    TablePackage.Write(args[1], args[2], args[3].Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries));
    return 0;
}
if (args.Length < 3)
{
    Console.Error.WriteLine("usage: LSeg.GpuCheck PACKAGE_DIR IMAGE_DIR \"label, label, ...\" [RUNS]");
    return 2;
}
string package = args[0];
string[] images = Directory.GetFiles(args[1]).Where(f => f.EndsWith(".png") || f.EndsWith(".jpg")).Order().ToArray();
string[] labels = args[2].Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
int runs = args.Length > 3 ? int.Parse(args[3]) : 5;

using var cpu = LanguageSegmentationModel.Load(package);
LanguageSegmentationModel gpu;
try
{
    gpu = LanguageSegmentationModel.Load(package, new LanguageSegmentationModelOptions { GpuDeviceId = 0, FallbackToCpu = false });
}
catch (Exception e)
{
    Console.WriteLine($"CUDA unavailable: {e.Message}");
    return 2;
}
using var _ = gpu;
Console.WriteLine($"package {cpu.Manifest.Name} ({cpu.Manifest.Backbone}, C={cpu.Manifest.EmbeddingSize}); cpu.UsesGpu={cpu.UsesGpu} gpu.UsesGpu={gpu.UsesGpu}");
Console.WriteLine($"labels: {string.Join(" | ", labels)}; {runs} timed runs per image and device after one warm-up");

var cpuLabels = cpu.EncodeLabels(labels);
var gpuLabels = gpu.EncodeLabels(labels);
double worst = 1.0, cpuTotal = 0, gpuTotal = 0;
foreach (string path in images)
{
    using var image = MLImage.CreateFromFile(path);
    var (cpuResult, cpuMs) = Time(() => cpu.Segment(cpu.EncodeImage(image), cpuLabels), runs);
    var (gpuResult, gpuMs) = Time(() => gpu.Segment(gpu.EncodeImage(image), gpuLabels), runs);
    long same = 0;
    for (int i = 0; i < cpuResult.Mask.Length; i++)
        same += cpuResult.Mask[i] == gpuResult.Mask[i] ? 1 : 0;
    double agreement = (double)same / cpuResult.Mask.Length;
    worst = Math.Min(worst, agreement);
    cpuTotal += cpuMs;
    gpuTotal += gpuMs;
    Console.WriteLine($"{Path.GetFileName(path),-22} {image.Width}x{image.Height}  agree {agreement * 100:F4}%  cpu {cpuMs,8:F1} ms  gpu {gpuMs,7:F1} ms  speed-up {cpuMs / gpuMs:F1}x");
}
Console.WriteLine($"worst agreement {worst * 100:F4}% (need >= 99.9%); median ms summed over images: cpu {cpuTotal:F1}, gpu {gpuTotal:F1}, ratio {cpuTotal / gpuTotal:F1}x");
return worst >= 0.999 ? 0 : 1;

static (SegmentationResult Result, double MedianMs) Time(Func<SegmentationResult> run, int runs)
{
    var result = run();
    var times = new List<double>();
    for (int i = 0; i < runs; i++)
    {
        var watch = Stopwatch.StartNew();
        result = run();
        times.Add(watch.Elapsed.TotalMilliseconds);
    }
    times.Sort();
    return (result, times[times.Count / 2]);
}

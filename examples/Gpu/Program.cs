// Gpu: segment on CUDA device 0 when the machine has CUDA 13 and cuDNN 9, quietly on the CPU otherwise.
//   dotnet run --project examples/Gpu -- MODEL_PACKAGE [IMAGE [LABELS]]
// The project references LSeg.MLNet.Gpu (ONNX Runtime's CUDA build, which also runs on the CPU) and no default model.
using LSeg.Examples;
using LSeg.MLNet;
using LSeg.MLNet.Imaging;
using Microsoft.ML.OnnxRuntime;

if (args.Length == 0)
{
    Console.Error.WriteLine("usage: Gpu MODEL_PACKAGE [IMAGE [LABELS]]  (this application carries no default model)");
    return 2;
}
string imagePath = args.Length > 1 ? args[1] : ExampleFiles.Image("chelsea.png");
string[] labels = (args.Length > 2 ? args[2] : "cat, wall, other")
    .Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);

Console.WriteLine($"ONNX Runtime providers: {string.Join(", ", OrtEnv.Instance().GetAvailableProviders())}");
Console.WriteLine($"default model carried: {LanguageSegmentationModel.HasDefaultModel}");

using var model = LanguageSegmentationModel.Load(args[0], new LanguageSegmentationModelOptions { GpuDeviceId = 0, FallbackToCpu = true });
Console.WriteLine(model.UsesGpu ? "running on GPU 0" : $"running on the CPU: {model.GpuFallbackReason}");

using var image = ImageFileReader.Read(imagePath); // refuses a truncated or corrupt file (MLImage.CreateFromFile paints the missing part grey)
var result = model.Segment(image, labels);
long total = (long)result.Width * result.Height;
for (int i = 0; i < result.Labels.Count; i++)
    Console.WriteLine($"  {result.Labels[i],-12} {100.0 * result.PixelCounts[i] / total,5:0.0}% of the pixels");
return 0;

using LSeg.MLNet.Package;
using LSeg.Training.Bridge.Export;
using LSeg.Training.Bridge.Network;

namespace LSeg.MLNet.Tests.Packages;

/// <summary>
/// A realistic-size package for the benchmark when the build has no default model: ResNet18 with ImageNet weights
/// (from the NuGet ONNX), an untrained 256-channel decoder (the paper's width), and MiniLM labels (384-d).
/// </summary>
internal static class BenchmarkPackage
{
    public static int Export(string directory)
    {
        using var net = LSegNet.Create(new LSegNetConfig { EmbeddingSize = 384, DecoderFeatures = 256 }, pretrainedBackbone: true);
        ModelPackageExporter.Export(net, directory, new ModelPackageExportOptions
        {
            Name = "benchmark-resnet18-minilm (untrained decoder)",
            TextEncoder = new TextEncoderInfo { Kind = "minilm", ContextLength = 256 },
            StoreWeightsAsFloat16 = true,
            Overwrite = true,
        });
        Console.WriteLine($"exported {directory}");
        return 0;
    }
}

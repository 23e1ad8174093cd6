using LSeg.Training.Bridge.Export;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LSeg.Training.Bridge.Network.ImageEncoders;

/// <summary>
/// The ImageNet ResNet18 of the Microsoft.ML.DnnImageFeaturizer.ResNet18 package (a CNTK export) as an LSeg backbone:
/// a 7×7/2 stem and max-pool, then stages of [2, 2, 2, 3] basic blocks with 64, 128, 256 and 512 channels, whose
/// outputs are the feature maps at strides 4, 8, 16 and 32. Input RGB 0–255; the network converts it to BGR minus the
/// per-channel means itself (<see cref="PixelNormalization.CntkResNet18"/>).
/// </summary>
/// <remarks>
/// The CNTK graph pads its strided convolutions asymmetrically (one more row/column before than after). For even
/// input sizes, which every multiple of 32 gives at every stage, that reads exactly the same pixels as torch's
/// symmetric padding, so the module uses symmetric padding and still matches the original graph.
/// </remarks>
public sealed class ResNet18Backbone : nn.Module<Tensor, BackboneFeatures>, IImageBackbone
{
    /// <summary>Basic blocks per stage, read from the CNTK graph (its last stage has three).</summary>
    public static IReadOnlyList<int> BlocksPerStage { get; } = [2, 2, 2, 3];

    private static readonly int[] StageChannels = [64, 128, 256, 512];

#pragma warning disable IDE1006 // state-dict key names
    private readonly Conv2d conv1;
    private readonly BatchNorm2d bn1;
    private readonly ModuleList<ResNet18BasicBlock> layer1;
    private readonly ModuleList<ResNet18BasicBlock> layer2;
    private readonly ModuleList<ResNet18BasicBlock> layer3;
    private readonly ModuleList<ResNet18BasicBlock> layer4;
#pragma warning restore IDE1006

    /// <summary>Builds the backbone with random weights (use <see cref="LoadPretrained"/> for the ImageNet weights).</summary>
    public ResNet18Backbone() : base(nameof(ResNet18Backbone))
    {
        conv1 = nn.Conv2d(3, 64, 7, stride: 2, padding: 3, bias: false);
        bn1 = nn.BatchNorm2d(64);
        layer1 = Stage(0);
        layer2 = Stage(1);
        layer3 = Stage(2);
        layer4 = Stage(3);
        RegisterComponents();
    }

    /// <summary>The default location of the ImageNet weights: the ONNX file the build copies beside the binaries.</summary>
    public static string DefaultWeightsPath => Path.Combine(AppContext.BaseDirectory, "models", "resnet18", "ResNet18.onnx");

    /// <summary>Builds the backbone with the ImageNet weights read from the package's ONNX file.</summary>
    /// <param name="onnxPath">The CNTK ResNet18 ONNX file; <see cref="DefaultWeightsPath"/> when null.</param>
    /// <exception cref="FileNotFoundException">The file is absent.</exception>
    /// <exception cref="InvalidDataException">The graph does not have the expected structure.</exception>
    public static ResNet18Backbone LoadPretrained(string? onnxPath = null)
    {
        onnxPath ??= DefaultWeightsPath;
        if (!File.Exists(onnxPath))
            throw new FileNotFoundException(
                $"The ImageNet ResNet18 weights '{onnxPath}' are missing. The build of LSeg.Training.Bridge copies them from NuGet package Microsoft.ML.DnnImageFeaturizer.ResNet18; rebuild, or pass the path of ResNet18.onnx.",
                onnxPath);
        var backbone = new ResNet18Backbone();
        try
        {
            ResNet18OnnxWeights.LoadInto(backbone, onnxPath);
        }
        catch
        {
            backbone.Dispose();
            throw;
        }
        return backbone;
    }

    /// <inheritdoc/>
    public IReadOnlyList<int> FeatureChannels => StageChannels;

    /// <inheritdoc/>
    public PixelNormalization PixelNormalization => PixelNormalization.CntkResNet18;

    internal Conv2d Conv1 => conv1;

    internal BatchNorm2d Bn1 => bn1;

    internal IReadOnlyList<ResNet18BasicBlock> Blocks => [.. layer1, .. layer2, .. layer3, .. layer4];

    /// <inheritdoc/>
    public override BackboneFeatures forward(Tensor pixels)
    {
        using var scope = NewDisposeScope();
        var x = PixelNormalization.Apply(pixels);
        x = bn1.forward(conv1.forward(x)).relu();
        x = nn.functional.max_pool2d(x, 3, stride: 2, padding: 1);
        var f1 = RunStage(layer1, x);
        var f2 = RunStage(layer2, f1);
        var f3 = RunStage(layer3, f2);
        var f4 = RunStage(layer4, f3);
        return new BackboneFeatures(f1, f2, f3, f4).MoveToOuterDisposeScope();
    }

    BackboneFeatureNames IImageBackbone.ExportOnnx(OnnxGraphBuilder graph, string pixels, string scope)
    {
        string x = PixelNormalization.ExportOnnx(graph, pixels);
        x = graph.Relu(graph.BatchNorm2d(graph.Conv2d(x, conv1, scope + ".conv1"), bn1, scope + ".bn1"));
        x = graph.MaxPool(x, [3, 3], [2, 2], [1, 1, 1, 1]);
        string f1 = ExportStage(graph, layer1, x, scope + ".layer1");
        string f2 = ExportStage(graph, layer2, f1, scope + ".layer2");
        string f3 = ExportStage(graph, layer3, f2, scope + ".layer3");
        string f4 = ExportStage(graph, layer4, f3, scope + ".layer4");
        return new BackboneFeatureNames(f1, f2, f3, f4);
    }

    private static ModuleList<ResNet18BasicBlock> Stage(int index)
    {
        int inChannels = index == 0 ? 64 : StageChannels[index - 1];
        int outChannels = StageChannels[index];
        var blocks = new ResNet18BasicBlock[BlocksPerStage[index]];
        for (int i = 0; i < blocks.Length; i++)
            blocks[i] = new ResNet18BasicBlock(i == 0 ? inChannels : outChannels, outChannels, i == 0 && index > 0 ? 2 : 1);
        return nn.ModuleList(blocks);
    }

    private static Tensor RunStage(ModuleList<ResNet18BasicBlock> stage, Tensor x)
    {
        foreach (var block in stage)
            x = block.forward(x);
        return x;
    }

    private static string ExportStage(OnnxGraphBuilder graph, ModuleList<ResNet18BasicBlock> stage, string x, string scope)
    {
        for (int i = 0; i < stage.Count; i++)
            x = stage[i].ExportOnnx(graph, x, $"{scope}.{i}");
        return x;
    }
}

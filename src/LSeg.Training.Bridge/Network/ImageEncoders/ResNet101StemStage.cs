using LSeg.Training.Bridge.Export;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LSeg.Training.Bridge.Network.ImageEncoders;

/// <summary>
/// The official zero-shot LSeg's <c>pretrained.layer1</c> = Sequential(conv1, bn1, relu, maxpool, layer1) of
/// torchvision's ResNet: the 7×7 stride-2 stem, 3×3 stride-2 max pooling, then the first stage (stride 4 in all).
/// Children are registered as "0" (conv1), "1" (bn1) and "4" (the stage) to keep the official keys.
/// </summary>
internal sealed class ResNet101StemStage : nn.Module<Tensor, Tensor>
{
    // A tuple, not Module-typed fields: RegisterComponents would register those under their C# names as well.
    private readonly (Conv2d Conv, BatchNorm2d Norm, ResNet101Stage Stage) _layers;

    public ResNet101StemStage(ResNet101Options options) : base("layer1")
    {
        var conv = nn.Conv2d(3, options.BaseWidth, kernel_size: 7, stride: 2, padding: 3, bias: false);
        var norm = nn.BatchNorm2d(options.BaseWidth, eps: ResNet101Options.BatchNormEps);
        var stage = new ResNet101Stage("4", options.BaseWidth, options.BaseWidth, options.Blocks[0], stride: 1);
        register_module("0", conv);
        register_module("1", norm);
        register_module("4", stage);
        _layers = (conv, norm, stage);
    }

    /// <summary>torchvision <c>conv1</c> (official key <c>layer1.0</c>).</summary>
    private Conv2d Conv => _layers.Conv;

    /// <summary>torchvision <c>bn1</c> (official key <c>layer1.1</c>).</summary>
    private BatchNorm2d Norm => _layers.Norm;

    /// <summary>torchvision <c>layer1</c> (official key <c>layer1.4</c>).</summary>
    private ResNet101Stage Stage => _layers.Stage;

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var stem = Norm.forward(Conv.forward(x)).relu_();
        var pooled = nn.functional.max_pool2d(stem, kernel_size: 3, stride: 2, padding: 1);
        return Stage.forward(pooled).MoveToOuterDisposeScope();
    }

    /// <summary>Writes <see cref="forward"/> into <paramref name="graph"/>, the children keyed <c>{scope}.0</c>, <c>.1</c> and <c>.4</c>.</summary>
    internal string ExportOnnx(OnnxGraphBuilder graph, string x, string scope)
    {
        x = graph.Relu(graph.BatchNorm2d(graph.Conv2d(x, Conv, scope + ".0"), Norm, scope + ".1"));
        x = graph.MaxPool(x, [3, 3], [2, 2], [1, 1, 1, 1]);
        return Stage.ExportOnnx(graph, x, scope + ".4");
    }
}

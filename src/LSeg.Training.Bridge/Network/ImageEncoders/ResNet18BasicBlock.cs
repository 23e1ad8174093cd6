using LSeg.Training.Bridge.Export;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LSeg.Training.Bridge.Network.ImageEncoders;

/// <summary>
/// A ResNet basic block: relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)), the shortcut a strided 1×1 conv and
/// BatchNorm when the block changes resolution or width. Field names follow torchvision's state-dict keys.
/// </summary>
internal sealed class ResNet18BasicBlock : nn.Module<Tensor, Tensor>, IBackboneBlock
{
#pragma warning disable IDE1006 // state-dict key names
    private readonly Conv2d conv1;
    private readonly BatchNorm2d bn1;
    private readonly Conv2d conv2;
    private readonly BatchNorm2d bn2;
    private readonly Sequential? downsample;
#pragma warning restore IDE1006

    public ResNet18BasicBlock(int inChannels, int outChannels, int stride) : base(nameof(ResNet18BasicBlock))
    {
        conv1 = nn.Conv2d(inChannels, outChannels, 3, stride: stride, padding: 1, bias: false);
        bn1 = nn.BatchNorm2d(outChannels);
        conv2 = nn.Conv2d(outChannels, outChannels, 3, stride: 1, padding: 1, bias: false);
        bn2 = nn.BatchNorm2d(outChannels);
        if (stride != 1 || inChannels != outChannels)
            downsample = nn.Sequential(("0", nn.Conv2d(inChannels, outChannels, 1, stride: stride, bias: false)), ("1", nn.BatchNorm2d(outChannels)));
        RegisterComponents();
    }

    internal Conv2d Conv1 => conv1;

    internal BatchNorm2d Bn1 => bn1;

    internal Conv2d Conv2 => conv2;

    internal BatchNorm2d Bn2 => bn2;

    internal (Conv2d Conv, BatchNorm2d Norm)? Downsample
        => downsample is null ? null : ((Conv2d)downsample[0], (BatchNorm2d)downsample[1]);

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var main = bn2.forward(conv2.forward(bn1.forward(conv1.forward(x)).relu()));
        var shortcut = downsample is null ? x : downsample.forward(x);
        return (main + shortcut).relu().MoveToOuterDisposeScope();
    }

    /// <summary>Writes <see cref="forward"/> into <paramref name="graph"/> (BatchNorm with its running statistics).</summary>
    internal string ExportOnnx(OnnxGraphBuilder graph, string x, string scope)
    {
        string main = graph.Relu(graph.BatchNorm2d(graph.Conv2d(x, conv1, scope + ".conv1"), bn1, scope + ".bn1"));
        main = graph.BatchNorm2d(graph.Conv2d(main, conv2, scope + ".conv2"), bn2, scope + ".bn2");
        string shortcut = x;
        if (Downsample is { } down)
            shortcut = graph.BatchNorm2d(graph.Conv2d(x, down.Conv, scope + ".downsample.0"), down.Norm, scope + ".downsample.1");
        return graph.Relu(graph.Add(main, shortcut));
    }
}

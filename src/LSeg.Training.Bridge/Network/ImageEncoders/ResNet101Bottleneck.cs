using LSeg.Training.Bridge.Export;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LSeg.Training.Bridge.Network.ImageEncoders;

/// <summary>
/// torchvision's <c>Bottleneck</c> (ResNet v1.5: the stride sits on the 3×3 convolution):
/// relu(bn3(conv3(relu(bn2(conv2(relu(bn1(conv1(x)))))))) + shortcut(x)), the shortcut being
/// <c>downsample</c> = Sequential(conv 1×1 with stride, BatchNorm) when the shape changes.
/// </summary>
internal sealed class ResNet101Bottleneck : nn.Module<Tensor, Tensor>, IBackboneBlock
{
#pragma warning disable IDE1006 // Field names are torchvision's state-dict keys.
    private readonly Conv2d conv1;
    private readonly BatchNorm2d bn1;
    private readonly Conv2d conv2;
    private readonly BatchNorm2d bn2;
    private readonly Conv2d conv3;
    private readonly BatchNorm2d bn3;
    private readonly Sequential? downsample;
#pragma warning restore IDE1006

    public ResNet101Bottleneck(int inChannels, int width, int stride) : base("bottleneck")
    {
        int outChannels = width * ResNet101Options.Expansion;
        conv1 = nn.Conv2d(inChannels, width, kernel_size: 1, bias: false);
        bn1 = nn.BatchNorm2d(width, eps: ResNet101Options.BatchNormEps);
        conv2 = nn.Conv2d(width, width, kernel_size: 3, stride: stride, padding: 1, bias: false);
        bn2 = nn.BatchNorm2d(width, eps: ResNet101Options.BatchNormEps);
        conv3 = nn.Conv2d(width, outChannels, kernel_size: 1, bias: false);
        bn3 = nn.BatchNorm2d(outChannels, eps: ResNet101Options.BatchNormEps);
        if (stride != 1 || inChannels != outChannels)
        {
            downsample = nn.Sequential(
                nn.Conv2d(inChannels, outChannels, kernel_size: 1, stride: stride, bias: false),
                nn.BatchNorm2d(outChannels, eps: ResNet101Options.BatchNormEps));
        }
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var y = bn1.forward(conv1.forward(x)).relu_();
        y = bn2.forward(conv2.forward(y)).relu_();
        y = bn3.forward(conv3.forward(y));
        var shortcut = downsample is null ? x : downsample.forward(x);
        return (y + shortcut).relu_().MoveToOuterDisposeScope();
    }

    /// <summary>Writes <see cref="forward"/> into <paramref name="graph"/> (BatchNorm with its running statistics).</summary>
    internal string ExportOnnx(OnnxGraphBuilder graph, string x, string scope)
    {
        string y = graph.Relu(graph.BatchNorm2d(graph.Conv2d(x, conv1, scope + ".conv1"), bn1, scope + ".bn1"));
        y = graph.Relu(graph.BatchNorm2d(graph.Conv2d(y, conv2, scope + ".conv2"), bn2, scope + ".bn2"));
        y = graph.BatchNorm2d(graph.Conv2d(y, conv3, scope + ".conv3"), bn3, scope + ".bn3");
        string shortcut = downsample is null
            ? x
            : graph.BatchNorm2d(graph.Conv2d(x, (Conv2d)downsample[0], scope + ".downsample.0"), (BatchNorm2d)downsample[1], scope + ".downsample.1");
        return graph.Relu(graph.Add(y, shortcut));
    }
}

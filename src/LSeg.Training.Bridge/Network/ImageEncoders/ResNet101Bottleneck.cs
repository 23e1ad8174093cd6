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

    internal (Conv2d Conv, BatchNorm2d Norm)[] MainPath => [(conv1, bn1), (conv2, bn2), (conv3, bn3)];

    /// <summary>The shortcut projection's convolution (<c>downsample.0</c>), when there is one.</summary>
    internal Conv2d? ShortcutConv => (Conv2d?)downsample?.children().ElementAt(0);

    /// <summary>The shortcut projection's BatchNorm (<c>downsample.1</c>), when there is one.</summary>
    internal BatchNorm2d? ShortcutNorm => (BatchNorm2d?)downsample?.children().ElementAt(1);

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var y = bn1.forward(conv1.forward(x)).relu_();
        y = bn2.forward(conv2.forward(y)).relu_();
        y = bn3.forward(conv3.forward(y));
        var shortcut = downsample is null ? x : downsample.forward(x);
        return (y + shortcut).relu_().MoveToOuterDisposeScope();
    }
}

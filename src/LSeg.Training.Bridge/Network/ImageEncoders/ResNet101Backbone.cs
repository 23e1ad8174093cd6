using LSeg.Training.Bridge.Export;
using TorchSharp;
using static TorchSharp.torch;

namespace LSeg.Training.Bridge.Network.ImageEncoders;

/// <summary>
/// The paper's zero-shot backbone (<c>clip_resnet101</c>): a torchvision-layout bottleneck ResNet whose four stage
/// outputs (strides 4, 8, 16, 32; 256/512/1024/2048 channels at full size) feed the DPT decoder. Takes RGB pixels
/// in 0–255 and applies the ImageNet mean/std normalisation inside. Weights are random or imported.
/// </summary>
/// <remarks>
/// Keys follow the official <c>_make_resnet_backbone</c> under <c>pretrained.</c>: <c>layer1.0</c> (conv1),
/// <c>layer1.1</c> (bn1), <c>layer1.4.{i}.*</c> (torchvision layer1), <c>layer2.{i}.*</c> … <c>layer4.{i}.*</c>.
/// </remarks>
internal sealed class ResNet101Backbone : nn.Module<Tensor, BackboneFeatures>, IImageBackbone
{
#pragma warning disable IDE1006 // Field names are the official state-dict keys.
    private readonly ResNet101StemStage layer1;
    private readonly ResNet101Stage layer2;
    private readonly ResNet101Stage layer3;
    private readonly ResNet101Stage layer4;
#pragma warning restore IDE1006

    public ResNet101Backbone(ResNet101Options options) : base("pretrained")
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        int w = options.BaseWidth, e = ResNet101Options.Expansion;
        layer1 = new ResNet101StemStage(options);
        layer2 = new ResNet101Stage(nameof(layer2), w * e, w * 2, options.Blocks[1], stride: 2);
        layer3 = new ResNet101Stage(nameof(layer3), w * 2 * e, w * 4, options.Blocks[2], stride: 2);
        layer4 = new ResNet101Stage(nameof(layer4), w * 4 * e, w * 8, options.Blocks[3], stride: 2);
        RegisterComponents();
    }

    internal ResNet101Options Options { get; }

    /// <summary>Channels of the feature maps at strides 4, 8, 16, 32.</summary>
    public IReadOnlyList<int> FeatureChannels => Options.FeatureChannels;

    /// <summary>torchvision's ImageNet mean/std, RGB.</summary>
    public PixelNormalization PixelNormalization => PixelNormalization.ImageNet;

    /// <param name="pixels">[B, 3, H, W], RGB, 0–255, H and W multiples of 32.</param>
    /// <returns>Feature maps [B, c_s, H/s, W/s] for s = 4, 8, 16, 32.</returns>
    /// <exception cref="ArgumentException">The input is not [B, 3, H, W] with H and W multiples of 32.</exception>
    public override BackboneFeatures forward(Tensor pixels)
    {
        LSegNet.ValidatePixels(pixels);
        using var scope = NewDisposeScope();
        var mean = tensor(PixelNormalization.Mean, dtype: pixels.dtype, device: pixels.device).reshape(1, 3, 1, 1);
        var std = tensor(PixelNormalization.Std, dtype: pixels.dtype, device: pixels.device).reshape(1, 3, 1, 1);
        var x = (pixels - mean) / std;
        var f1 = layer1.forward(x);
        var f2 = layer2.forward(f1);
        var f3 = layer3.forward(f2);
        var f4 = layer4.forward(f3);
        return new BackboneFeatures(f1, f2, f3, f4).MoveToOuterDisposeScope();
    }

    /// <summary>Writes <see cref="forward"/> (inference mode: BatchNorm with running statistics) into <paramref name="graph"/>.</summary>
    BackboneFeatureNames IImageBackbone.ExportOnnx(OnnxGraphBuilder graph, string pixels, string scope)
    {
        string x = PixelNormalization.ExportOnnx(graph, pixels);
        string f1 = layer1.ExportOnnx(graph, x, scope + ".layer1");
        string f2 = layer2.ExportOnnx(graph, f1, scope + ".layer2");
        string f3 = layer3.ExportOnnx(graph, f2, scope + ".layer3");
        string f4 = layer4.ExportOnnx(graph, f3, scope + ".layer4");
        return new BackboneFeatureNames(f1, f2, f3, f4);
    }
}

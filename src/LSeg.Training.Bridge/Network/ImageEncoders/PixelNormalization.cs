using LSeg.Training.Bridge.Export;
using static TorchSharp.torch;

namespace LSeg.Training.Bridge.Network.ImageEncoders;

/// <summary>
/// How a backbone normalises its RGB 0–255 input: reorder the channels to <see cref="ChannelOrder"/>, then compute
/// (x − <see cref="Mean"/>) / <see cref="Std"/> per channel (0–255 scale, in <see cref="ChannelOrder"/>). Recorded in
/// the model package's manifest.
/// </summary>
/// <param name="ChannelOrder"><c>RGB</c> or <c>BGR</c>.</param>
/// <param name="Mean">Per-channel mean, three values.</param>
/// <param name="Std">Per-channel divisor, three values.</param>
public sealed record PixelNormalization(string ChannelOrder, float[] Mean, float[] Std)
{
    /// <summary>The ImageNet ResNet18 of the DnnImageFeaturizer package (CNTK): BGR minus per-channel means, no std.</summary>
    public static PixelNormalization CntkResNet18 { get; } = new("BGR", [103.06f, 115.90f, 123.15f], [1f, 1f, 1f]);

    /// <summary>torchvision's ImageNet normalisation (RGB, mean 0.485/0.456/0.406, std 0.229/0.224/0.225, scaled to 0–255).</summary>
    public static PixelNormalization ImageNet { get; } = new("RGB", [0.485f * 255f, 0.456f * 255f, 0.406f * 255f], [0.229f * 255f, 0.224f * 255f, 0.225f * 255f]);

    /// <summary>DPT/LSeg ViT normalisation: RGB in [0,1] then (x − 0.5) / 0.5, i.e. mean 127.5 and std 127.5 on 0–255.</summary>
    public static PixelNormalization HalfRange { get; } = new("RGB", [127.5f, 127.5f, 127.5f], [127.5f, 127.5f, 127.5f]);

    /// <summary>Normalises RGB 0–255 pixels [B,3,H,W]: reorder channels, subtract the mean, divide by the std.</summary>
    internal Tensor Apply(Tensor pixels)
    {
        using var scope = NewDisposeScope();
        var ordered = IsBgr ? pixels.flip(1) : pixels;
        var mean = tensor(Mean, device: pixels.device).view(1, 3, 1, 1);
        var std = tensor(Std, device: pixels.device).view(1, 3, 1, 1);
        return ((ordered - mean) / std).MoveToOuterDisposeScope();
    }

    /// <summary>Writes <see cref="Apply"/> into an ONNX graph.</summary>
    internal string ExportOnnx(OnnxGraphBuilder graph, string pixels)
    {
        string ordered = IsBgr ? graph.Gather(pixels, graph.ConstantInt64("bgr_order", 2, 1, 0), axis: 1) : pixels;
        string centred = graph.Sub(ordered, graph.ConstantFloat("pixel_mean", Mean, 1, 3, 1, 1));
        return Std.All(s => s == 1f) ? centred : graph.Div(centred, graph.ConstantFloat("pixel_std", Std, 1, 3, 1, 1));
    }

    private bool IsBgr => ChannelOrder switch
    {
        "BGR" => true,
        "RGB" => false,
        _ => throw new InvalidOperationException($"Channel order '{ChannelOrder}' is not supported; use RGB or BGR."),
    };
}

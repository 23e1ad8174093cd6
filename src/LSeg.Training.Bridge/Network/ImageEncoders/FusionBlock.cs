using LSeg.Training.Bridge.Export;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LSeg.Training.Bridge.Network.ImageEncoders;

/// <summary>
/// DPT's feature fusion block: out = x0 (+ RCU1(x1)) → RCU2 → bilinear ×2 (align_corners = true) → 1×1 conv with bias.
/// Every block owns <c>resConfUnit1</c>, even the deepest one that has no skip input, as the official checkpoint does.
/// </summary>
internal sealed class FusionBlock : nn.Module<Tensor, Tensor?, Tensor>
{
#pragma warning disable IDE1006 // state-dict key names
    private readonly ResidualConvUnit resConfUnit1;
    private readonly ResidualConvUnit resConfUnit2;
    private readonly Conv2d out_conv;
#pragma warning restore IDE1006

    public FusionBlock(int features) : base(nameof(FusionBlock))
    {
        resConfUnit1 = new ResidualConvUnit(features);
        resConfUnit2 = new ResidualConvUnit(features);
        out_conv = nn.Conv2d(features, features, 1, bias: true);
        RegisterComponents();
    }

    /// <summary>Fuses the coarser path <paramref name="path"/> with the skip input <paramref name="skip"/> (null for the deepest block).</summary>
    public override Tensor forward(Tensor path, Tensor? skip)
    {
        using var scope = NewDisposeScope();
        var x = skip is null ? path : path + resConfUnit1.forward(skip);
        x = resConfUnit2.forward(x);
        x = nn.functional.interpolate(x, size: [x.shape[2] * 2, x.shape[3] * 2], mode: InterpolationMode.Bilinear, align_corners: true);
        return out_conv.forward(x).MoveToOuterDisposeScope();
    }

    /// <summary>Writes <see cref="forward"/> into <paramref name="graph"/> (<paramref name="skip"/> null for the deepest block).</summary>
    internal string ExportOnnx(OnnxGraphBuilder graph, string path, string? skip, string scope)
    {
        string x = skip is null ? path : graph.Add(path, resConfUnit1.ExportOnnx(graph, skip, scope + ".resConfUnit1"));
        x = resConfUnit2.ExportOnnx(graph, x, scope + ".resConfUnit2");
        x = graph.UpsampleBilinear(x, 2, alignCorners: true);
        return graph.Conv2d(x, out_conv, scope + ".out_conv");
    }
}

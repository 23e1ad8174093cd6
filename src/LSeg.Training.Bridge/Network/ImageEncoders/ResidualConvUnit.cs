using LSeg.Training.Bridge.Export;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LSeg.Training.Bridge.Network.ImageEncoders;

/// <summary>
/// DPT's residual conv unit with BatchNorm: x + bn2(conv2(relu(bn1(conv1(relu(x)))))), 3×3 convs without bias.
/// Field names follow the official keys (<c>conv1</c>, <c>bn1</c>, <c>conv2</c>, <c>bn2</c>).
/// </summary>
internal sealed class ResidualConvUnit : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // state-dict key names
    private readonly Conv2d conv1;
    private readonly Conv2d conv2;
    private readonly BatchNorm2d bn1;
    private readonly BatchNorm2d bn2;
#pragma warning restore IDE1006

    public ResidualConvUnit(int features) : base(nameof(ResidualConvUnit))
    {
        conv1 = nn.Conv2d(features, features, 3, padding: 1, bias: false);
        conv2 = nn.Conv2d(features, features, 3, padding: 1, bias: false);
        bn1 = nn.BatchNorm2d(features, eps: 1e-5);
        bn2 = nn.BatchNorm2d(features, eps: 1e-5);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var y = bn1.forward(conv1.forward(x.relu())).relu();
        y = bn2.forward(conv2.forward(y));
        return (y + x).MoveToOuterDisposeScope();
    }

    /// <summary>Writes <see cref="forward"/> into <paramref name="graph"/>.</summary>
    internal string ExportOnnx(OnnxGraphBuilder graph, string x, string scope)
    {
        string y = graph.Relu(graph.BatchNorm2d(graph.Conv2d(graph.Relu(x), conv1, scope + ".conv1"), bn1, scope + ".bn1"));
        y = graph.BatchNorm2d(graph.Conv2d(y, conv2, scope + ".conv2"), bn2, scope + ".bn2");
        return graph.Add(y, x);
    }
}

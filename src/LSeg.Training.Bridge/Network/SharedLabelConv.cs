using LSeg.Training.Bridge.Export;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LSeg.Training.Bridge.Network;

/// <summary>
/// One 3×3 conv kernel (1 in, 1 out channel, with bias) applied to every label channel of the logits alike: labels
/// are folded into the batch axis, [B,N,h,w] → [B·N,1,h,w], so the result is label-equivariant and N stays free.
/// The official <c>depthwise_conv</c>; its conv is named <c>depthwise</c>.
/// </summary>
internal sealed class SharedLabelConv : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // state-dict key names
    private readonly Conv2d depthwise;
#pragma warning restore IDE1006

    public SharedLabelConv() : base(nameof(SharedLabelConv))
    {
        depthwise = nn.Conv2d(1, 1, 3, padding: 1, bias: true);
        RegisterComponents();
    }

    public override Tensor forward(Tensor logits)
    {
        using var scope = NewDisposeScope();
        long[] shape = logits.shape;
        var folded = logits.reshape(-1, 1, shape[2], shape[3]);
        return depthwise.forward(folded).reshape(shape).MoveToOuterDisposeScope();
    }

    /// <summary>Writes <see cref="forward"/> into <paramref name="graph"/>.</summary>
    internal string ExportOnnx(OnnxGraphBuilder graph, string logits, string scope)
    {
        string shape = graph.Shape(logits);
        string spatial = graph.Shape(logits, 2, 4);
        string folded = graph.Reshape(logits, graph.Concat(0, graph.ConstantInt64("fold", -1, 1), spatial));
        return graph.Reshape(graph.Conv2d(folded, depthwise, scope + ".depthwise"), shape);
    }
}

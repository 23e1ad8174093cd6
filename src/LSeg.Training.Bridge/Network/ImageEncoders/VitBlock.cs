using LSeg.Training.Bridge.Export;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LSeg.Training.Bridge.Network.ImageEncoders;

/// <summary>One pre-norm transformer block of timm's ViT: x + attn(norm1(x)), then + mlp(norm2(x)).</summary>
internal sealed class VitBlock : nn.Module<Tensor, Tensor>, IBackboneBlock
{
#pragma warning disable IDE1006
    private readonly LayerNorm norm1;
    private readonly VitAttention attn;
    private readonly LayerNorm norm2;
    private readonly VitMlp mlp;
#pragma warning restore IDE1006

    public VitBlock(int width, int heads, int mlpWidth) : base("block")
    {
        norm1 = nn.LayerNorm(width, eps: VitDptOptions.LayerNormEps);
        attn = new VitAttention(width, heads);
        norm2 = nn.LayerNorm(width, eps: VitDptOptions.LayerNormEps);
        mlp = new VitMlp(width, mlpWidth);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var afterAttention = x + attn.forward(norm1.forward(x));
        return (afterAttention + mlp.forward(norm2.forward(afterAttention))).MoveToOuterDisposeScope();
    }

    /// <summary>Writes <see cref="forward"/> into <paramref name="graph"/>.</summary>
    internal string ExportOnnx(OnnxGraphBuilder graph, string x, string scope)
    {
        string attended = graph.Add(x, attn.ExportOnnx(graph, graph.LayerNorm(x, norm1, scope + ".norm1"), scope + ".attn"));
        return graph.Add(attended, mlp.ExportOnnx(graph, graph.LayerNorm(attended, norm2, scope + ".norm2"), scope + ".mlp"));
    }
}

using LSeg.Training.Bridge.Export;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LSeg.Training.Bridge.Network.TextEncoders;

/// <summary>One pre-norm CLIP transformer block: <c>x + attn(ln_1(x))</c>, then <c>x + mlp(ln_2(x))</c>.</summary>
internal sealed class ClipResidualAttentionBlock : nn.Module<Tensor, Tensor, Tensor>
{
    /// <summary>CLIP's LayerNorm epsilon.</summary>
    internal const double LayerNormEpsilon = 1e-5;

    // Field names are CLIP's state-dict keys (transformer.resblocks.{i}.*).
    internal readonly LayerNorm ln_1;
    internal readonly ClipCausalSelfAttention attn;
    internal readonly LayerNorm ln_2;
    internal readonly ClipMlp mlp;

    public ClipResidualAttentionBlock(int width, int heads) : base(nameof(ClipResidualAttentionBlock))
    {
        ln_1 = nn.LayerNorm(width, LayerNormEpsilon);
        attn = new ClipCausalSelfAttention(width, heads);
        ln_2 = nn.LayerNorm(width, LayerNormEpsilon);
        mlp = new ClipMlp(width);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x, Tensor causalMask)
    {
        using var scope = torch.NewDisposeScope();
        var afterAttention = x + attn.forward(ln_1.forward(x), causalMask);
        return (afterAttention + mlp.forward(ln_2.forward(afterAttention))).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Writes <see cref="forward"/> into <paramref name="graph"/>; <paramref name="causalMask"/>,
    /// <paramref name="queryScale"/> and <paramref name="geluSlope"/> are constants of the graph shared by every layer.
    /// </summary>
    internal string ExportOnnx(OnnxGraphBuilder graph, string x, string causalMask, string queryScale, string geluSlope, string scope)
    {
        string afterAttention = graph.Add(x, attn.ExportOnnx(graph, graph.LayerNorm(x, ln_1, $"{scope}.ln_1"), causalMask, queryScale, $"{scope}.attn"));
        return graph.Add(afterAttention, mlp.ExportOnnx(graph, graph.LayerNorm(afterAttention, ln_2, $"{scope}.ln_2"), geluSlope, $"{scope}.mlp"));
    }
}

using LSeg.Training.Bridge.Export;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LSeg.Training.Bridge.Network.ImageEncoders;

/// <summary>
/// DPT's "project" readout: every patch token is concatenated with the cls token and projected back to the token
/// width by <c>project</c> = Sequential(Linear 2w→w, GELU). Drops the cls token: [B, 1+T, w] → [B, T, w].
/// </summary>
internal sealed class VitProjectReadout : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006
    private readonly Sequential project;
#pragma warning restore IDE1006

    public VitProjectReadout(int width) : base("readout")
    {
        project = nn.Sequential(nn.Linear(2L * width, width, hasBias: true), nn.GELU());
        RegisterComponents();
    }

    /// <summary>The Linear 2w→w (state-dict key <c>project.0</c>).</summary>
    private Linear Projection => (Linear)project.children().First();

    public override Tensor forward(Tensor tokensWithCls)
    {
        using var scope = NewDisposeScope();
        var patchTokens = tokensWithCls[.., 1..];
        var readout = tokensWithCls[.., ..1].expand_as(patchTokens);
        return project.forward(cat([patchTokens, readout], -1)).MoveToOuterDisposeScope();
    }

    /// <summary>Writes <see cref="forward"/> into <paramref name="graph"/>: [B, 1+T, w] → [B, T, w].</summary>
    internal string ExportOnnx(OnnxGraphBuilder graph, string tokensWithCls, string scope)
    {
        string patchTokens = graph.Slice(tokensWithCls, [1], [OnnxGraphBuilder.SliceToEnd], [1]);
        string cls = graph.Expand(graph.Slice(tokensWithCls, [0], [1], [1]), graph.Shape(patchTokens));
        string joined = graph.Concat(-1, patchTokens, cls);
        return graph.Gelu(graph.Linear(joined, Projection, scope + ".project.0"));
    }
}

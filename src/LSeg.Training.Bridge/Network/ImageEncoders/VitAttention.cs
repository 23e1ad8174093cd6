using LSeg.Training.Bridge.Export;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LSeg.Training.Bridge.Network.ImageEncoders;

/// <summary>
/// timm's multi-head self-attention: one <c>qkv</c> projection (with bias), softmax(q·kᵀ/√d)·v per head,
/// then the output projection <c>proj</c>.
/// </summary>
internal sealed class VitAttention : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006
    private readonly Linear qkv;
    private readonly Linear proj;
#pragma warning restore IDE1006

    public VitAttention(int width, int heads) : base("attn")
    {
        Heads = heads;
        qkv = nn.Linear(width, 3L * width, hasBias: true);
        proj = nn.Linear(width, width, hasBias: true);
        RegisterComponents();
    }

    private int Heads { get; }

    /// <summary>The packed q, k, v projection (<c>qkv</c>).</summary>
    internal Linear Qkv => qkv;

    /// <summary>The output projection (<c>proj</c>).</summary>
    internal Linear Proj => proj;

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        long batch = x.shape[0], tokens = x.shape[1], width = x.shape[2];
        long headWidth = width / Heads;
        // [B, T, 3, heads, d] → [3, B, heads, T, d], as timm reshapes it.
        var qkvHeads = qkv.forward(x).reshape(batch, tokens, 3, Heads, headWidth).permute(2, 0, 3, 1, 4);
        var q = qkvHeads[0];
        var k = qkvHeads[1];
        var v = qkvHeads[2];
        var attention = q.matmul(k.transpose(-2, -1)).mul(1.0 / Math.Sqrt(headWidth)).softmax(-1);
        var mixed = attention.matmul(v).transpose(1, 2).reshape(batch, tokens, width);
        return proj.forward(mixed).MoveToOuterDisposeScope();
    }

    /// <summary>Writes <see cref="forward"/> into <paramref name="graph"/>.</summary>
    internal string ExportOnnx(OnnxGraphBuilder graph, string x, string scope)
    {
        long width = qkv.weight!.shape[1];
        long headWidth = width / Heads;
        string packed = graph.Linear(x, qkv, scope + ".qkv");
        // The qkv output is laid out [q | k | v], each [heads × d]: split, then [B, T, heads, d] → [B, heads, T, d].
        string[] parts = graph.Split(packed, -1, width, width, width);
        string q = graph.Transpose(graph.Reshape(parts[0], 0, 0, Heads, headWidth), 0, 2, 1, 3);
        string kTransposed = graph.Transpose(graph.Reshape(parts[1], 0, 0, Heads, headWidth), 0, 2, 3, 1);
        string v = graph.Transpose(graph.Reshape(parts[2], 0, 0, Heads, headWidth), 0, 2, 1, 3);
        string scores = graph.Mul(graph.MatMul(q, kTransposed), graph.ScalarFloat("attn_scale", (float)(1.0 / Math.Sqrt(headWidth))));
        string mixed = graph.MatMul(graph.Softmax(scores, -1), v);
        string merged = graph.Reshape(graph.Transpose(mixed, 0, 2, 1, 3), 0, 0, width);
        return graph.Linear(merged, proj, scope + ".proj");
    }
}

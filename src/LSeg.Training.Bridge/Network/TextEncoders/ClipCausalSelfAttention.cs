using LSeg.Training.Bridge.Export;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LSeg.Training.Bridge.Network.TextEncoders;

/// <summary>
/// Multi-head self-attention laid out like PyTorch's <c>nn.MultiheadAttention</c> (packed <c>in_proj_weight</c>
/// [3W, W] for q, k, v, then <c>out_proj</c>), with CLIP's causal mask: position i attends to positions ≤ i only.
/// </summary>
internal sealed class ClipCausalSelfAttention : nn.Module<Tensor, Tensor, Tensor>
{
    // Field names are the state-dict keys of nn.MultiheadAttention.
    internal readonly Parameter in_proj_weight;
    internal readonly Parameter in_proj_bias;
    internal readonly Linear out_proj;

    internal int Heads { get; }

    public ClipCausalSelfAttention(int width, int heads) : base(nameof(ClipCausalSelfAttention))
    {
        Heads = heads;
        in_proj_weight = new Parameter(torch.empty(3 * width, width));
        in_proj_bias = new Parameter(torch.zeros(3 * width));
        out_proj = nn.Linear(width, width);
        using (torch.no_grad())
            nn.init.xavier_uniform_(in_proj_weight);
        RegisterComponents();
    }

    /// <param name="x">[N, L, W] token states.</param>
    /// <param name="causalMask">[L, L] additive mask: 0 on and below the diagonal, −∞ above.</param>
    /// <returns>[N, L, W].</returns>
    public override Tensor forward(Tensor x, Tensor causalMask)
    {
        using var scope = torch.NewDisposeScope();
        long n = x.shape[0], length = x.shape[1], width = x.shape[2];
        long headSize = width / Heads;
        var qkv = nn.functional.linear(x, in_proj_weight, in_proj_bias);                // [N, L, 3W]
        var parts = qkv.view(n, length, 3, Heads, headSize).permute(2, 0, 3, 1, 4);  // [3, N, H, L, D]
        var q = parts[0] * (float)(1.0 / Math.Sqrt(headSize));
        var k = parts[1];
        var v = parts[2];
        var scores = torch.matmul(q, k.transpose(-2, -1)) + causalMask;              // [N, H, L, L]
        var attended = torch.matmul(torch.softmax(scores, -1), v);                    // [N, H, L, D]
        var merged = attended.transpose(1, 2).reshape(n, length, width);
        return out_proj.forward(merged).MoveToOuterDisposeScope();
    }

    /// <summary>Writes <see cref="forward"/> into <paramref name="graph"/>.</summary>
    /// <param name="graph">The graph being built.</param>
    /// <param name="x">[N, L, W] token states.</param>
    /// <param name="causalMask">The [L, L] additive mask constant, shared by every layer.</param>
    /// <param name="queryScale">The scalar constant d^-½ the queries are multiplied by, shared by every layer.</param>
    /// <param name="scope">State-dict prefix of this module (<c>….attn</c>).</param>
    internal string ExportOnnx(OnnxGraphBuilder graph, string x, string causalMask, string queryScale, string scope)
    {
        long width = in_proj_weight.shape[1], heads = Heads, headSize = width / heads;
        // q, k, v come from one packed projection, as nn.MultiheadAttention stores them.
        using var inProjection = in_proj_weight.detach().t();
        string qkv = graph.Add(graph.MatMul(x, graph.Weight($"{scope}.in_proj_weight", inProjection)), graph.Weight($"{scope}.in_proj_bias", in_proj_bias));
        string[] parts = graph.Split(qkv, -1, width, width, width);
        string q = graph.Mul(graph.Transpose(graph.Reshape(parts[0], 0, 0, heads, headSize), 0, 2, 1, 3), queryScale);   // [N,H,L,D]
        string kTransposed = graph.Transpose(graph.Reshape(parts[1], 0, 0, heads, headSize), 0, 2, 3, 1);                 // [N,H,D,L]
        string v = graph.Transpose(graph.Reshape(parts[2], 0, 0, heads, headSize), 0, 2, 1, 3);                           // [N,H,L,D]
        string weights = graph.Softmax(graph.Add(graph.MatMul(q, kTransposed), causalMask), -1);
        string attended = graph.Reshape(graph.Transpose(graph.MatMul(weights, v), 0, 2, 1, 3), 0, 0, width);
        return graph.Linear(attended, out_proj, $"{scope}.out_proj");
    }

    /// <summary>The additive causal mask CLIP builds at construction (it is not part of the checkpoint).</summary>
    internal static Tensor BuildCausalMask(long length, Device? device = null)
        => torch.full(length, length, float.NegativeInfinity, device: device).triu(1);
}

using LSeg.Training.Bridge.Export;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LSeg.Training.Bridge.Network.TextEncoders;

/// <summary>The feed-forward part of a CLIP residual block: <c>c_proj(QuickGELU(c_fc(x)))</c>, hidden size 4 × width.</summary>
internal sealed class ClipMlp : nn.Module<Tensor, Tensor>
{
    // Field names are CLIP's state-dict keys (mlp.c_fc.*, mlp.c_proj.*).
    internal readonly Linear c_fc;
    internal readonly QuickGelu gelu;
    internal readonly Linear c_proj;

    public ClipMlp(int width) : base(nameof(ClipMlp))
    {
        c_fc = nn.Linear(width, 4 * width);
        gelu = new QuickGelu();
        c_proj = nn.Linear(4 * width, width);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return c_proj.forward(gelu.forward(c_fc.forward(x))).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Writes <see cref="forward"/> into <paramref name="graph"/>, QuickGELU(z) = z · σ(<paramref name="geluSlope"/> · z)
    /// with the slope a scalar constant shared by every layer.
    /// </summary>
    internal string ExportOnnx(OnnxGraphBuilder graph, string x, string geluSlope, string scope)
    {
        string hidden = graph.Linear(x, c_fc, $"{scope}.c_fc");
        string activated = graph.Mul(hidden, graph.Sigmoid(graph.Mul(hidden, geluSlope)));
        return graph.Linear(activated, c_proj, $"{scope}.c_proj");
    }
}

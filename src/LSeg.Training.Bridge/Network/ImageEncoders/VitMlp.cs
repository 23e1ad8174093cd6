using LSeg.Training.Bridge.Export;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LSeg.Training.Bridge.Network.ImageEncoders;

/// <summary>timm's block MLP: <c>fc1</c> → exact (erf) GELU → <c>fc2</c>.</summary>
internal sealed class VitMlp : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006
    private readonly Linear fc1;
    private readonly Linear fc2;
#pragma warning restore IDE1006

    public VitMlp(int width, int hiddenWidth) : base("mlp")
    {
        fc1 = nn.Linear(width, hiddenWidth, hasBias: true);
        fc2 = nn.Linear(hiddenWidth, width, hasBias: true);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return fc2.forward(nn.functional.gelu(fc1.forward(x))).MoveToOuterDisposeScope();
    }

    /// <summary>Writes <see cref="forward"/> into <paramref name="graph"/>.</summary>
    internal string ExportOnnx(OnnxGraphBuilder graph, string x, string scope)
    {
        string hidden = graph.Linear(x, fc1, scope + ".fc1");
        return graph.Linear(graph.Gelu(hidden), fc2, scope + ".fc2");
    }
}

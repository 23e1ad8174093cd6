using LSeg.Training.Bridge.Export;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LSeg.Training.Bridge.Network.ImageEncoders;

/// <summary>
/// timm's <c>patch_embed</c>: a p×p convolution with stride p that turns each patch into one token.
/// Output [B, H/p·W/p, width], tokens in row-major order of the patch grid.
/// </summary>
internal sealed class VitPatchEmbedding : nn.Module<Tensor, Tensor>
{
    // Field name is the state-dict key (timm: patch_embed.proj).
#pragma warning disable IDE1006
    private readonly Conv2d proj;
#pragma warning restore IDE1006

    public VitPatchEmbedding(int patchSize, int width) : base("patch_embed")
    {
        proj = nn.Conv2d(3, width, kernel_size: patchSize, stride: patchSize);
        RegisterComponents();
    }

    public override Tensor forward(Tensor pixels)
    {
        using var scope = NewDisposeScope();
        return proj.forward(pixels).flatten(2).transpose(1, 2).MoveToOuterDisposeScope();
    }

    /// <summary>Writes <see cref="forward"/> into <paramref name="graph"/>: the convolution, then [B, w, gh, gw] → [B, gh·gw, w].</summary>
    internal string ExportOnnx(OnnxGraphBuilder graph, string pixels, string scope)
    {
        string map = graph.Conv2d(pixels, proj, scope + ".proj");
        return graph.Transpose(graph.Reshape(map, 0, 0, -1), 0, 2, 1);
    }
}

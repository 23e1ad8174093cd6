using LSeg.Training.Bridge.Export;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LSeg.Training.Bridge.Network.TextEncoders;

/// <summary>The stack of CLIP residual attention blocks (state-dict prefix <c>transformer.resblocks.{i}</c>).</summary>
internal sealed class ClipTransformer : nn.Module<Tensor, Tensor, Tensor>
{
    internal readonly ModuleList<ClipResidualAttentionBlock> resblocks;

    public ClipTransformer(int width, int layers, int heads) : base(nameof(ClipTransformer))
    {
        resblocks = new ModuleList<ClipResidualAttentionBlock>();
        for (int i = 0; i < layers; i++)
            resblocks.Add(new ClipResidualAttentionBlock(width, heads));
        RegisterComponents();
    }

    public override Tensor forward(Tensor x, Tensor causalMask)
    {
        using var scope = NewDisposeScope();
        var current = x;
        foreach (var block in resblocks)
            current = block.forward(current, causalMask);
        return (ReferenceEquals(current, x) ? x.alias() : current).MoveToOuterDisposeScope();
    }

    /// <summary>Writes <see cref="forward"/> into <paramref name="graph"/>: the blocks in order, scoped <c>{scope}.resblocks.{i}</c>.</summary>
    internal string ExportOnnx(OnnxGraphBuilder graph, string x, string causalMask, string queryScale, string geluSlope, string scope)
    {
        for (int i = 0; i < resblocks.Count; i++)
            x = resblocks[i].ExportOnnx(graph, x, causalMask, queryScale, geluSlope, $"{scope}.resblocks.{i}");
        return x;
    }
}

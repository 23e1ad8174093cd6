using LSeg.Training.Bridge.Export;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LSeg.Training.Bridge.Network.ImageEncoders;

/// <summary>
/// One DPT reassemble stage (official <c>act_postprocess{1..4}</c>): readout, tokens → image grid
/// [B, w, H/p, W/p], 1×1 convolution to the stage's channels, then resampling to the stage's stride:
/// a ConvTranspose with kernel = stride = p / s when the stage is finer than the patch grid, nothing when it
/// equals it, a 3×3 stride-2 convolution when it is twice as coarse.
/// </summary>
/// <remarks>
/// The official stage is a Sequential(readout, Transpose, Unflatten, Conv1×1[, resample]) whose layers 1 and 2
/// hold no weights, so the children here are registered as "0", "3" and "4" to keep the state-dict keys
/// (<c>act_postprocess1.0.project.0.weight</c>, <c>act_postprocess1.3.weight</c>, <c>act_postprocess1.4.weight</c>).
/// </remarks>
internal sealed class VitReassembleStage : nn.Module<Tensor, Tensor>
{
    // The children live in a tuple, not in Module-typed fields: RegisterComponents would register such fields under
    // their C# names next to the official numeric names given below.
    private readonly (VitProjectReadout Readout, Conv2d Project, ConvTranspose2d? Upsample, Conv2d? Downsample) _layers;

    public VitReassembleStage(string name, int width, int channels, int patchSize, int stride) : base(name)
    {
        var readout = new VitProjectReadout(width);
        var project = nn.Conv2d(width, channels, kernel_size: 1);
        ConvTranspose2d? upsample = null;
        Conv2d? downsample = null;
        register_module("0", readout);
        register_module("3", project);
        if (patchSize > stride)
        {
            int factor = patchSize / stride;
            upsample = nn.ConvTranspose2d(channels, channels, kernel_size: factor, stride: factor);
            register_module("4", upsample);
        }
        else if (stride == 2 * patchSize)
        {
            downsample = nn.Conv2d(channels, channels, kernel_size: 3, stride: 2, padding: 1);
            register_module("4", downsample);
        }
        else if (stride != patchSize)
        {
            throw new ArgumentException(
                $"A reassemble stage resamples a patch grid of stride {patchSize} to a stride in [{patchSize}/8 … {2 * patchSize}] by powers of two; got {stride}.",
                nameof(stride));
        }
        _layers = (readout, project, upsample, downsample);
    }

    /// <summary>Official layer 0: the project readout.</summary>
    private VitProjectReadout Readout => _layers.Readout;

    /// <summary>Official layer 3: the 1×1 convolution to the stage's channels.</summary>
    private Conv2d Project => _layers.Project;

    /// <summary>Official layer 4 when the stage is finer than the patch grid.</summary>
    private ConvTranspose2d? Upsample => _layers.Upsample;

    /// <summary>Official layer 4 when the stage is twice as coarse as the patch grid.</summary>
    private Conv2d? Downsample => _layers.Downsample;

    /// <summary>Reassembles hooked tokens [B, 1 + gh·gw, w] into a feature map; the grid size is needed to unflatten.</summary>
    public Tensor forward(Tensor tokensWithCls, long gridHeight, long gridWidth)
    {
        using var scope = NewDisposeScope();
        var tokens = Readout.forward(tokensWithCls);
        var grid = tokens.transpose(1, 2).unflatten(2, [gridHeight, gridWidth]);
        var features = Project.forward(grid);
        if (Upsample is not null)
            features = Upsample.forward(features);
        else if (Downsample is not null)
            features = Downsample.forward(features);
        return features.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Writes <see cref="forward(Tensor, long, long)"/> into <paramref name="graph"/>; <paramref name="grid"/> is the
    /// INT64 [gh, gw] that the token axis is unflattened to.
    /// </summary>
    internal string ExportOnnx(OnnxGraphBuilder graph, string tokensWithCls, string grid, string scope)
    {
        string tokens = Readout.ExportOnnx(graph, tokensWithCls, scope + ".0");
        string channelsFirst = graph.Transpose(tokens, 0, 2, 1);
        string image = graph.Reshape(channelsFirst, graph.Concat(0, graph.Shape(channelsFirst, 0, 2), grid));
        string features = graph.Conv2d(image, Project, scope + ".3");
        if (Upsample is not null)
            return graph.ConvTranspose2d(features, Upsample, scope + ".4");
        if (Downsample is not null)
            return graph.Conv2d(features, Downsample, scope + ".4");
        return features;
    }

    /// <summary>Not usable alone: the token grid's shape is not in a token tensor. Use the overload with the grid size.</summary>
    public override Tensor forward(Tensor tokensWithCls) =>
        throw new InvalidOperationException($"{nameof(VitReassembleStage)} needs the token grid size; call forward(tokens, gridHeight, gridWidth).");
}

using LSeg.Training.Bridge.Export;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LSeg.Training.Bridge.Network.ImageEncoders;

/// <summary>
/// The official LSeg DPT backbone (<c>clip_vitl16_384</c>, <c>clip_vitb32_384</c>): timm ViT + project readout +
/// reassemble, giving feature maps at strides 4, 8, 16, 32. Takes RGB pixels in 0–255 and normalises them inside
/// ((x/255 − 0.5)/0.5), as the exported graph does.
/// </summary>
/// <remarks>
/// Field names reproduce the official state dict under <c>pretrained.</c>: <c>model.cls_token</c>,
/// <c>model.pos_embed</c>, <c>model.patch_embed.proj.*</c>, <c>model.blocks.{i}.*</c>,
/// <c>act_postprocess{1..4}.{0.project.0,3,4}.*</c>, so a checkpoint maps one to one.
/// </remarks>
internal sealed class VitDptBackbone : nn.Module<Tensor, BackboneFeatures>, IImageBackbone
{
    /// <summary>Pixel mean and standard deviation in 0–255 units: (x/255 − 0.5)/0.5 = (x − 127.5)/127.5.</summary>
    private const float PixelMean = 127.5f;

    /// <inheritdoc cref="PixelMean"/>
    private const float PixelStd = 127.5f;

#pragma warning disable IDE1006 // Field names are the official state-dict keys.
    private readonly VitTransformer model;
    private readonly VitReassembleStage act_postprocess1;
    private readonly VitReassembleStage act_postprocess2;
    private readonly VitReassembleStage act_postprocess3;
    private readonly VitReassembleStage act_postprocess4;
#pragma warning restore IDE1006

    public VitDptBackbone(VitDptOptions options) : base("pretrained")
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        model = new VitTransformer(options);
        act_postprocess1 = new VitReassembleStage(nameof(act_postprocess1), options.Width, options.FeatureChannels[0], options.PatchSize, 4);
        act_postprocess2 = new VitReassembleStage(nameof(act_postprocess2), options.Width, options.FeatureChannels[1], options.PatchSize, 8);
        act_postprocess3 = new VitReassembleStage(nameof(act_postprocess3), options.Width, options.FeatureChannels[2], options.PatchSize, 16);
        act_postprocess4 = new VitReassembleStage(nameof(act_postprocess4), options.Width, options.FeatureChannels[3], options.PatchSize, 32);
        RegisterComponents();
    }

    internal VitDptOptions Options { get; }

    /// <summary>Channels of the feature maps at strides 4, 8, 16, 32.</summary>
    public IReadOnlyList<int> FeatureChannels => Options.FeatureChannels;

    /// <summary>RGB, (x − 127.5) / 127.5: the official [0,1] then (x − 0.5) / 0.5.</summary>
    public PixelNormalization PixelNormalization => PixelNormalization.HalfRange;

    private IReadOnlyList<VitReassembleStage> Stages => [act_postprocess1, act_postprocess2, act_postprocess3, act_postprocess4];

    /// <param name="pixels">[B, 3, H, W], RGB, 0–255, H and W multiples of 32.</param>
    /// <returns>Feature maps [B, c_s, H/s, W/s] for s = 4, 8, 16, 32.</returns>
    /// <exception cref="ArgumentException">The input is not [B, 3, H, W] with H and W multiples of 32.</exception>
    public override BackboneFeatures forward(Tensor pixels)
    {
        LSegNet.ValidatePixels(pixels);
        using var scope = NewDisposeScope();
        var normalized = (pixels - PixelMean) / PixelStd;
        long gridHeight = pixels.shape[2] / Options.PatchSize;
        long gridWidth = pixels.shape[3] / Options.PatchSize;
        var hooked = model.forward(normalized);
        var features = Stages.Select((stage, i) => stage.forward(hooked[i], gridHeight, gridWidth)).ToArray();
        return new BackboneFeatures(features[0], features[1], features[2], features[3]).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Writes <see cref="forward"/> into <paramref name="graph"/>. Batch, H and W stay dynamic: the token grid size
    /// H/p × W/p is computed in the graph from the input's shape and shared by the position-embedding resize and the
    /// unflatten of every reassemble stage.
    /// </summary>
    BackboneFeatureNames IImageBackbone.ExportOnnx(OnnxGraphBuilder graph, string pixels, string scope)
    {
        string normalized = PixelNormalization.ExportOnnx(graph, pixels);
        int patch = Options.PatchSize;
        // [gh, gw] = [H/p, W/p] as INT64.
        string grid = graph.Div(graph.Shape(pixels, 2, 4), graph.ConstantInt64("patch_size", patch, patch));
        string[] hooked = model.ExportOnnx(graph, normalized, grid, scope + ".model");
        var stages = Stages;
        string[] features = new string[4];
        for (int i = 0; i < 4; i++)
            features[i] = stages[i].ExportOnnx(graph, hooked[i], grid, $"{scope}.act_postprocess{i + 1}");
        return new BackboneFeatureNames(features[0], features[1], features[2], features[3]);
    }
}

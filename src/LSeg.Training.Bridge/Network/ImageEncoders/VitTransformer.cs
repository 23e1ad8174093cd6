using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LSeg.Training.Bridge.Network.ImageEncoders;

/// <summary>
/// timm's VisionTransformer as DPT drives it (<c>forward_flex</c>): patch tokens, a prepended cls token, position
/// embeddings resized bilinearly (align_corners = false) from the stored square grid to the input's H/p × W/p grid
/// (the cls position kept), then the pre-norm blocks. Returns the outputs of the hooked blocks, cls token first;
/// the final norm and the classifier head of timm do not influence them and are not built.
/// </summary>
internal sealed class VitTransformer : nn.Module<Tensor, Tensor[]>
{
#pragma warning disable IDE1006 // Field names are the state-dict keys of timm's ViT.
    private readonly Parameter cls_token;
    private readonly Parameter pos_embed;
    private readonly VitPatchEmbedding patch_embed;
    private readonly ModuleList<VitBlock> blocks;
#pragma warning restore IDE1006

    public VitTransformer(VitDptOptions options) : base("model")
    {
        Options = options;
        int gridTokens = options.PretrainedGrid * options.PretrainedGrid;
        cls_token = nn.Parameter(randn(1, 1, options.Width).mul_(1e-6));
        pos_embed = nn.Parameter(randn(1, 1 + gridTokens, options.Width).mul_(0.02));
        patch_embed = new VitPatchEmbedding(options.PatchSize, options.Width);
        blocks = new ModuleList<VitBlock>(
            Enumerable.Range(0, options.Depth).Select(_ => new VitBlock(options.Width, options.Heads, options.MlpWidth)).ToArray());
        RegisterComponents();
    }

    internal VitDptOptions Options { get; }

    internal Parameter ClsToken => cls_token;

    internal Parameter PositionEmbedding => pos_embed;

    internal VitPatchEmbedding PatchEmbedding => patch_embed;

    internal IReadOnlyList<VitBlock> Blocks => blocks.ToArray();

    /// <summary>The stored position grid as an image [1, width, g, g] (the layout that is resized).</summary>
    internal Tensor PositionGridAsImage()
    {
        int g = Options.PretrainedGrid;
        return pos_embed[.., 1..].reshape(1, g, g, Options.Width).permute(0, 3, 1, 2);
    }

    /// <summary>Position embeddings for a <paramref name="gridHeight"/> × <paramref name="gridWidth"/> token grid: [1, 1 + gh·gw, width].</summary>
    internal Tensor ResizedPositionEmbedding(long gridHeight, long gridWidth)
    {
        using var scope = NewDisposeScope();
        var resized = nn.functional.interpolate(PositionGridAsImage(), size: [gridHeight, gridWidth],
            mode: InterpolationMode.Bilinear, align_corners: false);
        var tokens = resized.permute(0, 2, 3, 1).reshape(1, gridHeight * gridWidth, Options.Width);
        return cat([pos_embed[.., ..1], tokens], 1).MoveToOuterDisposeScope();
    }

    /// <param name="normalizedPixels">[B, 3, H, W] with H and W multiples of the patch size.</param>
    /// <returns>The four hooked block outputs, each [B, 1 + H/p·W/p, width].</returns>
    public override Tensor[] forward(Tensor normalizedPixels)
    {
        using var scope = NewDisposeScope();
        long batch = normalizedPixels.shape[0];
        long gridHeight = normalizedPixels.shape[2] / Options.PatchSize;
        long gridWidth = normalizedPixels.shape[3] / Options.PatchSize;
        var patches = patch_embed.forward(normalizedPixels);
        var x = cat([cls_token.expand(batch, -1, -1), patches], 1) + ResizedPositionEmbedding(gridHeight, gridWidth);
        var hooked = new Tensor[4];
        int lastHook = Options.Hooks.Max();
        for (int i = 0; i <= lastHook; i++)
        {
            x = blocks[i].forward(x);
            for (int h = 0; h < 4; h++)
            {
                if (Options.Hooks[h] == i)
                    hooked[h] = x;
            }
        }
        foreach (var t in hooked)
            t.MoveToOuterDisposeScope();
        return hooked;
    }
}

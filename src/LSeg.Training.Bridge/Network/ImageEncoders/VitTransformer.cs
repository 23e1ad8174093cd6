using LSeg.Training.Bridge.Export;
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

    /// <summary>The stored position embeddings [1, 1 + g², width] (<c>pos_embed</c>).</summary>
    internal Parameter PositionEmbedding => pos_embed;

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

    /// <summary>Writes <see cref="forward"/> into <paramref name="graph"/>; <paramref name="grid"/> is the INT64 [gh, gw] of the input.</summary>
    /// <returns>The names of the four hooked block outputs, each [B, 1 + gh·gw, width].</returns>
    internal string[] ExportOnnx(OnnxGraphBuilder graph, string normalizedPixels, string grid, string scope)
    {
        string patches = patch_embed.ExportOnnx(graph, normalizedPixels, scope + ".patch_embed");
        // cls token [1, 1, w] broadcast to [B, 1, w].
        string clsShape = graph.Concat(0, graph.Shape(patches, 0, 1), graph.ConstantInt64("one_one", 1, 1));
        string cls = graph.Expand(graph.Weight(scope + ".cls_token", cls_token), clsShape);
        string x = graph.Add(graph.Concat(1, cls, patches), ExportResizedPositionEmbeddingOnnx(graph, grid, scope + ".pos_embed"));

        var hooked = new string[4];
        int lastHook = Options.Hooks.Max();
        for (int i = 0; i <= lastHook; i++)
        {
            x = blocks[i].ExportOnnx(graph, x, $"{scope}.blocks.{i}");
            for (int h = 0; h < 4; h++)
            {
                if (Options.Hooks[h] == i)
                    hooked[h] = x;
            }
        }
        return hooked;
    }

    /// <summary>
    /// Writes <see cref="ResizedPositionEmbedding"/> for the grid held by <paramref name="grid"/> (Resize with
    /// <c>sizes</c>, never <c>scales</c>, so any input size gives exactly gh × gw). The slicing of the stored tensor is
    /// constant and folded by the runtime.
    /// </summary>
    private string ExportResizedPositionEmbeddingOnnx(OnnxGraphBuilder graph, string grid, string name)
    {
        int side = Options.PretrainedGrid;
        long width = Options.Width;
        string stored = graph.Weight(name, pos_embed);
        string clsPosition = graph.Slice(stored, [0], [1], [1]);
        string gridImage = graph.Transpose(graph.Reshape(graph.Slice(stored, [1], [OnnxGraphBuilder.SliceToEnd], [1]), 1, side, side, width), 0, 3, 1, 2);
        string sizes = graph.Concat(0, graph.ConstantInt64("pos_grid_batch_channels", 1, width), grid);
        string resized = graph.ResizeBilinear(gridImage, sizes, alignCorners: false);
        string tokens = graph.Reshape(graph.Transpose(resized, 0, 2, 3, 1), 1, -1, width);
        return graph.Concat(1, clsPosition, tokens);
    }
}

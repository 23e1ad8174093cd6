using LSeg.Training.Bridge.Network.ImageEncoders;

namespace LSeg.Training.Bridge.Export;

/// <summary>
/// Writes <see cref="VitDptBackbone"/>'s forward pass into an ONNX graph, module by module, with initializers named
/// by their state-dict keys. Batch, H and W stay dynamic: the token grid size H/p × W/p and the resized position
/// embeddings are computed in the graph from the input's shape (Resize with <c>sizes</c>, never <c>scales</c>).
/// </summary>
internal static class VitDptOnnxExport
{
    /// <summary>Ends far beyond any axis length: Slice clamps them, giving "to the end".</summary>
    private const long ToEnd = long.MaxValue;

    /// <summary>The whole backbone: normalisation, transformer, four reassemble stages.</summary>
    public static BackboneFeatureNames Backbone(OnnxGraphBuilder g, VitDptBackbone backbone, string pixels, string scope)
    {
        var norm = backbone.PixelNormalization;
        string normalized = g.NormalizeChannels(pixels, norm.Mean, norm.Std);
        int patch = backbone.Options.PatchSize;
        // [gh, gw] = [H/p, W/p] as INT64, shared by the position resize and the unflatten of every stage.
        string grid = g.Div(g.Shape(pixels, 2, 4), g.ConstantInt64("patch_size", patch, patch));
        string[] hooked = Transformer(g, backbone.Transformer, normalized, grid, scope + ".model");
        var stages = backbone.Stages;
        string[] features = new string[4];
        for (int i = 0; i < 4; i++)
            features[i] = ReassembleStage(g, stages[i], hooked[i], grid, $"{scope}.act_postprocess{i + 1}");
        return new BackboneFeatureNames(features[0], features[1], features[2], features[3]);
    }

    /// <summary>timm ViT (<c>forward_flex</c>): returns the hooked block outputs [B, 1 + gh·gw, w].</summary>
    public static string[] Transformer(OnnxGraphBuilder g, VitTransformer vit, string pixels, string grid, string scope)
    {
        var options = vit.Options;
        string patches = PatchEmbedding(g, vit.PatchEmbedding, pixels, scope + ".patch_embed");
        // cls token [1, 1, w] broadcast to [B, 1, w].
        string clsShape = g.Concat(0, g.Shape(patches, 0, 1), g.ConstantInt64("one_one", 1, 1));
        string cls = g.Expand(g.Weight(scope + ".cls_token", vit.ClsToken), clsShape);
        string x = g.Add(g.Concat(1, cls, patches), ResizedPositionEmbedding(g, vit, grid, scope + ".pos_embed"));

        var hooked = new string[4];
        var blocks = vit.Blocks;
        int lastHook = options.Hooks.Max();
        for (int i = 0; i <= lastHook; i++)
        {
            x = Block(g, blocks[i], x, $"{scope}.blocks.{i}");
            for (int h = 0; h < 4; h++)
            {
                if (options.Hooks[h] == i)
                    hooked[h] = x;
            }
        }
        return hooked;
    }

    /// <summary>p×p stride-p convolution, then [B, w, gh, gw] → [B, gh·gw, w].</summary>
    public static string PatchEmbedding(OnnxGraphBuilder g, VitPatchEmbedding embedding, string pixels, string scope)
    {
        string map = g.Conv2d(pixels, embedding.Projection, scope + ".proj");
        return g.Transpose(g.Reshape(map, 0, 0, -1), 0, 2, 1);
    }

    /// <summary>
    /// The stored pos_embed [1, 1 + g², w] with its g×g grid resized bilinearly (align_corners = false) to gh × gw,
    /// the cls position kept: [1, 1 + gh·gw, w]. The slicing of the stored tensor is constant and folded by the runtime.
    /// </summary>
    public static string ResizedPositionEmbedding(OnnxGraphBuilder g, VitTransformer vit, string grid, string name)
    {
        int side = vit.Options.PretrainedGrid;
        long width = vit.Options.Width;
        string stored = g.Weight(name, vit.PositionEmbedding);
        string clsPosition = g.Slice(stored, [0], [1], [1]);
        string gridImage = g.Transpose(g.Reshape(g.Slice(stored, [1], [ToEnd], [1]), 1, side, side, width), 0, 3, 1, 2);
        string sizes = g.Concat(0, g.ConstantInt64("pos_grid_batch_channels", 1, width), grid);
        string resized = g.ResizeBilinear(gridImage, sizes, alignCorners: false);
        string tokens = g.Reshape(g.Transpose(resized, 0, 2, 3, 1), 1, -1, width);
        return g.Concat(1, clsPosition, tokens);
    }

    /// <summary>x + attn(norm1(x)), then + mlp(norm2(x)).</summary>
    public static string Block(OnnxGraphBuilder g, VitBlock block, string x, string scope)
    {
        string attended = g.Add(x, Attention(g, block.Attention, g.LayerNorm(x, block.Norm1, scope + ".norm1"), scope + ".attn"));
        string hidden = g.Linear(g.LayerNorm(attended, block.Norm2, scope + ".norm2"), block.Mlp.Fc1, scope + ".mlp.fc1");
        return g.Add(attended, g.Linear(g.Gelu(hidden), block.Mlp.Fc2, scope + ".mlp.fc2"));
    }

    /// <summary>Multi-head self-attention as timm computes it: softmax((q·kᵀ)·d^-½)·v per head, then proj.</summary>
    public static string Attention(OnnxGraphBuilder g, VitAttention attention, string x, string scope)
    {
        long width = attention.Qkv.weight!.shape[1];
        long heads = attention.Heads;
        long headWidth = width / heads;
        string qkv = g.Linear(x, attention.Qkv, scope + ".qkv");
        // The qkv output is laid out [q | k | v], each [heads × d]: split, then [B, T, heads, d] → [B, heads, T, d].
        string[] parts = g.Split(qkv, -1, width, width, width);
        string q = g.Transpose(g.Reshape(parts[0], 0, 0, heads, headWidth), 0, 2, 1, 3);
        string kTransposed = g.Transpose(g.Reshape(parts[1], 0, 0, heads, headWidth), 0, 2, 3, 1);
        string v = g.Transpose(g.Reshape(parts[2], 0, 0, heads, headWidth), 0, 2, 1, 3);
        string scores = g.Mul(g.MatMul(q, kTransposed), g.ScalarFloat("attn_scale", (float)(1.0 / Math.Sqrt(headWidth))));
        string mixed = g.MatMul(g.Softmax(scores, -1), v);
        string merged = g.Reshape(g.Transpose(mixed, 0, 2, 1, 3), 0, 0, width);
        return g.Linear(merged, attention.Proj, scope + ".proj");
    }

    /// <summary>Project readout, tokens → [B, w, gh, gw], 1×1 conv, then ConvTranspose / nothing / 3×3 stride-2 conv.</summary>
    public static string ReassembleStage(OnnxGraphBuilder g, VitReassembleStage stage, string tokensWithCls, string grid, string scope)
    {
        string tokens = ProjectReadout(g, stage.Readout, tokensWithCls, scope + ".0");
        string channelsFirst = g.Transpose(tokens, 0, 2, 1);
        string image = g.Reshape(channelsFirst, g.Concat(0, g.Shape(channelsFirst, 0, 2), grid));
        string features = g.Conv2d(image, stage.Project, scope + ".3");
        if (stage.Upsample is not null)
            return g.ConvTranspose2d(features, stage.Upsample, scope + ".4");
        if (stage.Downsample is not null)
            return g.Conv2d(features, stage.Downsample, scope + ".4");
        return features;
    }

    /// <summary>concat(patch tokens, cls broadcast) → Linear 2w→w → GELU; [B, 1+T, w] → [B, T, w].</summary>
    public static string ProjectReadout(OnnxGraphBuilder g, VitProjectReadout readout, string tokensWithCls, string scope)
    {
        string patchTokens = g.Slice(tokensWithCls, [1], [ToEnd], [1]);
        string cls = g.Expand(g.Slice(tokensWithCls, [0], [1], [1]), g.Shape(patchTokens));
        string joined = g.Concat(-1, patchTokens, cls);
        return g.Gelu(g.Linear(joined, readout.Projection, scope + ".project.0"));
    }
}

using LSeg.Training.Bridge.Network;
using LSeg.Training.Bridge.Network.ImageEncoders;

namespace LSeg.Training.Bridge.Import;

/// <summary>
/// Reads which network a set of LSeg weights describes from their shapes, since neither the official checkpoint nor a
/// model package stores every hyper-parameter: the backbone (ViT-L/16 or ViT-B/32 by patch size, ResNet-101 by its
/// stages), its size (a reduced size when it differs from the published one), the embedding size C
/// (<c>scratch.head1</c>) and the decoder width (<c>scratch.layer1_rn</c>). Keys are <see cref="LSegNet"/>'s
/// state-dict keys.
/// </summary>
/// <remarks>
/// Two numbers of a reduced ViT are not in any shape: the head count (timm's 64-wide heads are assumed, one head below
/// width 64) and the hooked blocks (spread evenly, ending at the last block, as <see cref="VitDptOptions.Reduced"/>
/// does). The published sizes take both from their presets.
/// </remarks>
/// <param name="tensors">The weights by state-dict key.</param>
/// <param name="keyPrefix">The prefix the keys carry in the file (<c>net.</c> in a Lightning checkpoint), so messages name them as the file does.</param>
internal sealed class BackboneShapes(IReadOnlyDictionary<string, CheckpointTensor> tensors, string keyPrefix = "")
{
    /// <summary>Size C of the pixel embeddings: the output channels of <c>scratch.head1</c>.</summary>
    public int EmbeddingSize => (int)Require("scratch.head1.weight", 4).Shape[0];

    /// <summary>Width of the DPT decoder: the output channels of <c>scratch.layer1_rn</c>.</summary>
    public int DecoderFeatures => (int)Require("scratch.layer1_rn.weight", 4).Shape[0];

    /// <summary>The backbone the official checkpoint's image weights describe (it has no ResNet18 variant).</summary>
    /// <exception cref="InvalidDataException">The weights are of no backbone the importer knows.</exception>
    public string OfficialBackbone()
    {
        if (tensors.ContainsKey("pretrained.model.patch_embed.proj.weight"))
            return VitPreset().Name;
        if (tensors.Keys.Any(k => k.StartsWith("pretrained.layer4.", StringComparison.Ordinal)))
            return "resnet101";
        throw new InvalidDataException(
            $"The checkpoint's backbone is not one the importer knows: expected '{keyPrefix}pretrained.model.patch_embed.proj.weight' (DPT ViT-L/16 or ViT-B/32) " +
            $"or '{keyPrefix}pretrained.layer1..4.*' (ResNet-101).");
    }

    /// <summary>The size of a <paramref name="backbone"/> with these weights: null for the published size (and always for ResNet18, which has one size).</summary>
    /// <exception cref="InvalidDataException">The weights do not have the structure of <paramref name="backbone"/>.</exception>
    public BackboneSizeOverride? Size(string backbone) => backbone switch
    {
        "vit-l16-384" or "vit-b32-384" => VitSize(backbone),
        "resnet101" => ResNet101Size(),
        _ => null,
    };

    private (string Name, VitDptOptions Preset) VitPreset()
    {
        var patch = Require("pretrained.model.patch_embed.proj.weight", 4);
        int patchSize = (int)patch.Shape[2];
        return patchSize switch
        {
            16 => ("vit-l16-384", VitDptOptions.VitL16_384),
            32 => ("vit-b32-384", VitDptOptions.VitB32_384),
            _ => throw new InvalidDataException($"'{keyPrefix}pretrained.model.patch_embed.proj.weight' has shape {patch.ShapeText}: patch size {patchSize}; the known ViTs are ViT-L/16 (16) and ViT-B/32 (32)."),
        };
    }

    private BackboneSizeOverride? VitSize(string backbone)
    {
        var (name, preset) = VitPreset();
        if (name != backbone)
            throw new InvalidDataException($"The weights are of a {name} backbone (patch size {preset.PatchSize}), not {backbone}.");
        int width = (int)Require("pretrained.model.patch_embed.proj.weight", 4).Shape[0];
        var positions = Require("pretrained.model.pos_embed", 3);
        long expectedTokens = 1 + (long)preset.PretrainedGrid * preset.PretrainedGrid;
        if (positions.Shape[1] != expectedTokens)
            throw new InvalidDataException($"'{keyPrefix}pretrained.model.pos_embed' has shape {positions.ShapeText}; a {name} backbone has {expectedTokens} positions (a {preset.PretrainedGrid}×{preset.PretrainedGrid} grid plus the class token).");
        int depth = CountIndices("pretrained.model.blocks.");
        // The bias, not the weight: a package stores linear weights transposed, a checkpoint does not.
        int mlpWidth = (int)Require("pretrained.model.blocks.0.mlp.fc1.bias", 1).Shape[0];
        int[] featureChannels = Enumerable.Range(1, 4).Select(i => (int)Require($"scratch.layer{i}_rn.weight", 4).Shape[1]).ToArray();
        int heads = Math.Max(1, width / 64);
        int[] hooks = depth == preset.Depth ? [.. preset.Hooks] : [depth / 4 - 1, 2 * (depth / 4) - 1, 3 * (depth / 4) - 1, depth - 1];
        bool published = width == preset.Width && depth == preset.Depth && mlpWidth == preset.MlpWidth && featureChannels.SequenceEqual(preset.FeatureChannels);
        return published ? null : new BackboneSizeOverride
        {
            Width = width, Layers = depth, Heads = heads, MlpWidth = mlpWidth, Hooks = hooks, FeatureChannels = featureChannels,
        };
    }

    private BackboneSizeOverride? ResNet101Size()
    {
        int baseWidth = (int)Require("pretrained.layer1.0.weight", 4).Shape[0];
        int[] blocks = [CountIndices("pretrained.layer1.4."), CountIndices("pretrained.layer2."), CountIndices("pretrained.layer3."), CountIndices("pretrained.layer4.")];
        var full = ResNet101Options.ResNet101;
        if (baseWidth == full.BaseWidth && blocks.SequenceEqual(full.Blocks))
            return null;
        if (blocks.Distinct().Count() != 1)
            throw new InvalidDataException($"The ResNet has [{string.Join(", ", blocks)}] blocks per stage; ResNet-101 has [3, 4, 23, 3], and reduced test sizes have equal stages.");
        return new BackboneSizeOverride { Width = baseWidth, Layers = blocks[0] };
    }

    private int CountIndices(string prefix)
        => tensors.Keys
            .Where(k => k.StartsWith(prefix, StringComparison.Ordinal))
            .Select(k => k[prefix.Length..].Split('.')[0])
            .Where(s => int.TryParse(s, out _))
            .Distinct()
            .Count();

    private CheckpointTensor Require(string key, int rank)
    {
        if (!tensors.TryGetValue(key, out var tensor))
            throw new InvalidDataException($"The weights have no '{keyPrefix}{key}', which every LSeg network of this kind has.");
        if (tensor.Shape.Length != rank)
            throw new InvalidDataException($"'{keyPrefix}{key}' has shape {tensor.ShapeText}; expected a rank-{rank} tensor.");
        return tensor;
    }
}

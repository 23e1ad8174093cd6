using LSeg.Training.Bridge.Network;
using LSeg.Training.Bridge.Network.ImageEncoders;
using LSeg.Training.Bridge.Network.TextEncoders;

namespace LSeg.Training.Bridge.Import;

/// <summary>
/// How the official lang-seg state dict splits into what the package needs and what it drops, and which network it
/// describes. The checkpoint stores no hyper-parameters, so the backbone is read from tensor shapes and the presence
/// of the spatial regularisation block from the keys.
/// </summary>
internal sealed class OfficialCheckpointLayout
{
    /// <summary>The prefix of the CLIP model inside the network (<c>net.clip_pretrained.*</c> in the checkpoint).</summary>
    internal const string ClipPrefix = "clip_pretrained.";

    /// <summary>Keys of the image side that the network never uses: the ViT's final norm and ImageNet classifier.</summary>
    private static readonly string[] UnusedImageKeyPrefixes = ["pretrained.model.norm.", "pretrained.model.head.", "pretrained.model.pre_logits.", "pretrained.model.fc_norm."];

    private OfficialCheckpointLayout() { }

    /// <summary>The prefix stripped from every key (<c>net.</c> for Lightning checkpoints, empty for plain state dicts).</summary>
    public string KeyPrefix { get; private init; } = "";

    /// <summary>Image-side tensors (<c>pretrained.*</c>, <c>scratch.*</c>) keyed as <see cref="LSegNet"/>'s state dict.</summary>
    public Dictionary<string, CheckpointTensor> ImageTensors { get; } = new(StringComparer.Ordinal);

    /// <summary>CLIP text-tower tensors keyed as <see cref="ClipTextTransformer"/>'s state dict.</summary>
    public Dictionary<string, CheckpointTensor> TextTensors { get; } = new(StringComparer.Ordinal);

    /// <summary>Dropped groups (known to be unused) and how many tensors each had.</summary>
    public SortedDictionary<string, int> Dropped { get; } = new(StringComparer.Ordinal);

    /// <summary>Keys outside the network's namespaces: ignored, with a warning.</summary>
    public List<string> Unrelated { get; } = [];

    /// <summary>Spatial regularisation keys (<c>scratch.head_block.*</c>) found.</summary>
    public bool HasSpatialBlock { get; private set; }

    public static OfficialCheckpointLayout Split(IReadOnlyDictionary<string, CheckpointTensor> stateDict, string source)
    {
        string prefix = stateDict.Keys.Any(k => k.StartsWith("net.pretrained.", StringComparison.Ordinal)) ? "net."
            : stateDict.Keys.Any(k => k.StartsWith("pretrained.", StringComparison.Ordinal)) ? ""
            : throw new InvalidDataException(
                $"'{source}' holds no LSeg network weights: expected keys 'net.pretrained.*' (a lang-seg Lightning checkpoint) or 'pretrained.*' " +
                $"(a plain LSegNet state dict); found for example {string.Join(", ", stateDict.Keys.Take(5).Select(k => $"'{k}'"))}.");
        var layout = new OfficialCheckpointLayout { KeyPrefix = prefix };
        foreach (var (fullKey, tensor) in stateDict)
        {
            if (!fullKey.StartsWith(prefix, StringComparison.Ordinal))
            {
                layout.Unrelated.Add(fullKey);
                continue;
            }
            string key = fullKey[prefix.Length..];
            if (key.StartsWith(ClipPrefix, StringComparison.Ordinal))
            {
                string clipKey = key[ClipPrefix.Length..];
                if (clipKey.StartsWith("visual.", StringComparison.Ordinal))
                    layout.Drop("clip_pretrained.visual.* (CLIP's image tower)");
                else if (clipKey is "logit_scale" or "input_resolution" or "context_length" or "vocab_size")
                    layout.Drop($"clip_pretrained.{clipKey} (CLIP training scalar)");
                else
                    layout.TextTensors[clipKey] = tensor;
            }
            else if (key.StartsWith("pretrained.", StringComparison.Ordinal) || key.StartsWith("scratch.", StringComparison.Ordinal))
            {
                string? unused = UnusedImageKeyPrefixes.FirstOrDefault(p => key.StartsWith(p, StringComparison.Ordinal));
                if (unused is not null)
                    layout.Drop($"{unused}* (unused by the network)");
                else
                    layout.ImageTensors[key] = tensor;
                if (key.StartsWith("scratch.head_block.", StringComparison.Ordinal))
                    layout.HasSpatialBlock = true;
            }
            else
            {
                layout.Unrelated.Add(fullKey);
            }
        }
        if (layout.TextTensors.Count == 0)
            throw new InvalidDataException($"'{source}' has image weights but no CLIP text tower ('{prefix}{ClipPrefix}token_embedding.weight', …): the package needs it to encode labels.");
        return layout;
    }

    private void Drop(string group) => Dropped[group] = Dropped.GetValueOrDefault(group) + 1;

    /// <summary>The CLIP text tower's sizes, from shapes.</summary>
    public ClipTextConfig TextConfig() => ClipCheckpointLayout.InferConfig(TextTensors, KeyPrefix + ClipPrefix);

    /// <summary>
    /// The network configuration the image tensors describe: the backbone from the patch embedding (ViT-L/16, ViT-B/32)
    /// or the ResNet stages, its size (a reduced size when it differs from the published one), the embedding size C from
    /// <c>scratch.head1</c> and the decoder width from <c>scratch.layer1_rn</c>.
    /// </summary>
    public LSegNetConfig NetworkConfig(SpatialBlock spatialBlock, int spatialDepth, SpatialActivation activation)
    {
        var head1 = RequireImage("scratch.head1.weight", 4);
        var layer1 = RequireImage("scratch.layer1_rn.weight", 4);
        int[] featureChannels = Enumerable.Range(1, 4).Select(i => (int)RequireImage($"scratch.layer{i}_rn.weight", 4).Shape[1]).ToArray();
        var (backbone, size) = ImageTensors.ContainsKey("pretrained.model.patch_embed.proj.weight")
            ? DetectVit(featureChannels)
            : ImageTensors.Keys.Any(k => k.StartsWith("pretrained.layer4.", StringComparison.Ordinal))
                ? DetectResNet101()
                : throw new InvalidDataException(
                    $"The checkpoint's backbone is not one the importer knows: expected '{KeyPrefix}pretrained.model.patch_embed.proj.weight' (DPT ViT-L/16 or ViT-B/32) " +
                    $"or '{KeyPrefix}pretrained.layer1..4.*' (ResNet-101).");
        return new LSegNetConfig
        {
            Backbone = backbone,
            EmbeddingSize = (int)head1.Shape[0],
            DecoderFeatures = (int)layer1.Shape[0],
            SpatialBlock = spatialBlock,
            SpatialDepth = spatialDepth,
            Activation = activation,
            ReducedBackbone = size,
        };
    }

    private (string Backbone, BackboneSizeOverride? Size) DetectVit(int[] featureChannels)
    {
        var patch = RequireImage("pretrained.model.patch_embed.proj.weight", 4);
        int width = (int)patch.Shape[0];
        int patchSize = (int)patch.Shape[2];
        var (name, preset) = patchSize switch
        {
            16 => ("vit-l16-384", VitDptOptions.VitL16_384),
            32 => ("vit-b32-384", VitDptOptions.VitB32_384),
            _ => throw new InvalidDataException($"'{KeyPrefix}pretrained.model.patch_embed.proj.weight' has shape {patch.ShapeText}: patch size {patchSize}; the importer knows ViT-L/16 (16) and ViT-B/32 (32)."),
        };
        var positions = RequireImage("pretrained.model.pos_embed", 3);
        long expectedTokens = 1 + (long)preset.PretrainedGrid * preset.PretrainedGrid;
        if (positions.Shape[1] != expectedTokens)
            throw new InvalidDataException($"'{KeyPrefix}pretrained.model.pos_embed' has shape {positions.ShapeText}; a {name} backbone has {expectedTokens} positions (a {preset.PretrainedGrid}×{preset.PretrainedGrid} grid plus the class token).");
        int depth = CountIndices("pretrained.model.blocks.");
        int mlpWidth = (int)RequireImage("pretrained.model.blocks.0.mlp.fc1.weight", 2).Shape[0];
        // timm ViTs use 64-wide heads (ViT-L/16: 1024/16, ViT-B/32: 768/12); the head count is not in the shapes.
        int heads = Math.Max(1, width / 64);
        int[] hooks = depth == preset.Depth ? [.. preset.Hooks] : [depth / 4 - 1, 2 * (depth / 4) - 1, 3 * (depth / 4) - 1, depth - 1];
        bool published = width == preset.Width && depth == preset.Depth && mlpWidth == preset.MlpWidth && featureChannels.SequenceEqual(preset.FeatureChannels);
        return (name, published ? null : new BackboneSizeOverride
        {
            Width = width, Layers = depth, Heads = heads, MlpWidth = mlpWidth, Hooks = hooks, FeatureChannels = featureChannels,
        });
    }

    private (string Backbone, BackboneSizeOverride? Size) DetectResNet101()
    {
        int baseWidth = (int)RequireImage("pretrained.layer1.0.weight", 4).Shape[0];
        int[] blocks = [CountIndices("pretrained.layer1.4."), CountIndices("pretrained.layer2."), CountIndices("pretrained.layer3."), CountIndices("pretrained.layer4.")];
        var full = ResNet101Options.ResNet101;
        if (baseWidth == full.BaseWidth && blocks.SequenceEqual(full.Blocks))
            return ("resnet101", null);
        if (blocks.Distinct().Count() != 1)
            throw new InvalidDataException($"The checkpoint's ResNet has [{string.Join(", ", blocks)}] blocks per stage; the importer reads ResNet-101 ([3, 4, 23, 3]) or reduced test sizes with equal stages.");
        return ("resnet101", new BackboneSizeOverride { Width = baseWidth, Layers = blocks[0] });
    }

    private int CountIndices(string prefix)
        => ImageTensors.Keys
            .Where(k => k.StartsWith(prefix, StringComparison.Ordinal))
            .Select(k => k[prefix.Length..].Split('.')[0])
            .Where(s => int.TryParse(s, out _))
            .Distinct()
            .Count();

    private CheckpointTensor RequireImage(string key, int rank)
    {
        if (!ImageTensors.TryGetValue(key, out var tensor))
            throw new InvalidDataException($"The checkpoint has no '{KeyPrefix}{key}', which every LSeg network of this kind has.");
        if (tensor.Shape.Length != rank)
            throw new InvalidDataException($"'{KeyPrefix}{key}' has shape {tensor.ShapeText}; expected a rank-{rank} tensor.");
        return tensor;
    }
}

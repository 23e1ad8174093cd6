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

    private static readonly string[] KeyPrefixes = ["net.", "", "module.net.", "module."];

    public static OfficialCheckpointLayout Split(IReadOnlyDictionary<string, CheckpointTensor> stateDict, string source)
    {
        // The first prefix under which the backbone's keys appear: Lightning's module ("net."), a bare LSegNet, and either
        // saved from a DataParallel / DistributedDataParallel wrapper ("module.").
        string prefix = KeyPrefixes.FirstOrDefault(p => stateDict.Keys.Any(k => k.StartsWith(p + "pretrained.", StringComparison.Ordinal)))
            ?? throw new InvalidDataException(
                $"'{source}' holds no LSeg network weights: expected keys 'net.pretrained.*' (a lang-seg Lightning checkpoint) or 'pretrained.*' " +
                $"(a plain LSegNet state dict), possibly under 'module.' (saved from DataParallel); found for example {string.Join(", ", stateDict.Keys.Take(5).Select(k => $"'{k}'"))}.");
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
    /// <c>scratch.head1</c> and the decoder width from <c>scratch.layer1_rn</c> (see <see cref="BackboneShapes"/>).
    /// </summary>
    public LSegNetConfig NetworkConfig(SpatialBlock spatialBlock, int spatialDepth, SpatialActivation activation)
    {
        var shapes = new BackboneShapes(ImageTensors, KeyPrefix);
        string backbone = shapes.OfficialBackbone();
        return new LSegNetConfig
        {
            Backbone = backbone,
            EmbeddingSize = shapes.EmbeddingSize,
            DecoderFeatures = shapes.DecoderFeatures,
            SpatialBlock = spatialBlock,
            SpatialDepth = spatialDepth,
            Activation = activation,
            ReducedBackbone = shapes.Size(backbone),
        };
    }
}

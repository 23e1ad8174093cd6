using LSeg.Training.Bridge.Network;
using LSeg.Training.Bridge.Network.TextEncoders;
using TorchSharp;
using static TorchSharp.torch;

namespace LSeg.Training.Bridge.Tests.Import;

/// <summary>
/// A small LSeg network and CLIP text tower with random weights, and the official lang-seg checkpoint built from them:
/// image side in float32 under <c>net.pretrained.*</c> / <c>net.scratch.*</c>, the whole CLIP model in float16 under
/// <c>net.clip_pretrained.*</c> (with a stand-in image tower and logit scale that the importer must drop), and the
/// ViT's unused final norm and classifier.
/// </summary>
internal sealed class OfficialFormatCheckpoint : IDisposable
{
    /// <summary>A CLIP text tower at width 64 and depth 2 (the real vocabulary and context length).</summary>
    public static readonly ClipTextConfig SmallClip = new(Width: 64, Layers: 2, Heads: 1, VocabularySize: ClipTextConfig.ClipVocabularySize, ContextLength: 77, EmbeddingSize: 32);

    /// <summary>ViT-B/32 structure at width 64 and depth 4, with a depth-2 bottleneck spatial block (lang-seg --arch_option 1).</summary>
    public static readonly LSegNetConfig SmallVitB32WithBottleneck = new()
    {
        Backbone = "vit-b32-384",
        EmbeddingSize = 32,
        DecoderFeatures = 16,
        SpatialBlock = SpatialBlock.Bottleneck,
        SpatialDepth = 2,
        ReducedBackbone = new BackboneSizeOverride { Width = 64, Layers = 4, Heads = 1, MlpWidth = 128, Hooks = [0, 1, 2, 3], FeatureChannels = [8, 16, 32, 32] },
    };

    public OfficialFormatCheckpoint(LSegNetConfig networkConfig, ClipTextConfig textConfig, int seed)
    {
        torch.manual_seed(seed);
        Network = LSegNet.Create(networkConfig, pretrainedBackbone: false);
        Text = new ClipTextTransformer(textConfig);
        using (torch.no_grad())
        {
            // The checkpoint stores CLIP in float16: the reference forward uses the same rounded weights.
            foreach (var p in Text.parameters())
                p.copy_(p.to_type(ScalarType.Float16).to_type(ScalarType.Float32));
            // Non-trivial BatchNorm statistics, so that loading them is checked too.
            foreach (var (name, buffer) in Network.named_buffers())
            {
                if (name.EndsWith("running_mean", StringComparison.Ordinal))
                    buffer.copy_(torch.randn_like(buffer) * 0.1);
                else if (name.EndsWith("running_var", StringComparison.Ordinal))
                    buffer.copy_(torch.rand_like(buffer) + 0.5);
            }
        }
        Network.eval();
        Text.eval();
    }

    public LSegNet Network { get; }

    public ClipTextTransformer Text { get; }

    /// <summary>The state dict as lang-seg's LSegModule holds it (keys with <paramref name="prefix"/>).</summary>
    public PyDict StateDict(string prefix = "net.", bool includeDroppedParts = true)
    {
        var stateDict = new PyDict(ordered: true);
        // The official network's modules: the backbone (pretrained.*) and the decoder (scratch.*).
        foreach (var (key, value) in Network.state_dict())
            if (key.StartsWith("pretrained.", StringComparison.Ordinal) || key.StartsWith("scratch.", StringComparison.Ordinal))
                stateDict.Add(prefix + key, new PyTensor(value));
        foreach (var (key, value) in Text.state_dict())
            stateDict.Add($"{prefix}clip_pretrained.{key}", new PyTensor(value.to_type(ScalarType.Float16)));
        if (includeDroppedParts)
        {
            int width = (int)Network.state_dict().First(kv => kv.Key.EndsWith("cls_token", StringComparison.Ordinal) || kv.Key.EndsWith("layer1.0.weight", StringComparison.Ordinal)).Value.shape[^1];
            stateDict.Add($"{prefix}clip_pretrained.visual.conv1.weight", new PyTensor(torch.randn(8, 3, 4, 4).to_type(ScalarType.Float16)));
            stateDict.Add($"{prefix}clip_pretrained.visual.proj", new PyTensor(torch.randn(8, Text.Config.EmbeddingSize).to_type(ScalarType.Float16)));
            stateDict.Add($"{prefix}clip_pretrained.logit_scale", new PyTensor(torch.tensor(4.6052f).to_type(ScalarType.Float16)));
            if (Network.Config.Backbone.StartsWith("vit", StringComparison.Ordinal))
            {
                stateDict.Add($"{prefix}pretrained.model.norm.weight", new PyTensor(torch.ones(width)));
                stateDict.Add($"{prefix}pretrained.model.norm.bias", new PyTensor(torch.zeros(width)));
                stateDict.Add($"{prefix}pretrained.model.head.weight", new PyTensor(torch.randn(10, width)));
                stateDict.Add($"{prefix}pretrained.model.head.bias", new PyTensor(torch.zeros(10)));
            }
        }
        return stateDict;
    }

    /// <summary>The Lightning checkpoint dict (state_dict, optimizer_states, lr_schedulers, callbacks, epoch, global_step).</summary>
    public PyDict LightningCheckpoint() => SyntheticCheckpoints.LightningCheckpoint(StateDict());

    /// <summary>The reference: TorchSharp forward of the same weights, labels encoded by the CLIP tower.</summary>
    public float[] ReferenceLogits(Tensor pixels, long[,] labelIds, out long[] shape)
    {
        using var _ = torch.no_grad();
        using var ids = torch.tensor(labelIds, ScalarType.Int64);
        using var labels = Text.forward(ids);
        using var logits = Network.forward(pixels, labels);
        shape = logits.shape;
        return logits.contiguous().data<float>().ToArray();
    }

    public void Dispose()
    {
        Network.Dispose();
        Text.Dispose();
    }
}

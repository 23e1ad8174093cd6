using System.Text.Json;
using System.Text.Json.Serialization;

namespace LSeg.Training.Bridge.Network;

/// <summary>
/// The hyper-parameters of an <see cref="LSegNet"/>: which backbone, the embedding size C shared with the text encoder,
/// the decoder width, and the spatial regularisation and temperature of the head. Saved with every checkpoint, and the
/// <c>network</c> of a training configuration (JSON fields in camelCase, enum values in lower case).
/// </summary>
/// <remarks>
/// The defaults are the shipped default model's network: ResNet-18, C = 384 (all-MiniLM-L6-v2), a 128-channel decoder,
/// no spatial block, temperature 0.07. It is what a training run builds when its configuration names neither a network
/// nor an initial model. The paper's CLIP models differ (C = 512, decoder 256): give those values explicitly.
/// </remarks>
public sealed record LSegNetConfig
{
    /// <summary>Image backbone: <c>resnet18</c>, <c>resnet101</c>, <c>vit-b32-384</c> or <c>vit-l16-384</c> (see <see cref="ImageEncoders.ImageBackboneCatalog"/>).</summary>
    public string Backbone { get; init; } = "resnet18";

    /// <summary>Size C of the pixel and label embeddings: 384 (the default) for all-MiniLM-L6-v2, 512 for CLIP ViT-B/32 text.</summary>
    public int EmbeddingSize { get; init; } = 384;

    /// <summary>Width of the DPT decoder: 128 (the default model's), 256 in the paper.</summary>
    public int DecoderFeatures { get; init; } = 128;

    /// <summary>Spatial regularisation block applied to the logits (none in the released demo model).</summary>
    [JsonConverter(typeof(LowerCaseEnumConverter<SpatialBlock>))]
    public SpatialBlock SpatialBlock { get; init; } = SpatialBlock.None;

    /// <summary>How many times the (single, shared) spatial block is applied, 0 to 4; 0 when <see cref="SpatialBlock"/> is none.</summary>
    public int SpatialDepth { get; init; }

    /// <summary>Activation between spatial block applications.</summary>
    [JsonConverter(typeof(LowerCaseEnumConverter<SpatialActivation>))]
    public SpatialActivation Activation { get; init; } = SpatialActivation.LeakyRelu;

    /// <summary>Temperature t of the word–pixel correlation: logits = cos / t (0.07 in the paper).</summary>
    public double Temperature { get; init; } = 0.07;

    /// <summary>Optional smaller backbone of the same structure (tests only); null for the published size.</summary>
    public BackboneSizeOverride? ReducedBackbone { get; init; }

    /// <summary>Checks the values and throws an <see cref="ArgumentException"/> naming the first one out of range.</summary>
    public void Validate()
    {
        if (EmbeddingSize <= 0)
            throw new ArgumentException($"{nameof(EmbeddingSize)} must be positive; got {EmbeddingSize}.", nameof(EmbeddingSize));
        if (DecoderFeatures <= 0)
            throw new ArgumentException($"{nameof(DecoderFeatures)} must be positive; got {DecoderFeatures}.", nameof(DecoderFeatures));
        if (SpatialDepth is < 0 or > 4)
            throw new ArgumentException($"{nameof(SpatialDepth)} must be between 0 and 4; got {SpatialDepth}.", nameof(SpatialDepth));
        if (SpatialBlock == SpatialBlock.None && SpatialDepth != 0)
            throw new ArgumentException($"{nameof(SpatialDepth)} is {SpatialDepth} but {nameof(SpatialBlock)} is None; set a block (Depthwise or Bottleneck) or depth 0.", nameof(SpatialDepth));
        if (SpatialBlock != SpatialBlock.None && SpatialDepth == 0)
            throw new ArgumentException($"{nameof(SpatialBlock)} is {SpatialBlock} but {nameof(SpatialDepth)} is 0; use a depth of 1 to 4, or block None.", nameof(SpatialDepth));
        if (!(Temperature > 0))
            throw new ArgumentException($"{nameof(Temperature)} must be positive; got {Temperature}.", nameof(Temperature));
    }
}

/// <summary>
/// Writes enum values in lower case (<c>depthwise</c>, <c>leakyrelu</c>: the model manifest's spelling); reads them in
/// any case.
/// </summary>
internal sealed class LowerCaseEnumConverter<TEnum>() : JsonStringEnumConverter<TEnum>(LowerCaseNamingPolicy.Instance)
    where TEnum : struct, Enum;

/// <summary>Names in lower case.</summary>
internal sealed class LowerCaseNamingPolicy : JsonNamingPolicy
{
    public static readonly LowerCaseNamingPolicy Instance = new();

    public override string ConvertName(string name) => name.ToLowerInvariant();
}

/// <summary>Spatial regularisation block of the LSeg head (paper section 3).</summary>
public enum SpatialBlock
{
    /// <summary>No spatial regularisation (the released demo model).</summary>
    None,

    /// <summary>DepthwiseBlock: shared 3×3 conv, then activation.</summary>
    Depthwise,

    /// <summary>BottleneckBlock: shared 3×3 conv plus the per-pixel max over labels, then activation.</summary>
    Bottleneck,
}

/// <summary>Activation of the spatial regularisation blocks.</summary>
public enum SpatialActivation
{
    /// <summary>LeakyReLU with negative slope 0.01 (the default).</summary>
    LeakyRelu,

    /// <summary>ReLU.</summary>
    Relu,

    /// <summary>Tanh.</summary>
    Tanh,
}

/// <summary>
/// A reduced backbone of the same structure as the published one, so that tests of the large backbones stay fast.
/// Every field left null keeps the published value. Interpreted by the backbone factory.
/// </summary>
public sealed record BackboneSizeOverride
{
    /// <summary>Number of transformer blocks (ViT) or of blocks per stage (ResNet), or null.</summary>
    public int? Layers { get; init; }

    /// <summary>Token width (ViT) or base channel count (ResNet), or null.</summary>
    public int? Width { get; init; }

    /// <summary>Attention heads (ViT), or null.</summary>
    public int? Heads { get; init; }

    /// <summary>Hidden width of the MLP (ViT), or null.</summary>
    public int? MlpWidth { get; init; }

    /// <summary>0-based indices of the blocks whose outputs are reassembled (ViT), or null.</summary>
    public int[]? Hooks { get; init; }

    /// <summary>Channels of the four reassembled feature maps, or null.</summary>
    public int[]? FeatureChannels { get; init; }
}

using LSeg.Training.Bridge.Network.ImageEncoders;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LSeg.Training.Bridge.Network;

/// <summary>
/// The LSeg network (paper Figure 2) without its text encoder: an image encoder (backbone <c>pretrained</c> + DPT
/// decoder <c>scratch</c> ending in <c>head1</c>) gives pixel embeddings at H/2; the word–pixel correlation with the
/// label embeddings gives logits, which are spatially regularised and upsampled ×2 (bilinear, align_corners = true).
/// </summary>
/// <remarks>
/// Inputs: pixels [B,3,H,W], RGB, 0–255 (the backbone normalises them), H and W multiples of 32; label embeddings
/// [N,C] from a text encoder. State-dict keys match the official checkpoint without its <c>net.</c> prefix.
/// </remarks>
public sealed partial class LSegNet : nn.Module<Tensor, Tensor, Tensor>
{
    /// <summary>Image height and width must be multiples of this value.</summary>
    public const int InputSizeMultiple = 32;

#pragma warning disable IDE1006 // state-dict key names
    private readonly nn.Module<Tensor, BackboneFeatures> pretrained;
    private readonly DptDecoder scratch;
    private readonly WordPixelCorrelation correlation;
#pragma warning restore IDE1006

    private LSegNet(LSegNetConfig config, IImageBackbone backbone) : base(nameof(LSegNet))
    {
        Config = config;
        pretrained = backbone as nn.Module<Tensor, BackboneFeatures>
            ?? throw new ArgumentException($"Backbone '{config.Backbone}' ({backbone.GetType().Name}) must be a TorchSharp nn.Module<Tensor, BackboneFeatures>.", nameof(backbone));
        var headBlock = config.SpatialBlock == SpatialBlock.None
            ? null
            : new SpatialRegularization(config.SpatialBlock, config.SpatialDepth, config.Activation);
        scratch = new DptDecoder(backbone.FeatureChannels, config.DecoderFeatures, config.EmbeddingSize, headBlock);
        correlation = new WordPixelCorrelation(config.Temperature);
        RegisterComponents();
    }

    /// <summary>Builds a network for <paramref name="config"/>.</summary>
    /// <param name="config">The hyper-parameters; the backbone is looked up in <see cref="ImageBackboneCatalog"/>.</param>
    /// <param name="pretrainedBackbone">Load the backbone's pretrained weights (true) or initialise it randomly (false).</param>
    /// <exception cref="ArgumentException">A configuration value is out of range or the backbone is unknown.</exception>
    public static LSegNet Create(LSegNetConfig config, bool pretrainedBackbone = true)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        var backbone = ImageBackboneCatalog.Create(config, pretrainedBackbone);
        try
        {
            return new LSegNet(config, backbone);
        }
        catch
        {
            (backbone as IDisposable)?.Dispose();
            throw;
        }
    }

    /// <summary>The hyper-parameters the network was built with.</summary>
    public LSegNetConfig Config { get; }

    /// <summary>The image backbone (<c>pretrained</c>).</summary>
    /// <remarks>A computed property on purpose: RegisterComponents would register an auto-property's backing field as a second copy of the module.</remarks>
    public IImageBackbone Backbone => (IImageBackbone)pretrained;

    /// <summary>The DPT decoder with <c>head1</c> (<c>scratch</c>).</summary>
    public DptDecoder Decoder => scratch;

    /// <summary>The word–pixel correlation.</summary>
    public WordPixelCorrelation Correlation => correlation;

    /// <summary>The spatial regularisation of the head, or null when the configuration has none.</summary>
    public SpatialRegularization? SpatialRegularization => scratch.HeadBlock;

    /// <summary>The backbone's parameters (trained at the base learning rate).</summary>
    public IEnumerable<Parameter> BackboneParameters() => pretrained.parameters();

    /// <summary>The decoder's, <c>head1</c>'s and the spatial blocks' parameters (trained at 10× the base rate in the paper).</summary>
    public IEnumerable<Parameter> DecoderParameters() => scratch.parameters();

    /// <summary>Segmentation logits [B,N,H,W] of pixels [B,3,H,W] (RGB 0–255) against label embeddings [N,C].</summary>
    /// <exception cref="ArgumentException">A shape is not allowed (see <see cref="ValidatePixels"/>, <see cref="ValidateLabelEmbeddings"/>).</exception>
    public override Tensor forward(Tensor pixels, Tensor labelEmbeddings)
    {
        ValidatePixels(pixels);
        ValidateLabelEmbeddings(labelEmbeddings);
        using var scope = NewDisposeScope();
        var pixelEmbeddings = EncodeImage(pixels);
        return Head(pixelEmbeddings, labelEmbeddings).MoveToOuterDisposeScope();
    }

    /// <summary>The image encoder: pixels [B,3,H,W] (RGB 0–255) → pixel embeddings [B,C,H/2,W/2].</summary>
    /// <exception cref="ArgumentException">The pixels' shape is not allowed.</exception>
    public Tensor EncodeImage(Tensor pixels)
    {
        ValidatePixels(pixels);
        using var scope = NewDisposeScope();
        var features = pretrained.forward(pixels);
        return scratch.forward(features).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The head: word–pixel correlation of pixel embeddings [B,C,h,w] with label embeddings [N,C], spatial
    /// regularisation, ×2 bilinear upsampling (align_corners = true) → logits [B,N,2h,2w].
    /// </summary>
    /// <exception cref="ArgumentException">A shape is not allowed.</exception>
    public Tensor Head(Tensor pixelEmbeddings, Tensor labelEmbeddings)
    {
        ValidateLabelEmbeddings(labelEmbeddings);
        if (pixelEmbeddings.dim() != 4 || pixelEmbeddings.shape[1] != Config.EmbeddingSize)
            throw new ArgumentException(
                $"Pixel embeddings must be [B, {Config.EmbeddingSize}, h, w]; got [{string.Join(", ", pixelEmbeddings.shape)}].", nameof(pixelEmbeddings));
        using var scope = NewDisposeScope();
        var logits = correlation.forward(pixelEmbeddings, labelEmbeddings);
        if (scratch.HeadBlock is { } block)
            logits = block.forward(logits);
        logits = nn.functional.interpolate(logits, size: [logits.shape[2] * 2, logits.shape[3] * 2], mode: InterpolationMode.Bilinear, align_corners: true);
        return logits.MoveToOuterDisposeScope();
    }

    /// <summary>Checks that pixels are [B,3,H,W] with B ≥ 1 and H, W positive multiples of 32.</summary>
    /// <exception cref="ArgumentException">Names what is wrong and what is allowed.</exception>
    public static void ValidatePixels(Tensor pixels)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        if (pixels.dim() != 4)
            throw new ArgumentException($"Pixels must be a 4-D tensor [B, 3, H, W]; got {pixels.dim()} dimensions [{string.Join(", ", pixels.shape)}].", nameof(pixels));
        if (pixels.shape[1] != 3)
            throw new ArgumentException($"Pixels must have 3 channels (RGB, 0–255); got {pixels.shape[1]} channels in shape [{string.Join(", ", pixels.shape)}].", nameof(pixels));
        long height = pixels.shape[2], width = pixels.shape[3];
        if (height <= 0 || width <= 0 || height % InputSizeMultiple != 0 || width % InputSizeMultiple != 0)
            throw new ArgumentException($"Image height and width must be positive multiples of {InputSizeMultiple}; got {height}×{width} (H×W). Resize or pad the image, e.g. to {RoundUp(height)}×{RoundUp(width)}.", nameof(pixels));
        if (pixels.shape[0] <= 0)
            throw new ArgumentException("The batch of pixels is empty (B = 0); pass at least one image.", nameof(pixels));
    }

    /// <summary>Checks that label embeddings are [N, C] with N ≥ 1 and C the configured embedding size.</summary>
    /// <exception cref="ArgumentException">Names what is wrong and what is allowed.</exception>
    public void ValidateLabelEmbeddings(Tensor labelEmbeddings)
    {
        ArgumentNullException.ThrowIfNull(labelEmbeddings);
        if (labelEmbeddings.dim() != 2)
            throw new ArgumentException($"Label embeddings must be a 2-D tensor [N, {Config.EmbeddingSize}]; got shape [{string.Join(", ", labelEmbeddings.shape)}].", nameof(labelEmbeddings));
        if (labelEmbeddings.shape[0] == 0)
            throw new ArgumentException("There are no labels (N = 0); pass at least one label embedding.", nameof(labelEmbeddings));
        if (labelEmbeddings.shape[1] != Config.EmbeddingSize)
            throw new ArgumentException($"Label embeddings have width {labelEmbeddings.shape[1]}; this network's embedding size C is {Config.EmbeddingSize}.", nameof(labelEmbeddings));
    }

    private static long RoundUp(long size) => Math.Max(InputSizeMultiple, (size + InputSizeMultiple - 1) / InputSizeMultiple * InputSizeMultiple);
}

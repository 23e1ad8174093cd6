namespace LSeg.Training.Bridge.Network.ImageEncoders;

/// <summary>
/// Shape of a DPT vision-transformer backbone (timm ViT + readout + reassemble), as the official LSeg builds it.
/// The presets reproduce the official sizes; <see cref="Reduced"/> keeps the structure with smaller numbers
/// so tests run in seconds.
/// </summary>
/// <param name="PatchSize">Side of a square patch in pixels (16 or 32); the token grid is H/p × W/p.</param>
/// <param name="Width">Token width (timm <c>embed_dim</c>).</param>
/// <param name="Depth">Number of pre-norm transformer blocks.</param>
/// <param name="Heads">Attention heads; must divide <paramref name="Width"/>.</param>
/// <param name="MlpWidth">Hidden width of each block's MLP.</param>
/// <param name="Hooks">Four 0-based block indices whose outputs are reassembled into the strides 4, 8, 16, 32.</param>
/// <param name="FeatureChannels">Channels of the four reassembled feature maps (strides 4, 8, 16, 32).</param>
/// <param name="PretrainedGrid">Side of the square position-embedding grid the weights were trained with (384 / p).</param>
public sealed record VitDptOptions(
    int PatchSize,
    int Width,
    int Depth,
    int Heads,
    int MlpWidth,
    IReadOnlyList<int> Hooks,
    IReadOnlyList<int> FeatureChannels,
    int PretrainedGrid)
{
    /// <summary>LayerNorm epsilon of timm's ViT.</summary>
    public const double LayerNormEps = 1e-6;

    /// <summary>The official <c>clip_vitl16_384</c> backbone: timm <c>vit_large_patch16_384</c>, hooks 5, 11, 17, 23.</summary>
    public static VitDptOptions VitL16_384 { get; } =
        new(16, 1024, 24, 16, 4096, [5, 11, 17, 23], [256, 512, 1024, 1024], 24);

    /// <summary>The official <c>clip_vitb32_384</c> backbone: timm <c>vit_base_patch32_384</c>, hooks 2, 5, 8, 11.</summary>
    public static VitDptOptions VitB32_384 { get; } =
        new(32, 768, 12, 12, 3072, [2, 5, 8, 11], [96, 192, 384, 768], 12);

    /// <summary>
    /// The same structure (patch size, hook spacing, reassemble per stride) at a smaller width and depth,
    /// for fast tests. Hooks are spread evenly over <paramref name="depth"/> blocks, ending at the last one.
    /// </summary>
    /// <param name="width">Token width; divisible by <paramref name="heads"/>.</param>
    /// <param name="depth">Number of blocks (at least 4).</param>
    /// <param name="heads">Attention heads.</param>
    /// <param name="pretrainedGrid">Side of the stored position-embedding grid; null keeps this preset's.</param>
    public VitDptOptions Reduced(int width, int depth, int heads, int? pretrainedGrid = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(depth, 4, nameof(depth));
        double widthRatio = (double)width / Width;
        int step = depth / 4;
        int[] hooks = [step - 1, 2 * step - 1, 3 * step - 1, depth - 1];
        int[] channels = FeatureChannels.Select(c => Math.Max(4, (int)Math.Round(c * widthRatio))).ToArray();
        return new VitDptOptions(PatchSize, width, depth, heads, width * MlpWidth / Width, hooks, channels,
            pretrainedGrid ?? PretrainedGrid);
    }

    /// <summary>Checks that the numbers describe a buildable backbone.</summary>
    /// <exception cref="ArgumentException">A field is out of range; the message names it and the allowed values.</exception>
    public void Validate()
    {
        if (PatchSize is not (16 or 32))
            throw new ArgumentException($"{nameof(PatchSize)} must be 16 or 32 (reassemble factors are defined for those); got {PatchSize}.");
        if (Width <= 0 || Heads <= 0 || Width % Heads != 0)
            throw new ArgumentException($"{nameof(Width)} must be a positive multiple of {nameof(Heads)}; got {Width} and {Heads}.");
        if (Depth <= 0 || MlpWidth <= 0 || PretrainedGrid <= 0)
            throw new ArgumentException($"{nameof(Depth)}, {nameof(MlpWidth)} and {nameof(PretrainedGrid)} must be positive; got {Depth}, {MlpWidth}, {PretrainedGrid}.");
        if (Hooks.Count != 4 || Hooks.Any(h => h < 0 || h >= Depth))
            throw new ArgumentException($"{nameof(Hooks)} must be four block indices in [0, {Depth - 1}]; got [{string.Join(", ", Hooks)}].");
        if (FeatureChannels.Count != 4 || FeatureChannels.Any(c => c <= 0))
            throw new ArgumentException($"{nameof(FeatureChannels)} must be four positive channel counts; got [{string.Join(", ", FeatureChannels)}].");
    }
}

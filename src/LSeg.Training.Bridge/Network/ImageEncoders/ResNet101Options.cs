namespace LSeg.Training.Bridge.Network.ImageEncoders;

/// <summary>
/// Shape of a torchvision-layout bottleneck ResNet (the paper's zero-shot backbone is ResNet-101:
/// blocks [3, 4, 23, 3], base width 64, stage outputs 256/512/1024/2048 channels at strides 4, 8, 16, 32).
/// </summary>
/// <param name="BaseWidth">Width of the stem and of the first stage's bottleneck (64 in torchvision).</param>
/// <param name="Blocks">Bottleneck blocks in each of the four stages.</param>
public sealed record ResNet101Options(int BaseWidth, IReadOnlyList<int> Blocks)
{
    /// <summary>Bottleneck expansion: a block's output has 4× its inner width.</summary>
    public const int Expansion = 4;

    /// <summary>BatchNorm epsilon of torchvision.</summary>
    public const double BatchNormEps = 1e-5;

    /// <summary>torchvision's <c>resnet101</c>.</summary>
    public static ResNet101Options ResNet101 { get; } = new(64, [3, 4, 23, 3]);

    /// <summary>The same layout with a smaller width and fewer blocks, for fast tests.</summary>
    /// <param name="baseWidth">Stem and first-stage inner width.</param>
    /// <param name="blocks">Blocks per stage (four counts).</param>
    public static ResNet101Options Reduced(int baseWidth, IReadOnlyList<int> blocks) => new(baseWidth, blocks);

    /// <summary>Channels of the four stage outputs (strides 4, 8, 16, 32).</summary>
    public IReadOnlyList<int> FeatureChannels => [.. Enumerable.Range(0, 4).Select(i => BaseWidth * Expansion << i)];

    /// <summary>Checks that the numbers describe a buildable network.</summary>
    /// <exception cref="ArgumentException">A field is out of range; the message names it and the allowed values.</exception>
    public void Validate()
    {
        if (BaseWidth <= 0)
            throw new ArgumentException($"{nameof(BaseWidth)} must be positive; got {BaseWidth}.");
        if (Blocks.Count != 4 || Blocks.Any(b => b <= 0))
            throw new ArgumentException($"{nameof(Blocks)} must be four positive block counts; got [{string.Join(", ", Blocks)}].");
    }
}

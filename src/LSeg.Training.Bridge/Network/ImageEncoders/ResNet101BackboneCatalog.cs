namespace LSeg.Training.Bridge.Network.ImageEncoders;

/// <summary>The ResNet-101 entry of the backbone table: <c>resnet101</c> (torchvision layout, the paper's zero-shot backbone).</summary>
public static partial class ImageBackboneCatalog
{
    static partial void AddResNet101Backbones(Dictionary<string, Factory> table)
    {
        table["resnet101"] = (config, pretrained) =>
        {
            if (pretrained)
            {
                throw new NotSupportedException(
                    "No pretrained weights for backbone 'resnet101' come with this library (torchvision's ImageNet weights are not on NuGet). " +
                    "Build it with random weights (pretrained: false) and load trained or imported weights.");
            }
            var size = config.ReducedBackbone;
            if (size?.Heads is not null || size?.MlpWidth is not null || size?.Hooks is not null || size?.FeatureChannels is not null)
            {
                throw new ArgumentException(
                    $"A ResNet-101 size override may set {nameof(BackboneSizeOverride.Layers)} (blocks per stage) and {nameof(BackboneSizeOverride.Width)} (base width) only; " +
                    "heads, MLP width, hooks and channels belong to ViT backbones.", nameof(config));
            }
            var full = ResNet101Options.ResNet101;
            var options = size is null
                ? full
                : new ResNet101Options(size.Width ?? full.BaseWidth, size.Layers is int n ? [n, n, n, n] : full.Blocks);
            return new ResNet101Backbone(options);
        };
    }
}

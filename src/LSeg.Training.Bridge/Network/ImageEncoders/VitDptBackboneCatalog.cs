namespace LSeg.Training.Bridge.Network.ImageEncoders;

/// <summary>The ViT entries of the backbone table: <c>vit-l16-384</c> and <c>vit-b32-384</c>.</summary>
public static partial class ImageBackboneCatalog
{
    static partial void AddVitBackbones(Dictionary<string, Factory> table)
    {
        table["vit-l16-384"] = (config, pretrained) => CreateVit("vit-l16-384", VitDptOptions.VitL16_384, config, pretrained);
        table["vit-b32-384"] = (config, pretrained) => CreateVit("vit-b32-384", VitDptOptions.VitB32_384, config, pretrained);
    }

    private static VitDptBackbone CreateVit(string name, VitDptOptions preset, LSegNetConfig config, bool pretrained)
    {
        if (pretrained)
        {
            throw new NotSupportedException(
                $"No pretrained weights for backbone '{name}' come with this library (the timm ImageNet weights are not on NuGet). " +
                "Build it with random weights (pretrained: false) and load trained weights: an LSeg checkpoint or the imported official one.");
        }
        return new VitDptBackbone(ApplyOverride(preset, config.ReducedBackbone));
    }

    /// <summary>
    /// The preset with the fields the override sets. A changed depth or width without explicit hooks or channels
    /// spreads the hooks evenly and scales the channels (<see cref="VitDptOptions.Reduced"/>).
    /// </summary>
    internal static VitDptOptions ApplyOverride(VitDptOptions preset, BackboneSizeOverride? size)
    {
        if (size is null)
            return preset;
        int width = size.Width ?? preset.Width;
        int depth = size.Layers ?? preset.Depth;
        var scaled = width == preset.Width && depth == preset.Depth
            ? preset with { Heads = size.Heads ?? preset.Heads }
            : preset.Reduced(width, depth, size.Heads ?? preset.Heads);
        return scaled with
        {
            MlpWidth = size.MlpWidth ?? scaled.MlpWidth,
            Hooks = size.Hooks ?? scaled.Hooks,
            FeatureChannels = size.FeatureChannels ?? scaled.FeatureChannels,
        };
    }
}

namespace LSeg.Training.Bridge.Network.ImageEncoders;

/// <summary>
/// The table of image backbones by name: each entry builds an <see cref="IImageBackbone"/> from a configuration,
/// with pretrained weights or randomly initialised. Backbone choice lives here, not in branches of the network.
/// </summary>
/// <remarks>
/// Backbone families add their entries from their own files by implementing the partial methods below
/// (<c>AddVitBackbones</c>, <c>AddResNet101Backbones</c>).
/// </remarks>
public static partial class ImageBackboneCatalog
{
    /// <summary>Builds a backbone from the configuration and whether to load pretrained weights.</summary>
    public delegate IImageBackbone Factory(LSegNetConfig config, bool pretrained);

    private static readonly Dictionary<string, Factory> Factories = BuildTable();

    /// <summary>The backbone names the catalog knows, sorted.</summary>
    public static IReadOnlyList<string> Names => Factories.Keys.OrderBy(n => n, StringComparer.Ordinal).ToArray();

    /// <summary>Builds the backbone named by <see cref="LSegNetConfig.Backbone"/>.</summary>
    /// <exception cref="ArgumentException">The name is not in the catalog.</exception>
    public static IImageBackbone Create(LSegNetConfig config, bool pretrained)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (!Factories.TryGetValue(config.Backbone, out var factory))
            throw new ArgumentException($"Unknown backbone '{config.Backbone}'; known backbones: {string.Join(", ", Names)}.", nameof(config));
        return factory(config, pretrained);
    }

    private static Dictionary<string, Factory> BuildTable()
    {
        var table = new Dictionary<string, Factory>(StringComparer.Ordinal)
        {
            ["resnet18"] = (config, pretrained) => pretrained ? ResNet18Backbone.LoadPretrained() : new ResNet18Backbone(),
        };
        AddVitBackbones(table);
        AddResNet101Backbones(table);
        return table;
    }

    /// <summary>Adds <c>vit-b32-384</c> and <c>vit-l16-384</c> (implemented beside the ViT backbone).</summary>
    static partial void AddVitBackbones(Dictionary<string, Factory> table);

    /// <summary>Adds <c>resnet101</c> (implemented beside the ResNet-101 backbone).</summary>
    static partial void AddResNet101Backbones(Dictionary<string, Factory> table);
}

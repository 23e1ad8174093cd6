using LSeg.Training.Bridge.Network;
using LSeg.Training.Bridge.Network.ImageEncoders;

namespace LSeg.Training.Bridge.Tests.Backbones;

/// <summary>The catalog builds the ViT and ResNet-101 backbones by name, at published or reduced size.</summary>
public sealed class BackboneCatalogEntryTests
{
    [Fact]
    public void TheCatalogKnowsTheLargeBackbones()
    {
        Assert.Contains("vit-l16-384", ImageBackboneCatalog.Names);
        Assert.Contains("vit-b32-384", ImageBackboneCatalog.Names);
        Assert.Contains("resnet101", ImageBackboneCatalog.Names);
    }

    [Fact]
    public void WithoutAnOverrideTheVitPresetsAreUsedUnchanged()
    {
        Assert.Same(VitDptOptions.VitL16_384, ImageBackboneCatalog.ApplyOverride(VitDptOptions.VitL16_384, null));
        var same = ImageBackboneCatalog.ApplyOverride(VitDptOptions.VitB32_384, new BackboneSizeOverride());
        Assert.Equal([2, 5, 8, 11], same.Hooks);
        Assert.Equal([96, 192, 384, 768], same.FeatureChannels);
        Assert.Equal((768, 12, 12, 3072), (same.Width, same.Depth, same.Heads, same.MlpWidth));
    }

    [Fact]
    public void AReducedVitKeepsPatchSizeAndSpreadsTheHooksOverItsDepth()
    {
        var config = new LSegNetConfig { Backbone = "vit-l16-384", ReducedBackbone = new BackboneSizeOverride { Width = 64, Layers = 8, Heads = 4 } };
        using var backbone = (VitDptBackbone)ImageBackboneCatalog.Create(config, pretrained: false);
        var options = backbone.Options;
        Assert.Equal((16, 64, 8, 4, 256, 24), (options.PatchSize, options.Width, options.Depth, options.Heads, options.MlpWidth, options.PretrainedGrid));
        Assert.Equal([1, 3, 5, 7], options.Hooks);
        Assert.Equal([16, 32, 64, 64], backbone.FeatureChannels);
        Assert.Equal(PixelNormalization.HalfRange, backbone.PixelNormalization);
    }

    [Fact]
    public void AReducedResNet101KeepsItsLayout()
    {
        var config = new LSegNetConfig { Backbone = "resnet101", ReducedBackbone = new BackboneSizeOverride { Width = 8, Layers = 2 } };
        using var backbone = (ResNet101Backbone)ImageBackboneCatalog.Create(config, pretrained: false);
        Assert.Equal([32, 64, 128, 256], backbone.FeatureChannels);
        Assert.Equal([2, 2, 2, 2], backbone.Options.Blocks);
        Assert.Equal(PixelNormalization.ImageNet, backbone.PixelNormalization);

        var vitOnly = config with { ReducedBackbone = new BackboneSizeOverride { Heads = 4 } };
        var error = Assert.Throws<ArgumentException>(() => ImageBackboneCatalog.Create(vitOnly, pretrained: false));
        Assert.Contains("ViT", error.Message);
    }

    [Theory]
    [InlineData("vit-l16-384")]
    [InlineData("vit-b32-384")]
    [InlineData("resnet101")]
    public void AskingForPretrainedWeightsThatDoNotShipSaysSo(string name)
    {
        var error = Assert.Throws<NotSupportedException>(() => ImageBackboneCatalog.Create(new LSegNetConfig { Backbone = name }, pretrained: true));
        Assert.Contains(name, error.Message);
        Assert.Contains("pretrained: false", error.Message);
    }
}

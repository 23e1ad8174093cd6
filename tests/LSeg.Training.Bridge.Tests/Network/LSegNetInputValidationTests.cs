using LSeg.Training.Bridge.Network;
using static TorchSharp.torch;

namespace LSeg.Training.Bridge.Tests.Network;

public class LSegNetInputValidationTests
{
    private static LSegNet SmallNet() => LSegNet.Create(new LSegNetConfig { EmbeddingSize = 16, DecoderFeatures = 8 }, pretrainedBackbone: false);

    [Theory]
    [InlineData(100, 96)]
    [InlineData(96, 70)]
    public void SizeNotAMultipleOf32IsRejectedNamingTheRule(int height, int width)
    {
        using var net = SmallNet();
        using var pixels = zeros(1, 3, height, width);
        using var labels = ones(2, 16);
        var error = Assert.Throws<ArgumentException>(() => net.forward(pixels, labels));
        Assert.Contains("multiples of 32", error.Message);
        Assert.Contains($"{height}×{width}", error.Message);
        Assert.Equal("pixels", error.ParamName);
    }

    [Fact]
    public void WrongChannelCountIsRejectedNamingThreeChannels()
    {
        using var net = SmallNet();
        using var pixels = zeros(1, 4, 64, 64);
        using var labels = ones(2, 16);
        var error = Assert.Throws<ArgumentException>(() => net.forward(pixels, labels));
        Assert.Contains("3 channels", error.Message);
        Assert.Contains("got 4", error.Message);
    }

    [Fact]
    public void NoLabelsIsRejected()
    {
        using var net = SmallNet();
        using var pixels = zeros(1, 3, 64, 64);
        using var labels = zeros(0, 16);
        var error = Assert.Throws<ArgumentException>(() => net.forward(pixels, labels));
        Assert.Contains("N = 0", error.Message);
        Assert.Equal("labelEmbeddings", error.ParamName);
    }

    [Fact]
    public void LabelEmbeddingWidthOtherThanCIsRejectedNamingBoth()
    {
        using var net = SmallNet();
        using var pixels = zeros(1, 3, 64, 64);
        using var labels = ones(2, 12);
        var error = Assert.Throws<ArgumentException>(() => net.forward(pixels, labels));
        Assert.Contains("width 12", error.Message);
        Assert.Contains("is 16", error.Message);
    }

    [Fact]
    public void HeadRejectsPixelEmbeddingsOfAnotherWidth()
    {
        using var net = SmallNet();
        using var pixelEmbeddings = zeros(1, 8, 4, 4);
        using var labels = ones(2, 16);
        var error = Assert.Throws<ArgumentException>(() => net.Head(pixelEmbeddings, labels));
        Assert.Contains("[B, 16, h, w]", error.Message);
    }

    [Fact]
    public void UnknownBackboneIsRejectedListingTheKnownOnes()
    {
        var error = Assert.Throws<ArgumentException>(() => LSegNet.Create(new LSegNetConfig { Backbone = "vgg16" }, pretrainedBackbone: false));
        Assert.Contains("vgg16", error.Message);
        Assert.Contains("resnet18", error.Message);
    }

    [Fact]
    public void SpatialBlockWithoutDepthIsRejected()
    {
        var error = Assert.Throws<ArgumentException>(() => LSegNet.Create(new LSegNetConfig { SpatialBlock = SpatialBlock.Bottleneck, SpatialDepth = 0 }, pretrainedBackbone: false));
        Assert.Contains("depth of 1 to 4", error.Message);
    }
}

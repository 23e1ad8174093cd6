using LSeg.Training.Bridge.Network;
using LSeg.Training.Bridge.Training;
using static TorchSharp.torch;

namespace LSeg.Training.Bridge.Tests.Training;

/// <summary>
/// <c>train</c>: all, decoder, or the last N blocks of the backbone. The expected trainable parameters are written out
/// by hand from each backbone's state-dict layout.
/// </summary>
public class TrainablePartsTests
{
    private static readonly BackboneSizeOverride SmallVit = new() { Width = 64, Layers = 4, Heads = 1, MlpWidth = 128, Hooks = [0, 1, 2, 3], FeatureChannels = [8, 16, 32, 32] };

    private static LSegNet Net(string backbone, BackboneSizeOverride? size = null) =>
        LSegNet.Create(new LSegNetConfig { Backbone = backbone, EmbeddingSize = 8, DecoderFeatures = 8, ReducedBackbone = size }, pretrainedBackbone: false);

    private static string[] TrainableBackboneParameters(LSegNet net, string train, int blocks)
    {
        Trainer.FreezeParameters(net, TrainableParts.FrozenPrefixes(net, train, blocks));
        Assert.All(net.named_parameters().Where(p => p.name.StartsWith("scratch.", StringComparison.Ordinal)), p => Assert.True(p.parameter.requires_grad, p.name));
        return net.named_parameters().Where(p => p.parameter.requires_grad && p.name.StartsWith("pretrained.", StringComparison.Ordinal)).Select(p => p.name).ToArray();
    }

    [Fact]
    public void The_last_two_ResNet18_blocks_are_the_last_two_basic_blocks_of_its_four_stage()
    {
        using var net = Net("resnet18");

        var trained = TrainableBackboneParameters(net, "lastBlocks", 2);

        Assert.NotEmpty(trained);
        Assert.All(trained, name => Assert.True(name.StartsWith("pretrained.layer4.1.", StringComparison.Ordinal) || name.StartsWith("pretrained.layer4.2.", StringComparison.Ordinal), name));
        Assert.Contains("pretrained.layer4.1.conv1.weight", trained);
        Assert.Contains("pretrained.layer4.2.bn2.bias", trained);
    }

    [Fact]
    public void The_last_ViT_block_is_its_last_transformer_block_and_the_reassemble_stages_stay_frozen()
    {
        using var net = Net("vit-l16-384", SmallVit);

        var trained = TrainableBackboneParameters(net, "lastBlocks", 1);

        Assert.NotEmpty(trained);
        Assert.All(trained, name => Assert.StartsWith("pretrained.model.blocks.3.", name));
    }

    [Fact]
    public void The_last_two_ResNet101_blocks_are_the_bottlenecks_of_its_last_two_stages()
    {
        using var net = Net("resnet101", new BackboneSizeOverride { Width = 8, Layers = 1 });

        var trained = TrainableBackboneParameters(net, "lastBlocks", 2);

        Assert.Contains(trained, name => name.StartsWith("pretrained.layer3.0.", StringComparison.Ordinal));
        Assert.Contains(trained, name => name.StartsWith("pretrained.layer4.0.", StringComparison.Ordinal));
        Assert.All(trained, name => Assert.True(name.StartsWith("pretrained.layer3.0.", StringComparison.Ordinal) || name.StartsWith("pretrained.layer4.0.", StringComparison.Ordinal), name));
    }

    [Fact]
    public void Decoder_only_freezes_the_whole_backbone_and_all_freezes_nothing()
    {
        using var decoderOnly = Net("vit-b32-384", SmallVit);
        using var everything = Net("vit-b32-384", SmallVit);

        Assert.Empty(TrainableBackboneParameters(decoderOnly, "decoder", 0));
        Assert.Equal(everything.named_parameters().Count(p => p.name.StartsWith("pretrained.", StringComparison.Ordinal)), TrainableBackboneParameters(everything, "all", 0).Length);
    }

    [Fact]
    public void A_frozen_backbone_stays_out_of_the_autograd_graph()
    {
        using var net = Net("vit-b32-384", SmallVit);
        Trainer.FreezeParameters(net, TrainableParts.FrozenPrefixes(net, "decoder", 0));
        net.train();
        using var scope = NewDisposeScope();

        var features = net.Backbone.forward(rand(1, 3, 64, 64) * 255);
        var logits = net.forward(rand(1, 3, 64, 64) * 255, randn(3, 8));

        // No gradient is needed below the decoder, so autograd records nothing there (and keeps no activation for it).
        Assert.False(features.Layer4.requires_grad);
        Assert.True(logits.requires_grad);
    }

    [Fact]
    public void More_blocks_than_the_backbone_has_are_refused_with_both_counts()
    {
        using var net = Net("resnet18");

        var error = Assert.Throws<InvalidDataException>(() => TrainableParts.FrozenPrefixes(net, "lastBlocks", 10));

        Assert.Contains("trainBlocks is 10, but the resnet18 backbone has 9 blocks", error.Message);
    }

    [Theory]
    [InlineData(null, true, "vit-l16-384", "decoder")]
    [InlineData(null, true, "resnet101", "decoder")]
    [InlineData(null, true, "resnet18", "all")]
    [InlineData(null, false, "resnet18", "all")]
    [InlineData("lastBlocks", true, "vit-l16-384", "lastBlocks")]
    public void Without_a_setting_large_backbones_fine_tune_their_decoder_and_the_rest_trains_all(string? configured, bool fineTuning, string backbone, string expected)
    {
        Assert.Equal(expected, TrainableParts.Resolve(configured, fineTuning, backbone));
    }
}

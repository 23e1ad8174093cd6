using LSeg.Training.Bridge.Network;
using static TorchSharp.torch;

namespace LSeg.Training.Bridge.Tests.Network;

public class LSegNetStructureTests
{
    [Fact]
    public void StateDictKeysFollowTheOfficialCheckpointWithoutItsNetPrefix()
    {
        using var net = LSegNet.Create(new LSegNetConfig { EmbeddingSize = 16, DecoderFeatures = 8, SpatialBlock = SpatialBlock.Depthwise, SpatialDepth = 2 }, pretrainedBackbone: false);
        var keys = net.state_dict().Keys.ToHashSet();
        string[] official =
        [
            "scratch.layer1_rn.weight", "scratch.layer4_rn.weight",
            "scratch.refinenet4.resConfUnit1.conv1.weight", "scratch.refinenet4.resConfUnit2.conv1.weight",
            "scratch.refinenet1.resConfUnit1.bn2.running_var", "scratch.refinenet1.out_conv.weight", "scratch.refinenet1.out_conv.bias",
            "scratch.head1.weight", "scratch.head1.bias",
            "scratch.head_block.depthwise.depthwise.weight", "scratch.head_block.depthwise.depthwise.bias",
            "pretrained.conv1.weight", "pretrained.layer4.2.conv2.weight",
        ];
        foreach (string key in official)
            Assert.Contains(key, keys);
        Assert.DoesNotContain("scratch.layer1_rn.bias", keys); // projections have no bias
        Assert.DoesNotContain("scratch.refinenet1.resConfUnit1.conv1.bias", keys);
        Assert.All(keys, k => Assert.True(k.StartsWith("pretrained.", StringComparison.Ordinal) || k.StartsWith("scratch.", StringComparison.Ordinal), k));
        Assert.Equal([16L, 8, 1, 1], net.state_dict()["scratch.head1.weight"].shape);
    }

    [Fact]
    public void ParameterGroupsSplitBackboneFromDecoderAndCoverEverything()
    {
        using var net = LSegNet.Create(new LSegNetConfig { EmbeddingSize = 16, DecoderFeatures = 8, SpatialBlock = SpatialBlock.Bottleneck, SpatialDepth = 1 }, pretrainedBackbone: false);
        long backbone = net.BackboneParameters().Sum(p => p.numel());
        long decoder = net.DecoderParameters().Sum(p => p.numel());
        Assert.Equal(net.parameters().Sum(p => p.numel()), backbone + decoder);
        // torchvision's ResNet18 (11,689,512) without its 1000-class fc (513,000), plus the CNTK graph's third block in
        // the last stage: two 3×3 convs 512→512 and two BatchNorms (2 × 2,359,296 + 2 × 1,024).
        Assert.Equal(11_689_512 - 513_000 + 2 * 2_359_296 + 2 * 1_024, backbone);
    }

    [Fact]
    public void ShapesFollowTheContract()
    {
        using var net = LSegNet.Create(new LSegNetConfig { EmbeddingSize = 16, DecoderFeatures = 8 }, pretrainedBackbone: false);
        net.eval();
        using var noGrad = no_grad();
        using var pixels = rand(2, 3, 96, 160) * 255;
        using var labels = randn(5, 16);
        using var embeddings = net.EncodeImage(pixels);
        Assert.Equal([2L, 16, 48, 80], embeddings.shape);
        using var logits = net.forward(pixels, labels);
        Assert.Equal([2L, 5, 96, 160], logits.shape);
        using var head = net.Head(embeddings, labels);
        Assert.True(head.allclose(logits, rtol: 0, atol: 0));
    }

    [Fact]
    public void CheckpointRoundTripRestoresConfigurationAndWeights()
    {
        var config = new LSegNetConfig { EmbeddingSize = 16, DecoderFeatures = 8, SpatialBlock = SpatialBlock.Bottleneck, SpatialDepth = 2, Activation = SpatialActivation.Tanh, Temperature = 0.1 };
        random.manual_seed(9);
        using var net = LSegNet.Create(config, pretrainedBackbone: false);
        net.eval();
        string path = Path.Combine(Path.GetTempPath(), $"lseg-checkpoint-{Guid.NewGuid():N}.bin");
        try
        {
            net.SaveCheckpoint(path);
            using var loaded = LSegNet.LoadCheckpoint(path);
            loaded.eval();
            Assert.Equal(config, loaded.Config);
            using var noGrad = no_grad();
            using var pixels = rand(1, 3, 64, 96) * 255;
            using var labels = randn(3, 16);
            using var expected = net.forward(pixels, labels);
            using var actual = loaded.forward(pixels, labels);
            Assert.True(expected.allclose(actual, rtol: 0, atol: 0));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void LoadingSomethingElseThanACheckpointSaysSo()
    {
        string path = Path.Combine(Path.GetTempPath(), $"lseg-not-a-checkpoint-{Guid.NewGuid():N}.bin");
        File.WriteAllText(path, "hello");
        try
        {
            var error = Assert.Throws<InvalidDataException>(() => LSegNet.LoadCheckpoint(path));
            Assert.Contains("checkpoint", error.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }
}

using LSeg.Training.Bridge.Network;
using LSeg.Training.Bridge.Training;
using static TorchSharp.torch;

namespace LSeg.Training.Bridge.Tests.Training;

public class FreezeTests
{
    private static LSegNet SmallNet() => LSegNet.Create(new LSegNetConfig { Backbone = "resnet18", EmbeddingSize = 8, DecoderFeatures = 8 }, pretrainedBackbone: false);

    [Fact]
    public void FrozenPartsGetNoGradientAndTheRestStillDoes()
    {
        using var net = SmallNet();
        var frozen = Trainer.FreezeParameters(net, ["pretrained.conv1", "pretrained.bn1", "pretrained.layer1"]);
        net.train();
        foreach (var module in frozen)
            module.eval();
        using var scope = NewDisposeScope();

        var logits = net.forward(rand(2, 3, 64, 64) * 255, randn(3, 8));
        logits.sum().backward();

        foreach (var (name, parameter) in net.named_parameters())
        {
            bool isFrozen = name.StartsWith("pretrained.conv1", StringComparison.Ordinal) || name.StartsWith("pretrained.bn1", StringComparison.Ordinal)
                || name.StartsWith("pretrained.layer1.", StringComparison.Ordinal);
            Assert.Equal(!isFrozen, parameter.requires_grad);
            if (isFrozen)
                Assert.Null(parameter.grad);
            else if (name.StartsWith("pretrained.layer2.", StringComparison.Ordinal))
                Assert.NotNull(parameter.grad);
        }
        Assert.All(frozen, m => Assert.False(m.training));
    }

    [Fact]
    public void AFrozenBatchNormKeepsItsRunningStatistics()
    {
        using var net = SmallNet();
        var before = net.state_dict()["pretrained.bn1.running_mean"].clone();
        var frozen = Trainer.FreezeParameters(net, ["pretrained.bn1"]);
        net.train();
        foreach (var module in frozen)
            module.eval();

        using (no_grad())
            net.forward(rand(2, 3, 64, 64) * 255, randn(3, 8));

        Assert.True(before.allclose(net.state_dict()["pretrained.bn1.running_mean"], rtol: 0, atol: 0));
        Assert.False(net.state_dict()["pretrained.layer1.0.bn1.running_mean"].allclose(zeros(64), rtol: 0, atol: 0));
    }

    [Fact]
    public void APrefixThatNamesNothingIsRefusedByName()
    {
        using var net = SmallNet();
        var error = Assert.Throws<InvalidDataException>(() => Trainer.FreezeParameters(net, ["pretrained.layer9"]));
        Assert.Contains("'pretrained.layer9' names no part of the network", error.Message);
    }
}

using LSeg.Training.Bridge.Data;
using LSeg.Training.Bridge.Evaluation;
using LSeg.Training.Bridge.Network;
using LSeg.Training.Bridge.Training;

namespace LSeg.Training.Bridge.Tests.Evaluation;

public class TorchSegmenterTests
{
    [Fact]
    public void ALabelMapComesBackAtTheImageSizeForOddSizesScalesAndFlip()
    {
        TorchSharp.torch.manual_seed(1);
        using var net = LSegNet.Create(new LSegNetConfig { Backbone = "resnet18", EmbeddingSize = 8, DecoderFeatures = 8 }, pretrainedBackbone: false);
        using var table = LabelEmbeddingTable.Learnable(["a", "b", "c"], 8, seed: 1);
        var image = new RgbImage(45, 37, Enumerable.Range(0, 45 * 37 * 3).Select(i => (byte)(i * 31 % 251)).ToArray());
        var segmenter = new TorchSegmenter(net, table, longSide: 64, scales: [0.5, 1.0], flip: true);

        int[] map = segmenter.Predict(image, ["c", "a"]);

        Assert.Equal(45 * 37, map.Length);
        Assert.All(map, v => Assert.InRange(v, 0, 1));
    }

    [Fact]
    public void AFixedLabelClassifierRefusesALabelItWasNotTrainedWith()
    {
        using var table = LabelEmbeddingTable.Learnable(["a", "b"], 4, seed: 1);

        var error = Assert.Throws<ArgumentException>(() => table.Lookup(["a", "zebra"]));

        Assert.Contains("zebra", error.Message);
    }
}

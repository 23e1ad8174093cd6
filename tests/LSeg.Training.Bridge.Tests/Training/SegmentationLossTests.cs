using LSeg.Training.Bridge.Data;
using LSeg.Training.Bridge.Training;
using static TorchSharp.torch;

namespace LSeg.Training.Bridge.Tests.Training;

public class SegmentationLossTests
{
    [Fact]
    public void CrossEntropyIgnoresVoidPixelsAndAveragesTheOthers()
    {
        // One pixel per sample column: logits for 2 labels at 3 pixels; pixel 2 is void.
        using var logits = tensor(new float[] { 2, 0, 1, /* label 1: */ 0, 0, 5 }, [1, 2, 1, 3]);
        using var targets = tensor(new long[] { 0, 1, Augmenter.IgnoreTarget }, [1, 1, 3]);

        using var loss = SegmentationLoss.CrossEntropy(logits, targets);

        // By hand: −log softmax: pixel 0 → log(1 + e^−2); pixel 1 → log(1 + e^0) = log 2.
        double expected = (Math.Log(1 + Math.Exp(-2)) + Math.Log(2)) / 2;
        Assert.Equal(expected, loss.item<float>(), 5);
    }

    [Fact]
    public void WithLabelWeightsEachPixelCountsByItsTargetsWeightAndTheMeanDividesByTheWeights()
    {
        // The same three pixels, label 1 weighted 4.
        using var logits = tensor(new float[] { 2, 0, 1, /* label 1: */ 0, 0, 5 }, [1, 2, 1, 3]);
        using var targets = tensor(new long[] { 0, 1, Augmenter.IgnoreTarget }, [1, 1, 3]);
        using var weights = tensor(new float[] { 1, 4 });

        using var loss = SegmentationLoss.CrossEntropy(logits, targets, weights);

        // By hand: (1 · log(1 + e^−2) + 4 · log 2) / (1 + 4); the void pixel counts in neither sum.
        double expected = (Math.Log(1 + Math.Exp(-2)) + 4 * Math.Log(2)) / 5;
        Assert.Equal(expected, loss.item<float>(), 5);
    }

    [Fact]
    public void AnEpisodeScoresEachSampleBetweenOtherAndItsOwnForeground()
    {
        // Two samples, labels [other, a, b], one pixel each. Sample 0's foreground is a (index 0 → channel 1),
        // sample 1's is b (index 1 → channel 2). Sample 0's pixel is foreground, sample 1's background.
        using var logits = tensor(new float[] { 0, 3, 9, /* sample 1: */ 1, 7, 2 }, [2, 3, 1, 1]);
        using var targets = tensor(new long[] { 1, 0 }, [2, 1, 1]);

        using var loss = SegmentationLoss.EpisodeCrossEntropy(logits, targets, [0, 1]);

        // Sample 0: 2-way (other 0, a 3), target a → log(1 + e^−3). Sample 1: (other 1, b 2), target other → log(1 + e^1).
        // The 9 and 7 (labels outside each sample's episode) must not matter.
        double expected = (Math.Log(1 + Math.Exp(-3)) + Math.Log(1 + Math.Exp(1))) / 2;
        Assert.Equal(expected, loss.item<float>(), 5);
    }
}

using LSeg.Training.Bridge.Network;
using static TorchSharp.torch;

namespace LSeg.Training.Bridge.Tests.Network;

public class WordPixelCorrelationTests
{
    [Fact]
    public void LogitIsCosineOverTemperature()
    {
        using var correlation = new WordPixelCorrelation(0.07);
        // One pixel (3, 4) and two labels (2, 0) and (0, -5): cosines 0.6 and -0.8, divided by 0.07.
        using var pixels = tensor(new float[] { 3, 4 }, [1, 2, 1, 1]);
        using var labels = tensor(new float[] { 2, 0, 0, -5 }, [2, 2]);
        using var logits = correlation.forward(pixels, labels);
        Assert.Equal([1L, 2, 1, 1], logits.shape);
        float[] values = logits.data<float>().ToArray();
        Assert.Equal(0.6 / 0.07, values[0], 5);
        Assert.Equal(-0.8 / 0.07, values[1], 5);
    }

    [Fact]
    public void ZeroPixelEmbeddingGivesZeroLogitsInsteadOfNaN()
    {
        using var correlation = new WordPixelCorrelation(0.07);
        using var pixels = zeros(1, 2, 1, 1);
        using var labels = tensor(new float[] { 1, 0 }, [1, 2]);
        using var logits = correlation.forward(pixels, labels);
        Assert.Equal(0f, logits.data<float>()[0]);
    }
}

using LSeg.Training.Bridge.Data;

namespace LSeg.Training.Bridge.Tests.Data;

public class ClassFrequencyWeightsTests
{
    [Fact]
    public void MedianFrequencyWeightsAreTheMedianFrequencyOverEachClasssFrequencyCountedOverTheImagesThatShowIt()
    {
        // TestDatasetFolder draws every 40×30 image the same way: a void column (x = 0), sky above y = 10, a cow block
        // at x > 20 and y > 15, grass elsewhere. Labelled pixels per image: 39 × 30 = 1,170; sky 39 × 10 = 390; cow
        // 19 × 14 = 266; grass 1,170 − 390 − 266 = 514. Every image shows all three classes, so the frequencies are
        // 390 / 1,170, 514 / 1,170 and 266 / 1,170, and the median is sky's.
        using var folder = new TestDatasetFolder(images: 3, width: 40, height: 30);
        var dataset = FolderDataset.Load(folder.Options());
        var labelSet = new TrainingLabelSet(dataset);

        var weights = ClassFrequencyWeights.MedianFrequency(dataset, labelSet);

        Assert.Equal(["cow", "grass", "sky"], weights.Keys.Order());
        Assert.Equal(1.0, weights["sky"], 5);
        Assert.Equal(390.0 / 514, weights["grass"], 5);
        Assert.Equal(390.0 / 266, weights["cow"], 5);
    }

    [Fact]
    public void AClassLeftOutOfTrainingHasNoWeightAndTheMedianIsTakenOverTheOthers()
    {
        // Without the cow (a zero-shot unseen class: its pixels are ignored), the frequencies of sky and grass are
        // counted over the 1,170 − 266 = 904 pixels still labelled, and the median of two is their mean.
        using var folder = new TestDatasetFolder(images: 3, width: 40, height: 30);
        var dataset = FolderDataset.Load(folder.Options());
        var labelSet = new TrainingLabelSet(dataset, ["cow"]);

        var weights = ClassFrequencyWeights.MedianFrequency(dataset, labelSet);

        double sky = 390.0 / 904, grass = 514.0 / 904, median = (sky + grass) / 2;
        Assert.Equal(["grass", "sky"], weights.Keys.Order());
        Assert.Equal(median / sky, weights["sky"], 5);
        Assert.Equal(median / grass, weights["grass"], 5);
    }
}

using LSeg.Training.Bridge.Data;

namespace LSeg.Training.Bridge.Tests.Data;

public sealed class RepeatFactorsTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "lseg-repeat-" + Guid.NewGuid().ToString("N"));

    public RepeatFactorsTests()
    {
        // Ten 8×6 images: every one shows sky (1) and grass (2); only img0 shows a cow (3) and only img1 a horse (4),
        // which is otherwise void-free; img2 has a void (0) corner, which must not count as a class.
        Directory.CreateDirectory(Path.Combine(_root, "images"));
        Directory.CreateDirectory(Path.Combine(_root, "labels"));
        File.WriteAllText(Path.Combine(_root, "classes.txt"), "0\tvoid\n1\tsky\n2\tgrass\n3\tcow\n4\thorse\n");
        for (int i = 0; i < 10; i++)
        {
            var labels = new byte[8 * 6];
            for (int p = 0; p < labels.Length; p++)
                labels[p] = (byte)(p < 16 ? 1 : 2);
            if (i is 0 or 1)
                labels[40] = (byte)(i == 0 ? 3 : 4);
            if (i == 2)
                labels[47] = 0;
            new LabelMap(8, 6, labels).Save(Path.Combine(_root, "labels", $"img{i}.png"));
            TestDatasetFolder.WritePng(Path.Combine(_root, "images", $"img{i}.png"), 8, 6, (_, _) => (100, 100, 100));
        }
    }

    private FolderDataset Load() => FolderDataset.Load(new FolderDatasetOptions { Name = "rare", Folder = _root });

    [Fact]
    public void AnImageShowingARareClassIsRepeatedBySquareRootOfThresholdOverTheClassImageShare()
    {
        var dataset = Load();
        var factors = RepeatFactors.Of(dataset, new TrainingLabelSet(dataset), threshold: 0.4);

        // cow and horse are each in 1 of 10 images: √(0.4 / 0.1) = 2. sky and grass are in all: max(1, √0.4) = 1.
        var byName = dataset.Samples.Select((s, i) => (s.Name, factors[i])).ToDictionary(p => p.Name, p => p.Item2);
        Assert.Equal(2.0, byName["img0"], 10);
        Assert.Equal(2.0, byName["img1"], 10);
        Assert.All(Enumerable.Range(2, 8), i => Assert.Equal(1.0, byName[$"img{i}"], 10));
    }

    [Fact]
    public void AClassLeftOutOfTrainingNeverRaisesAFactor()
    {
        var dataset = Load();
        var factors = RepeatFactors.Of(dataset, new TrainingLabelSet(dataset, ["horse"]), threshold: 0.4);

        var byName = dataset.Samples.Select((s, i) => (s.Name, factors[i])).ToDictionary(p => p.Name, p => p.Item2);
        Assert.Equal(2.0, byName["img0"], 10);
        Assert.Equal(1.0, byName["img1"], 10);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.5)]
    [InlineData(double.NaN)]
    public void AThresholdOutsideZeroToOneIsRefused(double threshold)
    {
        var dataset = Load();
        Assert.Throws<ArgumentOutOfRangeException>(() => RepeatFactors.Of(dataset, new TrainingLabelSet(dataset), threshold));
    }

    [Fact]
    public void AnEpochDrawsEachSampleTheFloorOrCeilingOfItsFactorAndItsFactorOnAverage()
    {
        double[] factors = [1, 1, 2.5, 1, 1.25, 1];
        var total = new double[factors.Length];
        const int epochs = 400;
        for (int epoch = 0; epoch < epochs; epoch++)
        {
            // Batches of one keep every draw, so the counts are the sampler's own.
            var plan = BatchPlan.ForEpoch([6], 1, seed: 3, epoch, repeatFactors: [factors]);
            var counts = new int[factors.Length];
            foreach (int i in plan.SelectMany(b => b.Samples))
                counts[i]++;
            Assert.InRange(counts.Sum(), 7, 8); // Σr = 7.75
            for (int i = 0; i < factors.Length; i++)
            {
                Assert.InRange(counts[i], Math.Floor(factors[i]), Math.Ceiling(factors[i]));
                total[i] += counts[i];
            }
        }
        Assert.Equal(2.5, total[2] / epochs, 1);
        Assert.Equal(1.25, total[4] / epochs, 1);
    }

    [Fact]
    public void RepeatFactorsAndSamplesPerEpochForOneDatasetAreRefused()
    {
        var error = Assert.Throws<ArgumentException>(() => BatchPlan.ForEpoch([4], 2, 1, 0, samplesPerEpoch: [8], repeatFactors: [[1, 1, 2, 1]]));
        Assert.Contains("both samplesPerEpoch and repeat factors", error.Message);
    }

    [Fact]
    public void FactorsOfOneGiveEverySampleOnce()
    {
        var plan = BatchPlan.ForEpoch([10, 7], 4, seed: 5, epoch: 2, repeatFactors: [Enumerable.Repeat(1.0, 10).ToArray(), null]);

        Assert.Equal(Enumerable.Range(0, 10), plan.Where(b => b.Dataset == 0).SelectMany(b => b.Samples).Order());
        Assert.Equal(Enumerable.Range(0, 7), plan.Where(b => b.Dataset == 1).SelectMany(b => b.Samples).Order());
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

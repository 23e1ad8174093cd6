using LSeg.Training.Bridge.Data;

namespace LSeg.Training.Bridge.Tests.Data;

public class BatchingTests
{
    [Fact]
    public void AnEpochPlanCoversEverySampleOnceAndNeverMixesDatasets()
    {
        var plan = BatchPlan.ForEpoch([10, 7], batchSize: 4, seed: 1, epoch: 0);

        // 10 → 4+4+2, 7 → 4+3: five batches.
        Assert.Equal(5, plan.Count);
        Assert.Equal(Enumerable.Range(0, 10), plan.Where(b => b.Dataset == 0).SelectMany(b => b.Samples).Order());
        Assert.Equal(Enumerable.Range(0, 7), plan.Where(b => b.Dataset == 1).SelectMany(b => b.Samples).Order());
    }

    [Fact]
    public void PlansAreReproducibleForASeedAndEpochAndDifferAcrossEpochs()
    {
        var a = BatchPlan.ForEpoch([20, 20], 4, seed: 7, epoch: 3);
        var b = BatchPlan.ForEpoch([20, 20], 4, seed: 7, epoch: 3);
        var c = BatchPlan.ForEpoch([20, 20], 4, seed: 7, epoch: 4);

        Assert.Equal(a.Select(p => (p.Dataset, string.Join(",", p.Samples))), b.Select(p => (p.Dataset, string.Join(",", p.Samples))));
        Assert.NotEqual(a.Select(p => string.Join(",", p.Samples)), c.Select(p => string.Join(",", p.Samples)));
    }

    [Fact]
    public void ASingleLeftoverSampleIsDroppedBecauseBatchNormNeedsTwo()
    {
        var plan = BatchPlan.ForEpoch([5], 4, seed: 1, epoch: 0);

        Assert.Single(plan);
        Assert.Equal(4, plan[0].Samples.Length);
    }

    [Fact]
    public void ExcludedClassesBecomeIgnoredAndTheirNamesLeaveTheLabelSet()
    {
        using var folder = new TestDatasetFolder(images: 1);
        var dataset = FolderDataset.Load(folder.Options());

        var labels = new TrainingLabelSet(dataset, ["cow"]);

        Assert.Equal(new[] { "sky", "grass" }, labels.Texts);
        Assert.Equal(0, labels.TargetOfValue[1]);
        Assert.Equal(1, labels.TargetOfValue[2]);
        Assert.Equal(Augmenter.IgnoreTarget, labels.TargetOfValue[3]);
        Assert.Equal(Augmenter.IgnoreTarget, labels.TargetOfValue[0]);
    }

    [Fact]
    public void AnEpisodeMakesThePickedClassForegroundAndEveryOtherLabelBackground()
    {
        byte ignore = Augmenter.IgnoreTarget;
        var targets = new byte[] { 0, 0, 2, 2, ignore, 5 };

        int chosen = TrainingBatchBuilder.MakeEpisode(targets, labelCount: 6, new Random(0));

        Assert.Contains(chosen, new[] { 0, 2, 5 });
        var expected = new byte[] { 0, 0, 2, 2, ignore, 5 }.Select(t => t == ignore ? ignore : t == chosen ? (byte)1 : (byte)0);
        Assert.Equal(expected, targets);
    }

    [Fact]
    public void AnEpisodeOfACropWithoutLabelsIgnoresEveryPixel()
    {
        var targets = Enumerable.Repeat(Augmenter.IgnoreTarget, 4).ToArray();

        TrainingBatchBuilder.MakeEpisode(targets, 3, new Random(0));

        Assert.All(targets, t => Assert.Equal(Augmenter.IgnoreTarget, t));
    }

    [Fact]
    public void BuiltBatchesAreDeterministicAndEpisodeBatchesCarryOneForegroundPerSample()
    {
        using var folder = new TestDatasetFolder(images: 4, width: 64, height: 48);
        var dataset = FolderDataset.Load(folder.Options());
        var labelSet = new TrainingLabelSet(dataset);
        var augmenter = new Augmenter(new AugmentationOptions { CropHeight = 32, CropWidth = 32 });
        var builder = new TrainingBatchBuilder([dataset], [labelSet], augmenter, seed: 3, new LabelSamplingOptions { EpisodeProbability = 1 });
        var planned = new PlannedBatch(0, [0, 1, 2]);

        var a = builder.Build(planned, epoch: 0, batchIndex: 5);
        var b = builder.Build(planned, epoch: 0, batchIndex: 5);

        Assert.Equal(a.Pixels, b.Pixels);
        Assert.Equal(a.Targets, b.Targets);
        Assert.NotNull(a.EpisodeLabels);
        Assert.Equal(3, a.EpisodeLabels!.Length);
        Assert.All(a.Targets, t => Assert.True(t is 0 or 1 || t == Augmenter.IgnoreTarget));
    }
}

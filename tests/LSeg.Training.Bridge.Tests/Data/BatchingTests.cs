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
    public void SamplesPerEpochDrawsADifferentSubsetOfALargeDatasetEachEpoch()
    {
        var epoch0 = BatchPlan.ForEpoch([40, 6], 4, seed: 1, epoch: 0, samplesPerEpoch: [12, null]);
        var epoch1 = BatchPlan.ForEpoch([40, 6], 4, seed: 1, epoch: 1, samplesPerEpoch: [12, null]);

        int[] drawn0 = [.. epoch0.Where(b => b.Dataset == 0).SelectMany(b => b.Samples).Order()];
        int[] drawn1 = [.. epoch1.Where(b => b.Dataset == 0).SelectMany(b => b.Samples).Order()];
        Assert.Equal(12, drawn0.Distinct().Count());
        Assert.All(drawn0, i => Assert.InRange(i, 0, 39));
        Assert.NotEqual(drawn0, drawn1);
        // The unweighted dataset still gives each of its samples once.
        Assert.Equal(Enumerable.Range(0, 6), epoch0.Where(b => b.Dataset == 1).SelectMany(b => b.Samples).Order());
    }

    [Fact]
    public void SamplesPerEpochAboveTheDatasetSizeRepeatsWholePassesThenARemainder()
    {
        var plan = BatchPlan.ForEpoch([5], 4, seed: 3, epoch: 0, samplesPerEpoch: [12]);

        var counts = plan.SelectMany(b => b.Samples).GroupBy(i => i).ToDictionary(g => g.Key, g => g.Count());
        // 12 = two passes over 5 samples + 2 more: every sample at least twice, 12 in all, in 4+4+4 batches.
        Assert.Equal(3, plan.Count);
        Assert.Equal(12, counts.Values.Sum());
        Assert.All(Enumerable.Range(0, 5), i => Assert.InRange(counts[i], 2, 3));
    }

    [Fact]
    public void LeavingSamplesPerEpochOutGivesTheSamePlanAsBefore()
    {
        var plain = BatchPlan.ForEpoch([10, 7], 4, seed: 5, epoch: 2);
        var weighted = BatchPlan.ForEpoch([10, 7], 4, seed: 5, epoch: 2, samplesPerEpoch: [null, 7]);

        Assert.Equal(plain.Select(p => (p.Dataset, string.Join(",", p.Samples))), weighted.Select(p => (p.Dataset, string.Join(",", p.Samples))));
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

    [Fact]
    public void LabelNamesThatGiveTwoClassesOneTextAreRefusedNamingBoth()
    {
        using var folder = new TestDatasetFolder(images: 1);
        var options = folder.Options();
        options.LabelNames = new Dictionary<string, string> { ["cow"] = "Grass " };

        var error = Assert.Throws<InvalidDataException>(() => FolderDataset.Load(options));

        Assert.Contains("classes 'grass' and 'cow' would both be labelled 'grass'", error.Message);
        options.LabelNames = new Dictionary<string, string> { ["cow"] = "cattle" };
        Assert.Equal("cattle", FolderDataset.Load(options).TextLabels[3]);
    }
}

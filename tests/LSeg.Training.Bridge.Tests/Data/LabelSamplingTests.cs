using LSeg.Training.Bridge.Data;

namespace LSeg.Training.Bridge.Tests.Data;

public class LabelSamplingTests
{
    [Fact]
    public void ASubsetKeepsSomePresentLabelsAndSendsTheOthersToOther()
    {
        // Targets over the labels [sky, grass, cow]: sky and cow present, grass absent, one ignored pixel.
        byte[] targets = [0, 0, 2, 2, 2, Augmenter.IgnoreTarget];
        string[] texts = ["sky", "grass", "cow"];
        for (int seed = 0; seed < 50; seed++)
        {
            var copy = targets.ToArray();

            var labels = TrainingBatchBuilder.MakeSubset(copy, texts, keep: 0.5, new Random(seed));

            // Only present labels may be kept; "other" always comes last; an absent label is never offered.
            Assert.Equal("other", labels[^1]);
            Assert.DoesNotContain("grass", labels);
            Assert.InRange(labels.Count, 2, 3);
            for (int i = 0; i < targets.Length; i++)
            {
                if (targets[i] == Augmenter.IgnoreTarget)
                {
                    Assert.Equal(Augmenter.IgnoreTarget, copy[i]);
                    continue;
                }
                string truth = texts[targets[i]];
                string expected = labels.Contains(truth) ? truth : "other";
                Assert.Equal(expected, labels[copy[i]]);
            }
        }
    }

    [Fact]
    public void OverTheDrawsEveryPresentLabelIsSometimesKeptAndSometimesLeftToOther()
    {
        string[] texts = ["sky", "grass", "cow"];
        var kept = new Dictionary<string, int> { ["sky"] = 0, ["cow"] = 0 };
        for (int seed = 0; seed < 200; seed++)
        {
            var labels = TrainingBatchBuilder.MakeSubset(new byte[] { 0, 2 }, texts, keep: 0.5, new Random(seed));
            foreach (string label in labels.Where(kept.ContainsKey))
                kept[label]++;
        }
        Assert.All(kept.Values, count => Assert.InRange(count, 60, 190));
    }

    [Fact]
    public void DistractorsComeFromOtherDatasetsAndNeverOverlapWhatIsPresentOrExcluded()
    {
        using var a = new TestDatasetFolder(images: 1);
        var sky = FolderDataset.Load(a.Options()); // sky, grass, cow
        var own = new TrainingLabelSet(sky);
        var other = FakeLabelSet(["sky", "shirt", "jeans", "horse", "pole", "sign"]);
        var overlaps = new Dictionary<string, string[]> { ["cow"] = ["horse"], ["pole"] = ["grass"] };

        var vocabulary = new DistractorVocabulary([own, other], overlaps, excluded: ["jeans"]);

        // "sky" is an own label, "jeans" is excluded (zero-shot unseen): neither can be drawn.
        Assert.Equal(["horse", "pole", "shirt", "sign"], vocabulary.PoolOf(0));
        for (int seed = 0; seed < 30; seed++)
        {
            var drawn = vocabulary.Draw(0, ["grass", "cow"], 4, new Random(seed));
            // cow blocks horse, grass blocks pole (the table is read both ways): only shirt and sign remain.
            Assert.Equal(["shirt", "sign"], drawn.Order(StringComparer.Ordinal));
        }
        Assert.Equal(3, vocabulary.Draw(0, ["sky"], 3, new Random(1)).Distinct().Count());
    }

    [Fact]
    public void FullSetBatchesGetDistractorsThatAreNeverTargets()
    {
        using var a = new TestDatasetFolder(images: 3, width: 64, height: 48);
        var dataset = FolderDataset.Load(a.Options());
        var own = new TrainingLabelSet(dataset);
        var other = FakeLabelSet(["shirt", "jeans", "horse"]);
        var augmenter = new Augmenter(new AugmentationOptions { CropHeight = 32, CropWidth = 32 });
        var sampling = new LabelSamplingOptions { Distractors = 2 };
        var builder = new TrainingBatchBuilder([dataset], [own], augmenter, seed: 7, sampling, new DistractorVocabulary([own, other]));

        var batch = builder.Build(new PlannedBatch(0, [0, 1]), epoch: 0, batchIndex: 0);

        Assert.Equal(["sky", "grass", "cow"], batch.Labels.Take(3));
        Assert.Equal(5, batch.Labels.Count);
        Assert.All(batch.Labels.Skip(3), name => Assert.Contains(name, new[] { "shirt", "jeans", "horse" }));
        Assert.All(batch.Targets, t => Assert.True(t < 3 || t == Augmenter.IgnoreTarget));
    }

    [Fact]
    public void Subset_batches_draw_no_distractor_that_overlaps_a_name_the_crops_show()
    {
        // Every batch is a subset keeping (nearly always) one present label, the others folded into "other"; "horse" overlaps "cow".
        // A subset rewrites the targets to index its own list, so the names present must be read before it: read after,
        // target 0 (the kept cow) was taken for "sky", and "horse" was offered as absent on a cow.
        using var a = new TestDatasetFolder(images: 3, width: 64, height: 48);
        var dataset = FolderDataset.Load(a.Options());
        var own = new TrainingLabelSet(dataset);
        var other = FakeLabelSet(["horse", "shirt", "jeans"]);
        var augmenter = new Augmenter(new AugmentationOptions { CropHeight = 32, CropWidth = 32 });
        var sampling = new LabelSamplingOptions { Distractors = 3, SubsetProbability = 1.0, KeepProbability = 0.01 };
        var overlaps = new Dictionary<string, string[]> { ["cow"] = ["horse"] };
        var builder = new TrainingBatchBuilder([dataset], [own], augmenter, seed: 7, sampling, new DistractorVocabulary([own, other], overlaps));

        var batches = Enumerable.Range(0, 40).Select(b => builder.Build(new PlannedBatch(0, [0, 1]), epoch: 0, batchIndex: b)).ToList();
        var withCow = batches.Where(b => b.Labels.Contains("cow")).ToList();

        Assert.NotEmpty(withCow); // not vacuous: some batches keep the cow
        Assert.All(withCow, b => Assert.DoesNotContain("horse", b.Labels));
        Assert.Contains(batches, b => b.Labels.Contains("horse")); // horse is offered where no cow is shown
    }

    [Fact]
    public void ProbabilitiesThatExceedOneAreRefusedByName()
    {
        var error = Assert.Throws<ArgumentException>(() => new LabelSamplingOptions { SubsetProbability = 0.7, EpisodeProbability = 0.5 }.Validate());
        Assert.Contains("must not exceed 1", error.Message);
    }

    // A label set over a throw-away dataset whose classes are exactly these names.
    private static TrainingLabelSet FakeLabelSet(string[] names)
    {
        var classes = new ClassList(names.Select((n, i) => KeyValuePair.Create(i, n)));
        var dataset = FolderDataset.FromSamples("fake", classes, null, []);
        return new TrainingLabelSet(dataset);
    }
}

using LSeg.Training.Bridge.Data;
using LSeg.Training.Bridge.Evaluation;
using LSeg.Training.Bridge.Tests.Data;

namespace LSeg.Training.Bridge.Tests.Evaluation;

public class AbsentLabelTests
{
    [Fact]
    public void APredictorThatPicksTheFirstAbsentNameForCowPixelsLosesExactlyThoseToAbsentNames()
    {
        using var folder = new TestDatasetFolder(images: 2);
        var dataset = FolderDataset.Load(folder.Options());
        string[] vocabulary = ["shirt", "jeans", "horse", "pole", "sky", "background"];
        var offeredSets = new List<string[]>();
        // Correct on sky and grass; on cow pixels it answers an absent name whenever one is offered.
        SegmentationPredictor predict = (image, labels) =>
        {
            offeredSets.Add([.. labels]);
            var sample = dataset.Samples.Single(s => ReferenceEquals(s.Image, image));
            int absent = labels.ToList().FindIndex(l => l is not ("sky" or "grass" or "cow"));
            return sample.Labels.Pixels.Select(v => v switch
            {
                1 => labels.ToList().IndexOf("sky"),
                2 => labels.ToList().IndexOf("grass"),
                3 => absent >= 0 ? absent : labels.ToList().IndexOf("cow"),
                _ => 0,
            }).ToArray();
        };

        var result = AbsentLabelEvaluator.Evaluate(dataset, predict, vocabulary, count: 3, seed: 5);

        long cow = dataset.Samples.Sum(s => s.Labels.Pixels.Count(v => v == 3));
        long scored = dataset.Samples.Sum(s => s.Labels.Pixels.Count(v => v != 0));
        Assert.Equal((double)cow / scored, result.AbsentShare, 12);
        Assert.Equal(1.0, result.MeanIoUWithoutAbsentNames, 12);
        // Cow IoU is 0 with absent names offered; sky and grass stay perfect.
        Assert.Equal(2.0 / 3, result.MeanIoU, 12);
        Assert.Equal(cow, result.PixelsByAbsentName.Values.Sum());
        // Two passes per image; the offered absent names are never a true label, never "sky" (true here) nor "background".
        Assert.Equal(4, offeredSets.Count);
        var absentOffered = offeredSets.SelectMany(s => s).Where(l => l is not ("sky" or "grass" or "cow")).ToList();
        Assert.Equal(6, absentOffered.Count);
        Assert.All(absentOffered, name => Assert.Contains(name, new[] { "shirt", "jeans", "horse", "pole" }));
    }

    [Fact]
    public void ANameThatOverlapsATrueLabelIsNeverOfferedAsAbsent()
    {
        // Every test image shows sky, grass and cow. "pasture" overlaps grass and "calf" is listed under cow's key in
        // reverse ("calf" → "cow"), so with the table only "kite" and "pole" remain to draw.
        using var folder = new TestDatasetFolder(images: 3);
        var dataset = FolderDataset.Load(folder.Options());
        string[] vocabulary = ["pasture", "calf", "kite", "pole"];
        var overlaps = new Dictionary<string, string[]> { ["grass"] = ["pasture"], ["calf"] = ["cow"] };
        List<string> Absent(IReadOnlyDictionary<string, string[]>? table)
        {
            var seen = new List<string>();
            AbsentLabelEvaluator.Evaluate(dataset, (image, labels) => { seen.AddRange(labels); return new int[image.Width * image.Height]; },
                vocabulary, count: 3, seed: 2, overlaps: table);
            return [.. seen.Where(l => l is not ("sky" or "grass" or "cow")).Distinct().Order()];
        }

        Assert.Equal(["kite", "pole"], Absent(overlaps));
        Assert.Equal(["calf", "kite", "pasture", "pole"], Absent(null));
    }

    [Fact]
    public void TheBuiltInOverlapTableKeepsStreetAndClothingNamesAwayFromImagesThatMayShowThem()
    {
        var table = DistractorVocabulary.BuiltInOverlaps;

        Assert.True(DistractorVocabulary.Overlaps(table, "road", "pavement"));
        Assert.True(DistractorVocabulary.Overlaps(table, "sign", "sign symbol"));
        Assert.True(DistractorVocabulary.Overlaps(table, "body", "shirt"));
        Assert.True(DistractorVocabulary.Overlaps(table, "pedestrian", "body")); // read both ways
        Assert.False(DistractorVocabulary.Overlaps(table, "cow", "pavement"));
    }

    [Fact]
    public void TheSameSeedOffersTheSameNames()
    {
        using var folder = new TestDatasetFolder(images: 3);
        var dataset = FolderDataset.Load(folder.Options());
        string[] vocabulary = ["a", "b", "c", "d", "e", "f"];
        List<string> Offered(int seed)
        {
            var seen = new List<string>();
            AbsentLabelEvaluator.Evaluate(dataset, (image, labels) => { seen.AddRange(labels); return new int[image.Width * image.Height]; }, vocabulary, seed: seed);
            return seen;
        }

        Assert.Equal(Offered(3), Offered(3));
        Assert.NotEqual(Offered(3), Offered(4));
    }

    [Fact]
    public void TheGeneralizedZeroShotSettingOffersEverySeenNamePlusTheUnseenClass()
    {
        using var folder = new TestDatasetFolder(images: 2);
        var dataset = FolderDataset.Load(folder.Options());
        var asked = new List<string>();
        // Answers a seen name everywhere except on cow pixels, where it answers the last label (the unseen class).
        var result = ZeroShotEvaluator.EvaluateFoldGeneralized(dataset, (image, labels) =>
        {
            asked.Add(string.Join("|", labels));
            var sample = dataset.Samples.Single(s => ReferenceEquals(s.Image, image));
            return sample.Labels.Pixels.Select(v => v == 3 ? labels.Count - 1 : 0).ToArray();
        }, ["cow"], fold: 0);

        Assert.All(asked, a => Assert.Equal("sky|grass|cow", a));
        Assert.Equal(1.0, result.MeanIoU, 12);
        Assert.Equal(1.0, result.FBIoU, 12);
        Assert.Equal(2, result.Episodes);
    }
}

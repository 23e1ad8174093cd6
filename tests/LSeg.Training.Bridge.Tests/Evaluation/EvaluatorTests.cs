using LSeg.Tests.Shared;
using LSeg.Training.Bridge.Data;
using LSeg.Training.Bridge.Evaluation;
using LSeg.Training.Bridge.Tests.Data;

namespace LSeg.Training.Bridge.Tests.Evaluation;

public class EvaluatorTests
{
    // Reads the truth back from the dataset by image identity: a perfect predictor, independent of the evaluator.
    private static SegmentationPredictor Oracle(FolderDataset dataset) => (image, labels) =>
    {
        var sample = dataset.Samples.Single(s => ReferenceEquals(s.Image, image));
        return sample.Labels.Pixels.Select(v => dataset.TextLabels.TryGetValue(v, out var text) ? labels.ToList().IndexOf(text) : 0).ToArray();
    };

    // Answers, for each pixel, the offered label named by labelOf(its true class value), and records the label sets asked.
    private static SegmentationPredictor Answering(FolderDataset dataset, List<string> asked, Func<byte, string> labelOf) => (image, labels) =>
    {
        asked.Add(string.Join("|", labels));
        var truth = dataset.Samples.Single(s => ReferenceEquals(s.Image, image)).Labels.Pixels;
        return truth.Select(v => labels.ToList().IndexOf(labelOf(v))).ToArray();
    };

    [Fact]
    public void APerfectPredictorScoresOneOnEveryPresentClass()
    {
        using var folder = new TestDatasetFolder(images: 2);
        var dataset = FolderDataset.Load(folder.Options());

        var metrics = SegmentationEvaluator.EvaluateFixedLabels(dataset, Oracle(dataset));

        Assert.Equal(new[] { "sky", "grass", "cow" }, metrics.ClassNames);
        Assert.Equal(1.0, metrics.MeanIoU, 12);
        Assert.Equal(1.0, metrics.PixelAccuracy, 12);
    }

    [Fact]
    public void PredictingOneClassEverywhereGivesItsPixelShareAsIoU()
    {
        using var folder = new TestDatasetFolder(images: 2);
        var dataset = FolderDataset.Load(folder.Options());
        // Count by hand from the label maps: grass pixels over all non-void pixels.
        long grass = dataset.Samples.Sum(s => s.Labels.Pixels.Count(v => v == 2));
        long scored = dataset.Samples.Sum(s => s.Labels.Pixels.Count(v => v != 0));

        var metrics = SegmentationEvaluator.EvaluateFixedLabels(dataset, (image, labels) => Enumerable.Repeat(labels.ToList().IndexOf("grass"), image.Width * image.Height).ToArray());

        Assert.Equal((double)grass / scored, metrics.ClassIoU[1], 12);
        Assert.Equal(0.0, metrics.ClassIoU[0]);
        Assert.Equal((double)grass / scored / 3, metrics.MeanIoU, 12);
    }

    [Fact]
    public void ZeroShotEpisodesAskOtherVersusTheClassAndScoreForegroundAndFBIoU()
    {
        using var folder = new TestDatasetFolder(images: 2);
        var dataset = FolderDataset.Load(folder.Options());
        var asked = new List<string>();
        // Always answers "the class" (index 1): foreground IoU = cow pixels / non-void pixels, background IoU = 0.
        var result = ZeroShotEvaluator.EvaluateFold(dataset, (image, labels) =>
        {
            asked.Add(string.Join("|", labels));
            return Enumerable.Repeat(1, image.Width * image.Height).ToArray();
        }, ["cow"], fold: 9);
        long cow = dataset.Samples.Sum(s => s.Labels.Pixels.Count(v => v == 3));
        long scored = dataset.Samples.Sum(s => s.Labels.Pixels.Count(v => v != 0));

        Assert.Equal(new[] { "other|cow", "other|cow" }, asked);
        Assert.Equal(2, result.Episodes);
        Assert.Equal((double)cow / scored, result.MeanIoU, 12);
        Assert.Equal((double)cow / scored / 2, result.FBIoU, 12);
    }

    [Fact]
    public void ZeroShotFoldMeansPerClassIoUsAccumulatedOverEpisodesOfImagesThatShowTheClass()
    {
        // Three 4×2 images of different content (0 void, 1 sky, 2 grass, 3 cow), fold ["cow", "grass"]:
        //   A: sky sky sky sky / cow cow void sky     → episode (A, cow)
        //   B: sky sky grass grass / grass ×4         → episode (B, grass)
        //   C: grass ×4 / cow ×4                      → episodes (C, grass), (C, cow)
        // The predictor names the class on pixels 0, 1, 4, 5 (the left half) in every episode. By hand (docs/cli.md, evaluate):
        //   cow:   A TP 2 FP 2 FN 0, C TP 2 FP 2 FN 2 → IoU 4 / 10 = 0.4
        //   grass: B TP 2 FP 2 FN 4, C TP 2 FP 2 FN 2 → IoU 4 / 14
        //   mIoU = (0.4 + 4/14) / 2; FB-IoU over the fold: foreground 8 / 24, background TP 3+0+2+2 = 7, FP 8, FN 8 → 7 / 23.
        // Pooling the classes (8/24), averaging episodes, or an episode for B without a cow would each give another number.
        string root = Path.Combine(Path.GetTempPath(), "lseg-zero-shot-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(Path.Combine(root, "images"));
        Directory.CreateDirectory(Path.Combine(root, "labels"));
        try
        {
            File.WriteAllText(Path.Combine(root, "classes.txt"), "0\tvoid\n1\tsky\n2\tgrass\n3\tcow\n");
            var maps = new Dictionary<string, byte[]>
            {
                ["A"] = [1, 1, 1, 1, 3, 3, 0, 1],
                ["B"] = [1, 1, 2, 2, 2, 2, 2, 2],
                ["C"] = [2, 2, 2, 2, 3, 3, 3, 3],
            };
            foreach (var (name, map) in maps)
            {
                new LabelMap(4, 2, map).Save(Path.Combine(root, "labels", name + ".png"));
                TestDatasetFolder.WritePng(Path.Combine(root, "images", name + ".png"), 4, 2, (x, y) => (30 * map[y * 4 + x], 0, 0));
            }
            var dataset = FolderDataset.Load(new FolderDatasetOptions { Name = "varied", Folder = root });
            var asked = new List<string>();

            var result = ZeroShotEvaluator.EvaluateFold(dataset, (image, labels) =>
            {
                asked.Add(string.Join("|", labels));
                return [1, 1, 0, 0, 1, 1, 0, 0];
            }, ["cow", "grass"], fold: 9);

            Assert.Equal(4, result.Episodes);
            Assert.Equal(["other|cow", "other|cow", "other|grass", "other|grass"], asked.Order(StringComparer.Ordinal));
            Assert.Equal((0.4 + 4.0 / 14) / 2, result.MeanIoU, 12);
            Assert.Equal((8.0 / 24 + 7.0 / 23) / 2, result.FBIoU, 12);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void ZeroShotEpisodesIgnorePixelValuesThatAreNoClassAsTheFixedLabelProtocolsDo()
    {
        using var folder = new TestDatasetFolder(images: 2);
        // The class list leaves value 2 (the grass pixels) out: a stray value, neither void nor a class.
        File.WriteAllText(Path.Combine(folder.Root, "classes.txt"), "0\tvoid\n1\tsky\n3\tcow\n");
        var dataset = FolderDataset.Load(folder.Options());
        // Right on sky and cow, "cow" on the stray pixels: they must not count as background called "cow".
        var result = ZeroShotEvaluator.EvaluateFold(dataset, (image, labels) =>
        {
            var sample = dataset.Samples.Single(s => ReferenceEquals(s.Image, image));
            return sample.Labels.Pixels.Select(v => v == 1 ? 0 : 1).ToArray();
        }, ["cow"], fold: 9);

        Assert.Equal(1.0, result.MeanIoU, 12);
        Assert.Equal(1.0, result.FBIoU, 12);
    }

    [Fact]
    public void PresentLabelsPlusCatchAllOffersWhatTheImageShowsPlusOtherAndScoresTheCatchAllClassAsOther()
    {
        using var folder = new TestDatasetFolder(images: 2);
        var dataset = FolderDataset.Load(folder.Options());
        var asked = new List<string>();
        // Sky is the catch-all class, offered as "other". The predictor gets grass right and calls sky and the cow "other".
        var metrics = SegmentationEvaluator.EvaluatePresentLabelsPlusCatchAll(dataset, Answering(dataset, asked, v => v == 2 ? "grass" : "other"),
            catchAllClass: 1, catchAllLabel: "other");
        // By hand from the label maps: "other" is right on sky and wrong on the cow.
        long sky = dataset.Samples.Sum(s => s.Labels.Pixels.Count(v => v == 1));
        long cow = dataset.Samples.Sum(s => s.Labels.Pixels.Count(v => v == 3));

        Assert.Equal(new[] { "grass|cow|other", "grass|cow|other" }, asked);
        Assert.Equal(new[] { "other", "grass", "cow" }, metrics.ClassNames);
        Assert.Equal((double)sky / (sky + cow), metrics.ClassIoU[0], 12);
        Assert.Equal(1.0, metrics.ClassIoU[1], 12);
        Assert.Equal(0.0, metrics.ClassIoU[2]);
        Assert.Equal(((double)sky / (sky + cow) + 1.0) / 3, metrics.MeanIoU, 12);
    }

    [Fact]
    public void WithoutACatchAllClassOtherIsAnExtraLabelAndEveryPixelItTakesIsANamedPixelLost()
    {
        using var folder = new TestDatasetFolder(images: 2);
        var dataset = FolderDataset.Load(folder.Options());
        var asked = new List<string>();
        // Right everywhere except the cow, which the predictor calls "other".
        var metrics = SegmentationEvaluator.EvaluatePresentLabelsPlusCatchAll(dataset, Answering(dataset, asked, v => v switch { 1 => "sky", 2 => "grass", _ => "other" }),
            catchAllClass: null, catchAllLabel: "other");
        long cow = dataset.Samples.Sum(s => s.Labels.Pixels.Count(v => v == 3));
        long scored = dataset.Samples.Sum(s => s.Labels.Pixels.Count(v => v != 0));

        Assert.Equal(new[] { "sky|grass|cow|other", "sky|grass|cow|other" }, asked);
        Assert.Equal(new[] { "sky", "grass", "cow", "other" }, metrics.ClassNames);
        Assert.Equal(cow, metrics.Confusion.Sum(row => row[3]));
        Assert.Equal(scored, metrics.Confusion.Sum(row => row.Sum()));
        // sky and grass perfect, cow 0; "other" has no true pixel and is left out of the mean.
        Assert.Equal(2.0 / 3, metrics.MeanIoU, 12);
    }

    [Fact]
    public void UnnamedAsCatchAllOffersEveryClassButOneInTurnAndScoresTheUnnamedClassAsOther()
    {
        using var folder = new TestDatasetFolder(images: 2);
        var dataset = FolderDataset.Load(folder.Options());
        var asked = new List<string>();
        // A perfect catch-all: the true name when it is offered, "other" when it is not.
        SegmentationPredictor perfect = (image, labels) =>
        {
            asked.Add(string.Join("|", labels));
            var names = labels.ToList();
            var truth = dataset.Samples.Single(s => ReferenceEquals(s.Image, image)).Labels.Pixels;
            return truth.Select(v => names.IndexOf(v switch { 1 => "sky", 2 => "grass", 3 => "cow", _ => "other" }) is int k and >= 0 ? k : names.IndexOf("other")).ToArray();
        };

        var metrics = SegmentationEvaluator.EvaluateUnnamedAsCatchAll(dataset, perfect, "other");

        Assert.Equal(new[] { "grass|cow|other", "sky|cow|other", "sky|grass|other" }, asked.Take(3));
        Assert.Equal(6, metrics.Images);
        Assert.Equal(new[] { "sky", "grass", "cow", "other" }, metrics.ClassNames);
        Assert.All(metrics.ClassIoU, iou => Assert.Equal(1.0, iou, 12));
        // Each scored pixel is seen three times, once as "other".
        long scored = dataset.Samples.Sum(s => s.Labels.Pixels.Count(v => v != 0));
        Assert.Equal(3 * scored, metrics.Confusion.Sum(row => row.Sum()));
        Assert.Equal(scored, metrics.Confusion[3][3]);
    }

    [Fact]
    public void UnnamedAsCatchAllGivesOtherNothingWhenThePredictorNeverAnswersOther()
    {
        using var folder = new TestDatasetFolder(images: 2);
        var dataset = FolderDataset.Load(folder.Options());
        // Every pixel gets the first name offered, never "other".
        var metrics = SegmentationEvaluator.EvaluateUnnamedAsCatchAll(dataset, (image, _) => new int[dataset.Samples.Single(s => ReferenceEquals(s.Image, image)).Labels.Pixels.Length], "other");

        Assert.Equal(0, metrics.Confusion.Sum(row => row[3]));
        Assert.Equal(0.0, metrics.ClassIoU[3]);
    }

    [Fact]
    public void UnnamedAsCatchAllWithAbsentNamesOffersOneLastAndCountsItsPixelsAsAClassNoTruthHas()
    {
        using var folder = new TestDatasetFolder(images: 2);
        var dataset = FolderDataset.Load(folder.Options());
        var asked = new List<string>();
        // Every pixel gets the name offered last: the absent one.
        SegmentationPredictor absentWins = (image, labels) =>
        {
            asked.Add(string.Join("|", labels));
            return Enumerable.Repeat(labels.Count - 1, dataset.Samples.Single(s => ReferenceEquals(s.Image, image)).Labels.Pixels.Length).ToArray();
        };

        var metrics = SegmentationEvaluator.EvaluateUnnamedAsCatchAll(dataset, absentWins, "other", absentNames: ["fork", "kite"]);

        Assert.All(asked, a => Assert.Matches("^[a-z|]+\\|other\\|(fork|kite)$", a));
        Assert.Equal(new[] { "sky", "grass", "cow", "other", "absent name" }, metrics.ClassNames);
        long scored = dataset.Samples.Sum(s => s.Labels.Pixels.Count(v => v != 0));
        // Every scored pixel of every episode went to the absent name, which no truth pixel is: IoU 0, left out of the mean.
        Assert.Equal(3 * scored, metrics.Confusion.Sum(row => row[4]));
        Assert.Equal(0, metrics.Confusion[4].Sum());
        Assert.Equal(0.0, metrics.MeanIoU);
    }

    [Fact]
    public void APredictionOfTheWrongSizeIsReported()
    {
        using var folder = new TestDatasetFolder(images: 1);
        var dataset = FolderDataset.Load(folder.Options());

        var error = Assert.Throws<InvalidOperationException>(() => SegmentationEvaluator.EvaluateFixedLabels(dataset, (_, _) => new int[3]));

        Assert.Contains("img0", error.Message);
    }

    [SkippableFact]
    public void TheMsrcZeroShotFoldsCoverClassesOneTo23Once()
    {
        string root = SharedData.RequireDirectory("msrc-v2");
        var classes = ClassList.Load(Path.Combine(root, "classes.txt"));

        var indices = Enumerable.Range(0, ZeroShotFolds.FoldCount).SelectMany(ZeroShotFolds.MsrcFold).Select(classes.IndexOf).ToList();

        Assert.Equal(Enumerable.Range(1, 23), indices);
    }
}

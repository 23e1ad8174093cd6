using LSeg.Training.Bridge.Data;

namespace LSeg.Training.Bridge.Evaluation;

/// <summary>Result of one zero-shot fold: foreground IoU per unseen class, their mean, and FB-IoU over all episodes.</summary>
public sealed class ZeroShotFoldResult
{
    /// <summary>Fold number.</summary>
    public int Fold { get; init; }

    /// <summary>Metrics of each unseen class's episodes (class 0 = "other", class 1 = the class).</summary>
    public IReadOnlyList<SegmentationMetrics> Classes { get; init; } = [];

    /// <summary>Mean over the fold's classes of the foreground IoU accumulated over each class's episodes.</summary>
    public double MeanIoU { get; init; }

    /// <summary>Mean of foreground and background IoU accumulated over all the fold's episodes.</summary>
    public double FBIoU { get; init; }

    /// <summary>Number of episodes (image, class) evaluated.</summary>
    public int Episodes { get; init; }
}

/// <summary>
/// The zero-shot protocol (docs/cli.md, evaluate): for each test image that contains an unseen class c, once per such
/// class, predict with the label set <c>[other, c]</c>; ground truth c is foreground, every other labelled pixel
/// background, void ignored.
/// </summary>
public static class ZeroShotEvaluator
{
    /// <summary>Evaluates the classes <paramref name="foldClassNames"/> of <paramref name="dataset"/>.</summary>
    public static ZeroShotFoldResult EvaluateFold(FolderDataset dataset, SegmentationPredictor predict, IReadOnlyList<string> foldClassNames,
        int fold, string otherLabel = ZeroShotFolds.OtherLabel, Action<string>? log = null) =>
        Evaluate(dataset, predict, foldClassNames, fold, [otherLabel], otherLabel, log);

    /// <summary>
    /// The generalized setting: each episode offers every seen class name (the dataset's classes outside the fold) plus
    /// the unseen class c; c is scored as foreground, everything else as background (a pixel given to any seen name is
    /// background).
    /// </summary>
    public static ZeroShotFoldResult EvaluateFoldGeneralized(FolderDataset dataset, SegmentationPredictor predict, IReadOnlyList<string> foldClassNames,
        int fold, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        var seen = dataset.LabelClassIndices.Where(c => !foldClassNames.Contains(dataset.Classes.Names[c], StringComparer.OrdinalIgnoreCase))
            .Select(c => dataset.TextLabels[c]).ToList();
        return Evaluate(dataset, predict, foldClassNames, fold, seen, "seen classes", log);
    }

    // Episodes with the label set background + [c]; a prediction of any background label counts as background (0).
    private static ZeroShotFoldResult Evaluate(FolderDataset dataset, SegmentationPredictor predict, IReadOnlyList<string> foldClassNames,
        int fold, IReadOnlyList<string> backgroundLabels, string backgroundName, Action<string>? log)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(predict);
        ArgumentNullException.ThrowIfNull(foldClassNames);
        var all = new ConfusionMatrix(2);
        var perClass = new List<SegmentationMetrics>();
        int episodes = 0;
        // Values that are no class of the list (stray values outside classes.txt) are ignored, as the fixed-label
        // protocols ignore them, rather than counted as background.
        var labelled = dataset.LabelClassIndices.ToHashSet();
        foreach (string name in foldClassNames)
        {
            int classIndex = dataset.Classes.IndexOf(name);
            string text = dataset.TextLabels[classIndex];
            var truthOfValue = Enumerable.Range(0, 256).Select(v => v == dataset.IgnoreValue || !labelled.Contains(v) ? -1 : v == classIndex ? 1 : 0).ToArray();
            var matrix = new ConfusionMatrix(2);
            int count = 0;
            foreach (var sample in dataset.Samples)
            {
                if (Array.IndexOf(sample.Labels.Pixels, (byte)classIndex) < 0)
                    continue;
                int[] prediction = predict(sample.Image, [.. backgroundLabels, text]);
                SegmentationEvaluator.CheckSize(prediction, sample);
                for (int p = 0; p < prediction.Length; p++)
                    prediction[p] = prediction[p] == backgroundLabels.Count ? 1 : 0;
                matrix.Add(SegmentationEvaluator.MapTruth(sample.Labels, truthOfValue), prediction);
                count++;
            }
            all.Add(matrix);
            episodes += count;
            var metrics = SegmentationMetrics.From(matrix, [backgroundName, text], $"fold {fold}: [{backgroundName}, {text}]", count);
            perClass.Add(metrics);
            log?.Invoke($"fold {fold} class '{text}': {count} episodes, foreground IoU {100 * metrics.ClassIoU[1]:F1}");
        }
        return new ZeroShotFoldResult
        {
            Fold = fold,
            Classes = perClass,
            MeanIoU = perClass.Where(m => m.Images > 0).Select(m => m.ClassIoU[1]).DefaultIfEmpty(double.NaN).Average(),
            FBIoU = (all.IoU(0) + all.IoU(1)) / 2,
            Episodes = episodes,
        };
    }
}

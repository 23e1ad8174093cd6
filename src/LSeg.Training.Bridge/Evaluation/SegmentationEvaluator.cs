using System.Diagnostics;
using LSeg.Training.Bridge.Data;

namespace LSeg.Training.Bridge.Evaluation;

/// <summary>
/// Runs a <see cref="SegmentationPredictor"/> over a dataset with a fixed label set and accumulates the confusion
/// matrix over the split (docs/cli.md, evaluate): the labels are the text names of the evaluated classes, void pixels are
/// ignored, and every evaluated class that occurs in the ground truth counts in the mIoU.
/// </summary>
public static class SegmentationEvaluator
{
    /// <summary>
    /// Evaluates with the label set = the text labels of <paramref name="classIndices"/> (default: every class of the
    /// dataset except the ignore value). Pixels of other classes are not scored.
    /// </summary>
    public static SegmentationMetrics EvaluateFixedLabels(FolderDataset dataset, SegmentationPredictor predict,
        IReadOnlyList<int>? classIndices = null, string? title = null, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(predict);
        var classes = classIndices ?? dataset.LabelClassIndices;
        var labels = classes.Select(c => dataset.TextLabels.TryGetValue(c, out var t) ? t
            : throw new ArgumentException($"Class {c} is not a label class of dataset '{dataset.Name}'.", nameof(classIndices))).ToList();
        var truthOfValue = TruthOfValue(classes);
        var matrix = new ConfusionMatrix(classes.Count);
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < dataset.Samples.Count; i++)
        {
            var sample = dataset.Samples[i];
            int[] prediction = predict(sample.Image, labels);
            CheckSize(prediction, sample);
            matrix.Add(MapTruth(sample.Labels, truthOfValue), prediction);
            if (log is not null && ((i + 1) % 20 == 0 || i + 1 == dataset.Samples.Count))
                log($"evaluated {i + 1}/{dataset.Samples.Count} images ({clock.Elapsed.TotalSeconds:F0} s)");
        }
        return SegmentationMetrics.From(matrix, labels, title ?? $"{dataset.Name}, {labels.Count} labels", dataset.Samples.Count);
    }

    /// <summary>
    /// "Name what the image shows, plus a catch-all": each image is offered the text labels of the classes its ground
    /// truth contains (in class order, the catch-all class excepted) followed by <paramref name="catchAllLabel"/>, which
    /// stands for <paramref name="catchAllClass"/> (e.g. CCP's <c>background</c>, the scene around the person). Without
    /// a catch-all class (MSRC-v2 names every pixel) the label is an extra last class that no pixel truly has: every
    /// pixel given to it is a named pixel lost. The confusion matrix covers every label class (the catch-all class under
    /// its label) and is accumulated over the split.
    /// </summary>
    public static SegmentationMetrics EvaluatePresentLabelsPlusCatchAll(FolderDataset dataset, SegmentationPredictor predict,
        int? catchAllClass, string catchAllLabel, string? title = null, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(predict);
        ArgumentException.ThrowIfNullOrWhiteSpace(catchAllLabel);
        var classes = dataset.LabelClassIndices;
        int catchAll = catchAllClass is int c0 ? classes.ToList().IndexOf(c0) : classes.Count;
        if (catchAll < 0)
            throw new ArgumentException($"Class {catchAllClass} is not a label class of dataset '{dataset.Name}'.", nameof(catchAllClass));
        var truthOfValue = TruthOfValue(classes);
        var names = classes.Select((c, k) => k == catchAll ? catchAllLabel : dataset.TextLabels[c]).ToList();
        if (catchAll == classes.Count)
            names.Add(catchAllLabel);
        var matrix = new ConfusionMatrix(names.Count);
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < dataset.Samples.Count; i++)
        {
            var sample = dataset.Samples[i];
            var truth = MapTruth(sample.Labels, truthOfValue);
            // The offered labels, as evaluation-class indices: the present classes, then the catch-all.
            var offered = truth.Where(k => k >= 0 && k != catchAll).Distinct().Order().Append(catchAll).ToArray();
            int[] prediction = predict(sample.Image, offered.Select(k => names[k]).ToList());
            CheckSize(prediction, sample);
            for (int p = 0; p < prediction.Length; p++)
                prediction[p] = offered[prediction[p]];
            matrix.Add(truth, prediction);
            if (log is not null && ((i + 1) % 20 == 0 || i + 1 == dataset.Samples.Count))
                log($"evaluated {i + 1}/{dataset.Samples.Count} images ({clock.Elapsed.TotalSeconds:F0} s)");
        }
        return SegmentationMetrics.From(matrix, names, title ?? $"{dataset.Name}, present labels + {catchAllLabel}", dataset.Samples.Count);
    }

    /// <summary>
    /// "Names of what it shows, plus a catch-all", where not everything is named: for each image and each class c in it,
    /// the image is offered the names of its other classes plus <paramref name="catchAllLabel"/>, and c's pixels count as
    /// the catch-all (as the water behind a bird does for a user who offers "bird, sky, other"). One episode per (image,
    /// class); images with a single class are skipped (nothing would be named). The matrix's last class is the catch-all.
    /// With <paramref name="absentNames"/>, every episode also offers one of them, drawn with <paramref name="seed"/>
    /// (a name the image does not show, as a user's "dog, frisbee, other" without a frisbee): its pixels are a class
    /// of their own after the catch-all, which no truth pixel has.
    /// </summary>
    /// <returns>The metrics over every episode; <see cref="SegmentationMetrics.Images"/> counts episodes.</returns>
    public static SegmentationMetrics EvaluateUnnamedAsCatchAll(FolderDataset dataset, SegmentationPredictor predict, string catchAllLabel,
        string? title = null, Action<string>? log = null, IReadOnlyList<string>? absentNames = null, int seed = 1)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(predict);
        ArgumentException.ThrowIfNullOrWhiteSpace(catchAllLabel);
        var classes = dataset.LabelClassIndices;
        int catchAll = classes.Count;
        var truthOfValue = TruthOfValue(classes);
        var names = classes.Select(c => dataset.TextLabels[c]).Append(catchAllLabel).ToList();
        int absent = names.Count;
        if (absentNames is { Count: > 0 })
            names.Add("absent name");
        var random = new Random(seed);
        var matrix = new ConfusionMatrix(names.Count);
        int episodes = 0;
        for (int i = 0; i < dataset.Samples.Count; i++)
        {
            var sample = dataset.Samples[i];
            var truth = MapTruth(sample.Labels, truthOfValue);
            var present = truth.Where(k => k >= 0).Distinct().Order().ToArray();
            if (present.Length < 2)
                continue;
            foreach (int unnamed in present)
            {
                var offered = present.Where(k => k != unnamed).Append(catchAll).ToArray();
                var offeredNames = offered.Select(k => names[k]).ToList();
                if (absentNames is { Count: > 0 })
                {
                    offered = [.. offered, absent];
                    offeredNames.Add(absentNames[random.Next(absentNames.Count)]);
                }
                int[] prediction = predict(sample.Image, offeredNames);
                CheckSize(prediction, sample);
                for (int p = 0; p < prediction.Length; p++)
                    prediction[p] = offered[prediction[p]];
                matrix.Add(truth.Select(k => k == unnamed ? catchAll : k).ToArray(), prediction);
                episodes++;
            }
            if (log is not null && ((i + 1) % 20 == 0 || i + 1 == dataset.Samples.Count))
                log($"evaluated {i + 1}/{dataset.Samples.Count} images, {episodes} episodes");
        }
        return SegmentationMetrics.From(matrix, names, title ?? $"{dataset.Name}, each class unnamed in turn + {catchAllLabel}", episodes);
    }

    /// <summary>For each label-map value 0..255, its evaluation-class index in <paramref name="classes"/>; −1 where not scored.</summary>
    internal static int[] TruthOfValue(IReadOnlyList<int> classes)
    {
        var truthOfValue = Enumerable.Repeat(-1, 256).ToArray();
        for (int k = 0; k < classes.Count; k++)
            truthOfValue[classes[k]] = k;
        return truthOfValue;
    }

    /// <summary>Ground truth as evaluation-class indices (−1 where not scored).</summary>
    internal static int[] MapTruth(LabelMap labels, int[] truthOfValue)
    {
        var result = new int[labels.Pixels.Length];
        for (int i = 0; i < result.Length; i++)
            result[i] = truthOfValue[labels.Pixels[i]];
        return result;
    }

    internal static void CheckSize(int[] prediction, SegmentationSample sample)
    {
        if (prediction.Length != sample.Labels.Pixels.Length)
            throw new InvalidOperationException(
                $"The predictor returned {prediction.Length} labels for image '{sample.Name}' of {sample.Image.Width}×{sample.Image.Height} = {sample.Labels.Pixels.Length} pixels; it must return one per pixel.");
    }
}

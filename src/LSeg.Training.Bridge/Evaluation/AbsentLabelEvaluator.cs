using LSeg.Training.Bridge.Data;

namespace LSeg.Training.Bridge.Evaluation;

/// <summary>Result of the absent-label protocol: how many pixels went to names that are not in the image, and what that cost.</summary>
public sealed class AbsentLabelResult
{
    /// <summary>Share of the labelled (non-void) pixels given to an absent name (0 is perfect).</summary>
    public double AbsentShare { get; init; }

    /// <summary>mIoU over the true classes when each image is offered its true labels plus the absent names.</summary>
    public double MeanIoU { get; init; }

    /// <summary>mIoU over the true classes when each image is offered its true labels only.</summary>
    public double MeanIoUWithoutAbsentNames { get; init; }

    /// <summary>Per-class metrics with the absent names offered (a pixel given to an absent name is a miss of its true class).</summary>
    public SegmentationMetrics WithAbsentNames { get; init; } = new();

    /// <summary>Per-class metrics with the true labels only.</summary>
    public SegmentationMetrics TrueLabelsOnly { get; init; } = new();

    /// <summary>Labelled pixels given to each absent name, over the whole split (names that took none are left out).</summary>
    public IReadOnlyDictionary<string, long> PixelsByAbsentName { get; init; } = new Dictionary<string, long>();

    /// <summary>Images evaluated.</summary>
    public int Images { get; init; }
}

/// <summary>
/// The absent-label protocol (docs/cli.md, evaluate): each image is offered its true classes plus <c>count</c> names that are
/// not among them (nor, with an overlap table, names the image may show unlabelled), drawn with a fixed seed from other vocabularies; reports the share of labelled pixels given to the
/// absent names and the mIoU over the true classes, beside the same evaluation with the true classes only.
/// </summary>
public static class AbsentLabelEvaluator
{
    /// <summary>Names that are never drawn: catch-all words, which do describe part of any image.</summary>
    public static IReadOnlyList<string> CatchAllNames { get; } = ["background", ZeroShotFolds.OtherLabel, "void"];

    /// <summary>Evaluates <paramref name="dataset"/>, drawing absent names from <paramref name="vocabulary"/> per image with <paramref name="seed"/>.</summary>
    /// <param name="dataset">The labelled images (void ignored).</param>
    /// <param name="predict">The model.</param>
    /// <param name="vocabulary">Names to draw from (a name equal to one of the image's true labels, or a catch-all word, is never drawn).</param>
    /// <param name="count">Absent names per image.</param>
    /// <param name="seed">Seed of the draws: the same seed offers the same names to the same images.</param>
    /// <param name="log">Progress, or null.</param>
    /// <param name="overlaps">
    /// Names an image may show unlabelled or under its own label's pixels (an overlap table read both ways, as
    /// <see cref="DistractorVocabulary.BuiltInOverlaps"/>: "pavement" beside "road", "shirt" beside "body"): never drawn
    /// for an image with such a label, since their pixels there would not be a mistake. Null: only equal names are kept out.
    /// </param>
    public static AbsentLabelResult Evaluate(FolderDataset dataset, SegmentationPredictor predict, IReadOnlyList<string> vocabulary, int count = 3, int seed = 1,
        Action<string>? log = null, IReadOnlyDictionary<string, string[]>? overlaps = null)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(predict);
        ArgumentNullException.ThrowIfNull(vocabulary);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var classes = dataset.LabelClassIndices;
        var texts = classes.Select(c => dataset.TextLabels[c]).ToList();
        var truthOfValue = SegmentationEvaluator.TruthOfValue(classes);
        var overlapping = overlaps is null ? null : DistractorVocabulary.BothWays(overlaps);
        var pool = vocabulary.Distinct(StringComparer.OrdinalIgnoreCase).Where(n => !CatchAllNames.Contains(n, StringComparer.OrdinalIgnoreCase)).ToList();
        var with = new ConfusionMatrix(classes.Count);
        var without = new ConfusionMatrix(classes.Count);
        var byName = new Dictionary<string, long>(StringComparer.Ordinal);
        long absentPixels = 0, labelledPixels = 0;
        var random = new Random(seed);
        for (int i = 0; i < dataset.Samples.Count; i++)
        {
            var sample = dataset.Samples[i];
            int[] truth = SegmentationEvaluator.MapTruth(sample.Labels, truthOfValue);
            var present = truth.Where(t => t >= 0).Distinct().Order().ToList();
            if (present.Count == 0)
                continue;
            var trueNames = present.Select(k => texts[k]).ToList();
            var candidates = pool.Where(n => !trueNames.Contains(n, StringComparer.OrdinalIgnoreCase)
                && (overlapping is null || !trueNames.Any(t => overlapping.TryGetValue(t, out var names) && names.Contains(n)))).ToArray();
            random.Shuffle(candidates);
            var absent = candidates.Take(count).ToList();

            without.Add(truth, ToClasses(Predict(predict, sample, trueNames), present));
            var offered = trueNames.Concat(absent).ToArray();
            random.Shuffle(offered); // no advantage from position
            int[] prediction = Predict(predict, sample, offered);
            var offeredClass = offered.Select(n => trueNames.IndexOf(n) is int j && j >= 0 ? present[j] : -1).ToArray();
            var classes2 = new int[prediction.Length];
            for (int p = 0; p < prediction.Length; p++)
            {
                classes2[p] = offeredClass[prediction[p]];
                if (truth[p] < 0)
                    continue;
                labelledPixels++;
                if (classes2[p] < 0)
                {
                    absentPixels++;
                    string name = offered[prediction[p]];
                    byName[name] = byName.GetValueOrDefault(name) + 1;
                }
            }
            with.Add(truth, classes2);
            if (log is not null && ((i + 1) % 20 == 0 || i + 1 == dataset.Samples.Count))
                log($"absent labels: {i + 1}/{dataset.Samples.Count} images, {100.0 * absentPixels / Math.Max(1, labelledPixels):F1}% of pixels to absent names so far");
        }
        var withMetrics = SegmentationMetrics.From(with, texts, $"{dataset.Name}: true labels + {count} absent names", dataset.Samples.Count);
        var withoutMetrics = SegmentationMetrics.From(without, texts, $"{dataset.Name}: true labels only", dataset.Samples.Count);
        return new AbsentLabelResult
        {
            AbsentShare = labelledPixels == 0 ? double.NaN : (double)absentPixels / labelledPixels,
            MeanIoU = withMetrics.MeanIoU,
            MeanIoUWithoutAbsentNames = withoutMetrics.MeanIoU,
            WithAbsentNames = withMetrics,
            TrueLabelsOnly = withoutMetrics,
            PixelsByAbsentName = byName.OrderByDescending(p => p.Value).ToDictionary(p => p.Key, p => p.Value),
            Images = dataset.Samples.Count,
        };
    }

    private static int[] Predict(SegmentationPredictor predict, SegmentationSample sample, IReadOnlyList<string> labels)
    {
        int[] prediction = predict(sample.Image, labels);
        SegmentationEvaluator.CheckSize(prediction, sample);
        return prediction;
    }

    private static int[] ToClasses(int[] prediction, IReadOnlyList<int> present)
    {
        var result = new int[prediction.Length];
        for (int p = 0; p < result.Length; p++)
            result[p] = present[prediction[p]];
        return result;
    }
}

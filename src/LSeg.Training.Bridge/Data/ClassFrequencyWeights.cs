namespace LSeg.Training.Bridge.Data;

/// <summary>
/// Per-label loss weights by median frequency balancing (Eigen and Fergus, ICCV 2015, as SegNet trained CamVid): the
/// frequency of a class is its pixel count divided by the labelled pixels of the images that show it, and its weight
/// is the median of those frequencies divided by its own. Thin classes (poles, signs, a rare animal) then count as
/// much in the loss as the sky and the road, which a plain cross-entropy lets them drown in.
/// </summary>
public static class ClassFrequencyWeights
{
    /// <summary>
    /// Weights are capped here: a class seen in one or two training images would otherwise get a weight in the
    /// hundreds and one crop of it would dominate the gradient of a fine-tune.
    /// </summary>
    public const float MaximumWeight = 10f;

    /// <summary>
    /// The median-frequency weight of each training label of <paramref name="labelSet"/>, keyed by its text; a label
    /// with no pixel in <paramref name="dataset"/> gets 1 (it is never a target, so its weight is never used).
    /// </summary>
    public static IReadOnlyDictionary<string, float> MedianFrequency(FolderDataset dataset, TrainingLabelSet labelSet)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(labelSet);
        int labels = labelSet.Texts.Count;
        var pixels = new long[labels];
        var pixelsOfImagesShowing = new long[labels];
        var present = new bool[labels];
        var targetOfValue = labelSet.TargetOfValue.ToArray();
        foreach (var sample in dataset.Samples)
        {
            Array.Clear(present);
            long labelled = 0;
            foreach (byte value in sample.Labels.Pixels)
            {
                byte target = targetOfValue[value];
                if (target == Augmenter.IgnoreTarget)
                    continue;
                pixels[target]++;
                present[target] = true;
                labelled++;
            }
            for (int t = 0; t < labels; t++)
            {
                if (present[t])
                    pixelsOfImagesShowing[t] += labelled;
            }
        }
        var frequency = new double[labels];
        for (int t = 0; t < labels; t++)
            frequency[t] = pixels[t] == 0 ? double.NaN : (double)pixels[t] / pixelsOfImagesShowing[t];
        var seen = frequency.Where(f => !double.IsNaN(f)).Order().ToArray();
        if (seen.Length == 0)
            throw new InvalidDataException($"Dataset '{dataset.Name}' has no labelled pixel of any training label; class weights cannot be computed.");
        double median = seen.Length % 2 == 1 ? seen[seen.Length / 2] : (seen[seen.Length / 2 - 1] + seen[seen.Length / 2]) / 2;
        var weights = new Dictionary<string, float>(StringComparer.Ordinal);
        for (int t = 0; t < labels; t++)
            weights[labelSet.Texts[t]] = double.IsNaN(frequency[t]) ? 1f : (float)Math.Min(MaximumWeight, median / frequency[t]);
        return weights;
    }
}

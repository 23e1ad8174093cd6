namespace LSeg.Training.Bridge.Data;

/// <summary>
/// Repeat-factor sampling (Gupta, Dollár and Girshick, LVIS, CVPR 2019): an image that shows a rare class is drawn
/// more often in an epoch. With f(c) the share of the dataset's images that show class c and t the threshold, class c's
/// factor is max(1, √(t / f(c))) and an image's factor is the largest factor of the classes it shows. Median frequency
/// weighting cannot do this for a class that is rare by image but large where it appears (MSRC-v2's horse fills much of
/// the 2 of 354 training photos that show it, so its pixel weight is about 1): only more draws of those photos give
/// the network more views of it.
/// </summary>
public static class RepeatFactors
{
    /// <summary>
    /// Each sample's repeat factor (1 or more) for threshold <paramref name="threshold"/>, in sample order. Only
    /// training labels of <paramref name="labelSet"/> count: ignored and excluded (zero-shot unseen) classes never
    /// raise a factor.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="threshold"/> is not in (0, 1].</exception>
    public static double[] Of(FolderDataset dataset, TrainingLabelSet labelSet, double threshold)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(labelSet);
        if (!(threshold > 0 && threshold <= 1))
            throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "The repeat-factor threshold is a share of images, in (0, 1].");
        var targetOfValue = labelSet.TargetOfValue.ToArray();
        var shown = dataset.Samples.Select(sample => TargetsShown(sample.Labels.Pixels, targetOfValue)).ToArray();
        var imagesShowing = new int[labelSet.Texts.Count];
        foreach (var targets in shown)
        {
            foreach (int t in targets)
                imagesShowing[t]++;
        }
        int images = Math.Max(1, shown.Length);
        var classFactor = imagesShowing.Select(n => n == 0 ? 1 : Math.Max(1, Math.Sqrt(threshold / ((double)n / images)))).ToArray();
        return shown.Select(targets => targets.Count == 0 ? 1 : targets.Max(t => classFactor[t])).ToArray();
    }

    private static List<int> TargetsShown(ReadOnlySpan<byte> pixels, byte[] targetOfValue)
    {
        Span<bool> seen = stackalloc bool[256];
        foreach (byte value in pixels)
            seen[value] = true;
        var targets = new List<int>();
        for (int v = 0; v < 256; v++)
        {
            if (seen[v] && targetOfValue[v] != Augmenter.IgnoreTarget)
                targets.Add(targetOfValue[v]);
        }
        return targets;
    }
}

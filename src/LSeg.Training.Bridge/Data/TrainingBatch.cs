namespace LSeg.Training.Bridge.Data;

/// <summary>
/// One batch ready for the network: crops of one dataset, planar pixels and per-pixel targets. In a 2-way episode
/// batch, <see cref="EpisodeLabels"/> names for each sample the training label c that is its foreground: targets are
/// then 1 for c, 0 for every other labelled pixel ("other") and <see cref="Augmenter.IgnoreTarget"/> for ignored ones.
/// </summary>
public sealed class TrainingBatch
{
    /// <summary>Creates a batch; the arrays are owned by it.</summary>
    public TrainingBatch(int dataset, int count, int height, int width, float[] pixels, byte[] targets, int[]? episodeLabels)
    {
        if (pixels.Length != count * 3 * height * width || targets.Length != count * height * width)
            throw new ArgumentException($"A batch of {count} crops of {height}×{width} needs {count * 3 * height * width} pixels and {count * height * width} targets.");
        if (episodeLabels is not null && episodeLabels.Length != count)
            throw new ArgumentException($"An episode batch needs one label per sample ({count}); got {episodeLabels.Length}.", nameof(episodeLabels));
        Dataset = dataset;
        Count = count;
        Height = height;
        Width = width;
        Pixels = pixels;
        Targets = targets;
        EpisodeLabels = episodeLabels;
    }

    /// <summary>Index of the dataset in the training mix; its label set scores this batch.</summary>
    public int Dataset { get; }

    /// <summary>Number of crops.</summary>
    public int Count { get; }

    /// <summary>Crop height.</summary>
    public int Height { get; }

    /// <summary>Crop width.</summary>
    public int Width { get; }

    /// <summary>[B, 3, H, W] RGB 0–255.</summary>
    public float[] Pixels { get; }

    /// <summary>[B, H, W] target indices; <see cref="Augmenter.IgnoreTarget"/> is ignored.</summary>
    public byte[] Targets { get; }

    /// <summary>Null for a full-label-set batch; for a 2-way episode batch, each sample's foreground training label.</summary>
    public int[]? EpisodeLabels { get; }
}

namespace LSeg.Training.Bridge.Data;

/// <summary>
/// One batch ready for the network: crops of one dataset, planar pixels, the label texts the batch is scored against
/// and per-pixel targets that index those labels. In a 2-way episode batch, <see cref="Labels"/> is
/// <c>["other", label_0 … label_{K−1}]</c> and <see cref="EpisodeLabels"/> names for each sample the training label c
/// that is its foreground: targets are then 1 for c, 0 for every other labelled pixel ("other") and
/// <see cref="Augmenter.IgnoreTarget"/> for ignored ones.
/// </summary>
public sealed class TrainingBatch
{
    /// <summary>Creates a batch; the arrays are owned by it.</summary>
    public TrainingBatch(int dataset, int count, int height, int width, float[] pixels, byte[] targets, IReadOnlyList<string> labels, int[]? episodeLabels = null)
    {
        ArgumentNullException.ThrowIfNull(labels);
        if (pixels.Length != count * 3 * height * width || targets.Length != count * height * width)
            throw new ArgumentException($"A batch of {count} crops of {height}×{width} needs {count * 3 * height * width} pixels and {count * height * width} targets.");
        if (episodeLabels is not null && episodeLabels.Length != count)
            throw new ArgumentException($"An episode batch needs one label per sample ({count}); got {episodeLabels.Length}.", nameof(episodeLabels));
        if (labels.Count is 0 or > Augmenter.IgnoreTarget)
            throw new ArgumentException($"A batch is scored against 1 to {Augmenter.IgnoreTarget} labels; got {labels.Count}.", nameof(labels));
        Dataset = dataset;
        Count = count;
        Height = height;
        Width = width;
        Pixels = pixels;
        Targets = targets;
        Labels = labels;
        EpisodeLabels = episodeLabels;
    }

    /// <summary>Index of the dataset in the training mix.</summary>
    public int Dataset { get; }

    /// <summary>Number of crops.</summary>
    public int Count { get; }

    /// <summary>Crop height.</summary>
    public int Height { get; }

    /// <summary>Crop width.</summary>
    public int Width { get; }

    /// <summary>[B, 3, H, W] RGB 0–255.</summary>
    public float[] Pixels { get; }

    /// <summary>[B, H, W] target indices into <see cref="Labels"/> (2-way 0/1 in an episode batch); <see cref="Augmenter.IgnoreTarget"/> is ignored.</summary>
    public byte[] Targets { get; }

    /// <summary>The label texts of the forward pass, in logit order.</summary>
    public IReadOnlyList<string> Labels { get; }

    /// <summary>Null unless this is a 2-way episode batch; then each sample's foreground training label (logit <c>1 + c</c>).</summary>
    public int[]? EpisodeLabels { get; }
}

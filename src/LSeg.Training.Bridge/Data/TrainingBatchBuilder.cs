namespace LSeg.Training.Bridge.Data;

/// <summary>
/// Turns planned batches into <see cref="TrainingBatch"/>es: augmented crops with targets in each dataset's training
/// label set, and (with probability <see cref="EpisodeProbability"/>) 2-way <c>["other", c]</c> episodes where c is a
/// training label present in the crop. Randomness comes from (seed, epoch, batch index) only, so a batch is the same
/// whenever it is built.
/// </summary>
public sealed class TrainingBatchBuilder
{
    private readonly IReadOnlyList<FolderDataset> _datasets;
    private readonly IReadOnlyList<TrainingLabelSet> _labelSets;
    private readonly Augmenter _augmenter;
    private readonly int _seed;

    /// <summary>Creates a builder over datasets and their training label sets (same order).</summary>
    public TrainingBatchBuilder(IReadOnlyList<FolderDataset> datasets, IReadOnlyList<TrainingLabelSet> labelSets, Augmenter augmenter, int seed, double episodeProbability = 0)
    {
        ArgumentNullException.ThrowIfNull(datasets);
        ArgumentNullException.ThrowIfNull(labelSets);
        ArgumentNullException.ThrowIfNull(augmenter);
        if (datasets.Count != labelSets.Count)
            throw new ArgumentException($"Need one label set per dataset: {datasets.Count} datasets, {labelSets.Count} label sets.");
        if (episodeProbability is < 0 or > 1)
            throw new ArgumentOutOfRangeException(nameof(episodeProbability), episodeProbability, "must be in [0, 1].");
        _datasets = datasets;
        _labelSets = labelSets;
        _augmenter = augmenter;
        _seed = seed;
        EpisodeProbability = episodeProbability;
    }

    /// <summary>Probability that a batch is a 2-way <c>["other", c]</c> episode batch.</summary>
    public double EpisodeProbability { get; }

    /// <summary>Builds batch number <paramref name="batchIndex"/> of <paramref name="epoch"/>.</summary>
    public TrainingBatch Build(PlannedBatch planned, int epoch, int batchIndex)
    {
        ArgumentNullException.ThrowIfNull(planned);
        var random = new Random(unchecked((_seed * 1_000_003 + epoch) * 7919 + batchIndex));
        var dataset = _datasets[planned.Dataset];
        var labelSet = _labelSets[planned.Dataset];
        int count = planned.Samples.Length, h = _augmenter.Height, w = _augmenter.Width;
        var pixels = new float[count * 3 * h * w];
        var targets = new byte[count * h * w];
        var seeds = Enumerable.Range(0, count).Select(_ => random.Next()).ToArray();
        bool episode = EpisodeProbability > 0 && random.NextDouble() < EpisodeProbability;
        int[]? episodeLabels = episode ? new int[count] : null;
        Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = 2 }, i =>
        {
            var sampleRandom = new Random(seeds[i]);
            var sampleTargets = targets.AsSpan(i * h * w, h * w);
            _augmenter.Crop(dataset.Samples[planned.Samples[i]], labelSet.TargetOfValue, sampleRandom,
                pixels.AsSpan(i * 3 * h * w, 3 * h * w), sampleTargets);
            if (episodeLabels is not null)
                episodeLabels[i] = MakeEpisode(sampleTargets, labelSet.ClassIndices.Count, sampleRandom);
        });
        return new TrainingBatch(planned.Dataset, count, h, w, pixels, targets, episodeLabels);
    }

    /// <summary>
    /// Picks a training label present in the crop as the foreground c and rewrites the targets to 1 (c) / 0 (any other
    /// label) / ignore. Returns c, or 0 with every target ignored when the crop holds no label at all.
    /// </summary>
    internal static int MakeEpisode(Span<byte> targets, int labelCount, Random random)
    {
        var counts = new int[labelCount];
        foreach (byte t in targets)
        {
            if (t != Augmenter.IgnoreTarget)
                counts[t]++;
        }
        var present = Enumerable.Range(0, labelCount).Where(c => counts[c] > 0).ToArray();
        if (present.Length == 0)
        {
            targets.Fill(Augmenter.IgnoreTarget);
            return 0;
        }
        int chosen = present[random.Next(present.Length)];
        for (int i = 0; i < targets.Length; i++)
        {
            if (targets[i] != Augmenter.IgnoreTarget)
                targets[i] = targets[i] == chosen ? (byte)1 : (byte)0;
        }
        return chosen;
    }
}

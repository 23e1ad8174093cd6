namespace LSeg.Training.Bridge.Data;

/// <summary>
/// Turns planned batches into <see cref="TrainingBatch"/>es: augmented crops with targets in each dataset's training
/// label set, then the batch's labels as <see cref="LabelSamplingOptions"/> decides (full set, subset + "other", or
/// 2-way <c>["other", c]</c> episodes; distractors added to the first two). Randomness comes from (seed, epoch, batch
/// index) only, so a batch is the same whenever it is built.
/// </summary>
public sealed class TrainingBatchBuilder
{
    private readonly IReadOnlyList<FolderDataset> _datasets;
    private readonly IReadOnlyList<TrainingLabelSet> _labelSets;
    private readonly Augmenter _augmenter;
    private readonly int _seed;
    private readonly LabelSamplingOptions _sampling;
    private readonly DistractorVocabulary? _distractors;

    /// <summary>Creates a builder over datasets and their training label sets (same order).</summary>
    /// <param name="datasets">The training datasets.</param>
    /// <param name="labelSets">Each dataset's training labels.</param>
    /// <param name="augmenter">Makes the crops.</param>
    /// <param name="seed">Seed of every random choice.</param>
    /// <param name="sampling">Label sampling; null: every batch uses its dataset's full label set.</param>
    /// <param name="distractors">Where distractor names come from; needed when <paramref name="sampling"/> asks for distractors.</param>
    public TrainingBatchBuilder(IReadOnlyList<FolderDataset> datasets, IReadOnlyList<TrainingLabelSet> labelSets, Augmenter augmenter, int seed,
        LabelSamplingOptions? sampling = null, DistractorVocabulary? distractors = null)
    {
        ArgumentNullException.ThrowIfNull(datasets);
        ArgumentNullException.ThrowIfNull(labelSets);
        ArgumentNullException.ThrowIfNull(augmenter);
        if (datasets.Count != labelSets.Count)
            throw new ArgumentException($"Need one label set per dataset: {datasets.Count} datasets, {labelSets.Count} label sets.");
        sampling ??= new LabelSamplingOptions();
        sampling.Validate();
        if (sampling.Distractors > 0 && distractors is null)
            throw new ArgumentException($"The label sampling asks for {sampling.Distractors} distractors per batch; pass a {nameof(DistractorVocabulary)}.", nameof(distractors));
        _datasets = datasets;
        _labelSets = labelSets;
        _augmenter = augmenter;
        _seed = seed;
        _sampling = sampling;
        _distractors = distractors;
    }

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
        double draw = random.NextDouble();
        bool episode = draw < _sampling.EpisodeProbability;
        bool subset = !episode && draw < _sampling.EpisodeProbability + _sampling.SubsetProbability;
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
        if (episode)
            return new TrainingBatch(planned.Dataset, count, h, w, pixels, targets, [ZeroShotFolds.OtherLabel, .. labelSet.Texts], episodeLabels);

        // The names the crops show, read before a subset rewrites the targets to index its own shorter list: a distractor
        // must not overlap any of them, kept or folded into "other".
        var present = _sampling.Distractors > 0 ? PresentTargets(targets, labelSet.Texts.Count).Select(t => labelSet.Texts[t]).ToList() : [];
        var labels = subset ? MakeSubset(targets, labelSet.Texts, _sampling.KeepProbability, random) : [.. labelSet.Texts];
        if (_sampling.Distractors > 0)
            labels.AddRange(_distractors!.Draw(planned.Dataset, present, _sampling.Distractors, random));
        return new TrainingBatch(planned.Dataset, count, h, w, pixels, targets, labels);
    }

    /// <summary>
    /// Keeps each label present in the batch with probability <paramref name="keep"/> (at least one), rewrites the
    /// targets to index the returned list (kept labels in training order, then <c>"other"</c>, which every label
    /// left out maps to) and returns that list.
    /// </summary>
    internal static List<string> MakeSubset(Span<byte> targets, IReadOnlyList<string> texts, double keep, Random random)
    {
        var present = PresentTargets(targets, texts.Count);
        if (present.Count == 0)
            return [.. texts];
        var kept = present.Where(_ => random.NextDouble() < keep).ToList();
        if (kept.Count == 0)
            kept.Add(present[random.Next(present.Count)]);
        var newTarget = Enumerable.Repeat((byte)kept.Count, 256).ToArray(); // default: "other", after the kept labels
        for (int k = 0; k < kept.Count; k++)
            newTarget[kept[k]] = (byte)k;
        newTarget[Augmenter.IgnoreTarget] = Augmenter.IgnoreTarget;
        for (int i = 0; i < targets.Length; i++)
            targets[i] = newTarget[targets[i]];
        return [.. kept.Select(k => texts[k]), ZeroShotFolds.OtherLabel];
    }

    private static List<int> PresentTargets(ReadOnlySpan<byte> targets, int labelCount)
    {
        var seen = new bool[labelCount];
        foreach (byte t in targets)
        {
            if (t != Augmenter.IgnoreTarget)
                seen[t] = true;
        }
        return Enumerable.Range(0, labelCount).Where(c => seen[c]).ToList();
    }

    /// <summary>
    /// Picks a training label present in the crop as the foreground c and rewrites the targets to 1 (c) / 0 (any other
    /// label) / ignore. Returns c, or 0 with every target ignored when the crop holds no label at all.
    /// </summary>
    internal static int MakeEpisode(Span<byte> targets, int labelCount, Random random)
    {
        var present = PresentTargets(targets, labelCount);
        if (present.Count == 0)
        {
            targets.Fill(Augmenter.IgnoreTarget);
            return 0;
        }
        int chosen = present[random.Next(present.Count)];
        for (int i = 0; i < targets.Length; i++)
        {
            if (targets[i] != Augmenter.IgnoreTarget)
                targets[i] = targets[i] == chosen ? (byte)1 : (byte)0;
        }
        return chosen;
    }
}

using LSeg.Training.Bridge.Data;

namespace LSeg.Training.Bridge.Training;

/// <summary>
/// The data side of a training run: the training datasets with their label sets (zero-shot unseen classes removed
/// by name from every dataset that has them), the validation datasets, and the distractor vocabulary.
/// </summary>
internal sealed class TrainingData
{
    private TrainingData(IReadOnlyList<FolderDataset> datasets, IReadOnlyList<TrainingLabelSet> labelSets, IReadOnlyList<FolderDataset> validation,
        IReadOnlyList<string> excluded, DistractorVocabulary? distractors, IReadOnlyList<IReadOnlyDictionary<string, float>?> classWeights,
        IReadOnlyList<IReadOnlyList<double>?> repeatFactors, IReadOnlyList<(string Dataset, IReadOnlyList<string> Labels)> evaluationLabels)
    {
        EvaluationLabels = evaluationLabels;
        _classWeights = classWeights;
        _repeatFactors = repeatFactors;
        Datasets = datasets;
        LabelSets = labelSets;
        Validation = validation;
        Excluded = excluded;
        Distractors = distractors;
    }

    /// <summary>The training datasets, in configuration order.</summary>
    public IReadOnlyList<FolderDataset> Datasets { get; }

    /// <summary>Each training dataset's labels.</summary>
    public IReadOnlyList<TrainingLabelSet> LabelSets { get; }

    /// <summary>The validation datasets (evenly spaced subsets).</summary>
    public IReadOnlyList<FolderDataset> Validation { get; }

    /// <summary>Zero-shot unseen class names (empty without a fold).</summary>
    public IReadOnlyList<string> Excluded { get; }

    /// <summary>
    /// The label texts each validation dataset, and each test dataset of a run without a zero-shot fold, is scored
    /// against (a fold's test episodes offer its unseen classes, which are never training labels).
    /// </summary>
    public IReadOnlyList<(string Dataset, IReadOnlyList<string> Labels)> EvaluationLabels { get; }

    /// <summary>
    /// The classes of a validation or test dataset that are scored: its label classes but those its configuration
    /// excludes and the zero-shot fold's.
    /// </summary>
    public static IReadOnlyList<int> EvaluatedClasses(ClassList classes, IReadOnlyDictionary<int, string> textLabels, DatasetConfig config, IReadOnlyList<string> zeroShotExcluded)
    {
        var excluded = (config.ExcludedClasses ?? []).Concat(zeroShotExcluded.Where(classes.Contains))
            .Select(classes.IndexOf).ToHashSet();
        return textLabels.Keys.Order().Where(c => !excluded.Contains(c)).ToList();
    }

    /// <summary>Distractor names for full-set and subset batches, or null when none are asked for.</summary>
    public DistractorVocabulary? Distractors { get; }

    // Each training dataset's loss weight per label text, or null where the dataset is not weighted.
    private readonly IReadOnlyList<IReadOnlyDictionary<string, float>?> _classWeights;

    // Each training dataset's repeat factor per sample, or null where the dataset draws each sample once.
    private readonly IReadOnlyList<IReadOnlyList<double>?> _repeatFactors;

    /// <summary>
    /// The loss weight of each label of <paramref name="batch"/> in logit order, or null when its dataset is not weighted
    /// or the batch is a 2-way episode. Labels that are not the dataset's (distractors, "other") weigh 1.
    /// </summary>
    public float[]? LossWeightsOf(TrainingBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.EpisodeLabels is not null || _classWeights[batch.Dataset] is not { } weights)
            return null;
        return batch.Labels.Select(label => weights.TryGetValue(label, out float w) ? w : 1f).ToArray();
    }

    /// <summary>Every label text a batch can be scored against (encoded once at the start).</summary>
    public IReadOnlyList<string> AllLabels =>
        LabelSets.SelectMany(s => s.Texts).Append(ZeroShotFolds.OtherLabel).Concat(Distractors?.AllNames ?? []).Distinct(StringComparer.Ordinal).ToList();

    /// <summary>
    /// The batches of one epoch, each dataset weighted by its <see cref="DatasetConfig.SamplesPerEpoch"/> or its
    /// <see cref="DatasetConfig.RepeatFactorThreshold"/>.
    /// </summary>
    public IReadOnlyList<PlannedBatch> PlanEpoch(TrainingConfig config, int epoch) =>
        BatchPlan.ForEpoch(Datasets.Select(d => d.Samples.Count).ToList(), config.BatchSize, config.Seed, epoch,
            config.Datasets.Select(d => d.SamplesPerEpoch).ToList(), _repeatFactors);

    /// <summary>Loads what <paramref name="config"/> names.</summary>
    public static TrainingData Load(TrainingConfig config, Action<string> log)
    {
        var excluded = config.ZeroShotFold is int fold ? ZeroShotFolds.MsrcFold(fold) : [];
        var datasets = config.Datasets.Select(d => FolderDataset.Load(d.ToOptions(), log)).ToList();
        // BatchPlan keeps a partial batch only when it holds two crops (BatchNorm needs two): a dataset that gives one
        // sample per epoch would never be trained on, silently.
        for (int d = 0; d < datasets.Count; d++)
        {
            int perEpoch = config.Datasets[d].SamplesPerEpoch ?? datasets[d].Samples.Count;
            if (perEpoch == 1 && config.BatchSize > 1)
                throw new InvalidDataException(
                    $"Dataset '{config.Datasets[d].Name}' gives one image per epoch, which never fills a batch of two or more crops, so it would never be trained on. Give it samplesPerEpoch (2 or more: its image repeated), add images, or set batchSize 1.");
        }
        // A fold's names never reach the loss: its classes by name, and any class that labelNames renames to one of them.
        var labelSets = datasets.Select((d, i) => new TrainingLabelSet(d,
            (config.Datasets[i].ExcludedClasses ?? []).Concat(excluded.Where(d.Classes.Contains))
                .Concat(d.TextLabels.Where(p => excluded.Contains(p.Value.Trim(), StringComparer.OrdinalIgnoreCase)).Select(p => d.Classes.Names[p.Key]))
                .Distinct(StringComparer.OrdinalIgnoreCase))).ToList();
        // A dataset whose trained classes cover no pixel (label maps all void, or every class it shows excluded) would train
        // on nothing: every loss NaN and skipped, "loss 0.0000" logged, and a package written as if trained.
        for (int d = 0; d < datasets.Count; d++)
        {
            if (!HasTrainedPixel(datasets[d], labelSets[d]))
                throw new InvalidDataException(
                    $"Dataset '{config.Datasets[d].Name}' has no pixel of a class it trains: its label maps hold only the ignore value{(labelSets[d].ExcludedClassIndices.Count > 0 ? ", excluded classes" : "")} or values the class list does not name. " +
                    "Check the label maps and the class list, or leave the dataset out.");
        }
        // Subsets and episodes add their own catch-all "other" (whatever the kept labels do not name): a dataset class of
        // that name would be a second channel of the same text, trained toward other pixels.
        if (config.LabelSampling.SubsetProbability > 0 || config.LabelSampling.EpisodeProbability > 0)
        {
            for (int d = 0; d < labelSets.Count; d++)
            {
                if (labelSets[d].Texts.FirstOrDefault(t => string.Equals(t.Trim(), ZeroShotFolds.OtherLabel, StringComparison.OrdinalIgnoreCase)) is { } other)
                    throw new InvalidDataException(
                        $"Dataset '{config.Datasets[d].Name}' trains a label '{other}', and labelSampling adds its own \"{ZeroShotFolds.OtherLabel}\" (everything a subset or episode does not name) to its batches: " +
                        $"rename that class (labelNames), exclude it (excludedClasses), or set subsetProbability and episodeProbability to 0.");
            }
        }
        // Test datasets are loaded only after the last epoch: check now what would make them fail then.
        var tests = config.Test.Select(test => FolderDataset.Check(test.ToEvaluationOptions())).ToList();
        for (int t = 0; t < tests.Count; t++)
        {
            // A zero-shot run tests its fold's classes on each test dataset: one without them would fail after the last epoch.
            if (excluded.Where(c => !tests[t].Classes.Contains(c)).ToList() is { Count: > 0 } missing)
                throw new InvalidDataException(
                    $"Test dataset '{config.Test[t].Name}' has no class {string.Join(", ", missing.Select(c => $"'{c}'"))} of zero-shot fold {config.ZeroShotFold}; a zero-shot run tests on datasets with the fold's classes (MSRC-v2's test split).");
        }
        var validation = config.Validation.Select(d => FolderDataset.Load(d.ToEvaluationOptions(), log, maxImages: config.ValidationMaxImages)).ToList();
        // Checked now, not when the first epoch ends (its validation would throw and lose the epoch) or after the last.
        var evaluated = validation.Select((v, i) => (Kind: "Validation", Config: config.Validation[i], v.Classes, v.TextLabels))
            .Concat(tests.Select((t, i) => (Kind: "Test", Config: config.Test[i], t.Classes, t.TextLabels))).ToList();
        foreach (var (kind, datasetConfig, classes, _) in evaluated)
        {
            foreach (string name in datasetConfig.ExcludedClasses ?? [])
            {
                if (!classes.Contains(name))
                    throw new InvalidDataException($"{kind} dataset '{datasetConfig.Name}' excludes class '{name}', which is not one of its classes ({string.Join(", ", classes.LabelClasses.Select(c => c.Name))}).");
            }
        }
        var evaluationLabels = evaluated.Where(e => e.Kind == "Validation" || config.ZeroShotFold is null)
            .Select(e => (e.Config.Name, (IReadOnlyList<string>)EvaluatedClasses(e.Classes, e.TextLabels, e.Config, excluded).Select(c => e.TextLabels[c]).ToList()))
            .ToList();
        foreach (var (set, i) in labelSets.Select((s, i) => (s, i)))
            log($"dataset {datasets[i].Name} trains with {set.Texts.Count} labels: {string.Join(", ", set.Texts)}");

        DistractorVocabulary? distractors = null;
        if (config.LabelSampling.Distractors > 0)
        {
            var overlaps = config.LabelSampling.Overlaps is { } path ? DistractorVocabulary.ReadOverlaps(path) : null;
            distractors = new DistractorVocabulary(labelSets, overlaps, excluded);
            for (int d = 0; d < datasets.Count; d++)
                log($"dataset {datasets[d].Name}: {distractors.PoolOf(d).Count} distractor names before overlaps");
            if (Enumerable.Range(0, datasets.Count).All(d => distractors.PoolOf(d).Count == 0))
                throw new InvalidDataException(
                    $"labelSampling.distractors is {config.LabelSampling.Distractors}, but no dataset has a distractor name: they are drawn from the other training datasets' labels, and {(datasets.Count == 1 ? "this run trains one dataset" : "every such label is one of the dataset's own")}. Add a dataset or set distractors to 0.");
        }
        var classWeights = new IReadOnlyDictionary<string, float>?[datasets.Count];
        for (int d = 0; d < datasets.Count; d++)
        {
            if (config.Datasets[d].ClassWeighting != DatasetConfig.MedianFrequencyWeighting)
                continue;
            classWeights[d] = ClassFrequencyWeights.MedianFrequency(datasets[d], labelSets[d]);
            log($"dataset {datasets[d].Name} loss weights (median frequency, capped at {ClassFrequencyWeights.MaximumWeight:0}): " +
                string.Join(", ", classWeights[d]!.Select(w => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{w.Key} {w.Value:0.00}"))));
        }
        var repeatFactors = new IReadOnlyList<double>?[datasets.Count];
        for (int d = 0; d < datasets.Count; d++)
        {
            if (config.Datasets[d].RepeatFactorThreshold is not double threshold)
                continue;
            var factors = RepeatFactors.Of(datasets[d], labelSets[d], threshold);
            repeatFactors[d] = factors;
            log(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"dataset {datasets[d].Name} repeat factors (threshold {threshold:G3}): {factors.Count(r => r > 1)} of {factors.Length} images repeated, " +
                $"largest {factors.Max():0.00}, about {factors.Sum():0} draws per epoch"));
        }
        return new TrainingData(datasets, labelSets, validation, excluded, distractors, classWeights, repeatFactors, evaluationLabels);
    }

    /// <summary>True when some label pixel of <paramref name="dataset"/> is a class <paramref name="labels"/> trains.</summary>
    private static bool HasTrainedPixel(FolderDataset dataset, TrainingLabelSet labels)
    {
        var target = labels.TargetOfValue;
        foreach (var sample in dataset.Samples)
        {
            foreach (byte value in sample.Labels.Pixels)
            {
                if (target[value] != Augmenter.IgnoreTarget)
                    return true;
            }
        }
        return false;
    }
}

namespace LSeg.MLNet.Package;

/// <summary>
/// The manifest's <c>untrainedLabels</c>: the names the network was trained with, and how far the calibrated labels
/// (those with a <see cref="ModelManifest.LabelLogitOffsets"/> entry, such as a catch-all "other") are lowered when a
/// label set holds a name it was not trained with (<see cref="ModelManifest.UntrainedLabels"/>).
/// </summary>
public sealed class UntrainedLabelCalibration
{
    private HashSet<string>? _trained;

    /// <summary>
    /// Subtracted from the offset of every label with a <see cref="ModelManifest.LabelLogitOffsets"/> entry when the
    /// label set holds a label that is neither in <see cref="TrainedLabels"/> nor has such an entry.
    /// </summary>
    public double CalibratedLabelDrop { get; init; }

    /// <summary>Every label name the network saw in training (matched after trimming, ignoring case).</summary>
    public List<string> TrainedLabels { get; init; } = [];

    /// <summary>
    /// When set, in a label set of trained names and a calibrated label (such as "other"), the calibrated label also
    /// takes what a trained name the set does not offer would win: every one of <see cref="TrainedLabels"/> that is not
    /// offered, has no logit offset, and whose text embedding's cosine similarity to each offered name is below this
    /// value is scored too, and the pixels it wins go to the calibrated label. "Other" then means "none of these" for
    /// what the network knows (the water behind "bird, sky, tree, other"), while a name close to an offered one is not
    /// held against it. Sets with an untrained name are left to <see cref="CalibratedLabelDrop"/>: a new object's pixels
    /// may look like an unoffered trained name. Null: off. Needs package format version 6.
    /// </summary>
    public double? UnofferedLabelSimilarity { get; init; }

    /// <summary>
    /// The trained names <see cref="UnofferedLabelSimilarity"/> lets the calibrated label absorb; null: every one of
    /// <see cref="TrainedLabels"/>. For a network that learned some of its names too poorly to tell them apart (the
    /// default model's 59 clothing names), absorbing those would hand the offered ones' pixels to the catch-all.
    /// </summary>
    public List<string>? UnofferedLabels { get; init; }

    /// <summary>
    /// When set, the calibrated label also absorbs unoffered trained names in label sets that DO offer an untrained name
    /// (which <see cref="UnofferedLabelSimilarity"/> leaves alone), by the same rule with this limit, but only the names
    /// of <see cref="UnofferedLabelsBesideUntrained"/>. A new object's pixels may look like an unoffered trained name
    /// (a giraffe like a cow), so the list should hold names such a pixel is unlikely to take, such as "stuff" (sky,
    /// grass, road); absorbing them lets "other" mean "none of these" beside a new name (the lawn behind "giraffe,
    /// other"). In such sets the absorbed names' logits are lowered by <see cref="CalibratedLabelDrop"/>, as the
    /// catch-all's are: they stand for it. Null: off. Needs package format version 7.
    /// </summary>
    public double? UnofferedLabelSimilarityBesideUntrained { get; init; }

    /// <summary>
    /// The trained names <see cref="UnofferedLabelSimilarityBesideUntrained"/> lets the calibrated label absorb; required
    /// with it (there is no default: every trained name would hand a new object's pixels to the catch-all).
    /// </summary>
    public List<string>? UnofferedLabelsBesideUntrained { get; init; }

    /// <summary>A copy with its own lists, for a writer that must not share the caller's.</summary>
    internal UntrainedLabelCalibration Copy() => new()
    {
        CalibratedLabelDrop = CalibratedLabelDrop,
        TrainedLabels = [.. TrainedLabels],
        UnofferedLabelSimilarity = UnofferedLabelSimilarity,
        UnofferedLabels = UnofferedLabels is { } unoffered ? [.. unoffered] : null,
        UnofferedLabelSimilarityBesideUntrained = UnofferedLabelSimilarityBesideUntrained,
        UnofferedLabelsBesideUntrained = UnofferedLabelsBesideUntrained is { } beside ? [.. beside] : null,
    };

    /// <summary>True when <paramref name="label"/> is one of <see cref="TrainedLabels"/> (matched as <see cref="LabelNameKey"/> reads names).</summary>
    internal bool IsTrained(string label)
    {
        // Built once; two threads building it at the same time build the same set.
        _trained ??= new HashSet<string>(TrainedLabels.Select(LabelNameKey.Of), LabelNameKey.Comparer);
        return _trained.Contains(LabelNameKey.Of(label));
    }

    /// <summary>
    /// Checks the entry as a package writer or reader does: a finite drop and at least one trained label, none empty.
    /// </summary>
    /// <param name="source">Where the entry came from, for the message (a file, an option).</param>
    /// <exception cref="InvalidDataException">A rule is broken; the message names it and <paramref name="source"/>.</exception>
    public void Validate(string source)
    {
        if (!double.IsFinite(CalibratedLabelDrop))
            throw new InvalidDataException($"{source} gives untrainedLabels.calibratedLabelDrop {CalibratedLabelDrop}; it must be a finite number.");
        if (TrainedLabels is not { Count: > 0 })
            throw new InvalidDataException($"{source} has untrainedLabels without trainedLabels; without the trained names every label would count as untrained.");
        if (TrainedLabels.Any(string.IsNullOrWhiteSpace))
            throw new InvalidDataException($"{source} lists an empty name among untrainedLabels.trainedLabels.");
        if (UnofferedLabelSimilarity is double limit && !(limit > -1 && limit <= 1))
            throw new InvalidDataException($"{source} gives untrainedLabels.unofferedLabelSimilarity {limit}; it must be a cosine similarity above -1 and at most 1.");
        if (UnofferedLabels is { } unoffered)
        {
            if (UnofferedLabelSimilarity is null)
                throw new InvalidDataException($"{source} lists untrainedLabels.unofferedLabels without unofferedLabelSimilarity, which they serve.");
            CheckTrained(unoffered, "unofferedLabels", source);
        }
        if (UnofferedLabelSimilarityBesideUntrained is double besideLimit)
        {
            if (!(besideLimit > -1 && besideLimit <= 1))
                throw new InvalidDataException($"{source} gives untrainedLabels.unofferedLabelSimilarityBesideUntrained {besideLimit}; it must be a cosine similarity above -1 and at most 1.");
            if (UnofferedLabelsBesideUntrained is not { Count: > 0 })
                throw new InvalidDataException($"{source} gives untrainedLabels.unofferedLabelSimilarityBesideUntrained without unofferedLabelsBesideUntrained: name the trained names to absorb beside an untrained one.");
        }
        if (UnofferedLabelsBesideUntrained is { } beside)
        {
            if (UnofferedLabelSimilarityBesideUntrained is null)
                throw new InvalidDataException($"{source} lists untrainedLabels.unofferedLabelsBesideUntrained without unofferedLabelSimilarityBesideUntrained, which they serve.");
            CheckTrained(beside, "unofferedLabelsBesideUntrained", source);
        }
    }

    private void CheckTrained(List<string> names, string property, string source)
    {
        if (names.FirstOrDefault(name => string.IsNullOrWhiteSpace(name) || !IsTrained(name.Trim())) is { } stranger)
            throw new InvalidDataException($"{source} lists '{stranger}' in untrainedLabels.{property}, which is not one of its trainedLabels.");
    }
}

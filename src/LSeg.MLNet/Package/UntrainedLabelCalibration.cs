namespace LSeg.MLNet.Package;

/// <summary>
/// The manifest's <c>untrainedLabels</c>: the names the network was trained with, and the logit offset every other
/// label gets (<see cref="ModelManifest.UntrainedLabels"/>).
/// </summary>
public sealed class UntrainedLabelCalibration
{
    private HashSet<string>? _trained;

    /// <summary>Added to the logits of a label that is not in <see cref="TrainedLabels"/> and has no <see cref="ModelManifest.LabelLogitOffsets"/> entry.</summary>
    public double LogitOffset { get; init; }

    /// <summary>Every label name the network saw in training (matched after trimming, ignoring case).</summary>
    public List<string> TrainedLabels { get; init; } = [];

    /// <summary>True when <paramref name="label"/> (already trimmed) is one of <see cref="TrainedLabels"/>.</summary>
    internal bool IsTrained(string label)
    {
        // Built once; two threads building it at the same time build the same set.
        _trained ??= new HashSet<string>(TrainedLabels.Select(name => name.Trim()), StringComparer.OrdinalIgnoreCase);
        return _trained.Contains(label);
    }

    /// <summary>Checks the entry: a finite offset and at least one trained label, none empty.</summary>
    /// <exception cref="InvalidDataException">A rule is broken; the message names it and <paramref name="source"/>.</exception>
    internal void Check(string source)
    {
        if (!double.IsFinite(LogitOffset))
            throw new InvalidDataException($"{source} gives untrained labels the logit offset {LogitOffset}; it must be a finite number.");
        if (TrainedLabels is not { Count: > 0 })
            throw new InvalidDataException($"{source} has untrainedLabels without trainedLabels; without the trained names every label would count as untrained.");
        if (TrainedLabels.Any(string.IsNullOrWhiteSpace))
            throw new InvalidDataException($"{source} lists an empty name among untrainedLabels.trainedLabels.");
    }
}

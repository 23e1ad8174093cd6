namespace LSeg.Training.Bridge.Data;

/// <summary>
/// The labels one dataset is trained with: its classes minus the ignore value and minus any excluded (zero-shot
/// unseen) classes, in class-index order. Excluded classes' pixels become ignored targets and their names are not
/// in <see cref="Texts"/>, so they never reach the loss.
/// </summary>
public sealed class TrainingLabelSet
{
    private readonly byte[] _targetOfValue;

    /// <summary>Builds the label set of <paramref name="dataset"/> without the classes named in <paramref name="excludedClasses"/>.</summary>
    /// <exception cref="ArgumentException">An excluded name is not a class of the dataset, or more than 254 labels remain.</exception>
    public TrainingLabelSet(FolderDataset dataset, IEnumerable<string>? excludedClasses = null)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        var excluded = new HashSet<int>();
        foreach (string name in excludedClasses ?? [])
        {
            if (!dataset.Classes.Contains(name))
                throw new ArgumentException($"Dataset '{dataset.Name}' excludes class '{name}' (excludedClasses), which is not one of its classes ({string.Join(", ", dataset.Classes.LabelClasses.Select(c => c.Name))}).", nameof(excludedClasses));
            excluded.Add(dataset.Classes.IndexOf(name));
        }
        ClassIndices = dataset.LabelClassIndices.Where(i => !excluded.Contains(i)).ToList();
        if (ClassIndices.Count is 0 or > 254)
            throw new ArgumentException($"Dataset '{dataset.Name}' would train with {ClassIndices.Count} labels; it needs 1 to 254.");
        Texts = ClassIndices.Select(i => dataset.TextLabels[i]).ToList();
        ExcludedClassIndices = excluded.Order().ToList();
        _targetOfValue = Enumerable.Repeat(Augmenter.IgnoreTarget, 256).ToArray();
        for (int t = 0; t < ClassIndices.Count; t++)
            _targetOfValue[ClassIndices[t]] = (byte)t;
    }

    /// <summary>Class index of each training label, in target order.</summary>
    public IReadOnlyList<int> ClassIndices { get; }

    /// <summary>Text of each training label, in target order (what the text encoder embeds).</summary>
    public IReadOnlyList<string> Texts { get; }

    /// <summary>Classes whose pixels are ignored and whose names never reach the loss.</summary>
    public IReadOnlyList<int> ExcludedClassIndices { get; }

    /// <summary>Target index of each of the 256 label values (<see cref="Augmenter.IgnoreTarget"/> when ignored).</summary>
    public ReadOnlySpan<byte> TargetOfValue => _targetOfValue;
}

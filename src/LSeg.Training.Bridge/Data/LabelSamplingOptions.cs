namespace LSeg.Training.Bridge.Data;

/// <summary>
/// Which labels each training batch is scored against. By default a batch uses its dataset's full label set; with the
/// probabilities below it is instead a subset batch (a random part of the labels present in the crops plus
/// <c>"other"</c>, which takes the pixels of every label left out) or a 2-way episode batch (<c>["other", c]</c> per
/// crop). Full-set and subset batches can also offer distractors: names from the other datasets' vocabularies that
/// are absent from the crops, never a target, so that an offered name learns to stay empty when its thing is not
/// there. One model then serves fixed label sets, "name one thing + other" and label sets with absent names.
/// </summary>
public sealed class LabelSamplingOptions
{
    /// <summary>Probability that a batch is a subset batch: present labels kept with <see cref="KeepProbability"/>, plus <c>"other"</c>.</summary>
    public double SubsetProbability { get; set; }

    /// <summary>Probability that a batch is a 2-way <c>["other", c]</c> episode batch (c a label present in each crop).</summary>
    public double EpisodeProbability { get; set; }

    /// <summary>Probability that a present label is kept in a subset batch (at least one always is).</summary>
    public double KeepProbability { get; set; } = 0.5;

    /// <summary>Absent names from the other training datasets' label sets offered in full-set and subset batches (0: none).</summary>
    public int Distractors { get; set; }

    /// <summary>
    /// JSON file mapping a label to the names that may share its pixels or appear with it (e.g. <c>"body"</c> →
    /// <c>["shirt", "jeans", "pedestrian"]</c>); read both ways. A name that overlaps a label present in the crops is
    /// never drawn as a distractor. Null: only names equal to a present label are avoided.
    /// </summary>
    public string? Overlaps { get; set; }

    /// <summary>Checks the values.</summary>
    /// <exception cref="ArgumentException">Names the first value out of range.</exception>
    public void Validate()
    {
        if (SubsetProbability is < 0 or > 1)
            throw new ArgumentException($"subsetProbability is {SubsetProbability}; expected a probability in [0, 1].");
        if (EpisodeProbability is < 0 or > 1)
            throw new ArgumentException($"episodeProbability is {EpisodeProbability}; expected a probability in [0, 1].");
        if (SubsetProbability + EpisodeProbability > 1 + 1e-9)
            throw new ArgumentException($"subsetProbability + episodeProbability is {SubsetProbability + EpisodeProbability}; together they must not exceed 1 (the rest are full-set batches).");
        if (KeepProbability is <= 0 or > 1)
            throw new ArgumentException($"keepProbability is {KeepProbability}; expected a probability in (0, 1].");
        if (Distractors is < 0 or > 64)
            throw new ArgumentException($"distractors is {Distractors}; expected 0 to 64.");
        if (Overlaps is not null && !File.Exists(Overlaps))
            throw new FileNotFoundException($"overlaps file '{Overlaps}' does not exist (relative paths resolve against '{Environment.CurrentDirectory}').", Overlaps);
    }
}

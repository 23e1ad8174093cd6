using System.Text.Json;

namespace LSeg.Training.Bridge.Data;

/// <summary>
/// Draws distractor names for a batch: names of the other training datasets' label sets that are neither a label of
/// the batch's own dataset nor overlapping (by the overlap table) a label present in its crops. Excluded names
/// (zero-shot unseen classes) are never drawn, so they never reach the loss.
/// </summary>
public sealed class DistractorVocabulary
{
    private readonly IReadOnlyList<string>[] _pools;
    private readonly Dictionary<string, HashSet<string>> _overlaps;

    /// <summary>Builds the vocabulary over the datasets' training label sets (in training-mix order).</summary>
    /// <param name="labelSets">Each dataset's training labels.</param>
    /// <param name="overlaps">Label → names that may share its pixels or image; used in both directions.</param>
    /// <param name="excluded">Names that must never be drawn.</param>
    public DistractorVocabulary(IReadOnlyList<TrainingLabelSet> labelSets, IReadOnlyDictionary<string, string[]>? overlaps = null, IEnumerable<string>? excluded = null)
    {
        ArgumentNullException.ThrowIfNull(labelSets);
        var never = new HashSet<string>(excluded ?? [], StringComparer.OrdinalIgnoreCase) { ZeroShotFolds.OtherLabel };
        _overlaps = BothWays(overlaps);
        _pools = new IReadOnlyList<string>[labelSets.Count];
        for (int d = 0; d < labelSets.Count; d++)
        {
            var own = new HashSet<string>(labelSets[d].Texts, StringComparer.OrdinalIgnoreCase);
            _pools[d] = labelSets.Where((_, other) => other != d).SelectMany(s => s.Texts)
                .Where(t => !own.Contains(t) && !never.Contains(t)).Distinct(StringComparer.OrdinalIgnoreCase).Order(StringComparer.Ordinal).ToList();
        }
    }

    /// <summary>Every name that can be drawn for dataset <paramref name="dataset"/> (before overlaps with its crops).</summary>
    public IReadOnlyList<string> PoolOf(int dataset) => _pools[dataset];

    /// <summary>Every name that can be drawn anywhere (to encode them once up front).</summary>
    public IEnumerable<string> AllNames => _pools.SelectMany(p => p).Distinct(StringComparer.Ordinal);

    /// <summary>Up to <paramref name="count"/> distinct names for a batch of dataset <paramref name="dataset"/> whose crops show <paramref name="present"/>.</summary>
    public IReadOnlyList<string> Draw(int dataset, IReadOnlyCollection<string> present, int count, Random random)
    {
        ArgumentNullException.ThrowIfNull(present);
        ArgumentNullException.ThrowIfNull(random);
        if (count <= 0)
            return [];
        var blocked = new HashSet<string>(present, StringComparer.OrdinalIgnoreCase);
        foreach (string label in present)
        {
            if (_overlaps.TryGetValue(label, out var names))
                blocked.UnionWith(names);
        }
        var eligible = _pools[dataset].Where(n => !blocked.Contains(n)).ToArray();
        random.Shuffle(eligible);
        return eligible.Take(count).ToList();
    }

    /// <summary>Reads an overlap table: a JSON object whose values are arrays of names.</summary>
    /// <exception cref="InvalidDataException">The file is not such an object.</exception>
    public static IReadOnlyDictionary<string, string[]> ReadOverlaps(string path) => ParseOverlaps(File.ReadAllText(path), path);

    /// <summary>
    /// The overlap table written for the MSRC-v2 + CamVid + CCP vocabularies (<c>configs/label-overlaps.json</c>,
    /// compiled into this assembly): people wear CCP's garments, CCP's "background" is a street scene, and street
    /// classes share poles, signs and pavement.
    /// </summary>
    public static IReadOnlyDictionary<string, string[]> BuiltInOverlaps { get; } = ReadBuiltInOverlaps();

    /// <summary>Whether <paramref name="name"/> may share pixels or a scene with <paramref name="label"/> by <paramref name="overlaps"/>, read both ways.</summary>
    public static bool Overlaps(IReadOnlyDictionary<string, string[]> overlaps, string label, string name)
    {
        ArgumentNullException.ThrowIfNull(overlaps);
        return BothWays(overlaps).TryGetValue(label, out var names) && names.Contains(name);
    }

    /// <summary>An overlap table read both ways: each label → every name it overlaps, in either direction of the table (case ignored).</summary>
    internal static Dictionary<string, HashSet<string>> BothWays(IReadOnlyDictionary<string, string[]>? overlaps)
    {
        var both = new Dictionary<string, HashSet<string>>(StringComparer.OrdinalIgnoreCase);
        HashSet<string> Of(string label) => both.TryGetValue(label, out var set) ? set : both[label] = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (label, names) in overlaps ?? new Dictionary<string, string[]>())
        {
            foreach (string name in names)
            {
                Of(label).Add(name);
                Of(name).Add(label);
            }
        }
        return both;
    }

    private static IReadOnlyDictionary<string, string[]> ReadBuiltInOverlaps()
    {
        const string resource = "LSeg.Training.Bridge.label-overlaps.json";
        using var stream = typeof(DistractorVocabulary).Assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"The assembly lacks its resource '{resource}'; it was built without configs/label-overlaps.json.");
        using var reader = new StreamReader(stream);
        return ParseOverlaps(reader.ReadToEnd(), resource);
    }

    private static Dictionary<string, string[]> ParseOverlaps(string json, string source)
    {
        try
        {
            return JsonSerializer.Deserialize<Dictionary<string, string[]>>(json, new JsonSerializerOptions { ReadCommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true })
                ?? throw new InvalidDataException($"Overlap table '{source}' is empty (null).");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"Overlap table '{source}' must be a JSON object of label → array of names: {e.Message}", e);
        }
    }
}

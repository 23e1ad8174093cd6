using System.Globalization;

namespace LSeg.Training.Bridge.Data;

/// <summary>
/// The class names of a dataset, read from a <c>classes.txt</c> file with one <c>INDEX&lt;TAB&gt;NAME</c> line per
/// class. The class named <c>void</c> (if any) is the ignore value of the label PNGs.
/// </summary>
public sealed class ClassList
{
    /// <summary>The name that marks the ignore value in a <c>classes.txt</c> file.</summary>
    public const string VoidName = "void";

    private readonly SortedDictionary<int, string> _names;

    /// <summary>Creates a class list from index → name pairs.</summary>
    /// <exception cref="ArgumentException">An index is outside 0–255 or two classes share a name.</exception>
    public ClassList(IEnumerable<KeyValuePair<int, string>> names)
    {
        ArgumentNullException.ThrowIfNull(names);
        _names = new SortedDictionary<int, string>();
        foreach (var (index, name) in names)
        {
            if (index is < 0 or > 255)
                throw new ArgumentException($"Class index {index} ('{name}') is outside 0–255; label PNGs hold 8-bit values.", nameof(names));
            if (!_names.TryAdd(index, name))
                throw new ArgumentException($"Class index {index} appears twice ('{_names[index]}' and '{name}').", nameof(names));
        }
        if (_names.Values.Distinct(StringComparer.Ordinal).Count() != _names.Count)
            throw new ArgumentException("Two classes share a name; each class needs its own text label.", nameof(names));
        VoidIndex = _names.Where(p => string.Equals(p.Value, VoidName, StringComparison.OrdinalIgnoreCase)).Select(p => (int?)p.Key).FirstOrDefault();
    }

    /// <summary>Index of the class named <c>void</c>, or null when the list has none.</summary>
    public int? VoidIndex { get; }

    /// <summary>Every index → name pair, in index order, void included.</summary>
    public IReadOnlyDictionary<int, string> Names => _names;

    /// <summary>The classes that are labels (every class except void), in index order.</summary>
    public IReadOnlyList<(int Index, string Name)> LabelClasses =>
        _names.Where(p => p.Key != VoidIndex).Select(p => (p.Key, p.Value)).ToList();

    /// <summary>Whether a class has this name (case-insensitive).</summary>
    public bool Contains(string name) => _names.Values.Any(n => string.Equals(n, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>Index of the class with this name (case-insensitive).</summary>
    /// <exception cref="ArgumentException">No class has that name.</exception>
    public int IndexOf(string name)
    {
        foreach (var (index, n) in _names)
        {
            if (string.Equals(n, name, StringComparison.OrdinalIgnoreCase))
                return index;
        }
        throw new ArgumentException($"No class named '{name}'; the classes are: {string.Join(", ", _names.Values)}.", nameof(name));
    }

    /// <summary>Reads a <c>classes.txt</c> file (<c>INDEX&lt;TAB&gt;NAME</c> per line; blank lines skipped).</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">A line is not <c>INDEX&lt;TAB&gt;NAME</c>.</exception>
    public static ClassList Load(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"Class list '{path}' does not exist (expected INDEX<TAB>NAME lines).", path);
        var pairs = new List<KeyValuePair<int, string>>();
        int lineNumber = 0;
        foreach (string raw in File.ReadLines(path))
        {
            lineNumber++;
            string line = raw.Trim();
            if (line.Length == 0)
                continue;
            int tab = line.IndexOf('\t');
            if (tab <= 0 || !int.TryParse(line.AsSpan(0, tab), NumberStyles.None, CultureInfo.InvariantCulture, out int index))
                throw new InvalidDataException($"{path}:{lineNumber}: expected INDEX<TAB>NAME, found '{line}'.");
            string name = line[(tab + 1)..].Trim();
            if (name.Length == 0)
                throw new InvalidDataException($"{path}:{lineNumber}: class {index} has an empty name.");
            pairs.Add(new(index, name));
        }
        try
        {
            return new ClassList(pairs);
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
    }
}

namespace LSeg.Training.Bridge.Import.Pickle;

/// <summary>A reference to a Python global (<c>module.name</c>) as the pickle names it; never resolved to code.</summary>
internal sealed record PickleGlobal(string Module, string Name)
{
    public string FullName => $"{Module}.{Name}";

    public override string ToString() => FullName;
}

/// <summary>
/// An instance of an allowed Python class, kept as inert data: the class name, the constructor arguments the
/// pickle passed, and the state it set with BUILD. Nothing of the class is ever run.
/// </summary>
internal sealed class PickleObject
{
    public PickleObject(PickleGlobal type, IReadOnlyList<object?> arguments)
    {
        Type = type;
        Arguments = arguments;
    }

    public PickleGlobal Type { get; }

    public IReadOnlyList<object?> Arguments { get; }

    /// <summary>The state passed to <c>__setstate__</c> (usually the instance's <c>__dict__</c>), or null.</summary>
    public object? State { get; set; }

    public override string ToString() => $"<{Type.FullName} object>";
}

/// <summary>
/// A Python dict or OrderedDict as unpickled: keys in insertion order (a key may be a string, a number, a tuple or a
/// class reference); string keys are indexed. Attributes set on the dict itself (OrderedDict's <c>_metadata</c>)
/// land in <see cref="Attributes"/>.
/// </summary>
internal sealed class PickleDict
{
    private readonly List<KeyValuePair<object?, object?>> _items = [];
    private readonly Dictionary<string, int> _stringKeys = new(StringComparer.Ordinal);

    public IReadOnlyList<KeyValuePair<object?, object?>> Items => _items;

    public int Count => _items.Count;

    public object? Attributes { get; set; }

    public void Set(object? key, object? value)
    {
        if (key is string text)
        {
            if (_stringKeys.TryGetValue(text, out int index))
            {
                _items[index] = new(key, value);
                return;
            }
            _stringKeys[text] = _items.Count;
        }
        _items.Add(new(key, value));
    }

    public bool TryGetValue(string key, out object? value)
    {
        if (_stringKeys.TryGetValue(key, out int index))
        {
            value = _items[index].Value;
            return true;
        }
        value = null;
        return false;
    }

    public bool ContainsKey(string key) => _stringKeys.ContainsKey(key);
}

namespace LSeg.MLNet.Runtime;

/// <summary>
/// Label text → embedding, shared by every thread of a model and bounded: when more than <see cref="Capacity"/> labels
/// have been encoded, the least recently used are forgotten (and re-encoded if they come back). A service that sees
/// user-typed labels would otherwise grow without limit.
/// </summary>
internal sealed class LabelEmbeddingCache(int capacity)
{
    private readonly object _gate = new();
    private readonly Dictionary<string, LinkedListNode<(string Label, float[] Embedding)>> _entries = new(StringComparer.Ordinal);
    private readonly LinkedList<(string Label, float[] Embedding)> _recency = new();

    /// <summary>Most labels kept.</summary>
    public int Capacity { get; } = capacity > 0 ? capacity : throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "The label cache must hold at least one label.");

    /// <summary>Labels held now.</summary>
    public int Count
    {
        get
        {
            lock (_gate)
                return _entries.Count;
        }
    }

    /// <summary>The cached embedding of <paramref name="label"/> (marked as recently used), or null.</summary>
    public float[]? Get(string label)
    {
        lock (_gate)
        {
            if (!_entries.TryGetValue(label, out var node))
                return null;
            _recency.Remove(node);
            _recency.AddFirst(node);
            return node.Value.Embedding;
        }
    }

    /// <summary>Adds (or refreshes) <paramref name="label"/>, forgetting the least recently used labels beyond the capacity.</summary>
    public void Add(string label, float[] embedding)
    {
        lock (_gate)
        {
            if (_entries.Remove(label, out var existing))
                _recency.Remove(existing);
            _entries[label] = _recency.AddFirst((label, embedding));
            while (_entries.Count > Capacity)
            {
                var oldest = _recency.Last!;
                _recency.RemoveLast();
                _entries.Remove(oldest.Value.Label);
            }
        }
    }
}

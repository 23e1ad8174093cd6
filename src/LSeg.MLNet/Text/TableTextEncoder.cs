using System.Text.Json;

namespace LSeg.MLNet.Text;

/// <summary>
/// A fixed label → embedding table (<c>textEncoder.kind = table</c>): a JSON object mapping each known label to its
/// C floats. Only the labels in the table can be used.
/// </summary>
internal sealed class TableTextEncoder : ILabelTextEncoder
{
    private readonly Dictionary<string, float[]> _table;

    private TableTextEncoder(Dictionary<string, float[]> table, int embeddingSize)
    {
        _table = table;
        EmbeddingSize = embeddingSize;
    }

    /// <inheritdoc/>
    public int EmbeddingSize { get; }

    /// <summary>Reads the table at <paramref name="path"/>; every row must have <paramref name="embeddingSize"/> floats.</summary>
    /// <exception cref="InvalidDataException">The file is not a JSON object of float arrays of that size.</exception>
    public static TableTextEncoder FromFile(string path, int embeddingSize)
    {
        Dictionary<string, float[]>? table;
        try
        {
            table = JsonSerializer.Deserialize<Dictionary<string, float[]>>(File.ReadAllText(path));
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"Label embedding table '{path}' is not a JSON object of label → float array: {e.Message}", e);
        }
        if (table is null || table.Count == 0)
            throw new InvalidDataException($"Label embedding table '{path}' is empty.");
        foreach (var (label, vector) in table)
        {
            if (vector is null || vector.Length != embeddingSize)
                throw new InvalidDataException($"Label '{label}' in '{path}' has {vector?.Length ?? 0} floats; the manifest's embeddingSize is {embeddingSize}.");
        }
        return new TableTextEncoder(new Dictionary<string, float[]>(table, StringComparer.Ordinal), embeddingSize);
    }

    /// <inheritdoc/>
    /// <exception cref="ArgumentException">A label is not in the table.</exception>
    public float[][] Encode(IReadOnlyList<string> labels)
    {
        var result = new float[labels.Count][];
        for (int i = 0; i < labels.Count; i++)
        {
            if (!_table.TryGetValue(labels[i], out var vector))
                throw new ArgumentException(
                    $"Label {QuotedLabel.Of(labels[i])} is not in this model's fixed label table, which knows {_table.Count} labels ({string.Join(", ", _table.Keys.Take(10))}{(_table.Count > 10 ? ", …" : "")}).",
                    nameof(labels));
            result[i] = (float[])vector.Clone();
        }
        return result;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
    }
}

using LSeg.MLNet.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace LSeg.Training.Bridge.Training;

/// <summary>
/// Label text → embedding row. Frozen (text encoder, the LSeg recipe): each label is encoded once and cached; any new
/// label is encoded on first use. Learned (the fixed-label baseline): one trainable row per known label, a 1×1
/// classifier; an unknown label is an error.
/// </summary>
public sealed class LabelEmbeddingTable : IDisposable
{
    private readonly Func<ILabelTextEncoder>? _encoderFactory;
    private ILabelTextEncoder? _encoder;
    private readonly Dictionary<string, int> _rows = new(StringComparer.Ordinal);
    private readonly List<float[]> _frozen = [];
    private Tensor? _frozenTensor;

    private LabelEmbeddingTable(Func<ILabelTextEncoder>? encoderFactory, int size, Device? device)
    {
        _encoderFactory = encoderFactory;
        EmbeddingSize = size;
        Device = device ?? CPU;
    }

    /// <summary>Where the embeddings live (the network's device).</summary>
    public Device Device { get; }

    /// <summary>Size C of each embedding.</summary>
    public int EmbeddingSize { get; }

    /// <summary>The trainable rows of a learned table, or null when the table is frozen.</summary>
    public TorchSharp.Modules.Parameter? Learned { get; private set; }

    /// <summary>Labels known to the table, in row order.</summary>
    public IReadOnlyList<string> Labels => _rows.OrderBy(p => p.Value).Select(p => p.Key).ToList();

    /// <summary>A frozen table over a text encoder (which the table then owns).</summary>
    internal static LabelEmbeddingTable Frozen(ILabelTextEncoder encoder, IEnumerable<string> labels, Device? device = null)
    {
        var table = new LabelEmbeddingTable(() => encoder, encoder.EmbeddingSize, device);
        table.Add(labels);
        return table;
    }

    /// <summary>
    /// A frozen table that starts from cached embeddings (label → vector, e.g. a run's <c>label-embeddings.json</c>)
    /// and creates the text encoder only when a label is not cached.
    /// </summary>
    internal static LabelEmbeddingTable Frozen(Func<ILabelTextEncoder> encoderFactory, int size, IReadOnlyDictionary<string, float[]> cache, IEnumerable<string> labels, Device? device = null)
    {
        var table = new LabelEmbeddingTable(encoderFactory, size, device);
        foreach (var (label, vector) in cache)
        {
            if (vector.Length != size)
                throw new InvalidDataException($"The cached embedding of '{label}' has {vector.Length} values; expected {size}.");
            table._rows[label] = table._frozen.Count;
            table._frozen.Add(vector);
        }
        table.Add(labels);
        return table;
    }

    /// <summary>Every frozen embedding by label (what a cache file stores).</summary>
    public IReadOnlyDictionary<string, float[]> FrozenEmbeddings => _rows.Where(p => Learned is null).ToDictionary(p => p.Key, p => _frozen[p.Value]);

    /// <summary>A learned table with one row per label (normal init, std 1; rows are L2-normalised by the head).</summary>
    public static LabelEmbeddingTable Learnable(IEnumerable<string> labels, int size, int seed, Device? device = null)
    {
        var table = new LabelEmbeddingTable(null, size, device);
        foreach (string label in labels.Distinct(StringComparer.Ordinal))
            table._rows[label] = table._rows.Count;
        using var generator = new Generator((ulong)seed);
        table.Learned = new TorchSharp.Modules.Parameter(randn(table._rows.Count, size, generator: generator).to(table.Device));
        return table;
    }

    private void Add(IEnumerable<string> labels)
    {
        var missing = labels.Distinct(StringComparer.Ordinal).Where(l => !_rows.ContainsKey(l)).ToList();
        if (missing.Count == 0)
            return;
        if (_encoderFactory is null)
            throw new ArgumentException($"The fixed-label classifier knows only the labels it was trained with ({string.Join(", ", _rows.Keys)}); got unknown '{string.Join("', '", missing)}'.");
        _encoder ??= _encoderFactory();
        // As LanguageSegmentationModel.EncodeLabels refuses it: such a label's embedding is that of any unreadable text.
        if (missing.FirstOrDefault(_encoder.KnowsNoWordOf) is { } unreadable)
            throw new InvalidDataException(
                $"Label '{unreadable}' cannot be encoded: the text encoder knows none of its words, so it would mean nothing to the model (and the trained package would refuse it). Name the class with words the encoder reads (labelNames), or exclude it (excludedClasses).");
        float[][] vectors = _encoder.Encode(missing);
        for (int i = 0; i < missing.Count; i++)
        {
            _rows[missing[i]] = _frozen.Count;
            _frozen.Add(vectors[i]);
        }
        _frozenTensor?.Dispose();
        _frozenTensor = null;
    }

    /// <summary>Encodes every label of <paramref name="labels"/> not in the table yet (a frozen table), so that one the encoder refuses fails now.</summary>
    internal void Prepare(IEnumerable<string> labels) => Add(labels);

    /// <summary>
    /// Refuses a label set of a frozen table in which two labels have one embedding (e.g. "car" and "Car" for an
    /// uncased encoder): the later could never win a pixel, in training or in the trained package, which refuses the set.
    /// </summary>
    /// <exception cref="InvalidDataException">Names <paramref name="setName"/> and the two labels.</exception>
    internal void RequireDistinguishable(string setName, IReadOnlyList<string> labels)
    {
        if (Learned is not null)
            return;
        Add(labels);
        for (int i = 0; i < labels.Count; i++)
        {
            for (int j = 0; j < i; j++)
            {
                if (_frozen[_rows[labels[j]]].AsSpan().SequenceEqual(_frozen[_rows[labels[i]]]))
                    throw new InvalidDataException(
                        $"{setName} has labels '{labels[j]}' and '{labels[i]}', which the text encoder gives one embedding (it ignores case, accents or punctuation), so '{labels[i]}' could never win a pixel. Rename one of them (labelNames) or exclude it (excludedClasses).");
            }
        }
    }

    /// <summary>Embeddings [N, C] of <paramref name="labels"/> in that order (differentiable for a learned table).</summary>
    public Tensor Lookup(IReadOnlyList<string> labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        Add(labels);
        var rows = tensor(labels.Select(l => (long)_rows[l]).ToArray()).to(Device);
        if (Learned is not null)
            return Learned.index_select(0, rows);
        _frozenTensor ??= tensor(_frozen.SelectMany(v => v).ToArray(), [_frozen.Count, EmbeddingSize]).to(Device).DetachFromDisposeScope();
        return _frozenTensor.index_select(0, rows);
    }

    /// <summary>Writes a learned table (labels and rows) to a file; nothing for a frozen table.</summary>
    public void SaveLearned(string path)
    {
        if (Learned is null)
            return;
        using var writer = new BinaryWriter(File.Create(path));
        writer.Write(_rows.Count);
        writer.Write(EmbeddingSize);
        foreach (string label in Labels)
            writer.Write(label);
        foreach (float value in Learned.detach().cpu().data<float>())
            writer.Write(value);
    }

    /// <summary>Reads rows written by <see cref="SaveLearned"/> into this learned table (same labels).</summary>
    public void LoadLearned(string path)
    {
        if (Learned is null)
            return;
        using var reader = new BinaryReader(File.OpenRead(path));
        int count = reader.ReadInt32(), size = reader.ReadInt32();
        var labels = Enumerable.Range(0, count).Select(_ => reader.ReadString()).ToList();
        if (size != EmbeddingSize || !labels.SequenceEqual(Labels))
            throw new InvalidDataException($"'{path}' holds {count} labels of size {size}; this table has {Labels.Count} of size {EmbeddingSize} (a different configuration).");
        var values = new float[count * size];
        for (int i = 0; i < values.Length; i++)
            values[i] = reader.ReadSingle();
        using (no_grad())
            Learned.copy_(tensor(values, [count, size]).to(Device));
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _frozenTensor?.Dispose();
        Learned?.Dispose();
        _encoder?.Dispose();
    }
}

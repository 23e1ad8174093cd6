using LSeg.MLNet.Pipeline;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace LSeg.MLNet;

/// <summary>
/// Transformer of <c>mlContext.Transforms.LanguageSegment(…)</c>: a per-pixel label map for each image. A thin
/// wrapper around a chain of ML.NET's own transforms (see the pipeline notes in the repository docs), so
/// <c>mlContext.Model.Save</c> writes the chain and <c>Model.Load</c> reads it back in any process;
/// <see cref="FromTransformerChain"/> turns the loaded chain back into this type.
/// </summary>
/// <remarks>
/// Thread-safe: several PredictionEngines may share it. <see cref="WithLabels"/> returns a transformer for another
/// label set that shares the ONNX Runtime session (no model reload). Dispose releases the session once every
/// transformer sharing it is disposed.
/// </remarks>
public sealed class LanguageSegmentationTransformer : ITransformer, IDisposable
{
    private readonly TransformerChain<ITransformer> _chain;
    private readonly DataViewSchema _inputSchema;
    private readonly SharedResources _shared;
    private readonly bool _perRowLabels;
    private int _disposed;

    internal LanguageSegmentationTransformer(TransformerChain<ITransformer> chain, DataViewSchema inputSchema, string outputColumnName,
        string[]? labels, bool perRowLabels, LanguageSegmentationModel? model, LanguageSegmentationModel? ownedModel)
        : this(chain, inputSchema, outputColumnName, labels, perRowLabels, model, new SharedResources(chain.ElementAtOrDefault(SegmentationPipeline.OnnxStepIndex(chain)), ownedModel))
    {
    }

    private LanguageSegmentationTransformer(TransformerChain<ITransformer> chain, DataViewSchema inputSchema, string outputColumnName,
        string[]? labels, bool perRowLabels, LanguageSegmentationModel? model, SharedResources shared)
    {
        _chain = chain;
        _inputSchema = inputSchema;
        OutputColumnName = outputColumnName;
        Labels = labels;
        _perRowLabels = perRowLabels;
        Model = model;
        _shared = shared;
        _shared.AddReference();
    }

    /// <summary>The labels (key k of the mask is label k − 1); null when each row has its own labels.</summary>
    public IReadOnlyList<string>? Labels { get; }

    /// <summary>Name of the mask column.</summary>
    public string OutputColumnName { get; }

    /// <summary>The model used to encode labels; null for a chain loaded from disk without one.</summary>
    public LanguageSegmentationModel? Model { get; }

    /// <summary>The ML.NET transforms this transformer runs, in order.</summary>
    public TransformerChain<ITransformer> Chain => _chain;

    /// <inheritdoc/>
    public bool IsRowToRowMapper => ((ITransformer)_chain).IsRowToRowMapper;

    /// <inheritdoc/>
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => _chain.GetOutputSchema(inputSchema);

    /// <inheritdoc/>
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) => ((ITransformer)_chain).GetRowToRowMapper(inputSchema);

    /// <summary>Lazily segments every row of <paramref name="input"/>.</summary>
    public IDataView Transform(IDataView input)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        return _chain.Transform(input);
    }

    /// <summary>Saves the inner chain (what <c>mlContext.Model.Save</c> calls); <c>Model.Load</c> returns that chain.</summary>
    /// <exception cref="NotSupportedException">The labels come from a per-row column: such a pipeline encodes labels in memory and cannot be saved.</exception>
    void ICanSaveModel.Save(ModelSaveContext ctx)
    {
        if (_perRowLabels)
            throw new NotSupportedException("A LanguageSegment pipeline with per-row labels (LabelsColumnName) encodes labels with the in-memory model and cannot be saved; use a fixed label set to save it.");
        ((ICanSaveModel)_chain).Save(ctx);
    }

    /// <summary>
    /// A transformer for another label set that shares this one's ONNX Runtime session: only the label embeddings
    /// (cached per label by the model) and the key mapping change.
    /// </summary>
    /// <exception cref="ArgumentException">The labels are empty, or contain an empty, whitespace or duplicate label.</exception>
    /// <exception cref="InvalidOperationException">Labels come per row, or the transformer was loaded from disk without a model.</exception>
    public LanguageSegmentationTransformer WithLabels(string[] labels)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        string[] checkedLabels = LanguageSegmentationModel.ValidateLabels(labels, nameof(labels));
        if (_perRowLabels)
            throw new InvalidOperationException("This transformer takes its labels from a column per row; WithLabels applies to a fixed label set.");
        if (Model is null)
            throw new InvalidOperationException($"This transformer was loaded from a saved model without its {nameof(LanguageSegmentationModel)}; pass the model to {nameof(FromTransformerChain)} to change labels.");
        var chain = SegmentationPipeline.ReplaceLabels(_chain, _inputSchema, Model, OutputColumnName, checkedLabels);
        return new LanguageSegmentationTransformer(chain, _inputSchema, OutputColumnName, checkedLabels, perRowLabels: false, Model, _shared);
    }

    /// <summary>
    /// Turns the chain that <c>mlContext.Model.Load</c> returns for a saved LanguageSegment transformer back into
    /// this type. With <paramref name="model"/> (the same package), <see cref="WithLabels"/> works too.
    /// </summary>
    /// <param name="loaded">What <c>Model.Load</c> returned.</param>
    /// <param name="inputSchema">The input schema <c>Model.Load</c> returned.</param>
    /// <param name="model">The model, to change labels; optional.</param>
    /// <param name="outputColumnName">The mask column's name.</param>
    /// <param name="inputColumnName">The image column's name (ML.NET does not save image columns in the input schema).</param>
    /// <exception cref="ArgumentException">The model is not a saved LanguageSegment transformer.</exception>
    public static LanguageSegmentationTransformer FromTransformerChain(ITransformer loaded, DataViewSchema inputSchema,
        LanguageSegmentationModel? model = null, string outputColumnName = LanguageSegmentationOptions.Defaults.OutputColumnName,
        string inputColumnName = LanguageSegmentationOptions.Defaults.InputColumnName)
    {
        ArgumentNullException.ThrowIfNull(loaded);
        ArgumentNullException.ThrowIfNull(inputSchema);
        if (inputSchema.GetColumnOrNull(inputColumnName) is null)
        {
            var builder = new DataViewSchema.Builder();
            builder.AddColumns(inputSchema);
            builder.AddColumn(inputColumnName, new Microsoft.ML.Transforms.Image.ImageDataViewType());
            inputSchema = builder.ToSchema();
        }
        if (loaded is LanguageSegmentationTransformer typed)
            return typed;
        if (loaded is not TransformerChain<ITransformer> chain || SegmentationPipeline.OnnxStepIndex(chain) < 0)
            throw new ArgumentException("The model is not a saved LanguageSegment transformer (expected the chain of ML.NET transforms it saves).", nameof(loaded));
        var output = chain.GetOutputSchema(inputSchema);
        var column = output.GetColumnOrNull(outputColumnName)
            ?? throw new ArgumentException($"The loaded model has no column '{outputColumnName}'; pass the mask column's name as {nameof(outputColumnName)}.", nameof(outputColumnName));
        VBuffer<ReadOnlyMemory<char>> keyValues = default;
        if (column.Annotations.Schema.GetColumnOrNull("KeyValues") is null)
            throw new ArgumentException($"Column '{outputColumnName}' of the loaded model has no key values; it is not a LanguageSegment mask.", nameof(outputColumnName));
        column.GetKeyValues(ref keyValues);
        string[] labels = keyValues.DenseValues().Select(v => v.ToString()).ToArray();
        return new LanguageSegmentationTransformer(chain, inputSchema, outputColumnName, labels, perRowLabels: false, model, ownedModel: null);
    }

    /// <summary>Releases the ONNX Runtime session once no transformer shares it, and a model this transformer loaded.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        _shared.Release();
    }

    /// <summary>What transformers made by <see cref="WithLabels"/> share, released with the last of them.</summary>
    private sealed class SharedResources(ITransformer? onnx, LanguageSegmentationModel? ownedModel)
    {
        private int _references;

        public void AddReference() => Interlocked.Increment(ref _references);

        public void Release()
        {
            if (Interlocked.Decrement(ref _references) != 0)
                return;
            (onnx as IDisposable)?.Dispose();
            ownedModel?.Dispose();
        }
    }
}

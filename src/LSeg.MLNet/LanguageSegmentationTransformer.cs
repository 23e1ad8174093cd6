using LSeg.MLNet.Pipeline;
using LSeg.MLNet.Runtime;
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
/// <para>Thread safety. The transformer itself is immutable and may be shared: <see cref="Transform"/> from several
/// threads, and one PredictionEngine per thread, are safe (every cursor and engine has its own per-row state). An ML.NET
/// <c>PredictionEngine</c> is not thread-safe: the engine itself keeps one input and one output buffer. Used from
/// several threads at once, this transformer's rows run one call at a time, never crash, and throw an
/// <see cref="InvalidOperationException"/> naming the misuse when they see calls overlap; ML.NET's own transforms in
/// the same engine (e.g. <c>LoadImages</c>, <c>MapKeyToValue</c>) and the engine's buffers have no such guard, so an
/// overlap that happens entirely outside this transformer can still mix results. To serve many threads, use one
/// engine per thread, a <c>PredictionEnginePool</c> (Microsoft.Extensions.ML), or <see cref="LanguageSegmentationModel"/>,
/// whose members are all thread-safe. A <c>PredictionEngine</c> owns the transformer it was created from unless
/// <c>PredictionEngineOptions.OwnsTransformer</c> is false (ML.NET's default is true): disposing such an engine disposes
/// this transformer (or the loaded chain) for every other engine and view. Create engines that share a transformer with
/// <c>new PredictionEngineOptions { OwnsTransformer = false }</c> and dispose the transformer once.</para>
/// <para><see cref="WithLabels"/> returns a transformer for another label set that shares the ONNX Runtime session
/// (no model reload). Dispose releases the session once every transformer sharing it is disposed.</para>
/// </remarks>
public sealed class LanguageSegmentationTransformer : ITransformer, IDisposable, ISessionCalls
{
    private readonly TransformerChain<ITransformer> _chain;
    private readonly DataViewSchema _inputSchema;
    private readonly SharedResources _shared;
    private readonly bool _perRowLabels;
    private readonly MLContext _context;
    private readonly InputColumns _columns;
    private int _disposed;

    internal LanguageSegmentationTransformer(TransformerChain<ITransformer> chain, DataViewSchema inputSchema, string outputColumnName,
        string[]? labels, bool perRowLabels, LanguageSegmentationModel? model, IDisposable? modelLease, MLContext context, ComposedGraph? graph, InputColumns columns)
        : this(chain, inputSchema, outputColumnName, labels, perRowLabels, model, new SharedResources(chain.ElementAtOrDefault(SegmentationPipeline.OnnxStepIndex(chain)), modelLease, graph), context, columns)
    {
    }

    private LanguageSegmentationTransformer(TransformerChain<ITransformer> chain, DataViewSchema inputSchema, string outputColumnName,
        string[]? labels, bool perRowLabels, LanguageSegmentationModel? model, SharedResources shared, MLContext context, InputColumns columns)
    {
        _columns = columns;
        _chain = chain;
        _inputSchema = inputSchema;
        OutputColumnName = outputColumnName;
        Labels = labels;
        _perRowLabels = perRowLabels;
        Model = model;
        _shared = shared;
        _context = context;
        _shared.AddReference();
    }

    /// <summary>The labels (key k of the mask is label k − 1); null when each row has its own labels.</summary>
    public IReadOnlyList<string>? Labels { get; }

    /// <summary>Name of the mask column.</summary>
    public string OutputColumnName { get; }

    /// <summary>The model used to encode labels; null for a chain loaded from disk without one.</summary>
    public LanguageSegmentationModel? Model { get; }

    /// <summary>
    /// The ML.NET transforms this transformer runs, in order. Internal: the chain shares the ONNX Runtime session with
    /// every transformer made by a label change, so a caller that disposed it would break them all.
    /// </summary>
    internal TransformerChain<ITransformer> Chain => _chain;

    /// <inheritdoc/>
    public bool IsRowToRowMapper => ((ITransformer)_chain).IsRowToRowMapper;

    /// <inheritdoc/>
    /// <exception cref="ArgumentException">The image column (or the labels column of per-row labels) is missing or of another type; the message names it.</exception>
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        // ML.NET's TransformerChain asks every step for its schema before any Transform: checked here too, so a wrong
        // column is named as the caller's, not as the inner chain's internal column.
        InputColumnChecks.Require(inputSchema, _columns.Image, _columns.Labels, nameof(inputSchema));
        return _chain.GetOutputSchema(inputSchema);
    }

    /// <summary>
    /// The row mapper a PredictionEngine uses: the chain's, with one call at a time through this transformer's columns
    /// and an <see cref="InvalidOperationException"/> when two threads use one engine at once (see the remarks).
    /// </summary>
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema)
    {
        ThrowIfDisposed();
        ArgumentNullException.ThrowIfNull(inputSchema);
        InputColumnChecks.Require(inputSchema, _columns.Image, _columns.Labels, nameof(inputSchema));
        return new GuardedRowMapper(((ITransformer)_chain).GetRowToRowMapper(inputSchema), this);
    }

    /// <summary>Lazily segments every row of <paramref name="input"/>.</summary>
    public IDataView Transform(IDataView input)
    {
        ThrowIfDisposed();
        ArgumentNullException.ThrowIfNull(input);
        InputColumnChecks.Require(input.Schema, _columns.Image, _columns.Labels, nameof(input));
        return new GuardedDataView(_chain.Transform(input), this);
    }

    /// <summary>
    /// Saves the inner chain (what <c>mlContext.Model.Save</c> calls); <c>Model.Load</c> returns that chain. A chain with
    /// per-row labels is saved too; loading it needs the model back (<see cref="FromTransformerChain"/>) to encode labels.
    /// </summary>
    void ICanSaveModel.Save(ModelSaveContext ctx)
    {
        // ML.NET's ONNX step reads its graph file again to save it. The composed graph lives in the temporary folder,
        // where a cleaner (or another process's clean-up of graphs unused for a week) may have deleted it from under a
        // long-lived transformer, or something may have altered it: compose it again (content-addressed, so the same
        // path) rather than fail or save another graph than the one this transformer runs.
        if (_shared.Graph is { } graph && Model is not null && !SegmentationGraph.IsIntact(graph.Path))
            SegmentationGraph.WriteComposed(Model, graph.MaxSide);
        try
        {
            ((ICanSaveModel)_chain).Save(ctx);
        }
        catch (FileNotFoundException e) when (_shared.Graph is null)
        {
            // A loaded model's ONNX step is ML.NET's own: it keeps its graph in a temporary file of its own and reads it
            // again to save, and nothing can compose that file again.
            throw new InvalidOperationException(
                $"The ONNX graph of this loaded model is gone from the temporary folder ('{e.FileName}', where ML.NET's Model.Load put it; a temporary-folder cleaner may have removed it), so the model cannot be saved again. Keep the zip it was loaded from, or load it again and save at once.",
                e);
        }
    }

    /// <summary>
    /// A transformer for another label set that shares this one's ONNX Runtime session: only the label embeddings
    /// (cached per label by the model) and the key mapping change.
    /// </summary>
    /// <exception cref="ArgumentException">The labels are empty, contain an empty, whitespace or duplicate label, or labels the text encoder cannot tell apart.</exception>
    /// <exception cref="InvalidOperationException">Labels come per row, or the transformer was loaded from disk without a model.</exception>
    public LanguageSegmentationTransformer WithLabels(string[] labels)
    {
        ThrowIfDisposed();
        string[] checkedLabels = LanguageSegmentationModel.ValidateLabels(labels, nameof(labels));
        if (_perRowLabels)
            throw new InvalidOperationException("This transformer takes its labels from a column per row; WithLabels applies to a fixed label set.");
        if (Model is null)
            throw new InvalidOperationException($"This transformer was loaded from a saved model without its {nameof(LanguageSegmentationModel)}; pass the model to {nameof(FromTransformerChain)} to change labels.");
        var chain = SegmentationPipeline.ReplaceLabels(_chain, _inputSchema, Model, OutputColumnName, checkedLabels, _context);
        return new LanguageSegmentationTransformer(chain, _inputSchema, OutputColumnName, checkedLabels, perRowLabels: false, Model, _shared, _context, _columns);
    }

    /// <summary>
    /// Finds the LanguageSegment transformer inside what <c>mlContext.Model.Load</c> returned (or what a pipeline's
    /// <c>Fit</c> returned), wherever it is (alone, or in a chain with transforms before and after it, nested at any
    /// depth), and turns it back into this type. With
    /// <paramref name="model"/> (the same package), <see cref="WithLabels"/> works and per-row labels can be encoded.
    /// </summary>
    /// <param name="loaded">What <c>Model.Load</c> returned.</param>
    /// <param name="inputSchema">The input schema <c>Model.Load</c> returned.</param>
    /// <param name="model">The model, to change labels or encode per-row labels; optional for fixed labels.</param>
    /// <param name="outputColumnName">The mask column's name.</param>
    /// <param name="inputColumnName">The image column's name (ML.NET does not save image columns in the input schema).</param>
    /// <returns>The LanguageSegment part only: its input is the schema at that point of the loaded chain (an image column).</returns>
    /// <exception cref="ArgumentException">No LanguageSegment transformer is in <paramref name="loaded"/> (the message lists what was found), or its mask column is not <paramref name="outputColumnName"/>.</exception>
    public static LanguageSegmentationTransformer FromTransformerChain(ITransformer loaded, DataViewSchema inputSchema,
        LanguageSegmentationModel? model = null, string outputColumnName = LanguageSegmentationOptions.Defaults.OutputColumnName,
        string inputColumnName = LanguageSegmentationOptions.Defaults.InputColumnName)
    {
        ArgumentNullException.ThrowIfNull(loaded);
        ArgumentNullException.ThrowIfNull(inputSchema);
        // An in-memory pipeline (what Fit returned, not loaded from disk) holds the transformer itself, at any depth: give
        // a transformer that shares it, so that disposing what this returns leaves the pipeline working, as for a loaded one.
        var fitted = new List<LanguageSegmentationTransformer>();
        CollectFitted(loaded, fitted);
        if (fitted.Count > 0)
        {
            // A pipeline may hold several LanguageSegment steps: the one whose mask column was asked for.
            var typed = fitted.FirstOrDefault(t => t.OutputColumnName == outputColumnName)
                ?? throw new ArgumentException(
                    $"The pipeline's LanguageSegment transformers write the mask columns {string.Join(", ", fitted.Select(t => $"'{t.OutputColumnName}'"))}, not '{outputColumnName}'; pass the mask column's name as {nameof(outputColumnName)}.",
                    nameof(outputColumnName));
            typed.ThrowIfDisposed();
            return new LanguageSegmentationTransformer(typed._chain, typed._inputSchema, typed.OutputColumnName, typed.Labels is null ? null : [.. typed.Labels],
                typed._perRowLabels, typed.Model ?? model, typed._shared, typed._context, typed._columns);
        }
        var found = SavedChainSearch.Find(loaded, WithImageColumn(inputSchema, inputColumnName),
            (candidate, schema) => Writes(candidate, WithImageColumn(schema, inputColumnName), outputColumnName));
        if (found is null && SavedChainSearch.Find(loaded, WithImageColumn(inputSchema, inputColumnName)) is not null)
        {
            // Every LanguageSegment step is visited (none accepted) to say which mask columns there are, as for a pipeline in memory.
            var written = new List<string>();
            string? schemaError = null;
            SavedChainSearch.Find(loaded, WithImageColumn(inputSchema, inputColumnName), (candidate, schema) =>
            {
                written.AddRange(ColumnsWritten(candidate, WithImageColumn(schema, inputColumnName), ref schemaError));
                return false;
            });
            // No step could even run: it reads another image (or labels) column than the one given.
            if (written.Count == 0 && schemaError is not null)
                throw new ArgumentException(
                    $"The loaded model's LanguageSegment transformer does not run with the image in a column '{inputColumnName}' ({schemaError}); pass the image column it was fitted on as {nameof(inputColumnName)}.",
                    nameof(inputColumnName));
            throw new ArgumentException(
                $"The loaded model's LanguageSegment transformers write the columns {string.Join(", ", written.Distinct().Select(c => $"'{c}'"))}, not '{outputColumnName}'; pass the mask column's name as {nameof(outputColumnName)} (and the image column's as {nameof(inputColumnName)}).",
                nameof(outputColumnName));
        }
        var (chain, schema) = found ?? throw new ArgumentException(
            $"The model holds no LanguageSegment transformer (a chain with an ONNX step and LSeg's mappings); found: {SavedChainSearch.Describe(loaded)}.", nameof(loaded));
        schema = WithImageColumn(schema, inputColumnName);
        RequireReadsImageFrom(chain, schema, inputColumnName, outputColumnName);
        ImageTypeRegistration.EnsureRegistered(schema[inputColumnName].Type);
        var context = new MLContext();
        bool perRow = SegmentationPipeline.HasPerRowLabels(chain);
        if (perRow && model is not null)
            chain = SegmentationPipeline.BindRowLabels(chain, schema, model, context);
        var column = chain.GetOutputSchema(schema).GetColumnOrNull(outputColumnName)
            ?? throw new ArgumentException($"The LanguageSegment transformer in the loaded model has no column '{outputColumnName}'; pass the mask column's name as {nameof(outputColumnName)}.", nameof(outputColumnName));
        string[]? labels = null;
        if (!perRow)
        {
            if (column.Annotations.Schema.GetColumnOrNull("KeyValues") is null)
                throw new ArgumentException($"Column '{outputColumnName}' of the loaded model has no key values; it is not a LanguageSegment mask.", nameof(outputColumnName));
            VBuffer<ReadOnlyMemory<char>> keyValues = default;
            column.GetKeyValues(ref keyValues);
            labels = keyValues.DenseValues().Select(v => v.ToString()).ToArray();
        }
        // The ONNX step is the loaded chain's own object: the loaded model keeps owning its session, so disposing what
        // this returns must not close it under the loaded chain (or an engine made from it).
        return new LanguageSegmentationTransformer(chain, schema, outputColumnName, labels, perRow, model, new SharedResources(onnx: null, modelLease: null, graph: null), context,
            new InputColumns(inputColumnName, Labels: null));
    }

    /// <summary>Every LanguageSegment transformer in <paramref name="transformer"/>, depth first.</summary>
    private static void CollectFitted(ITransformer transformer, List<LanguageSegmentationTransformer> found)
    {
        if (transformer is LanguageSegmentationTransformer typed)
            found.Add(typed);
        else if (transformer is IEnumerable<ITransformer> chain)
        {
            foreach (var step in chain)
                CollectFitted(step, found);
        }
    }

    /// <summary>The visible columns <paramref name="chain"/> adds to <paramref name="schema"/> (none when the schema does not fit it: the first such error is kept in <paramref name="schemaError"/>).</summary>
    private static IEnumerable<string> ColumnsWritten(TransformerChain<ITransformer> chain, DataViewSchema schema, ref string? schemaError)
    {
        try
        {
            return [.. chain.GetOutputSchema(schema).Where(c => !c.IsHidden && schema.GetColumnOrNull(c.Name) is null && !c.Name.StartsWith("__", StringComparison.Ordinal)).Select(c => c.Name)];
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            schemaError ??= e.Message;
            return [];
        }
    }

    /// <summary>Whether a saved LanguageSegment chain writes <paramref name="outputColumnName"/> (a pipeline may hold several).</summary>
    private static bool Writes(TransformerChain<ITransformer> chain, DataViewSchema schema, string outputColumnName)
    {
        try
        {
            return chain.GetOutputSchema(schema).GetColumnOrNull(outputColumnName) is not null;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>
    /// Refuses an <paramref name="inputColumnName"/> the found step does not read. The search accepts a step once its
    /// schema holds the columns it needs, and a chain that makes its own image column (LoadImages saved before the step)
    /// holds it whatever name was passed: the transformer returned would then want both columns and run on neither.
    /// </summary>
    private static void RequireReadsImageFrom(TransformerChain<ITransformer> chain, DataViewSchema schema, string inputColumnName, string outputColumnName)
    {
        if (ReadsImageFrom(chain, inputColumnName))
            return;
        string? fitted = schema.Where(c => !c.IsHidden && c.Type is Microsoft.ML.Transforms.Image.ImageDataViewType && ReadsImageFrom(chain, c.Name))
            .Select(c => c.Name).FirstOrDefault();
        throw new ArgumentException(
            $"The loaded model's LanguageSegment transformer that writes '{outputColumnName}' reads its image from {(fitted is null ? "another column" : $"the column '{fitted}'")}, not '{inputColumnName}'; pass {(fitted is null ? "the image column it was fitted on" : $"'{fitted}'")} as {nameof(inputColumnName)}.",
            nameof(inputColumnName));
    }

    // A LanguageSegment chain's first step copies the image column into the pipeline's own name (SegmentationPipeline).
    private static bool ReadsImageFrom(TransformerChain<ITransformer> chain, string column)
    {
        var builder = new DataViewSchema.Builder();
        builder.AddColumn(column, new Microsoft.ML.Transforms.Image.ImageDataViewType());
        try
        {
            chain.First().GetOutputSchema(builder.ToSchema());
            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    // ML.NET does not save image columns in a model's input schema; the LanguageSegment part reads one.
    private static DataViewSchema WithImageColumn(DataViewSchema schema, string inputColumnName)
    {
        if (schema.GetColumnOrNull(inputColumnName) is not null)
            return schema;
        var builder = new DataViewSchema.Builder();
        builder.AddColumns(schema);
        builder.AddColumn(inputColumnName, new Microsoft.ML.Transforms.Image.ImageDataViewType());
        return builder.ToSchema();
    }

    /// <summary>
    /// Releases the ONNX Runtime session once no transformer shares it, and the default model this transformer's estimator
    /// loaded. A transformer from <see cref="FromTransformerChain"/> releases nothing: the loaded model owns its session
    /// (dispose what <c>Model.Load</c> returned).
    /// </summary>
    /// <remarks>
    /// Afterwards, cursors opened on views from <see cref="Transform"/> and predictions of engines made from this
    /// transformer throw <see cref="ObjectDisposedException"/>. What runs when Dispose is called finishes first: a cursor
    /// opened before goes on to its end, a prediction in progress completes, and the session is released when the last
    /// of them ends (never under a running call, which would crash the process in native code).
    /// </remarks>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        _shared.Release();
    }

    SessionCall ISessionCalls.Enter()
    {
        // Checked before and by the shared resources: transformers made by WithLabels share the session, which stays
        // open while one of them lives, but a disposed transformer's views and engines are refused either way.
        if (Volatile.Read(ref _disposed) != 0 || !_shared.TryEnter())
            throw Disposed();
        return new SessionCall(_shared.Exit);
    }

    private void ThrowIfDisposed()
    {
        if (Volatile.Read(ref _disposed) != 0)
            throw Disposed();
    }

    // The usual way to dispose one by mistake: ML.NET's PredictionEngine owns the transformer it was made from by default.
    private static ObjectDisposedException Disposed() => new(nameof(LanguageSegmentationTransformer),
        "The LanguageSegment transformer was disposed; its data views and prediction engines cannot run any more. " +
        "A PredictionEngine disposes the transformer it was created from when the engine is disposed, unless it was created with " +
        "new PredictionEngineOptions { OwnsTransformer = false }: create engines that share a transformer (one per thread, a pool) that way.");

    /// <summary>What transformers made by <see cref="WithLabels"/> share, released with the last of them.</summary>
    private sealed class SharedResources(ITransformer? onnx, IDisposable? modelLease, ComposedGraph? graph)
    {
        private readonly object _gate = new();
        private int _references;
        private int _callsRunning;
        private bool _closed;

        /// <summary>The composed graph the shared ONNX step reads when saved; null for a chain loaded from disk (ML.NET owns its copy).</summary>
        public ComposedGraph? Graph => graph;

        public void AddReference()
        {
            lock (_gate)
                _references++;
        }

        /// <summary>Starts a call that runs the session; false once the last transformer sharing it was disposed.</summary>
        public bool TryEnter()
        {
            lock (_gate)
            {
                if (_closed)
                    return false;
                _callsRunning++;
                return true;
            }
        }

        /// <summary>Ends a call; the last one to end after the last transformer was disposed releases the session.</summary>
        public void Exit()
        {
            lock (_gate)
            {
                if (--_callsRunning != 0 || !_closed)
                    return;
            }
            Free();
        }

        /// <summary>Called by each transformer's Dispose: the last one releases the session, at once or when the running calls end.</summary>
        public void Release()
        {
            lock (_gate)
            {
                if (--_references != 0)
                    return;
                _closed = true;
                if (_callsRunning != 0)
                    return;
            }
            Free();
        }

        private void Free()
        {
            (onnx as IDisposable)?.Dispose();
            modelLease?.Dispose();
        }
    }
}

/// <summary>A composed graph file and the input capacity it was composed for (<see cref="SegmentationGraph.WriteComposed"/>).</summary>
internal sealed record ComposedGraph(string Path, int MaxSide);

/// <summary>The input columns as the caller named them: the image column, and the labels column when labels come per row (null when unknown, as for a loaded chain).</summary>
internal sealed record InputColumns(string Image, string? Labels);

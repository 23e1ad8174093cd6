using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms;
using Microsoft.ML.Transforms.Onnx;

namespace LSeg.MLNet.Pipeline;

/// <summary>
/// Builds LanguageSegment's pipeline from ML.NET's own savable transforms, so <c>mlContext.Model.Save</c> /
/// <c>Model.Load</c> work without a custom loader (which ML.NET does not let a third-party component register):
/// <code>
/// CopyColumns      image (and per-row labels) → fixed helper names
/// CustomMapping    "LSeg.RowKey": constant key 1
/// MapValue         key → settings (size limits, input size rule, embedding size), saved in the model
/// CustomMapping    "LSeg.ModelInput{capacity}": size checks, complete-decode check, the low-level API's input size and pixels
/// MapValue         key → label embeddings [N, C, N·C values]   (per row: "LSeg.RowLabels" encodes the row's labels)
/// CustomMapping    "LSeg.PackLabels": into a fixed-size vector (ApplyOnnxModel takes known sizes only) + shape
/// ApplyOnnxModel   slice pixels and labels back out, image encoder, head: one session serves every label set and size
/// CustomMapping    "LSeg.OriginalSize": back to the original size (the low-level API's function), pixel counts
///                  ("LSeg.OriginalSizeMask" without the scores, when they are not output)
/// MapValue         key → label names                              (per row, once)
/// CustomMapping    "LSeg.MaskText": each pixel's label index → its label's name
/// MapValueToKey    label name → key whose key values are the labels
/// CopyColumns      helper columns → output names
/// DropColumns      helper columns
/// </code>
/// The label embeddings, label names and label keys depend on the labels; <c>WithLabels</c> rebuilds only those
/// three steps and shares the rest. Models saved before the "LSeg.MaskText" step map index → name per pixel with
/// <c>MapValue</c> instead; they load, segment and change labels as they were saved.
/// </summary>
internal sealed class SegmentationPipeline
{
    private readonly MLContext _context;

    public SegmentationPipeline(LanguageSegmentationOptions options, LanguageSegmentationModel model, int? gpuDeviceId, bool fallbackToCpu, MLContext context)
    {
        Options = options;
        Model = model;
        GpuDeviceId = gpuDeviceId;
        FallbackToCpu = fallbackToCpu;
        _context = context;
        // A thread cap on the model caps the pipeline's own ONNX session too (ML.NET creates it from this context's
        // options). Optimisation and arena stay ML.NET's: the model's defaults (optimisation extended) made this
        // pipeline 9-12% slower at the same peak memory. On a GPU ML.NET's own session options (CUDA) are kept.
        if (gpuDeviceId is null && model.Options.IntraOpThreadsUsed is int threads)
        {
            _context.SetOnnxSessionOption(new OnnxSessionOptions
            {
                CreateSessionOptions = () => new Microsoft.ML.OnnxRuntime.SessionOptions { IntraOpNumThreads = threads },
            });
        }
        Settings = PipelineSettings.For(model, options.InputSize ?? model.Manifest.DefaultInputSize);
        // The longest model input side this pipeline can produce: the input size rule applied to a square.
        MaxSide = ModelInputMappings.MaxSideFor(Runtime.ModelInputSize.For(Settings.InputSize, Settings.InputSize, Settings.InputSize, Settings.InputSizeMultiple).Width);
    }

    public LanguageSegmentationOptions Options { get; }

    public LanguageSegmentationModel Model { get; }

    public int? GpuDeviceId { get; }

    /// <summary>Whether the ONNX step may run on the CPU when its CUDA session cannot be created (the caller's choice, not always yes).</summary>
    public bool FallbackToCpu { get; }

    public PipelineSettings Settings { get; }

    /// <summary>The pixel capacity (largest model input side) of the pipeline's model-input step.</summary>
    public int MaxSide { get; }

    public bool PerRowLabels => Options.LabelsColumnName is not null;

    /// <summary>The composed graph file the ONNX step was built on (set by <see cref="Estimators"/>), or null before.</summary>
    public string? GraphPath { get; private set; }

    /// <summary>The estimators of the pipeline, in order (see the class notes).</summary>
    public List<IEstimator<ITransformer>> Estimators(string[]? labels)
    {
        string graph = GraphPath = SegmentationGraph.WriteComposed(Model, MaxSide);
        var steps = new List<IEstimator<ITransformer>>
        {
            _context.Transforms.CopyColumns(PipelineColumns.Image, Options.InputColumnName),
        };
        if (PerRowLabels)
            steps.Add(_context.Transforms.CopyColumns(PipelineColumns.RowLabels, Options.LabelsColumnName!));
        steps.Add(_context.Transforms.CustomMapping(new RowKeyMapping().GetMapping(), RowKeyMapping.ContractName));
        steps.Add(_context.Transforms.Conversion.MapValue(PipelineColumns.Settings,
            new[] { new KeyValuePair<uint, double[]>(1u, Settings.ToVector()) }, PipelineColumns.Constant));
        steps.Add(ModelInputEstimator());
        steps.Add(PerRowLabels ? RowLabelsEstimator(_context, Model) : LabelEmbeddingsEstimator(_context, Model, labels!));
        steps.Add(_context.Transforms.CustomMapping(new LabelPackingMapping().GetMapping(), LabelPackingMapping.ContractName));
        var onnxOutputs = new List<string> { SegmentationGraph.LabelMapColumn, SegmentationGraph.ScoresColumn, SegmentationGraph.LabelCountColumn };
        if (Options.OutputEmbeddings)
            onnxOutputs.Add(SegmentationGraph.PixelEmbeddingsColumn);
        steps.Add(_context.Transforms.ApplyOnnxModel(onnxOutputs.ToArray(),
            [SegmentationGraph.PixelsColumn, SegmentationGraph.PixelShapeColumn, SegmentationGraph.LabelEmbeddingsColumn, SegmentationGraph.LabelShapeColumn],
            graph, GpuDeviceId, FallbackToCpu));
        steps.Add(Options.OutputScores
            ? _context.Transforms.CustomMapping(new OriginalSizeMapping().GetMapping(), OriginalSizeMapping.ContractName)
            : _context.Transforms.CustomMapping(new OriginalSizeMaskMapping().GetMapping(), OriginalSizeMaskMapping.ContractName));
        if (PerRowLabels)
        {
            steps.Add(_context.Transforms.CopyColumns(Options.OutputColumnName, PipelineColumns.MaskIndices));
        }
        else
        {
            steps.Add(LabelNamesEstimator(_context, labels!));
            steps.Add(_context.Transforms.CustomMapping(new MaskTextMapping().GetMapping(), MaskTextMapping.ContractName));
            steps.Add(LabelKeyEstimator(_context, Options.OutputColumnName, labels!));
        }
        steps.Add(_context.Transforms.CopyColumns(Options.WidthColumnName, PipelineColumns.OriginalWidth));
        steps.Add(_context.Transforms.CopyColumns(Options.HeightColumnName, PipelineColumns.OriginalHeight));
        steps.Add(_context.Transforms.CopyColumns(Options.PixelCountsColumnName, PipelineColumns.PixelCounts));
        if (Options.OutputScores)
            steps.Add(_context.Transforms.CopyColumns(Options.ScoresColumnName, PipelineColumns.FullScores));
        if (Options.OutputEmbeddings)
        {
            steps.Add(_context.Transforms.CopyColumns(Options.EmbeddingsColumnName, SegmentationGraph.PixelEmbeddingsColumn));
            steps.Add(_context.Transforms.CopyColumns(Options.EmbeddingsShapeColumnName, PipelineColumns.EmbeddingsShape));
        }
        steps.Add(_context.Transforms.DropColumns(HelperColumns().ToArray()));
        return steps;
    }

    private IEstimator<ITransformer> ModelInputEstimator() => MaxSide switch
    {
        512 => _context.Transforms.CustomMapping(new ModelInputMapping512().GetMapping(), ModelInputMapping512.ContractName),
        1024 => _context.Transforms.CustomMapping(new ModelInputMapping1024().GetMapping(), ModelInputMapping1024.ContractName),
        _ => _context.Transforms.CustomMapping(new ModelInputMapping2048().GetMapping(), ModelInputMapping2048.ContractName),
    };

    private static IEstimator<ITransformer> RowLabelsEstimator(MLContext context, LanguageSegmentationModel model) =>
        context.Transforms.CustomMapping(RowLabelsMapping.BoundTo(model), RowLabelsMapping.ContractName);

    private IEnumerable<string> HelperColumns()
    {
        yield return PipelineColumns.Image;
        if (PerRowLabels)
            yield return PipelineColumns.RowLabels;
        yield return PipelineColumns.OriginalWidth;
        yield return PipelineColumns.OriginalHeight;
        yield return PipelineColumns.Constant;
        yield return PipelineColumns.Settings;
        yield return PipelineColumns.LabelEmbeddingsRaw;
        yield return SegmentationGraph.LabelEmbeddingsColumn;
        yield return SegmentationGraph.LabelShapeColumn;
        yield return SegmentationGraph.PixelsColumn;
        yield return SegmentationGraph.PixelShapeColumn;
        yield return SegmentationGraph.LabelMapColumn;
        yield return SegmentationGraph.ScoresColumn;
        yield return SegmentationGraph.LabelCountColumn;
        if (Options.OutputEmbeddings)
            yield return SegmentationGraph.PixelEmbeddingsColumn;
        yield return PipelineColumns.MaskIndices;
        if (Options.OutputScores)
            yield return PipelineColumns.FullScores;
        yield return PipelineColumns.PixelCounts;
        yield return PipelineColumns.EmbeddingsShape;
        if (!PerRowLabels)
        {
            yield return PipelineColumns.LabelNames;
            yield return PipelineColumns.MaskText;
        }
    }

    /// <summary>Fits every step on an empty view of <paramref name="inputSchema"/> and returns the chain.</summary>
    public TransformerChain<ITransformer> Fit(DataViewSchema inputSchema, string[]? labels)
    {
        var steps = new List<ITransformer>();
        var schema = inputSchema;
        foreach (var estimator in Estimators(labels))
        {
            var transformer = estimator.Fit(new EmptyDataView(schema));
            steps.Add(transformer);
            schema = transformer.GetOutputSchema(schema);
        }
        return new TransformerChain<ITransformer>(steps.ToArray());
    }

    /// <summary>
    /// The chain with its three label-dependent steps (label embeddings, label names, label keys) rebuilt for
    /// <paramref name="labels"/>; every other step, the ONNX transformer included, is the same instance.
    /// </summary>
    public static TransformerChain<ITransformer> ReplaceLabels(TransformerChain<ITransformer> chain, DataViewSchema inputSchema, LanguageSegmentationModel model, string outputColumnName, string[] labels, MLContext context)
    {
        var steps = chain.ToArray();
        var schema = inputSchema;
        int replaced = 0;
        for (int i = 0; i < steps.Length; i++)
        {
            var next = steps[i].GetOutputSchema(schema);
            bool adds(string column) => schema.GetColumnOrNull(column) is null && next.GetColumnOrNull(column) is not null;
            if (steps[i] is ValueMappingTransformer && adds(PipelineColumns.LabelEmbeddingsRaw))
                (steps[i], replaced) = (LabelEmbeddingsEstimator(context, model, labels).Fit(new EmptyDataView(schema)), replaced + 1);
            else if (steps[i] is ValueMappingTransformer && adds(PipelineColumns.LabelNames))
                (steps[i], replaced) = (LabelNamesEstimator(context, labels).Fit(new EmptyDataView(schema)), replaced + 1);
            else if (steps[i] is ValueMappingTransformer && adds(PipelineColumns.MaskText))
                (steps[i], replaced) = (PerPixelLabelNameEstimator(context, labels).Fit(new EmptyDataView(schema)), replaced + 1);
            else if (steps[i] is ValueToKeyMappingTransformer && next.GetColumnOrNull(outputColumnName) is { } key && key.Type is VectorDataViewType { ItemType: KeyDataViewType }
                     && schema.GetColumnOrNull(PipelineColumns.MaskText) is not null)
                (steps[i], replaced) = (LabelKeyEstimator(context, outputColumnName, labels).Fit(new EmptyDataView(schema)), replaced + 1);
            schema = steps[i].GetOutputSchema(schema);
        }
        if (replaced != 3)
            throw new InvalidOperationException($"The chain has {replaced} of the 3 label-dependent steps of a LanguageSegment pipeline; its labels cannot be replaced.");
        return new TransformerChain<ITransformer>(steps);
    }

    /// <summary>
    /// The chain with its per-row label step (unbound after <c>Model.Load</c>) bound to <paramref name="model"/>'s text
    /// encoder; every other step is the same instance.
    /// </summary>
    /// <exception cref="InvalidOperationException">The chain has no per-row label step.</exception>
    public static TransformerChain<ITransformer> BindRowLabels(TransformerChain<ITransformer> chain, DataViewSchema inputSchema, LanguageSegmentationModel model, MLContext context)
    {
        var steps = chain.ToArray();
        var schema = inputSchema;
        int index = Array.FindIndex(steps, s => s is CustomMappingTransformer<RowLabelsInput, RowLabelEmbeddingsOutput>);
        if (index < 0)
            throw new InvalidOperationException("The chain has no per-row label step of a LanguageSegment pipeline.");
        for (int i = 0; i < index; i++)
            schema = steps[i].GetOutputSchema(schema);
        steps[index] = RowLabelsEstimator(context, model).Fit(new EmptyDataView(schema));
        return new TransformerChain<ITransformer>(steps);
    }

    /// <summary>True when <paramref name="chain"/> takes its labels from a column per row.</summary>
    public static bool HasPerRowLabels(IEnumerable<ITransformer> chain) => chain.Any(s => s is CustomMappingTransformer<RowLabelsInput, RowLabelEmbeddingsOutput>);

    /// <summary>The index of the ONNX step in a LanguageSegment chain, or −1.</summary>
    public static int OnnxStepIndex(IEnumerable<ITransformer> chain) => chain.Select((t, i) => (t, i)).FirstOrDefault(p => p.t is OnnxTransformer, (null!, -1)).Item2;

    private static IEstimator<ITransformer> LabelEmbeddingsEstimator(MLContext context, LanguageSegmentationModel model, string[] labels)
    {
        float[] embeddings = LabelPackingMapping.Raw(model.EncodeLabels(labels));
        return context.Transforms.Conversion.MapValue(PipelineColumns.LabelEmbeddingsRaw,
            new[] { new KeyValuePair<uint, float[]>(1u, embeddings) }, PipelineColumns.Constant);
    }

    private static IEstimator<ITransformer> LabelNamesEstimator(MLContext context, string[] labels) =>
        context.Transforms.Conversion.MapValue(PipelineColumns.LabelNames,
            new[] { new KeyValuePair<uint, string[]>(1u, labels) }, PipelineColumns.Constant);

    // The names step of models saved before "LSeg.MaskText": index → name for every pixel. Kept so that WithLabels
    // rebuilds such a chain in its own layout.
    internal static IEstimator<ITransformer> PerPixelLabelNameEstimator(MLContext context, string[] labels) =>
        context.Transforms.Conversion.MapValue(PipelineColumns.MaskText,
            labels.Select((label, index) => new KeyValuePair<uint, string>((uint)index, label)), PipelineColumns.MaskIndices);

    private static IEstimator<ITransformer> LabelKeyEstimator(MLContext context, string outputColumnName, string[] labels) =>
        context.Transforms.Conversion.MapValueToKey(outputColumnName, PipelineColumns.MaskText,
            keyOrdinality: ValueToKeyMappingEstimator.KeyOrdinality.ByOccurrence,
            keyData: context.Data.LoadFromEnumerable(labels.Select(label => new LabelRow { Label = label })));

    private sealed class LabelRow
    {
        public string Label { get; set; } = "";
    }
}

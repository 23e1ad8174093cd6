using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms;
using Microsoft.ML.Transforms.Image;
using Microsoft.ML.Transforms.Onnx;

namespace LSeg.MLNet.Pipeline;

/// <summary>
/// Builds LanguageSegment's pipeline from ML.NET's own savable transforms, so <c>mlContext.Model.Save</c> /
/// <c>Model.Load</c> work without a custom loader (which ML.NET does not let a third-party component register):
/// <code>
///  CopyColumns      image (and per-row labels) → fixed helper names
/// CustomMapping    "LSeg.ImageGeometry": original width and height, a private copy of the image, constant key
/// MapValue         constant key → label embeddings [N, C, N·C values] (per row: encode the row's labels)
/// CustomMapping    "LSeg.PackLabels": into a fixed-size vector (ApplyOnnxModel takes known sizes only) + shape
/// ResizeImages     S × S, aspect ratio kept, padded (IsoPad)
/// ExtractPixels    planar RGB 0–255
/// ApplyOnnxModel   image encoder + head composed; label embeddings are an input, so one session serves every label set
/// CustomMapping    "LSeg.OriginalSize": remove the padding, back to the original size, pixel counts
/// MapValue         label index → label name                       (per row: copy the indices)
/// MapValueToKey    label name → key whose key values are the labels (per row: absent)
/// CopyColumns      helper columns → output names
/// DropColumns      helper columns
/// </code>
/// The label embeddings, label names and label keys depend on the labels; <c>WithLabels</c> rebuilds only those
/// three steps and shares the rest.
/// </summary>
internal sealed class SegmentationPipeline
{
    private readonly MLContext _context = new();

    public SegmentationPipeline(LanguageSegmentationOptions options, LanguageSegmentationModel model, int? gpuDeviceId)
    {
        Options = options;
        Model = model;
        GpuDeviceId = gpuDeviceId;
        InputSize = options.InputSize ?? model.Manifest.DefaultInputSize;
    }

    public LanguageSegmentationOptions Options { get; }

    public LanguageSegmentationModel Model { get; }

    public int? GpuDeviceId { get; }

    public int InputSize { get; }

    public bool PerRowLabels => Options.LabelsColumnName is not null;

    /// <summary>The estimators of the pipeline, in order (see the class notes).</summary>
    public List<IEstimator<ITransformer>> Estimators(string[]? labels)
    {
        string graph = SegmentationGraph.WriteComposed(Model, InputSize);
        var steps = new List<IEstimator<ITransformer>>
        {
            _context.Transforms.CopyColumns(PipelineColumns.Image, Options.InputColumnName),
        };
        if (PerRowLabels)
            steps.Add(_context.Transforms.CopyColumns(PipelineColumns.RowLabels, Options.LabelsColumnName!));
        steps.Add(_context.Transforms.CustomMapping(new ImageGeometryMapping().GetMapping(), ImageGeometryMapping.ContractName));
        if (PerRowLabels)
        {
            var model = Model;
            steps.Add(_context.Transforms.CustomMapping<RowLabelsInput, RowLabelEmbeddingsOutput>(
                (input, output) => output.Raw = LabelPackingMapping.Raw(model.EncodeLabels(input.Labels)), contractName: null));
        }
        else
        {
            steps.Add(LabelEmbeddingsEstimator(_context, Model, labels!));
        }
        steps.Add(_context.Transforms.CustomMapping(new LabelPackingMapping().GetMapping(), LabelPackingMapping.ContractName));
        steps.Add(_context.Transforms.ResizeImages(PipelineColumns.ResizedImage, InputSize, InputSize, PipelineColumns.ImageCopy, ImageResizingEstimator.ResizingKind.IsoPad));
        steps.Add(_context.Transforms.ExtractPixels(SegmentationGraph.PixelsColumn, PipelineColumns.ResizedImage,
            ImagePixelExtractingEstimator.ColorBits.Rgb, ImagePixelExtractingEstimator.ColorsOrder.ARGB, interleavePixelColors: false, offsetImage: 0, scaleImage: 1, outputAsFloatArray: true));
        var onnxOutputs = new List<string> { SegmentationGraph.LabelMapColumn, SegmentationGraph.ScoresColumn, SegmentationGraph.LabelCountColumn };
        if (Options.OutputEmbeddings)
            onnxOutputs.Add(SegmentationGraph.PixelEmbeddingsColumn);
        steps.Add(_context.Transforms.ApplyOnnxModel(onnxOutputs.ToArray(), [SegmentationGraph.PixelsColumn, SegmentationGraph.LabelEmbeddingsColumn, SegmentationGraph.LabelShapeColumn], graph, GpuDeviceId, fallbackToCpu: true));
        steps.Add(_context.Transforms.CustomMapping(new OriginalSizeMapping().GetMapping(), OriginalSizeMapping.ContractName));
        if (PerRowLabels)
        {
            steps.Add(_context.Transforms.CopyColumns(Options.OutputColumnName, PipelineColumns.MaskIndices));
        }
        else
        {
            steps.Add(LabelNameEstimator(_context, labels!));
            steps.Add(LabelKeyEstimator(_context, Options.OutputColumnName, labels!));
        }
        steps.Add(_context.Transforms.CopyColumns(Options.WidthColumnName, PipelineColumns.OriginalWidth));
        steps.Add(_context.Transforms.CopyColumns(Options.HeightColumnName, PipelineColumns.OriginalHeight));
        steps.Add(_context.Transforms.CopyColumns(Options.PixelCountsColumnName, PipelineColumns.PixelCounts));
        if (Options.OutputScores)
            steps.Add(_context.Transforms.CopyColumns(Options.ScoresColumnName, PipelineColumns.FullScores));
        if (Options.OutputEmbeddings)
            steps.Add(_context.Transforms.CopyColumns(Options.EmbeddingsColumnName, SegmentationGraph.PixelEmbeddingsColumn));
        steps.Add(_context.Transforms.DropColumns(HelperColumns().ToArray()));
        return steps;
    }

    private IEnumerable<string> HelperColumns()
    {
        yield return PipelineColumns.Image;
        yield return PipelineColumns.ImageCopy;
        if (PerRowLabels)
            yield return PipelineColumns.RowLabels;
        yield return PipelineColumns.OriginalWidth;
        yield return PipelineColumns.OriginalHeight;
        yield return PipelineColumns.Constant;
        yield return PipelineColumns.LabelEmbeddingsRaw;
        yield return SegmentationGraph.LabelEmbeddingsColumn;
        yield return SegmentationGraph.LabelShapeColumn;
        yield return PipelineColumns.ResizedImage;
        yield return SegmentationGraph.PixelsColumn;
        yield return SegmentationGraph.LabelMapColumn;
        yield return SegmentationGraph.ScoresColumn;
        yield return SegmentationGraph.LabelCountColumn;
        if (Options.OutputEmbeddings)
            yield return SegmentationGraph.PixelEmbeddingsColumn;
        yield return PipelineColumns.MaskIndices;
        yield return PipelineColumns.FullScores;
        yield return PipelineColumns.PixelCounts;
        if (!PerRowLabels)
            yield return PipelineColumns.MaskText;
    }

    /// <summary>
    /// The output schema shape for an input schema shape. CustomMapping's estimator compares image types by reference
    /// (so an image column from another LoadImages instance never matches), so the pipeline is fitted on an empty
    /// view holding the columns it reads, and the added columns are converted with ML.NET's own
    /// <c>SchemaShape.Create</c> (internal, reached by reflection).
    /// </summary>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema, string[]? labels)
    {
        var builder = new DataViewSchema.Builder();
        builder.AddColumn(Options.InputColumnName, new ImageDataViewType());
        if (PerRowLabels)
            builder.AddColumn(Options.LabelsColumnName!, new VectorDataViewType(TextDataViewType.Instance));
        var readSchema = builder.ToSchema();
        var chain = Fit(readSchema, labels);
        var output = chain.GetOutputSchema(readSchema);
        foreach (var step in chain.OfType<IDisposable>())
            step.Dispose();
        var added = new DataViewSchema.Builder();
        foreach (var column in output.Where(c => !c.IsHidden && readSchema.GetColumnOrNull(c.Name) is null))
            added.AddColumn(column.Name, column.Type, column.Annotations);
        var addedShape = (SchemaShape)CreateShape.Invoke(null, [added.ToSchema()])!;
        var result = inputSchema.ToDictionary(c => c.Name);
        foreach (var column in addedShape)
            result[column.Name] = column;
        return new SchemaShape(result.Values);
    }

    private static readonly System.Reflection.MethodInfo CreateShape = typeof(SchemaShape).GetMethod("Create",
        System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic, [typeof(DataViewSchema)])
        ?? throw new MissingMethodException("ML.NET's SchemaShape.Create(DataViewSchema) was not found.");

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
    public static TransformerChain<ITransformer> ReplaceLabels(TransformerChain<ITransformer> chain, DataViewSchema inputSchema, LanguageSegmentationModel model, string outputColumnName, string[] labels)
    {
        var context = new MLContext();
        var steps = chain.ToArray();
        var schema = inputSchema;
        int replaced = 0;
        for (int i = 0; i < steps.Length; i++)
        {
            var next = steps[i].GetOutputSchema(schema);
            bool adds(string column) => schema.GetColumnOrNull(column) is null && next.GetColumnOrNull(column) is not null;
            if (steps[i] is ValueMappingTransformer && adds(PipelineColumns.LabelEmbeddingsRaw))
                (steps[i], replaced) = (LabelEmbeddingsEstimator(context, model, labels).Fit(new EmptyDataView(schema)), replaced + 1);
            else if (steps[i] is ValueMappingTransformer && adds(PipelineColumns.MaskText))
                (steps[i], replaced) = (LabelNameEstimator(context, labels).Fit(new EmptyDataView(schema)), replaced + 1);
            else if (steps[i] is ValueToKeyMappingTransformer && next.GetColumnOrNull(outputColumnName) is { } key && key.Type is VectorDataViewType { ItemType: KeyDataViewType }
                     && schema.GetColumnOrNull(PipelineColumns.MaskText) is not null)
                (steps[i], replaced) = (LabelKeyEstimator(context, outputColumnName, labels).Fit(new EmptyDataView(schema)), replaced + 1);
            schema = steps[i].GetOutputSchema(schema);
        }
        if (replaced != 3)
            throw new InvalidOperationException($"The chain has {replaced} of the 3 label-dependent steps of a LanguageSegment pipeline; its labels cannot be replaced.");
        return new TransformerChain<ITransformer>(steps);
    }

    /// <summary>The index of the ONNX step in a LanguageSegment chain, or −1.</summary>
    public static int OnnxStepIndex(IEnumerable<ITransformer> chain) => chain.Select((t, i) => (t, i)).FirstOrDefault(p => p.t is OnnxTransformer, (null!, -1)).Item2;

    private static IEstimator<ITransformer> LabelEmbeddingsEstimator(MLContext context, LanguageSegmentationModel model, string[] labels)
    {
        float[] embeddings = LabelPackingMapping.Raw(model.EncodeLabels(labels));
        return context.Transforms.Conversion.MapValue(PipelineColumns.LabelEmbeddingsRaw,
            new[] { new KeyValuePair<uint, float[]>(1u, embeddings) }, PipelineColumns.Constant);
    }

    private static IEstimator<ITransformer> LabelNameEstimator(MLContext context, string[] labels) =>
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

using LSeg.MLNet.Pipeline;
using LSeg.MLNet.Runtime;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;

namespace LSeg.MLNet;

/// <summary>
/// Estimator of <c>mlContext.Transforms.LanguageSegment(…)</c>. Needs no training: <see cref="Fit"/> checks the
/// schema, loads the model (the default one when none is given) and builds the pipeline.
/// </summary>
/// <remarks>
/// Input: an image column (<see cref="ImageDataViewType"/>) and, for per-row labels, a text-vector column.
/// Outputs: see <see cref="LanguageSegmentationCatalog"/>.
/// </remarks>
public sealed class LanguageSegmentationEstimator : IEstimator<LanguageSegmentationTransformer>
{
    private readonly LanguageSegmentationOptions _options;
    private readonly string[]? _labels;

    internal LanguageSegmentationEstimator(LanguageSegmentationOptions options)
    {
        ImageTypeRegistration.EnsureRegistered();
        ArgumentException.ThrowIfNullOrWhiteSpace(options.OutputColumnName, nameof(options.OutputColumnName));
        ArgumentException.ThrowIfNullOrWhiteSpace(options.InputColumnName, nameof(options.InputColumnName));
        if (options.Labels is null && options.LabelsColumnName is null)
            throw new ArgumentException($"Give the labels ({nameof(LanguageSegmentationOptions.Labels)}) or a per-row labels column ({nameof(LanguageSegmentationOptions.LabelsColumnName)}); neither was set.", nameof(options));
        if (options.Labels is not null && options.LabelsColumnName is not null)
            throw new ArgumentException($"Give either {nameof(LanguageSegmentationOptions.Labels)} or {nameof(LanguageSegmentationOptions.LabelsColumnName)}, not both.", nameof(options));
        if (options.Labels is not null)
            _labels = LanguageSegmentationModel.ValidateLabels(options.Labels, "labels");
        if (options.InputSize is int size && (size < 32 || size % 32 != 0 || size > LanguageSegmentationModelOptions.Defaults.MaxInputSize))
            throw new ArgumentOutOfRangeException(nameof(options), size, $"{nameof(LanguageSegmentationOptions.InputSize)} must be a multiple of 32 between 32 and {LanguageSegmentationModelOptions.Defaults.MaxInputSize}.");
        if (options.OutputScores && options.OutputEmbeddings && options.ScoresColumnName == options.EmbeddingsColumnName)
            throw new ArgumentException("The scores and embeddings columns must have different names.", nameof(options));
        _options = options;
    }

    /// <summary>
    /// Checks the input schema, then builds the pipeline. Errors about columns are raised before the model is loaded.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The image column (or labels column) is missing or of the wrong type.</exception>
    public LanguageSegmentationTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        CheckInputSchema(input.Schema);
        var (model, owned) = ResolveModel();
        try
        {
            var device = ExecutionDevice.Select(_options.GpuDeviceId ?? model.Device.GpuDeviceId, _options.FallbackToCpu);
            var pipeline = new SegmentationPipeline(_options, model, device.GpuDeviceId);
            var chain = pipeline.Fit(input.Schema, _labels);
            return new LanguageSegmentationTransformer(chain, input.Schema, _options.OutputColumnName, _labels, pipeline.PerRowLabels, model, owned ? model : null);
        }
        catch
        {
            if (owned)
                model.Dispose();
            throw;
        }
    }

    /// <summary>Output schema for an input schema; column errors are raised before the model is loaded.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The image column (or labels column) is missing or of the wrong type.</exception>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        CheckInputSchema(inputSchema);
        var (model, owned) = ResolveModel();
        try
        {
            var device = ExecutionDevice.Select(_options.GpuDeviceId ?? model.Device.GpuDeviceId, _options.FallbackToCpu);
            return new SegmentationPipeline(_options, model, device.GpuDeviceId).GetOutputSchema(inputSchema, _labels);
        }
        finally
        {
            if (owned)
                model.Dispose();
        }
    }

    private void CheckInputSchema(SchemaShape schema)
    {
        var image = schema.FirstOrDefault(c => c.Name == _options.InputColumnName);
        CheckImageColumn(image.Name is not null, image.ItemType, image.Kind == SchemaShape.Column.VectorKind.Scalar, nameof(schema));
        if (_options.LabelsColumnName is string labelsColumn)
        {
            var labels = schema.FirstOrDefault(c => c.Name == labelsColumn);
            CheckLabelsColumn(labels.Name is not null, labels.ItemType, labels.Kind == SchemaShape.Column.VectorKind.Scalar, nameof(schema));
        }
    }

    private void CheckInputSchema(DataViewSchema schema)
    {
        var image = schema.GetColumnOrNull(_options.InputColumnName);
        CheckImageColumn(image is not null, ItemType(image?.Type), image?.Type is not VectorDataViewType, nameof(schema));
        if (_options.LabelsColumnName is string labelsColumn)
        {
            var labels = schema.GetColumnOrNull(labelsColumn);
            CheckLabelsColumn(labels is not null, ItemType(labels?.Type), labels?.Type is not VectorDataViewType, nameof(schema));
        }
    }

    private static DataViewType? ItemType(DataViewType? type) => type is VectorDataViewType vector ? vector.ItemType : type;

    private void CheckImageColumn(bool found, DataViewType? itemType, bool scalar, string parameterName)
    {
        if (!found)
            throw new ArgumentOutOfRangeException(parameterName, $"Input column '{_options.InputColumnName}' not found; LanguageSegment needs an image column (e.g. from LoadImages).");
        if (itemType is not ImageDataViewType || !scalar)
            throw new ArgumentOutOfRangeException(parameterName, $"Schema mismatch for input column '{_options.InputColumnName}': expected an image, got {itemType}{(scalar ? "" : " vector")}. Use LoadImages first.");
    }

    private void CheckLabelsColumn(bool found, DataViewType? itemType, bool scalar, string parameterName)
    {
        if (!found)
            throw new ArgumentOutOfRangeException(parameterName, $"Labels column '{_options.LabelsColumnName}' not found.");
        if (itemType is not TextDataViewType || scalar)
            throw new ArgumentOutOfRangeException(parameterName, $"Schema mismatch for labels column '{_options.LabelsColumnName}': expected a vector of text, got {itemType}{(scalar ? "" : " vector")}.");
    }

    private (LanguageSegmentationModel Model, bool Owned) ResolveModel()
    {
        if (_options.Model is not null)
            return (_options.Model, false);
        return (LanguageSegmentationModel.LoadDefault(new LanguageSegmentationModelOptions { GpuDeviceId = _options.GpuDeviceId, FallbackToCpu = _options.FallbackToCpu }), true);
    }
}

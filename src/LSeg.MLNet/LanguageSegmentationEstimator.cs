using LSeg.MLNet.Pipeline;
using LSeg.MLNet.Runtime;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;

namespace LSeg.MLNet;

/// <summary>
/// Estimator of <c>mlContext.Transforms.LanguageSegment(…)</c>. Needs no training: <see cref="Fit"/> checks the
/// schema, takes the model (the default one, loaded once per estimator, when none is given) and builds the pipeline.
/// </summary>
/// <remarks>
/// Input: an image column (<see cref="ImageDataViewType"/>) and, for per-row labels, a text-vector column.
/// Outputs: see <see cref="LanguageSegmentationCatalog"/>. <see cref="GetOutputSchema"/> loads no model.
/// </remarks>
public sealed class LanguageSegmentationEstimator : IEstimator<LanguageSegmentationTransformer>
{
    private readonly LanguageSegmentationOptions _options;
    private readonly string[]? _labels;
    private readonly MLContext _context = new();
    private readonly (int? GpuDeviceId, bool FallbackToCpu)? _callerDevice;
    private readonly SharedModel? _defaultModel;

    internal LanguageSegmentationEstimator((int? GpuDeviceId, bool FallbackToCpu)? callerDevice, LanguageSegmentationOptions options)
        : this(callerDevice, options, LanguageSegmentationModel.LoadDefaultForPipeline)
    {
    }

    /// <summary>With the loader of the default model given (tests count how often it runs).</summary>
    internal LanguageSegmentationEstimator((int? GpuDeviceId, bool FallbackToCpu)? callerDevice, LanguageSegmentationOptions options,
        Func<LanguageSegmentationModelOptions, LanguageSegmentationModel> loadDefault)
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
        if (options.InputSize is int size && (size < LanguageSegmentationModelOptions.Defaults.MinInputSize || size > LanguageSegmentationModelOptions.Defaults.MaxInputSize))
            throw new ArgumentOutOfRangeException(nameof(options), size, $"{nameof(LanguageSegmentationOptions.InputSize)} must be {LanguageSegmentationModelOptions.Defaults.InputSizeRule}; got {size}.");
        _options = options;
        _callerDevice = callerDevice;
        var (gpu, fallback) = Device();
        if (options.Model is null)
            _defaultModel = new SharedModel(() => loadDefault(new LanguageSegmentationModelOptions { GpuDeviceId = gpu, FallbackToCpu = fallback }));
    }

    /// <summary>
    /// Checks the input schema, then builds the pipeline. Errors about columns are raised before any model is loaded.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The image column (or labels column) is missing or of the wrong type.</exception>
    /// <exception cref="ArgumentException">The labels cannot be encoded (unknown to a fixed table, too long, indistinguishable).</exception>
    public LanguageSegmentationTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        CheckInputSchema(input.Schema);
        var lease = _defaultModel?.Acquire();
        var model = _options.Model ?? lease!.Model;
        try
        {
            var (gpu, fallback) = Device();
            var device = ExecutionDevice.Select(gpu ?? model.Device.GpuDeviceId, fallback);
            var pipeline = new SegmentationPipeline(_options, model, device.GpuDeviceId, fallback, _context);
            var chain = pipeline.Fit(input.Schema, _labels);
            return new LanguageSegmentationTransformer(chain, input.Schema, _options.OutputColumnName, _labels, pipeline.PerRowLabels, model, lease, _context,
                new ComposedGraph(pipeline.GraphPath!, pipeline.MaxSide), new InputColumns(_options.InputColumnName, _options.LabelsColumnName));
        }
        catch
        {
            lease?.Dispose();
            throw;
        }
    }

    /// <summary>The output schema for an input schema, from the options alone: no model is loaded.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The image column (or labels column) is missing or of the wrong type.</exception>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        CheckInputSchema(inputSchema);
        return SegmentationOutputSchema.Extend(inputSchema, _options, _labels);
    }

    /// <summary>The device: this estimator's options first, then the calling MLContext's settings.</summary>
    private (int? GpuDeviceId, bool FallbackToCpu) Device() => _options.GpuDeviceId is not null
        ? (_options.GpuDeviceId, _options.FallbackToCpu)
        : _callerDevice is { GpuDeviceId: not null } caller ? caller : (null, _options.FallbackToCpu);

    private void CheckInputSchema(SchemaShape schema) => InputColumnChecks.Require(schema, _options.InputColumnName, _options.LabelsColumnName, nameof(schema));

    private void CheckInputSchema(DataViewSchema schema) => InputColumnChecks.Require(schema, _options.InputColumnName, _options.LabelsColumnName, nameof(schema));
}

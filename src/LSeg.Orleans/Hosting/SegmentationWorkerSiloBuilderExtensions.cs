using LSeg.Orleans;
using LSeg.Orleans.Workers;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Orleans.Hosting;

/// <summary>Adds LSeg's segmentation worker to an Orleans silo.</summary>
public static class SegmentationWorkerSiloBuilderExtensions
{
    /// <summary>
    /// Makes this silo a segmentation worker for <see cref="BatchSegmentation.SegmentBatchAsync"/> jobs: it loads each
    /// job's model once (on <see cref="SegmentationWorkerOptions.GpuDeviceId"/> when set) and segments the images it is
    /// handed, up to <see cref="SegmentationWorkerOptions.MaxParallelImages"/> at a time. The options are validated
    /// when the silo starts.
    /// </summary>
    /// <param name="builder">The silo builder.</param>
    /// <param name="configure">Sets the worker options; null keeps the defaults.</param>
    public static ISiloBuilder AddLanguageSegmentationWorker(this ISiloBuilder builder, Action<SegmentationWorkerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Services.AddOptions<SegmentationWorkerOptions>();
        if (configure is not null)
            options.Configure(configure);
        options.ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SegmentationWorkerOptions>, WorkerOptionsValidator>());
        builder.Services.TryAddSingleton<SiloModels>();
        builder.Services.TryAddSingleton<ParallelImageGate>();
        builder.Services.AddPlacementDirector<SiloTargetedPlacement, SiloTargetedPlacementDirector>();
        return builder;
    }

    private sealed class WorkerOptionsValidator : IValidateOptions<SegmentationWorkerOptions>
    {
        public ValidateOptionsResult Validate(string? name, SegmentationWorkerOptions options) =>
            options.Problem() is { } problem ? ValidateOptionsResult.Fail($"{nameof(SegmentationWorkerOptions)}: {problem}") : ValidateOptionsResult.Success;
    }
}

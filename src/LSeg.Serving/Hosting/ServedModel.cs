using LSeg.MLNet;
using LSeg.Serving.Api;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace LSeg.Serving.Hosting;

/// <summary>
/// The one model every request shares. Loaded when the host starts (a broken package stops the start with its
/// error); on stop, waits for the requests still running it before it may be disposed — disposing the ONNX Runtime
/// sessions under a running request would free native memory that request is using.
/// </summary>
/// <remarks>
/// Sharing is safe: <see cref="LanguageSegmentationModel"/>'s ONNX Runtime sessions accept concurrent runs, its
/// label-embedding cache is guarded by a lock, and encoded images and label embeddings are immutable.
/// </remarks>
internal sealed partial class ServedModel(
    IOptions<LanguageSegmentationServingOptions> options, InferenceQueue queue, ILogger<ServedModel> logger, IHostApplicationLifetime? lifetime = null,
    IOptions<HostOptions>? hostOptions = null) : IHostedService, IDisposable
{
    private LanguageSegmentationModel? _model;
    private volatile bool _stopping;
    private bool _drained = true;
    private Timer? _queueRefusal;

    /// <summary>The model.</summary>
    /// <exception cref="ServingProblem">503 while the model is not loaded yet.</exception>
    public LanguageSegmentationModel Model => Volatile.Read(ref _model) ?? throw Problems.ModelNotReady();

    /// <summary>True once the model is loaded and until the host starts stopping.</summary>
    public bool IsReady => Volatile.Read(ref _model) is not null && !_stopping;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var model = await Task.Run(() => Load(settings), cancellationToken);
        try
        {
            long largest = model.LargestEncodedImageBytes(settings.InputSize);
            if (largest > (long)settings.ImageCacheMegabytes * 1024 * 1024)
                throw new InvalidOperationException(
                    $"{nameof(LanguageSegmentationServingOptions.ImageCacheMegabytes)} = {settings.ImageCacheMegabytes} cannot hold one encoded image of model '{model.Manifest.Name}' " +
                    $"(up to {largest / 1048576.0:F1} MiB at input size {settings.InputSize ?? model.Manifest.DefaultInputSize}); give at least {(largest + 1048575) / 1048576}.");
        }
        catch
        {
            model.Dispose();
            throw;
        }
        if (model.GpuFallbackReason is { } reason)
            LogCpuFallback(reason);
        LogServing(model.Manifest.Name, model.PackagePath, model.UsesGpu ? "GPU" : "CPU");
        Volatile.Write(ref _model, model);
        // Not ready from the moment shutdown begins: StopAsync runs only after the server has stopped, when no readiness
        // probe can reach this service any more. Queued requests are still served while the host's shutdown timeout
        // allows, and refused with 503 "shutting down" shortly before it ends: Kestrel then resets the connections still
        // open, and a request waiting for a slot would get a reset instead of an answer it can retry elsewhere.
        lifetime?.ApplicationStopping.Register(() =>
        {
            _stopping = true;
            var refuseAfter = QueueRefusalDelay(hostOptions?.Value.ShutdownTimeout ?? DefaultShutdownTimeout);
            if (refuseAfter == TimeSpan.Zero)
                queue.StopQueuing();
            else if (refuseAfter != Timeout.InfiniteTimeSpan)
                _queueRefusal = new Timer(_ => queue.StopQueuing(), null, refuseAfter, Timeout.InfiniteTimeSpan);
        });
    }

    private static readonly TimeSpan DefaultShutdownTimeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// When, after shutdown begins, queued requests are refused: a quarter of the host's shutdown timeout (at most 5 s)
    /// before it ends, so that the 503s are written while the server still answers. Never, for an infinite timeout.
    /// </summary>
    internal static TimeSpan QueueRefusalDelay(TimeSpan shutdownTimeout)
    {
        if (shutdownTimeout == Timeout.InfiniteTimeSpan)
            return Timeout.InfiniteTimeSpan;
        if (shutdownTimeout <= TimeSpan.Zero)
            return TimeSpan.Zero;
        var margin = TimeSpan.FromTicks(Math.Min(TimeSpan.FromSeconds(5).Ticks, shutdownTimeout.Ticks / 4));
        return shutdownTimeout - margin;
    }

    private static LanguageSegmentationModel Load(LanguageSegmentationServingOptions settings)
    {
        var modelOptions = new LanguageSegmentationModelOptions
        {
            GpuDeviceId = settings.GpuDeviceId,
            FallbackToCpu = settings.FallbackToCpu,
            MaxImagePixels = settings.MaxImagePixels,
        };
        // Empty or white space counts as not set, as in the options' validation (an empty environment variable binds "").
        return string.IsNullOrWhiteSpace(settings.ModelPath) ? LanguageSegmentationModel.LoadDefault(modelOptions) : LanguageSegmentationModel.Load(settings.ModelPath, modelOptions);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _stopping = true;
        _drained = await queue.DrainAsync(cancellationToken);
        if (!_drained)
            LogNotDrained(queue.Running);
    }

    public void Dispose()
    {
        Interlocked.Exchange(ref _queueRefusal, null)?.Dispose();
        // A request still inside ONNX Runtime after the shutdown timeout keeps the sessions: the process is ending anyway.
        if (_drained)
            Interlocked.Exchange(ref _model, null)?.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Serving model {Name} from {Path} on the {Device}.")]
    private partial void LogServing(string name, string path, string device);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A GPU was asked for; running on the CPU: {Reason}")]
    private partial void LogCpuFallback(string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Shutdown timed out with {Running} requests still running the model; the model is left undisposed for them.")]
    private partial void LogNotDrained(int running);
}

using System.Threading.RateLimiting;
using LSeg.Serving.Api;
using Microsoft.Extensions.Options;

namespace LSeg.Serving.Hosting;

/// <summary>
/// Admission to the model: at most <see cref="LanguageSegmentationServingOptions.MaxConcurrentInferences"/> requests run
/// it at once and at most <see cref="LanguageSegmentationServingOptions.MaxQueuedRequests"/> wait (oldest first); the
/// next one is refused at once with 503 and a Retry-After estimated from recent service times. On shutdown it stops
/// admitting and lets the caller wait until the last running request has left, so the model is never disposed under one.
/// </summary>
internal sealed class InferenceQueue : IDisposable
{
    private readonly ConcurrencyLimiter _limiter;
    private readonly TimeProvider _time;
    private readonly object _lock = new();
    private readonly TaskCompletionSource _idle = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _running;
    private bool _closed;
    private double _averageSeconds = 1; // moving average of the time a request holds a slot

    public InferenceQueue(IOptions<LanguageSegmentationServingOptions> options, TimeProvider time)
    {
        _time = time;
        Slots = options.Value.MaxConcurrentInferences;
        QueueLimit = options.Value.MaxQueuedRequests;
        _limiter = new ConcurrencyLimiter(new ConcurrencyLimiterOptions
        {
            PermitLimit = Slots,
            QueueLimit = QueueLimit,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        });
    }

    public int Slots { get; }

    public int QueueLimit { get; }

    /// <summary>Requests waiting for a slot now.</summary>
    public long Queued => _limiter.GetStatistics()?.CurrentQueuedCount ?? 0;

    /// <summary>Requests holding a slot now.</summary>
    public int Running
    {
        get { lock (_lock) return _running; }
    }

    /// <summary>Waits for a slot; dispose the returned lease when the model work is done.</summary>
    /// <exception cref="ServingProblem">503: the queue is full, or the server is shutting down.</exception>
    public async ValueTask<IDisposable> EnterAsync(CancellationToken cancellation)
    {
        if (Volatile.Read(ref _closed))
            throw Problems.ShuttingDown();
        RateLimitLease lease;
        try
        {
            lease = await _limiter.AcquireAsync(1, cancellation);
        }
        catch (ObjectDisposedException)
        {
            throw Problems.ShuttingDown();
        }
        if (!lease.IsAcquired)
        {
            lease.Dispose();
            throw Problems.Busy(RetryAfterSeconds(), Running, (int)Queued);
        }
        lock (_lock)
        {
            if (_closed)
            {
                lease.Dispose();
                throw Problems.ShuttingDown();
            }
            _running++;
        }
        return new Slot(this, lease, _time.GetTimestamp());
    }

    /// <summary>
    /// Stops admitting requests (new and still queued ones get 503 "shutting down") and completes when no request holds
    /// a slot. The host calls it after the server has stopped and finished the requests it waited for.
    /// </summary>
    /// <returns>True when the last request has left; false when <paramref name="cancellation"/> ended the wait first.</returns>
    public async Task<bool> DrainAsync(CancellationToken cancellation)
    {
        lock (_lock)
        {
            _closed = true;
            if (_running == 0)
                _idle.TrySetResult();
        }
        try
        {
            await _idle.Task.WaitAsync(cancellation);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Seconds until a slot is likely free: the work ahead (queue + running) spread over the slots.</summary>
    private int RetryAfterSeconds()
    {
        double average;
        lock (_lock)
            average = _averageSeconds;
        return (int)Math.Clamp(Math.Ceiling(average * (QueueLimit + Slots) / Slots), 1, 3600);
    }

    private void Leave(RateLimitLease lease, long startedAt)
    {
        double seconds = _time.GetElapsedTime(startedAt).TotalSeconds;
        lock (_lock)
        {
            _averageSeconds = 0.8 * _averageSeconds + 0.2 * seconds;
            _running--;
            if (_closed && _running == 0)
                _idle.TrySetResult();
        }
        lease.Dispose();
    }

    public void Dispose() => _limiter.Dispose();

    private sealed class Slot(InferenceQueue queue, RateLimitLease lease, long startedAt) : IDisposable
    {
        private int _left;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _left, 1) == 0)
                queue.Leave(lease, startedAt);
        }
    }
}

using System.Threading.RateLimiting;
using LSeg.Serving.Api;
using Microsoft.Extensions.Options;

namespace LSeg.Serving.Hosting;

/// <summary>
/// Admission to the model, in two lanes so that a label change (the small head, milliseconds) never waits behind image
/// encodings (the image encoder, about a second on a CPU): in each lane at most
/// <see cref="LanguageSegmentationServingOptions.MaxConcurrentInferences"/> requests run at once and at most
/// <see cref="LanguageSegmentationServingOptions.MaxQueuedRequests"/> wait (oldest first); the next one is refused at
/// once with 503 and a Retry-After estimated from that lane's recent service times. Shortly before the host's shutdown
/// timeout ends it refuses new and queued requests with 503 "shutting down" (<see cref="StopQueuing"/>) and lets the
/// running ones finish; the caller then waits until the last running request has left, so the model is never disposed under one.
/// </summary>
internal sealed class InferenceQueue : IDisposable
{
    private readonly Lane[] _lanes;
    private readonly TimeProvider _time;
    private readonly object _lock = new();
    private readonly TaskCompletionSource _idle = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _stopping = new();
    private int _running;
    private bool _closed;

    public InferenceQueue(IOptions<LanguageSegmentationServingOptions> options, TimeProvider time)
    {
        _time = time;
        Slots = options.Value.MaxConcurrentInferences;
        QueueLimit = options.Value.MaxQueuedRequests;
        _lanes = [new Lane(Slots, QueueLimit), new Lane(Slots, QueueLimit)];
    }

    /// <summary>The kind of model work a request does; each kind has its own slots and queue.</summary>
    public enum Work
    {
        /// <summary>Runs the image encoder: one-shot segmentation and <c>POST /v1/images</c>.</summary>
        ImageEncoding,

        /// <summary>Runs only the head on an encoded image: <c>POST /v1/images/{id}/segment</c>.</summary>
        LabelChange,
    }

    /// <summary>Requests of one kind that may run at once.</summary>
    public int Slots { get; }

    /// <summary>Requests of one kind that may wait.</summary>
    public int QueueLimit { get; }

    /// <summary>Requests of kind <paramref name="work"/> waiting for a slot now.</summary>
    public long Queued(Work work) => _lanes[(int)work].Limiter.GetStatistics()?.CurrentQueuedCount ?? 0;

    /// <summary>Requests holding a slot now.</summary>
    public int Running
    {
        get { lock (_lock) return _running; }
    }

    /// <summary>
    /// Admits a request of kind <paramref name="work"/> before its body is read: at most slots + queue bound requests of
    /// a kind are admitted at once, so a full lane answers 503 before an upload of up to <c>MaxImageBytes</c> is
    /// buffered for a request that would be refused anyway. Dispose the returned admission when the request is done;
    /// <see cref="EnterAsync"/> then never finds the queue full for an admitted request unless slots were taken without one.
    /// </summary>
    /// <exception cref="ServingProblem">503: as many requests of this kind as can run and wait are admitted, or the server is shutting down.</exception>
    public IDisposable Admit(Work work)
    {
        if (Volatile.Read(ref _closed))
            throw Problems.ShuttingDown();
        var lane = _lanes[(int)work];
        RateLimitLease admission;
        try
        {
            admission = lane.Admission.AttemptAcquire(1);
        }
        catch (ObjectDisposedException)
        {
            throw Problems.ShuttingDown();
        }
        if (!admission.IsAcquired)
        {
            admission.Dispose();
            throw Busy(work, lane);
        }
        return admission;
    }

    /// <summary>Waits for a slot; dispose the returned lease when the model work is done.</summary>
    /// <exception cref="ServingProblem">503: the queue is full, or the server is shutting down.</exception>
    public async ValueTask<IDisposable> EnterAsync(Work work, CancellationToken cancellation)
    {
        if (Volatile.Read(ref _closed))
            throw Problems.ShuttingDown();
        var lane = _lanes[(int)work];
        RateLimitLease lease;
        // A queued request stops waiting when the application starts stopping, so that it is answered 503 while the server
        // still sends answers: Kestrel resets the connections still open when the host's shutdown timeout ends.
        try
        {
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellation, _stopping.Token);
            lease = await lane.Limiter.AcquireAsync(1, wait.Token);
        }
        catch (ObjectDisposedException)
        {
            throw Problems.ShuttingDown();
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested && !cancellation.IsCancellationRequested)
        {
            throw Problems.ShuttingDown();
        }
        if (!lease.IsAcquired)
        {
            lease.Dispose();
            throw Busy(work, lane);
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
        return new Slot(this, lane, lease, _time.GetTimestamp());
    }

    /// <summary>
    /// Stops admitting requests: those waiting for a slot get 503 "shutting down" at once, and so do new ones and those
    /// still reading their body when they ask for a slot; those holding a slot run on. Called shortly before the host's
    /// shutdown timeout ends, while the server still answers.
    /// </summary>
    public void StopQueuing()
    {
        lock (_lock)
            _closed = true;
        try
        {
            // Outside the lock: the waits it ends may continue on this thread.
            _stopping.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Already disposed with the application's services: nothing waits any more.
        }
    }

    /// <summary>
    /// Stops admitting requests (as <see cref="StopQueuing"/>) and completes when no request holds a slot. The host calls
    /// it after the server has stopped and finished the requests it waited for.
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

    private ServingProblem Busy(Work work, Lane lane) =>
        Problems.Busy(RetryAfterSeconds(lane), work == Work.LabelChange ? "label changes" : "image encodings", RunningIn(lane), Slots, Admitted(lane));

    /// <summary>Requests of <paramref name="work"/> admitted and not yet done, minus those running: reading their body or waiting.</summary>
    public int Admitted(Work work) => Admitted(_lanes[(int)work]);

    private int Admitted(Lane lane)
    {
        long available = lane.Admission.GetStatistics()?.CurrentAvailablePermits ?? 0;
        return (int)Math.Max(0, Slots + QueueLimit - available - RunningIn(lane));
    }

    /// <summary>Slots of <paramref name="lane"/> held now.</summary>
    private int RunningIn(Lane lane) => (int)(Slots - (lane.Limiter.GetStatistics()?.CurrentAvailablePermits ?? 0));

    /// <summary>Seconds until a slot of <paramref name="lane"/> is likely free: the work ahead (queue + running) spread over its slots.</summary>
    private int RetryAfterSeconds(Lane lane)
    {
        double average;
        lock (_lock)
            average = lane.AverageSeconds;
        return (int)Math.Clamp(Math.Ceiling(average * (QueueLimit + Slots) / Slots), 1, 3600);
    }

    private void Leave(Lane lane, RateLimitLease lease, long startedAt)
    {
        double seconds = _time.GetElapsedTime(startedAt).TotalSeconds;
        lock (_lock)
        {
            lane.AverageSeconds = 0.8 * lane.AverageSeconds + 0.2 * seconds;
            _running--;
            if (_closed && _running == 0)
                _idle.TrySetResult();
        }
        lease.Dispose();
    }

    public void Dispose()
    {
        foreach (var lane in _lanes)
        {
            lane.Limiter.Dispose();
            lane.Admission.Dispose();
        }
        _stopping.Dispose();
    }

    /// <summary>One kind of work's slots and queue, and the moving average of the time a request holds a slot.</summary>
    private sealed class Lane(int slots, int queueLimit)
    {
        public ConcurrencyLimiter Limiter { get; } = new(new ConcurrencyLimiterOptions
        {
            PermitLimit = slots,
            QueueLimit = queueLimit,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        });

        /// <summary>Requests of this kind admitted (reading their body, waiting or running): at most slots + queue bound.</summary>
        public ConcurrencyLimiter Admission { get; } = new(new ConcurrencyLimiterOptions
        {
            PermitLimit = slots + queueLimit,
            QueueLimit = 0,
        });

        public double AverageSeconds { get; set; } = 1;
    }

    private sealed class Slot(InferenceQueue queue, Lane lane, RateLimitLease lease, long startedAt) : IDisposable
    {
        private int _left;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _left, 1) == 0)
                queue.Leave(lane, lease, startedAt);
        }
    }
}

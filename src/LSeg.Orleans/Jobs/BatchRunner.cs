using System.Diagnostics;
using LSeg.Orleans.Workers;
using Orleans.Runtime;

namespace LSeg.Orleans.Jobs;

/// <summary>
/// Runs one job from the client side. The queue of chunks lives here; the index is the job's durable state. Each
/// active silo is prepared once (model loaded, labels encoded, output folder checked), then kept holding
/// <see cref="BatchSegmentationJob.ChunksPerSilo"/> chunks: it gets the next one when it returns one, so a faster silo
/// takes more. A silo that leaves the cluster (or whose call fails) gives its chunks back to the front of the queue,
/// split into single images, and so does a chunk left unanswered past its lease (see <see cref="Overdue"/>); an image
/// lost <see cref="BatchSegmentationJob.MaxAttempts"/> times is reported as failed.
/// Delivery is at least once: an image can be segmented twice (its mask is rewritten atomically with the same bytes),
/// but the index records it once.
/// </summary>
internal sealed class BatchRunner(IGrainFactory cluster, BatchSegmentationJob job, IProgress<BatchProgress>? progress)
{
    /// <summary>How long a membership poll may take before the loop goes on without it (its gateway may have died).</summary>
    private static readonly TimeSpan MembershipAnswerTimeout = TimeSpan.FromSeconds(5);

    private readonly LinkedList<ImageWorkItem[]> _queue = new();
    private readonly Dictionary<SiloAddress, SiloSlot> _silos = new();
    private readonly Dictionary<string, int> _imagesPerSilo = new(StringComparer.Ordinal);
    private readonly Stopwatch _coordinatorBusy = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private TimeSpan _slowestChunk;
    private Stopwatch? _sinceFirstChunk;
    private BatchFolder _folder = null!;
    private SegmentationJobSpec _spec = null!;
    private bool[] _done = [];
    private int[] _attempts = [];
    private int _remaining, _succeeded, _failed, _failedBefore, _resumed;
    private double _segmentSeconds;

    private sealed class SiloSlot(SiloAddress address, ISegmentationWorkerGrain worker, Task<WorkerReadiness> readiness)
    {
        public SiloAddress Address { get; } = address;
        public ISegmentationWorkerGrain Worker { get; } = worker;
        public Task<WorkerReadiness>? Readiness { get; set; } = readiness;
        public bool Ready { get; set; }
        public List<(ImageWorkItem[] Items, Task<ChunkOutcome> Call, TimeSpan Sent)> Chunks { get; } = [];
    }

    public async Task<BatchSummary> RunAsync(CancellationToken cancellationToken)
    {
        job.Validate();
        string output = Path.GetFullPath(job.OutputDirectory);
        var corpus = ImageCorpus.List(job.Input, output);
        string? model = job.ModelPath is null ? null : Path.GetFullPath(job.ModelPath);
        var description = new BatchFolder.JobDescription(Path.GetFullPath(job.Input), [.. job.Labels], model, job.InputSize, null);
        using var folder = BatchFolder.Open(output, description, job.Resume);
        _folder = folder;
        _spec = new SegmentationJobSpec(model, [.. job.Labels], job.InputSize, output);
        Plan(corpus);

        var management = cluster.GetGrain<IManagementGrain>(0);
        var nextPoll = TimeSpan.Zero;
        TimeSpan? noSiloSince = null;
        while (_remaining > 0)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (_clock.Elapsed >= nextPoll)
            {
                await PollMembershipAsync(management);
                nextPoll = _clock.Elapsed + job.MembershipPollPeriod;
                Report();
            }
            if (_silos.Count == 0)
            {
                noSiloSince ??= _clock.Elapsed;
                if (_clock.Elapsed - noSiloSince > job.NoSiloTimeout)
                    throw new BatchSegmentationException($"The cluster has had no silo for {job.NoSiloTimeout.TotalSeconds:0} s; {_remaining} images are not done. Start silos and resume the job.");
            }
            else
            {
                noSiloSince = null;
            }
            Dispatch();
            var pending = _silos.Values.SelectMany(s => s.Chunks.Select(c => (Task)c.Call).Append(s.Readiness ?? Task.CompletedTask))
                .Where(t => !t.IsCompleted).ToList();
            var wait = nextPoll - _clock.Elapsed;
            pending.Add(Task.Delay(wait > TimeSpan.Zero ? wait : TimeSpan.Zero, cancellationToken));
            await Task.WhenAny(pending);
            Collect();
        }
        Report();
        var elapsed = _sinceFirstChunk?.Elapsed ?? TimeSpan.Zero;
        int finished = _succeeded + _failed;
        return new BatchSummary(corpus.Count, _succeeded, _failed, _resumed, elapsed, elapsed > TimeSpan.Zero ? finished / elapsed.TotalSeconds : 0,
            _segmentSeconds, _coordinatorBusy.Elapsed.TotalSeconds, new Dictionary<string, int>(_imagesPerSilo), _folder.IndexPath, _folder.ModelIdentity);
    }

    /// <summary>Numbers the images, leaves out those the index already holds, and cuts the rest into chunks.</summary>
    private void Plan(IReadOnlyList<CorpusImage> corpus)
    {
        _done = new bool[corpus.Count];
        _attempts = new int[corpus.Count];
        var todo = new List<ImageWorkItem>();
        for (int i = 0; i < corpus.Count; i++)
        {
            if (_folder.Finished.TryGetValue(corpus[i].ImagePath, out bool succeeded))
            {
                _done[i] = true;
                _resumed++;
                if (!succeeded)
                    _failedBefore++;
            }
            else
            {
                todo.Add(new ImageWorkItem(i, corpus[i].ImagePath, corpus[i].MaskPath));
            }
        }
        _remaining = todo.Count;
        foreach (var chunk in todo.Chunk(job.ChunkSize))
            _queue.AddLast(chunk);
    }

    /// <summary>Adds the silos that joined (and prepares them), and takes the chunks back from those that left.</summary>
    private async Task PollMembershipAsync(IManagementGrain management)
    {
        Dictionary<SiloAddress, SiloStatus> hosts;
        try
        {
            hosts = await management.GetHosts(onlyActive: true).WaitAsync(MembershipAnswerTimeout);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return; // The gateway may be the silo that just died; the next poll goes through another one.
        }
        _coordinatorBusy.Start();
        foreach (var gone in _silos.Keys.Where(address => !hosts.ContainsKey(address)).ToList())
            Drop(_silos[gone]);
        foreach (var address in hosts.Keys.Where(address => !_silos.ContainsKey(address)))
        {
            var worker = cluster.GetGrain<ISegmentationWorkerGrain>(SiloTargetedPlacement.KeyOf(address));
            _silos[address] = new SiloSlot(address, worker, worker.Prepare(_spec));
        }
        _coordinatorBusy.Stop();
    }

    /// <summary>Tops every ready silo up to its share of chunks.</summary>
    private void Dispatch()
    {
        _coordinatorBusy.Start();
        foreach (var silo in _silos.Values.Where(s => s.Ready))
        {
            while (silo.Chunks.Count < job.ChunksPerSilo && _queue.First is { } first)
            {
                _queue.RemoveFirst();
                var items = first.Value.Where(item => !_done[item.Index]).ToArray();
                if (items.Length == 0)
                    continue;
                _sinceFirstChunk ??= Stopwatch.StartNew();
                silo.Chunks.Add((items, silo.Worker.Segment(_spec, items), _clock.Elapsed));
            }
        }
        _coordinatorBusy.Stop();
    }

    /// <summary>Handles every readiness answer and chunk outcome that has arrived.</summary>
    private void Collect()
    {
        _coordinatorBusy.Start();
        try
        {
            foreach (var silo in _silos.Values.ToList())
            {
                if (silo.Readiness is { IsCompleted: true } readiness)
                {
                    silo.Readiness = null;
                    if (!readiness.IsCompletedSuccessfully)
                    {
                        Drop(silo); // Unreachable now: it is prepared again if it is still listed at the next poll.
                        continue;
                    }
                    Accept(readiness.Result);
                    silo.Ready = true;
                }
                foreach (var chunk in silo.Chunks.Where(c => c.Call.IsCompleted || _clock.Elapsed - c.Sent > Overdue).ToList())
                {
                    silo.Chunks.Remove(chunk);
                    if (!chunk.Call.IsCompleted)
                    {
                        // No answer long after the slowest chunk so far: its answer may have been lost with a gateway
                        // that died, or the silo hangs. The images go to the queue again (the late answer, if any, is
                        // ignored); the silo keeps its place.
                        GiveBack(chunk.Items);
                    }
                    else if (chunk.Call.IsCompletedSuccessfully)
                    {
                        _slowestChunk = TimeSpan.FromTicks(Math.Max(_slowestChunk.Ticks, (_clock.Elapsed - chunk.Sent).Ticks));
                        Record(chunk.Items, chunk.Call.Result);
                    }
                    else
                    {
                        // The silo is unreachable (or hung past the call's timeout): no more chunks for it until a
                        // membership poll lists it again and it answers a new Prepare.
                        GiveBack(chunk.Items);
                        Drop(silo);
                        break;
                    }
                }
            }
        }
        finally
        {
            _coordinatorBusy.Stop();
        }
    }

    /// <summary>
    /// How long a chunk may go unanswered before its images are handed out again: ten times the slowest chunk answered
    /// so far, at least <see cref="BatchSegmentationJob.MinimumChunkLease"/> (until one is answered, only the call's own
    /// timeout applies: the first chunks include warming up).
    /// </summary>
    private TimeSpan Overdue => _slowestChunk == TimeSpan.Zero ? TimeSpan.MaxValue : TimeSpan.FromTicks(Math.Max(10 * _slowestChunk.Ticks, job.MinimumChunkLease.Ticks));

    /// <summary>Checks a silo's readiness: it must work, and with the same model as every other silo of the job.</summary>
    private void Accept(WorkerReadiness readiness)
    {
        if (readiness.Problem is not null)
        {
            // A job no silo can start (labels its model refuses, a package it cannot load) leaves nothing behind when it
            // wrote nothing yet, so the corrected command runs without --resume.
            _folder.AbandonIfUntouched();
            throw new BatchSegmentationException($"Silo {readiness.Silo} cannot work on the job: {readiness.Problem}");
        }
        if (_folder.ModelIdentity is null)
            _folder.RecordModelIdentity(readiness.ModelIdentity!);
        else if (_folder.ModelIdentity != readiness.ModelIdentity)
            throw new BatchSegmentationException(
                $"Silo {readiness.Silo} loaded model {readiness.ModelIdentity}, but this job's masks are made with {_folder.ModelIdentity}: every silo must see the same model package.");
    }

    private void Record(ImageWorkItem[] items, ChunkOutcome outcome)
    {
        if (outcome.Problem is not null)
            throw new BatchSegmentationException($"Silo {outcome.Silo} stopped working on the job: {outcome.Problem}");
        var lines = new List<string>(outcome.Images.Length);
        var byIndex = items.ToDictionary(item => item.Index);
        foreach (var image in outcome.Images)
        {
            if (_done[image.Index] || !byIndex.TryGetValue(image.Index, out var item))
                continue;
            lines.Add(IndexLines.For(item, image, job.Labels, outcome.Silo));
            Finish(image.Index, image.Succeeded);
            _segmentSeconds += image.Seconds;
            _imagesPerSilo[outcome.Silo] = _imagesPerSilo.GetValueOrDefault(outcome.Silo) + 1;
        }
        _folder.Append(lines);
        var missing = items.Where(item => !_done[item.Index]).ToArray();
        if (missing.Length > 0)
            GiveBack(missing);
        Report();
    }

    /// <summary>Forgets a silo and gives its chunks back.</summary>
    private void Drop(SiloSlot silo)
    {
        _silos.Remove(silo.Address);
        foreach (var chunk in silo.Chunks)
            GiveBack(chunk.Items);
        silo.Chunks.Clear();
    }

    /// <summary>
    /// Puts lost images back at the front of the queue, one per chunk, so that an image that kills silos is isolated and
    /// given up after <see cref="BatchSegmentationJob.MaxAttempts"/> losses instead of taking its neighbours with it.
    /// </summary>
    private void GiveBack(ImageWorkItem[] items)
    {
        var lost = new List<string>();
        foreach (var item in items.Where(item => !_done[item.Index]).Reverse())
        {
            if (++_attempts[item.Index] >= job.MaxAttempts)
            {
                lost.Add(IndexLines.Lost(item, job.Labels, _attempts[item.Index]));
                Finish(item.Index, succeeded: false);
            }
            else
            {
                _queue.AddFirst([item]);
            }
        }
        _folder.Append(lost);
    }

    private void Finish(int index, bool succeeded)
    {
        _done[index] = true;
        _remaining--;
        if (succeeded)
            _succeeded++;
        else
            _failed++;
    }

    private void Report()
    {
        if (progress is null)
            return;
        int finished = _succeeded + _failed;
        double seconds = _sinceFirstChunk?.Elapsed.TotalSeconds ?? 0;
        double rate = seconds > 0 ? finished / seconds : 0;
        TimeSpan? remaining = rate > 0 ? TimeSpan.FromSeconds(_remaining / rate) : null;
        progress.Report(new BatchProgress(_done.Length, _done.Length - _remaining, _failed + _failedBefore, _resumed, _silos.Count(s => s.Value.Ready), rate, remaining));
    }
}

using System.Diagnostics;
using LSeg.Orleans.Workers;
using Orleans.Runtime;

namespace LSeg.Orleans.Jobs;

/// <summary>
/// Runs one job from the client side. The queue of chunks lives here; the index is the job's durable state. Each
/// active silo is prepared once (model loaded, labels encoded, output folder checked), then kept holding
/// <see cref="BatchSegmentationJob.ChunksPerSilo"/> chunks: it gets the next one when it returns one, so a faster silo
/// takes more. A silo that leaves the cluster (or whose call fails) gives its chunks back to the front of the queue,
/// split into single images, and so does a chunk left unanswered past its lease (see <see cref="Overdue"/>), whose late
/// answer still counts; an image lost <see cref="BatchSegmentationJob.MaxAttempts"/> times is reported as failed.
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
    private readonly Dictionary<string, string> _devicePerSilo = new(StringComparer.Ordinal);
    private readonly Dictionary<SiloAddress, int> _failedPrepares = new();
    private readonly Stopwatch _coordinatorBusy = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private TimeSpan _slowestChunk;
    private Stopwatch? _sinceFirstChunk;
    private BatchFolder _folder = null!;
    private SegmentationJobSpec _spec = null!;
    private bool[] _done = [];
    private int[] _attempts = [];

    /// <summary>Per image (by index), the silos it was lost on: it goes to another ready silo while there is one.</summary>
    private readonly Dictionary<int, HashSet<SiloAddress>> _lostOn = [];
    private int _remaining, _succeeded, _failed, _failedBefore, _resumed;
    private double _segmentSeconds;

    private sealed class SiloSlot(SiloAddress address, ISegmentationWorkerGrain worker, Task<WorkerReadiness> readiness)
    {
        public SiloAddress Address { get; } = address;
        public ISegmentationWorkerGrain Worker { get; } = worker;
        public Task<WorkerReadiness>? Readiness { get; set; } = readiness;
        public bool Ready { get; set; }
        public List<SentChunk> Chunks { get; } = [];
    }

    /// <summary>A chunk a silo is working on. <see cref="Reissued"/>: its lease ran out and its images were handed out again.</summary>
    private sealed class SentChunk(ImageWorkItem[] items, Task<ChunkOutcome> call, TimeSpan sent)
    {
        public ImageWorkItem[] Items { get; } = items;
        public Task<ChunkOutcome> Call { get; } = call;
        public TimeSpan Sent { get; } = sent;
        public bool Reissued { get; set; }

        /// <summary>It holds an image a silo was lost with before (see <see cref="Dispatch"/>).</summary>
        public bool LostBefore { get; init; }
    }

    public async Task<BatchSummary> RunAsync(CancellationToken cancellationToken)
    {
        job.Validate();
        string output = Path.GetFullPath(job.OutputDirectory);
        var corpus = ImageCorpus.List(job.Input, output, null, out string maskRoot);
        string? model = job.ModelPath is null ? null : Path.TrimEndingDirectorySeparator(Path.GetFullPath(job.ModelPath));
        var description = new BatchFolder.JobDescription(Path.GetFullPath(job.Input), [.. job.Labels], model, job.InputSize, null, maskRoot);
        using var folder = BatchFolder.Open(output, description, job.Resume);
        _folder = folder;
        // A resumed job keeps its first run's mask layout (its manifest may list other images now).
        if (folder.MaskRoot is { } kept && kept != maskRoot)
            corpus = ImageCorpus.List(job.Input, output, kept, out _);
        // The folders the images are in, among those this process sees (a listed image in a folder that exists nowhere is
        // that image's failed line, not a silo's fault).
        string[] inputFolders = InputFoldersToCheck(corpus.Select(image => Path.GetDirectoryName(image.ImagePath)!).Distinct(StringComparer.Ordinal)
            .Where(Directory.Exists), MountPoints(), SegmentationJobSpec.MaxInputFolders);
        _spec = new SegmentationJobSpec(model, [.. job.Labels], job.InputSize, output, inputFolders);
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
        // Every image is in the index: a temporary mask still here was left by a silo killed while writing it (a silo
        // still writing one late finds its rename fails, and its answer is not counted any more).
        folder.RemoveTemporaryMasks();
        var elapsed = _sinceFirstChunk?.Elapsed ?? TimeSpan.Zero;
        int finished = _succeeded + _failed;
        return new BatchSummary(corpus.Count, _succeeded, _failed, _resumed, elapsed, elapsed > TimeSpan.Zero ? finished / elapsed.TotalSeconds : 0,
            _segmentSeconds, _coordinatorBusy.Elapsed.TotalSeconds, new Dictionary<string, int>(_imagesPerSilo), _folder.IndexPath, _folder.ModelIdentity,
            new Dictionary<string, string>(_devicePerSilo));
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

    /// <summary>
    /// The input folders each silo checks before any image: at most <paramref name="max"/>, one from every mount point
    /// first (a manifest spanning /mnt/nas1 and /mnt/nas2: a silo without nas2 must refuse the job, not write a failed
    /// line for each of its images), then the others in order.
    /// </summary>
    internal static string[] InputFoldersToCheck(IEnumerable<string> folders, IReadOnlyList<string> mountPoints, int max)
    {
        var all = folders.ToList();
        // The deepest mount point holding a folder is the file system it is on.
        var deepestFirst = mountPoints.OrderByDescending(m => m.Length).ToList();
        string MountOf(string folder) => deepestFirst.FirstOrDefault(m => folder == m || folder.StartsWith(Path.EndsInDirectorySeparator(m) ? m : m + Path.DirectorySeparatorChar, StringComparison.Ordinal)) ?? "";
        var onePerMount = all.GroupBy(MountOf, StringComparer.Ordinal).Select(group => group.First()).ToList();
        return [.. onePerMount.Concat(all.Except(onePerMount, StringComparer.Ordinal)).Take(max)];
    }

    /// <summary>This machine's mount points (none where they cannot be listed: then the folders are checked in order).</summary>
    private static IReadOnlyList<string> MountPoints()
    {
        try
        {
            return [.. DriveInfo.GetDrives().Select(drive => drive.RootDirectory.FullName)];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    /// <summary>
    /// Tops every ready silo up to its share of chunks. An image lost before (a silo stopped while it was out) goes only to
    /// a silo with nothing else in flight, and that silo gets nothing else until it answers: if the image is what kills
    /// silos, it then takes no good image down with it (a restarted silo, at a new address, has lost nothing before, so
    /// the lost images would otherwise go to it side by side, and each be given up after MaxAttempts).
    /// </summary>
    private void Dispatch()
    {
        _coordinatorBusy.Start();
        foreach (var silo in _silos.Values.Where(s => s.Ready))
        {
            // A reissued chunk does not hold a slot: its answer may be lost for good with a gateway that died (the call then
            // ends only at its 30-minute timeout), and the silo itself may be fine.
            while (silo.Chunks.Count(c => !c.Reissued) is int inFlight && inFlight < job.ChunksPerSilo
                && !silo.Chunks.Any(c => !c.Reissued && c.LostBefore)
                && NextFor(silo, takeLostBefore: inFlight == 0) is { } first)
            {
                _queue.Remove(first);
                var items = first.Value.Where(item => !_done[item.Index]).ToArray();
                if (items.Length == 0)
                    continue;
                _sinceFirstChunk ??= Stopwatch.StartNew();
                silo.Chunks.Add(new SentChunk(items, silo.Worker.Segment(_spec, items), _clock.Elapsed) { LostBefore = items.Any(item => _attempts[item.Index] > 0) });
            }
        }
        _coordinatorBusy.Stop();
    }

    /// <summary>
    /// The first queued chunk for <paramref name="silo"/>: not one holding an image this silo lost before while another
    /// ready silo has not lost it. A silo that hangs while the cluster still lists it has its chunks handed out again
    /// when they are overdue; without this it took those very images back at once (its slots were the free ones), and
    /// after three such losses they were written as failed, good images given up.
    /// </summary>
    /// <remarks>Without <paramref name="takeLostBefore"/>, chunks holding an image lost before are passed over.</remarks>
    private LinkedListNode<ImageWorkItem[]>? NextFor(SiloSlot silo, bool takeLostBefore)
    {
        for (var node = _queue.First; node is not null; node = node.Next)
        {
            if (!takeLostBefore && node.Value.Any(item => _attempts[item.Index] > 0))
                continue;
            bool lostHere = node.Value.Any(item => _lostOn.TryGetValue(item.Index, out var silos) && silos.Contains(silo.Address));
            if (!lostHere)
                return node;
            bool elsewhere = _silos.Values.Any(other => other != silo && other.Ready
                && !node.Value.Any(item => _lostOn.TryGetValue(item.Index, out var silos) && silos.Contains(other.Address)));
            if (!elsewhere)
                return node;
        }
        return null;
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
                        RequireSomeSiloCanWork(silo.Address, readiness.Exception?.GetBaseException());
                        Drop(silo); // Unreachable now: it is prepared again if it is still listed at the next poll.
                        continue;
                    }
                    Accept(readiness.Result);
                    _failedPrepares.Remove(silo.Address);
                    silo.Ready = true;
                }
                foreach (var chunk in silo.Chunks.ToList())
                {
                    if (!chunk.Call.IsCompleted)
                    {
                        if (!chunk.Reissued && _clock.Elapsed - chunk.Sent > Overdue)
                        {
                            // No answer long after the slowest chunk so far: its answer may have been lost with a gateway
                            // that died, or the silo hangs. The images go to the queue again and the silo gets new
                            // work, but the call is still watched: a late answer records what it holds (and lengthens
                            // the lease).
                            GiveBack(chunk.Items, silo.Address);
                            chunk.Reissued = true;
                        }
                        continue;
                    }
                    silo.Chunks.Remove(chunk);
                    if (chunk.Call.IsCompletedSuccessfully)
                    {
                        _slowestChunk = TimeSpan.FromTicks(Math.Max(_slowestChunk.Ticks, (_clock.Elapsed - chunk.Sent).Ticks));
                        Record(chunk, chunk.Call.Result, silo.Address);
                    }
                    else
                    {
                        // The silo is unreachable (or hung past the call's timeout): no more chunks for it until a
                        // membership poll lists it again and it answers a new Prepare.
                        if (!chunk.Reissued)
                            GiveBack(chunk.Items, silo.Address);
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
            throw readiness.LabelsRefused
                ? new BatchSegmentationException(readiness.Problem) { LabelsRefused = true }
                : new BatchSegmentationException($"Silo {readiness.Silo} cannot work on the job: {readiness.Problem}");
        }
        if (readiness.Device is { } device)
            _devicePerSilo[readiness.Silo] = device;
        if (_folder.ModelIdentity is null)
            _folder.RecordModelIdentity(readiness.ModelIdentity!);
        // Chunks name the model they must be segmented with (preparations keep the spec without it: they load the current one).
        _spec = _spec with { ModelIdentity = _folder.ModelIdentity };
        if (_folder.ModelIdentity != readiness.ModelIdentity)
            throw new BatchSegmentationException(
                $"Silo {readiness.Silo} loaded model {readiness.ModelIdentity}, but this job's masks are made with {_folder.ModelIdentity}: every silo must see the same model package.");
    }

    private void Record(SentChunk chunk, ChunkOutcome outcome, SiloAddress from)
    {
        if (outcome.Problem is not null)
            throw new BatchSegmentationException($"Silo {outcome.Silo} stopped working on the job: {outcome.Problem}");
        var items = chunk.Items;
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
        if (missing.Length > 0 && !chunk.Reissued)  // a reissued chunk's images are in the queue already
            GiveBack(missing, from);
        Report();
    }

    /// <summary>
    /// Forgets a silo and gives back the chunks it had not answered; one it did answer (its masks are written) is
    /// recorded first, so the images are neither redone nor counted as lost.
    /// </summary>
    private void Drop(SiloSlot silo)
    {
        _silos.Remove(silo.Address);
        var chunks = silo.Chunks.ToList();
        silo.Chunks.Clear();
        foreach (var chunk in chunks)
        {
            if (chunk.Call.IsCompletedSuccessfully && chunk.Call.Result.Problem is null)
                Record(chunk, chunk.Call.Result, silo.Address);
            else if (!chunk.Reissued)
                GiveBack(chunk.Items, silo.Address);
        }
    }

    /// <summary>
    /// A silo whose Prepare call failed (not answered a problem: the call itself, e.g. a silo without the worker or of
    /// another build) is prepared again at the next poll; after <see cref="BatchSegmentationJob.MaxAttempts"/> failures
    /// in a row, with no other silo ready or preparing, the job stops naming it rather than waiting forever.
    /// </summary>
    private void RequireSomeSiloCanWork(SiloAddress address, Exception? error)
    {
        int failures = _failedPrepares[address] = _failedPrepares.GetValueOrDefault(address) + 1;
        bool othersCanWork = _silos.Values.Any(s => s.Address != address && (s.Ready || s.Readiness is not null));
        if (failures >= job.MaxAttempts && !othersCanWork)
            throw new BatchSegmentationException(
                $"Silo {address} could not be prepared for the job {failures} times in a row ({error?.GetType().Name}: {error?.Message}) and no other silo is ready; {_remaining} images are not done. Check that every silo runs the same lseg build, then resume the job.");
    }

    /// <summary>
    /// Puts lost images back at the front of the queue, one per chunk, so that an image that kills silos is isolated and
    /// given up after <see cref="BatchSegmentationJob.MaxAttempts"/> losses instead of taking its neighbours with it.
    /// </summary>
    private void GiveBack(ImageWorkItem[] items, SiloAddress lostOn)
    {
        var lost = new List<string>();
        foreach (var item in items.Where(item => !_done[item.Index]).Reverse())
        {
            if (!_lostOn.TryGetValue(item.Index, out var silos))
                _lostOn[item.Index] = silos = [];
            silos.Add(lostOn);
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

using LSeg.MLNet;
using LSeg.MLNet.IO;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using Orleans.Runtime;

namespace LSeg.Orleans.Workers;

/// <summary>
/// The worker on one silo. Reentrant, so the chunks the runner keeps queued here overlap; the silo-wide
/// <see cref="SegmentationWorkerOptions.MaxParallelImages"/> gate decides how many images actually run at once. The
/// work runs on the thread pool, off the grain's scheduler.
/// </summary>
[Reentrant]
[SiloTargetedPlacement]
internal sealed class SegmentationWorkerGrain(SiloModels models, ParallelImageGate gate, ILocalSiloDetails silo) : Grain, ISegmentationWorkerGrain
{
    private string SiloName => silo.SiloAddress.ToParsableString();

    public async Task<WorkerReadiness> Prepare(SegmentationJobSpec job)
    {
        try
        {
            // A package rewritten in place since this silo loaded it is loaded again for a new job.
            var (model, _) = await Task.Run(() => Load(job, reloadIfChanged: true));
            await Task.Run(() =>
            {
                ProbeOutputDirectory(job.OutputDirectory);
                RequireInputFolders(job.InputFolders);
            });
            return new WorkerReadiness(SiloName, model.Identity, model.Model.UsesGpu ? "gpu" : "cpu", null);
        }
        catch (ArgumentException e) when (e.ParamName == "labels")
        {
            // The model's words for the user's labels, without the library's parameter name.
            return new WorkerReadiness(SiloName, null, null, e.Message.Replace(" (Parameter 'labels')", "", StringComparison.Ordinal), LabelsRefused: true);
        }
        catch (Exception e)
        {
            return new WorkerReadiness(SiloName, null, null, $"{e.GetType().Name}: {e.Message}");
        }
    }

    public async Task<ChunkOutcome> Segment(SegmentationJobSpec job, ImageWorkItem[] images)
    {
        SiloModels.LoadedModel model;
        LabelEmbeddings labels;
        try
        {
            (model, labels) = await Task.Run(() => Load(job));
        }
        catch (Exception e)
        {
            return new ChunkOutcome(SiloName, [], $"{e.GetType().Name}: {e.Message}");
        }
        try
        {
            var outcomes = await Task.WhenAll(images.Select(item =>
                gate.Run(() => ImageSegmenter.Segment(model.Model, labels, job, item))));
            return new ChunkOutcome(SiloName, outcomes, null);
        }
        catch (SiloFaultException e)
        {
            return new ChunkOutcome(SiloName, [], e.Message);
        }
    }

    private (SiloModels.LoadedModel Model, LabelEmbeddings Labels) Load(SegmentationJobSpec job, bool reloadIfChanged = false)
    {
        // A chunk is segmented with the model its job was prepared with (job.ModelIdentity); a preparation takes the current one.
        var model = models.Get(job.ModelPath, reloadIfChanged, reloadIfChanged ? null : job.ModelIdentity);
        return (model, models.Labels(model, job.Labels));
    }

    /// <summary>Checks, before any image, that this silo sees the job's input folders (another machine's mount may be missing).</summary>
    private static void RequireInputFolders(string[] folders)
    {
        foreach (string folder in folders)
        {
            if (!Directory.Exists(folder))
                throw new DirectoryNotFoundException($"the input folder '{folder}' does not exist on this silo; every silo must see the input at the same path (shared storage).");
        }
    }

    /// <summary>Checks, before any image, that this silo can create files in the output folder (it may be another machine's mount).</summary>
    private static void ProbeOutputDirectory(string directory)
    {
        if (!Directory.Exists(directory))
            throw new DirectoryNotFoundException($"the output folder '{directory}' does not exist on this silo; every silo must see it at the same path (shared storage).");
        string probe = Path.Combine(directory, $".probe-{Guid.NewGuid():N}");
        AtomicFile.WriteAllBytes(probe, []);
        File.Delete(probe);
    }
}

/// <summary>The silo-wide limit on images segmented at the same time.</summary>
internal sealed class ParallelImageGate(IOptions<SegmentationWorkerOptions> options) : IDisposable
{
    private readonly SemaphoreSlim _slots = new(options.Value.MaxParallelImages);

    /// <summary>Runs <paramref name="work"/> on the thread pool once a slot is free.</summary>
    public async Task<T> Run<T>(Func<T> work)
    {
        await _slots.WaitAsync();
        try
        {
            return await Task.Run(work);
        }
        finally
        {
            _slots.Release();
        }
    }

    public void Dispose() => _slots.Dispose();
}

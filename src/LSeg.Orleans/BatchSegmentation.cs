using LSeg.Orleans.Jobs;

namespace LSeg.Orleans;

/// <summary>Runs batch segmentation jobs on an Orleans cluster whose silos run <c>AddLanguageSegmentationWorker</c>.</summary>
public static class BatchSegmentation
{
    /// <summary>
    /// Segments every image of <paramref name="job"/> on the cluster's silos and returns when each has one line in
    /// <c>index.jsonl</c>. Silos that join while it runs take part; a silo that leaves gives its images back to the
    /// others. A bad image becomes a failed line, never a failed job. Cancelling stops handing out work: the folder stays
    /// consistent and <see cref="BatchSegmentationJob.Resume"/> continues it.
    /// </summary>
    /// <param name="cluster">A cluster client (or a silo's grain factory).</param>
    /// <param name="job">What to segment and where to write.</param>
    /// <param name="progress">Receives where the job stands after every chunk and membership poll.</param>
    /// <param name="cancellationToken">Stops the job between chunks.</param>
    /// <exception cref="BatchSegmentationException">The job cannot run or go on; the message names the problem.</exception>
    /// <exception cref="OperationCanceledException">The job was cancelled.</exception>
    public static Task<BatchSummary> SegmentBatchAsync(this IGrainFactory cluster, BatchSegmentationJob job,
        IProgress<BatchProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        ArgumentNullException.ThrowIfNull(job);
        return new BatchRunner(cluster, job, progress).RunAsync(cancellationToken);
    }
}

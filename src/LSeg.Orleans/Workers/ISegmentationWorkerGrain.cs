namespace LSeg.Orleans.Workers;

/// <summary>
/// The segmentation worker of one silo (the grain key is the silo's address, see <see cref="SiloTargetedPlacement"/>):
/// the job runner prepares it once per job, then hands it chunks of images.
/// </summary>
internal interface ISegmentationWorkerGrain : IGrainWithStringKey
{
    /// <summary>Loads the job's model on this silo (once per silo and model), encodes the labels and checks the output folder.</summary>
    [ResponseTimeout("00:10:00")]
    Task<WorkerReadiness> Prepare(SegmentationJobSpec job);

    /// <summary>
    /// Segments the images, up to the silo's parallel limit at a time, writing each mask atomically; a bad image gives an
    /// outcome with an error, never an exception. The long timeout only bounds a silo that hangs: a silo that dies is
    /// noticed through cluster membership long before.
    /// </summary>
    [ResponseTimeout("00:30:00")]
    Task<ChunkOutcome> Segment(SegmentationJobSpec job, ImageWorkItem[] images);
}

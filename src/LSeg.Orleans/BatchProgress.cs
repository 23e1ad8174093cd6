namespace LSeg.Orleans;

/// <summary>Where a batch job stands, reported after every chunk and every membership poll.</summary>
/// <param name="Total">Images in the job.</param>
/// <param name="Done">Images in the index (this run and resumed ones), failed ones included.</param>
/// <param name="Failed">Failed images in the index.</param>
/// <param name="Resumed">Images the index held when this run started.</param>
/// <param name="Silos">Silos working on the job now.</param>
/// <param name="ImagesPerSecond">Images finished by this run per second since its first chunk was handed out.</param>
/// <param name="Remaining">Estimated time to finish at that rate; null until a chunk has finished.</param>
public sealed record BatchProgress(int Total, int Done, int Failed, int Resumed, int Silos, double ImagesPerSecond, TimeSpan? Remaining);

/// <summary>The outcome of a batch job that ran to the end.</summary>
/// <param name="Total">Images in the job; <c>index.jsonl</c> has one line for each.</param>
/// <param name="Succeeded">Images whose mask this run wrote.</param>
/// <param name="Failed">Images this run reported as failed.</param>
/// <param name="Resumed">Images already in the index when this run started (not redone).</param>
/// <param name="Elapsed">From the first chunk handed out to the last one finished.</param>
/// <param name="ImagesPerSecond">(Succeeded + Failed) / Elapsed.</param>
/// <param name="SegmentSeconds">Seconds the silos spent on this run's images, summed over images (read, decode, encode, segment, write).</param>
/// <param name="CoordinatorSeconds">Seconds the job runner itself was busy (listing silos excluded): handing out chunks, recording outcomes, writing the index.</param>
/// <param name="ImagesPerSilo">Images each silo finished in this run.</param>
/// <param name="IndexPath">Full path of <c>index.jsonl</c>.</param>
/// <param name="ModelIdentity">The model every silo used: its name and manifest hash.</param>
/// <param name="DevicePerSilo">
/// Where each silo that took part ran the model, <c>gpu</c> or <c>cpu</c>: a silo asked for a GPU (its
/// <see cref="SegmentationWorkerOptions.GpuDeviceId"/>) that could not use CUDA falls back to the CPU when
/// <see cref="SegmentationWorkerOptions.FallbackToCpu"/> allows it, and this says so.
/// </param>
public sealed record BatchSummary(int Total, int Succeeded, int Failed, int Resumed, TimeSpan Elapsed, double ImagesPerSecond,
    double SegmentSeconds, double CoordinatorSeconds, IReadOnlyDictionary<string, int> ImagesPerSilo, string IndexPath, string? ModelIdentity,
    IReadOnlyDictionary<string, string>? DevicePerSilo = null);

namespace LSeg.Orleans;

/// <summary>
/// A batch segmentation job: every image of <see cref="Input"/> segmented with <see cref="Labels"/>, masks and
/// <c>index.jsonl</c> written under <see cref="OutputDirectory"/>. Run it with
/// <see cref="BatchSegmentation.SegmentBatchAsync"/> on a cluster whose silos run
/// <c>AddLanguageSegmentationWorker</c>.
/// </summary>
/// <remarks>
/// Paths are handed to the silos as they are here (made absolute): on several machines, the input, the output folder and
/// the model package must be on storage every machine mounts at the same path.
/// </remarks>
public sealed class BatchSegmentationJob
{
    /// <summary>Default values of the optional settings.</summary>
    public static class Defaults
    {
        /// <summary>Images handed to a silo at a time.</summary>
        public const int ChunkSize = 8;

        /// <summary>Chunks a silo holds at once: one running, one waiting, so it never idles for a round trip.</summary>
        public const int ChunksPerSilo = 2;

        /// <summary>Times an image may be lost with the silo segmenting it before it is reported as failed.</summary>
        public const int MaxAttempts = 3;

        /// <summary>How long the job waits for a silo when the cluster has none before it fails.</summary>
        public static readonly TimeSpan NoSiloTimeout = TimeSpan.FromSeconds(60);

        /// <summary>The shortest time a chunk may go unanswered before its images are handed out again.</summary>
        public static readonly TimeSpan MinimumChunkLease = TimeSpan.FromSeconds(10);

        /// <summary>How often the cluster's active silos are listed (new silos join the job, lost ones give their chunks back).</summary>
        public static readonly TimeSpan MembershipPollPeriod = TimeSpan.FromSeconds(1);
    }

    /// <summary>A folder of images (searched recursively), or a manifest file: one image path per line (<c>#</c> starts a comment), or a <c>.jsonl</c> file of JSON strings or <c>{"image": PATH}</c> objects. Relative manifest paths resolve against the manifest's folder.</summary>
    public required string Input { get; init; }

    /// <summary>The text labels; mask value <c>i</c> is the <c>i</c>-th label.</summary>
    public required IReadOnlyList<string> Labels { get; init; }

    /// <summary>Where <c>NAME.mask.png</c> files (mirroring the input's sub-folders), <c>index.jsonl</c> and <c>batch.json</c> go; created when missing.</summary>
    public required string OutputDirectory { get; init; }

    /// <summary>Model package directory; null for the default model, which the silos carry when they reference LSeg.MLNet.DefaultModel.</summary>
    public string? ModelPath { get; init; }

    /// <summary>Model input size (longer image side, pixels); null for the model's default.</summary>
    public int? InputSize { get; init; }

    /// <summary>Continue the job already in <see cref="OutputDirectory"/>, skipping every image its index names. Without it, a folder holding a job is refused.</summary>
    public bool Resume { get; init; }

    /// <summary>Images handed to a silo at a time (default 8): larger chunks cost less coordination, smaller ones balance better and lose less when a silo dies.</summary>
    public int ChunkSize { get; init; } = Defaults.ChunkSize;

    /// <summary>Chunks each silo holds at once (default 2).</summary>
    public int ChunksPerSilo { get; init; } = Defaults.ChunksPerSilo;

    /// <summary>Times an image may be lost with its silo before it is given up as failed (default 3): an image that crashes every silo must not stop the job.</summary>
    public int MaxAttempts { get; init; } = Defaults.MaxAttempts;

    /// <summary>How long to wait when the cluster has no silo before failing (default 60 s).</summary>
    public TimeSpan NoSiloTimeout { get; init; } = Defaults.NoSiloTimeout;

    /// <summary>
    /// The shortest time a chunk may go unanswered before its images are handed out again (default 10 s; the lease is
    /// ten times the slowest chunk answered so far when that is longer). It bounds what a hung silo, or an answer lost
    /// with a gateway that died, can hold up.
    /// </summary>
    public TimeSpan MinimumChunkLease { get; init; } = Defaults.MinimumChunkLease;

    /// <summary>How often the cluster's silos are listed (default 1 s).</summary>
    public TimeSpan MembershipPollPeriod { get; init; } = Defaults.MembershipPollPeriod;

    /// <summary>Checks the settings that need no file system access.</summary>
    /// <exception cref="BatchSegmentationException">A setting is invalid; the message names it.</exception>
    internal void Validate()
    {
        string? problem =
            string.IsNullOrWhiteSpace(Input) ? $"{nameof(Input)} is empty: give a folder of images or a manifest file."
            : string.IsNullOrWhiteSpace(OutputDirectory) ? $"{nameof(OutputDirectory)} is empty."
            : ModelPath is not null && string.IsNullOrWhiteSpace(ModelPath) ? $"{nameof(ModelPath)} is empty: give a model package directory, or null for the default model."
            : Labels is null || Labels.Count == 0 ? $"{nameof(Labels)} is empty: give at least one label."
            : Labels.Any(string.IsNullOrWhiteSpace) ? $"{nameof(Labels)} has an empty (or null) label."
            : Labels.Count > 256 ? $"{nameof(Labels)} has {Labels.Count} labels; a mask PNG holds 8-bit label indices (0 to 255), so at most 256 labels."
            : Labels.GroupBy(l => l, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1) is { } twice ? $"{nameof(Labels)} names \"{twice.Key}\" twice."
            : InputSize is < 32 or > 2048 ? $"{nameof(InputSize)} {InputSize} is out of range: 32 to 2048 pixels."
            : ChunkSize < 1 ? $"{nameof(ChunkSize)} is {ChunkSize}; give 1 or more."
            : ChunksPerSilo < 1 ? $"{nameof(ChunksPerSilo)} is {ChunksPerSilo}; give 1 or more."
            : MaxAttempts < 1 ? $"{nameof(MaxAttempts)} is {MaxAttempts}; give 1 or more."
            : NoSiloTimeout <= TimeSpan.Zero || MembershipPollPeriod <= TimeSpan.Zero || MinimumChunkLease <= TimeSpan.Zero
                ? $"{nameof(NoSiloTimeout)}, {nameof(MembershipPollPeriod)} and {nameof(MinimumChunkLease)} must be positive."
            : null;
        if (problem is not null)
            throw new BatchSegmentationException(problem);
    }
}

/// <summary>A batch job cannot run or cannot go on: bad input, a folder holding another job, a silo that cannot work, no silo left.</summary>
public sealed class BatchSegmentationException : Exception
{
    /// <summary>Creates the exception with a message that names the problem.</summary>
    public BatchSegmentationException(string message) : base(message)
    {
    }

    /// <summary>Creates the exception with a message that names the problem and the exception that caused it.</summary>
    public BatchSegmentationException(string message, Exception inner) : base(message, inner)
    {
    }

    /// <summary>
    /// True when the job's labels are the problem: the model refuses them (two it cannot tell apart, such as "hot dog"
    /// and "hot  dog", or one with no word it knows), and the message is the model's. Correct the labels and run again.
    /// </summary>
    public bool LabelsRefused { get; init; }
}

namespace LSeg.Orleans.Workers;

/// <summary>What every silo needs to know about a job: the model, the labels, the input size and where masks go.</summary>
/// <param name="ModelPath">Model package directory as every silo sees it; null for the default model embedded in the build.</param>
/// <param name="Labels">The labels, in mask-index order.</param>
/// <param name="InputSize">Model input size (longer side); null for the model's default.</param>
/// <param name="OutputDirectory">Folder the masks are written under, as every silo sees it.</param>
/// <param name="InputFolders">Folders holding the job's images, as the job runner sees them (at most
/// <see cref="SegmentationJobSpec.MaxInputFolders"/>): a silo that does not see one of them at the same path refuses the job
/// before any image, instead of failing every image it is given as missing.</param>
/// <param name="ModelIdentity">The model the job's masks are made with (set once a silo has been prepared): a silo segments
/// a chunk with that model only, so a package rewritten in place while the job runs cannot mix two models in its masks.</param>
[GenerateSerializer, Immutable]
internal sealed record SegmentationJobSpec(string? ModelPath, string[] Labels, int? InputSize, string OutputDirectory, string[] InputFolders,
    string? ModelIdentity = null)
{
    /// <summary>How many of a job's input folders the silos check (a manifest may list images in thousands of folders).</summary>
    public const int MaxInputFolders = 16;
}

/// <summary>One image to segment: its position in the job, its path and its mask's path relative to the output folder.</summary>
[GenerateSerializer, Immutable]
internal sealed record ImageWorkItem(int Index, string ImagePath, string MaskPath);

/// <summary>A silo's answer to <see cref="ISegmentationWorkerGrain.Prepare"/>: the model it loaded, or why it cannot work.</summary>
/// <param name="Silo">The silo that answered.</param>
/// <param name="ModelIdentity">Name and manifest hash of the loaded model: every silo of a job must report the same.</param>
/// <param name="Device">"cpu" or "gpu".</param>
/// <param name="Problem">Why the silo cannot take part (model or labels unusable, output folder not writable, an input folder
/// it does not see); null when ready.</param>
/// <param name="LabelsRefused">True when the problem is the job's labels, which the model refuses (two it cannot tell
/// apart, one with no word it knows): the command line, not a silo, must change.</param>
[GenerateSerializer, Immutable]
internal sealed record WorkerReadiness(string Silo, string? ModelIdentity, string? Device, string? Problem, bool LabelsRefused = false);

/// <summary>The outcome for one image: the pixel count of each label, or the error that made it fail.</summary>
[GenerateSerializer, Immutable]
internal sealed record ImageOutcome(int Index, int Width, int Height, long[]? PixelCounts, string? Error, double Seconds)
{
    /// <summary>True when the mask was written.</summary>
    public bool Succeeded => Error is null;
}

/// <summary>A silo's answer to one chunk: an outcome per image, or a problem that stops the job (not the image's fault).</summary>
[GenerateSerializer, Immutable]
internal sealed record ChunkOutcome(string Silo, ImageOutcome[] Images, string? Problem);

using LSeg.MLNet;
using LSeg.MLNet.Package;
using Microsoft.Extensions.Options;

namespace LSeg.Serving.Hosting;

/// <summary>Checks <see cref="LanguageSegmentationServingOptions"/> when the application starts; each failure names the option.</summary>
internal sealed class ServingOptionsValidator : IValidateOptions<LanguageSegmentationServingOptions>
{
    private const long MaxUploadBytes = 2_000_000_000;
    private static readonly TimeSpan MaxImageTimeToLive = TimeSpan.FromDays(365);
    private static readonly TimeSpan MaxUploadTimeout = TimeSpan.FromHours(1);

    // Admissions of a lane are MaxConcurrentInferences + MaxQueuedRequests, one int permit count.
    private const int MaxAdmissions = 1_000_000;

    public ValidateOptionsResult Validate(string? name, LanguageSegmentationServingOptions options)
    {
        var failures = new List<string>();
        // The options framework joins failures with "; ", so each is written without its closing full stop.
        void Require(bool condition, string failure)
        {
            if (!condition)
                failures.Add(failure.TrimEnd('.'));
        }

        // Empty counts as not set: LSeg__ModelPath= in a container's environment binds "", not null.
        if (!string.IsNullOrWhiteSpace(options.ModelPath))
        {
            string path = options.ModelPath;
            string directory = ModelManifest.PackageDirectory(path);
            // A folder without a manifest passed here and then failed in the model's load with a FileNotFoundException
            // that named no option.
            Require(Directory.Exists(directory) && File.Exists(Path.Combine(directory, ModelManifest.FileName)),
                Directory.Exists(directory)
                    ? $"ModelPath '{path}' is a directory without {ModelManifest.FileName}, not a model package directory."
                    : $"ModelPath '{path}' is not a model package directory (or its {ModelManifest.FileName}).");
        }
        else
            Require(LanguageSegmentationModel.HasDefaultModel, "ModelPath is not set and the application carries no default model: reference LSeg.MLNet.DefaultModel (the package, or a project reference to src/LSeg.MLNet.DefaultModel), or set ModelPath to a model package.");
        Require(options.InputSize is null or (>= LanguageSegmentationModelOptions.Defaults.MinInputSize and <= LanguageSegmentationModelOptions.Defaults.MaxInputSize),
            $"InputSize is {options.InputSize}; it must be {LanguageSegmentationModelOptions.Defaults.MinInputSize} to {LanguageSegmentationModelOptions.Defaults.MaxInputSize} pixels, or null for the model's default.");
        Require(options.GpuDeviceId is null or >= 0, $"GpuDeviceId is {options.GpuDeviceId}; give a CUDA device number (0 or more) or null for the CPU.");
        // An upload is held in one byte array, so no larger limit could be honoured.
        Require(options.MaxImageBytes is > 0 and <= MaxUploadBytes, $"MaxImageBytes is {options.MaxImageBytes}; it must be 1 to {MaxUploadBytes:N0} (an upload is held in one array).");
        Require(options.MaxImagePixels >= (long)LanguageSegmentationModelOptions.Defaults.MinImageSide * LanguageSegmentationModelOptions.Defaults.MinImageSide,
            $"MaxImagePixels is {options.MaxImagePixels}; it must allow at least a {LanguageSegmentationModelOptions.Defaults.MinImageSide}×{LanguageSegmentationModelOptions.Defaults.MinImageSide} image.");
        Require(options.MaxImagePixels <= LanguageSegmentationModelOptions.Defaults.LargestMaxImagePixels,
            $"MaxImagePixels is {options.MaxImagePixels}; it may be at most {LanguageSegmentationModelOptions.Defaults.LargestMaxImagePixels:N0} (an image's pixels are held in one array, under 2 GB).");
        Require(options.MaxLabels is >= 1 and <= LanguageSegmentationServingOptions.LabelLimit,
            $"MaxLabels is {options.MaxLabels}; it must be 1 to {LanguageSegmentationServingOptions.LabelLimit} (mask PNG pixels are 8-bit label indices).");
        Require(options.MaxLabelLength is >= 1 and <= LanguageSegmentationServingOptions.LabelLengthLimit,
            $"MaxLabelLength is {options.MaxLabelLength}; it must be 1 to {LanguageSegmentationServingOptions.LabelLengthLimit:N0} (the body limit of a label change grows with it).");
        Require(options.ImageCacheMegabytes >= 1, $"ImageCacheMegabytes is {options.ImageCacheMegabytes}; it must be at least 1.");
        // An expiry is now + ImageTimeToLive as a DateTimeOffset: a "never" such as TimeSpan.MaxValue would overflow at every upload.
        Require(options.ImageTimeToLive > TimeSpan.Zero && options.ImageTimeToLive <= MaxImageTimeToLive,
            $"ImageTimeToLive is {options.ImageTimeToLive}; it must be positive and at most {MaxImageTimeToLive.TotalDays:0} days.");
        Require(options.MaxConcurrentInferences >= 1, $"MaxConcurrentInferences is {options.MaxConcurrentInferences}; it must be at least 1.");
        Require(options.MaxQueuedRequests >= 0, $"MaxQueuedRequests is {options.MaxQueuedRequests}; it must be 0 or more.");
        Require((long)options.MaxConcurrentInferences + options.MaxQueuedRequests <= MaxAdmissions,
            $"MaxConcurrentInferences + MaxQueuedRequests is {(long)options.MaxConcurrentInferences + options.MaxQueuedRequests:N0}; it may be at most {MaxAdmissions:N0} (requests admitted per kind of work).");
        Require(options.UploadTimeout >= TimeSpan.FromSeconds(1) && options.UploadTimeout <= MaxUploadTimeout,
            $"UploadTimeout is {options.UploadTimeout}; it must be 1 second to {MaxUploadTimeout.TotalMinutes:0} minutes.");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

using System.Diagnostics;
using LSeg.MLNet;
using LSeg.Shared;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace LSeg.Cli.Benchmarks;

/// <summary>
/// Peak memory of one segmentation, measured in a process that does nothing else: load the model, decode one image
/// file of the given size, segment it with a few labels. The process's peak resident set (VmHWM on Linux) is the figure;
/// <c>lseg bench memory</c> runs this, and the other benchmarks start that command once per case.
/// </summary>
internal static class PeakMemory
{
    /// <summary>
    /// One case: the model, the image size, the model input size, the runtime settings and the labels; through the
    /// low-level API (<c>Segment</c>), or, with <paramref name="ThroughMLNet"/>, through an ML.NET pipeline
    /// (LoadImages → LanguageSegment, the mask column read), as the README's pipeline does.
    /// </summary>
    internal sealed record Request(string? PackagePath, int Width, int Height, int InputSize, RuntimeSettings Settings, IReadOnlyList<string>? Labels = null, bool ThroughMLNet = false)
    {
        /// <summary>The labels segmented: <see cref="Labels"/>, or eight common names.</summary>
        public IReadOnlyList<string> LabelsOrDefault => Labels ?? DefaultLabels;
    }

    /// <summary>The labels of a case that names none.</summary>
    internal static readonly string[] DefaultLabels = ["sky", "grass", "road", "car", "person", "tree", "building", "water"];

    /// <summary>Starts a fresh process for <see cref="Request"/> and returns its peak resident set in MB.</summary>
    internal delegate double Measurer(Request request);

    /// <summary>Runs the case in this process (which must be fresh) and returns the peak resident set in MB.</summary>
    public static double Run(Request request)
    {
        string folder = Path.Combine(Path.GetTempPath(), "lseg-bench-memory-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(folder);
        try
        {
            string file = ColourBlockImage.WriteFiles(folder, 1, request.Width, request.Height)[0];
            // Writing the synthetic image is the benchmark's work, not the segmentation's: hand its memory back to the
            // system first, so that the peak below is what an application pays to load the model and segment the file.
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            if (request.ThroughMLNet && request.PackagePath is null && request.Settings == new RuntimeSettings())
            {
                // As the README's pipeline: LanguageSegment loads the default model itself (and only its text side).
                ReadMaskThroughMLNet(null, file, request);
                return PeakResidentMB();
            }
            var options = request.Settings.ToOptions();
            using var model = request.PackagePath is null ? LanguageSegmentationModel.LoadDefault(options) : LanguageSegmentationModel.Load(request.PackagePath, options);
            if (request.ThroughMLNet)
                ReadMaskThroughMLNet(model, file, request);
            else
                using (var image = MLImage.CreateFromFile(file))
                    model.Segment(image, request.LabelsOrDefault, request.InputSize);
            return PeakResidentMB();
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>Segments the file through LoadImages → LanguageSegment and reads the mask column; <paramref name="model"/> null: the pipeline loads the default model.</summary>
    private static void ReadMaskThroughMLNet(LanguageSegmentationModel? model, string file, Request request)
    {
        var context = new MLContext();
        var table = context.Data.LoadFromEnumerable(new[] { new SegmentationBenchmark.ImageFile { Path = file } });
        var pipeline = context.Transforms.LoadImages("Image", null, nameof(SegmentationBenchmark.ImageFile.Path))
            .Append(context.Transforms.LanguageSegment(new LanguageSegmentationOptions { Labels = [.. request.LabelsOrDefault], Model = model, InputSize = request.InputSize }));
        using var fitted = pipeline.Fit(table);
        SegmentationBenchmark.ReadMaskColumn(fitted.Transform(table));
    }

    /// <summary>The process's peak resident set so far, in MB.</summary>
    public static double PeakResidentMB()
    {
        using var process = Process.GetCurrentProcess();
        process.Refresh();
        return process.PeakWorkingSet64 / 1048576.0;
    }
}

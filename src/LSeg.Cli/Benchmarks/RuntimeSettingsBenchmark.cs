using System.Diagnostics;
using LSeg.MLNet;
using LSeg.Shared;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;

namespace LSeg.Cli.Benchmarks;

/// <summary>
/// <c>lseg bench runtime</c>: the ONNX Runtime settings of <see cref="LanguageSegmentationModelOptions"/> compared in
/// one run: the time of a full segmentation (image encoder + head) for each setting, timed in alternating rounds so all
/// see the same machine load, and the peak memory of one segmentation in a fresh process per setting. The defaults of
/// the options are chosen from this.
/// </summary>
internal static class RuntimeSettingsBenchmark
{
    /// <summary>What to measure.</summary>
    internal sealed record Options(string? PackagePath = null, int ImageSize = 480, int Rounds = 5, IReadOnlyList<RuntimeSettings>? Variants = null);

    /// <summary>One setting's figures.</summary>
    internal sealed record Result(string Settings, double MedianMs, double RelativeToDefaults, double PeakMB);

    /// <summary>The defaults, then each setting changed on its own.</summary>
    public static IReadOnlyList<RuntimeSettings> DefaultVariants { get; } =
    [
        new RuntimeSettings(),
        new RuntimeSettings(EnableMemoryArena: !LanguageSegmentationModelOptions.Defaults.EnableMemoryArena),
        .. OtherOptimizationLevels.Select(level => new RuntimeSettings(GraphOptimization: level)),
        new RuntimeSettings(IntraOpThreads: 1),
    ];

    private static IEnumerable<GraphOptimizationLevel> OtherOptimizationLevels =>
        new[] { GraphOptimizationLevel.ORT_ENABLE_ALL, GraphOptimizationLevel.ORT_ENABLE_EXTENDED, GraphOptimizationLevel.ORT_ENABLE_BASIC }
            .Where(level => level != LanguageSegmentationModelOptions.Defaults.GraphOptimization);

    public static IReadOnlyList<Result> Run(Options options, PeakMemory.Measurer measureInFreshProcess, TextWriter progress)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Rounds, 1, nameof(options.Rounds));
        var variants = options.Variants ?? DefaultVariants;
        string folder = Path.Combine(Path.GetTempPath(), "lseg-bench-runtime-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(folder);
        var models = new List<LanguageSegmentationModel>();
        try
        {
            using var image = MLImage.CreateFromFile(ColourBlockImage.WriteFiles(folder, 1, options.ImageSize, options.ImageSize)[0]);
            string[] labels = ["sky", "grass", "road", "car", "person", "tree", "building", "water"];
            foreach (var variant in variants)
                models.Add(variant.Load(options.PackagePath));
            progress.WriteLine($"model {models[0].Manifest.Name}, {options.ImageSize}×{options.ImageSize}, full segmentation, {options.Rounds} alternating rounds, {Environment.ProcessorCount} cores");
            foreach (var model in models)
                model.Segment(image, labels, options.ImageSize);
            var times = variants.Select(_ => new List<double>()).ToArray();
            for (int round = 0; round < options.Rounds; round++)
            {
                for (int v = 0; v < models.Count; v++)
                {
                    long start = Stopwatch.GetTimestamp();
                    models[v].Segment(image, labels, options.ImageSize);
                    times[v].Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                }
            }
            var medians = times.Select(t => BenchmarkStatistics.Median(t)).ToArray();
            var results = new List<Result>();
            for (int v = 0; v < variants.Count; v++)
            {
                double peak = measureInFreshProcess(new PeakMemory.Request(options.PackagePath, options.ImageSize, options.ImageSize, options.ImageSize, variants[v]));
                results.Add(new Result(variants[v].ToString(), medians[v], medians[v] / medians[0], peak));
                progress.WriteLine($"{variants[v]}: {medians[v]:F0} ms ({medians[v] / medians[0]:F2}× the first), peak memory of one segmentation {peak:F0} MB");
            }
            return results;
        }
        finally
        {
            foreach (var model in models)
                model.Dispose();
            Directory.Delete(folder, recursive: true);
        }
    }
}

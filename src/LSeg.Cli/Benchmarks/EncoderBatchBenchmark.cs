using System.Diagnostics;
using LSeg.MLNet;
using LSeg.Shared;
using Microsoft.ML.Data;

namespace LSeg.Cli.Benchmarks;

/// <summary>
/// Images per second of <see cref="LanguageSegmentationModel.Segment(IReadOnlyList{MLImage}, IReadOnlyList{string}, int?)"/>
/// for several <see cref="LanguageSegmentationModelOptions.ImageBatchSize"/> values, on the same decoded images, the
/// batch sizes timed in alternating rounds (part of <c>lseg bench segment</c>).
/// </summary>
internal static class EncoderBatchBenchmark
{
    /// <summary>Batch sizes measured by default.</summary>
    public static IReadOnlyList<int> DefaultBatchSizes { get; } = [1, 4, 8];

    /// <summary>Returns images per second for each batch size (median round), and writes a line per batch size.</summary>
    public static IReadOnlyDictionary<int, double> Run(string? packagePath, IReadOnlyList<MLImage> images, string[] labels, int inputSize,
        IReadOnlyList<int> batchSizes, int rounds, TextWriter progress)
    {
        var models = new List<LanguageSegmentationModel>();
        try
        {
            foreach (int batch in batchSizes)
                models.Add(new RuntimeSettings(ImageBatchSize: batch).Load(packagePath));
            for (int b = 0; b < models.Count; b++)
                models[b].Segment(images.Take(Math.Min(images.Count, batchSizes[b])).ToList(), labels, inputSize);
            var times = batchSizes.Select(_ => new List<double>()).ToArray();
            for (int round = 0; round < rounds; round++)
            {
                for (int b = 0; b < models.Count; b++)
                {
                    long start = Stopwatch.GetTimestamp();
                    models[b].Segment(images, labels, inputSize);
                    times[b].Add(Stopwatch.GetElapsedTime(start).TotalSeconds);
                }
            }
            var result = new Dictionary<int, double>();
            for (int b = 0; b < batchSizes.Count; b++)
            {
                double median = BenchmarkStatistics.Median(times[b]);
                result[batchSizes[b]] = images.Count / median;
                progress.WriteLine($"batch {batchSizes[b]}: {images.Count / median:F2} images/s ({images.Count} images of {images[0].Width}×{images[0].Height}, model input {inputSize}, median of {rounds} alternating rounds)");
            }
            return result;
        }
        finally
        {
            foreach (var model in models)
                model.Dispose();
        }
    }
}

using System.Diagnostics;
using LSeg.Cli.Common;
using LSeg.MLNet;
using LSeg.MLNet.Pipeline;
using LSeg.Shared;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace LSeg.Cli.Benchmarks;

/// <summary>
/// <c>lseg bench segment</c>: in one run, (1) full segmentation of one image vs a label change on the already
/// encoded image, (2) images per second of the low-level API for several image-encoder batch sizes, (3) ML.NET
/// <c>Transform</c> over a set of images vs the low-level API on the same images, (4) memory per image, and, when a
/// fresh process can be started, the peak memory of one segmentation at the benchmark size and at 4000×3000. Images
/// are synthetic (deterministic colour blocks) and written as PNG, so every path includes decoding except (2).
/// </summary>
internal static class SegmentationBenchmark
{
    /// <summary>What to measure.</summary>
    /// <param name="PackagePath">Model package; null uses the embedded default model.</param>
    /// <param name="ImageSize">Side of the square test images (and the model input size).</param>
    /// <param name="Images">Images in the ML.NET vs low-level comparison.</param>
    /// <param name="Labels">Labels per label set.</param>
    /// <param name="Iterations">Timed repetitions of each single-image measurement; the median is reported.</param>
    /// <param name="Warmup">Untimed repetitions first.</param>
    /// <param name="BatchSizes">Image-encoder batch sizes compared (default 1, 4, 8).</param>
    /// <param name="BatchImages">Images segmented per round in the batch comparison.</param>
    internal sealed record Options(string? PackagePath = null, int ImageSize = 480, int Images = 32, int Labels = 8, int Iterations = 5, int Warmup = 1,
        IReadOnlyList<int>? BatchSizes = null, int BatchImages = 8);

    /// <summary>The large image of the peak-memory measurement.</summary>
    internal const int LargeWidth = 4000, LargeHeight = 3000;

    /// <summary>The figures of one run (milliseconds are medians unless stated; NaN where not measured).</summary>
    internal sealed record Result(
        string Model, string Device, int ImageSize, int Labels, int Images,
        double FullSegmentationMs, double LabelChangeMs, double LabelChangeSpeedup, double NewLabelsChangeMs, double NewLabelsChangeSpeedup, double LabelChangeIntoBuffersMs, double LabelChangeIntoBuffersSpeedup, double CatchAllLabelChangeMs, double CatchAllBesideUntrainedLabelChangeMs, int GridChannels, double GridMB, double GridReadMs,
        IReadOnlyDictionary<int, double> ImagesPerSecondByBatchSize, int BatchImages,
        double MLNetTotalMs, double LowLevelTotalMs, double MLNetOverheadPercent,
        double LowLevelAllocatedMBPerImage, double MLNetAllocatedMBPerImage, double PeakWorkingSetMB,
        double OneSegmentationPeakMB, double LargeImageSegmentationPeakMB, double OneSegmentationMLNetPeakMB, double LargeImageMLNetPeakMB);

    private const int PassesPerSide = 3;

    /// <summary>Most labels per set: the two label sets of a label change are disjoint halves of the vocabulary.</summary>
    internal const int MaxLabels = 10;

    private static readonly string[] Vocabulary =
    [
        "sky", "grass", "road", "car", "person", "tree", "building", "water", "dog", "cat", "chair", "table",
        "bicycle", "boat", "mountain", "sand", "snow", "wall", "floor", "window",
    ];

    /// <summary>
    /// Runs every measurement and writes progress lines to <paramref name="progress"/>; the peak memory of one
    /// segmentation only with <paramref name="measureInFreshProcess"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">No package was given and the application carries no default model.</exception>
    public static Result Run(Options options, TextWriter progress, PeakMemory.Measurer? measureInFreshProcess = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Labels, 1, nameof(options.Labels));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.Labels, Vocabulary.Length / 2, nameof(options.Labels));
        using var model = options.PackagePath is null ? LanguageSegmentationModel.LoadDefault() : LanguageSegmentationModel.Load(options.PackagePath);
        string folder = Path.Combine(Path.GetTempPath(), "lseg-bench-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(folder);
        try
        {
            var files = ColourBlockImage.WriteFiles(folder, options.Images, options.ImageSize, options.ImageSize);
            string[] labelsA = Vocabulary[..options.Labels];
            string[] labelsB = Vocabulary[options.Labels..(2 * options.Labels)];
            progress.WriteLine($"model {model.Manifest.Name} ({model.Manifest.Backbone}, {(model.UsesGpu ? "GPU" : "CPU")}), {options.ImageSize}×{options.ImageSize} images, {options.Labels} labels");

            // (1) Full segmentation vs label change on an encoded image.
            using var image = MLImage.CreateFromFile(files[0]);
            model.EncodeLabels(labelsA);
            model.EncodeLabels(labelsB);
            // Both sides at the same model input size: the one-shot path encodes at ImageSize like the encoded image below.
            double full = Median(options, () => model.Segment(image, labelsA, options.ImageSize));
            var encoded = model.EncodeImage(image, options.ImageSize);
            int flip = 0;
            double change = Median(options, () => model.Segment(encoded, model.EncodeLabels(flip++ % 2 == 0 ? labelsA : labelsB)));
            progress.WriteLine($"full segmentation {full:F1} ms, label change on an encoded image {change:F2} ms: {full / change:F0}× faster (two label sets taken in turn, so their embeddings come from the label cache)");
            // A change to words not seen before also runs the text encoder: a new set of labels for every call.
            double newLabelsChange = double.NaN;
            if (model.Manifest.TextEncoder.Kind != "table")
            {
                int round = 0;
                newLabelsChange = Median(options, () =>
                {
                    int n = round++;
                    model.Segment(encoded, model.EncodeLabels([.. labelsA.Select(l => $"{l} {n}")]));
                });
                progress.WriteLine($"label change to {options.Labels} labels not seen before (the text encoder runs for each): {newLabelsChange:F2} ms: {full / newLabelsChange:F0}× faster than the full segmentation");
            }
            // The same label changes written into buffers the caller reuses (SegmentInto): no result memory per call.
            var mask = new int[encoded.OriginalWidth * encoded.OriginalHeight];
            var scores = new float[mask.Length];
            var counts = new long[options.Labels];
            double changeIntoBuffers = Median(options, () => model.SegmentInto(encoded, model.EncodeLabels(flip++ % 2 == 0 ? labelsA : labelsB), mask, scores, counts));
            progress.WriteLine($"label change into reused buffers (SegmentInto) {changeIntoBuffers:F2} ms: {full / changeIntoBuffers:F0}× faster than the full segmentation");
            // A package whose catch-all absorbs unoffered trained names scores them too, in sets of trained names and "other".
            double catchAllChange = double.NaN;
            if (model.Manifest.UntrainedLabels is { UnofferedLabelSimilarity: not null } calibration && model.Manifest.LabelLogitOffsets is { Count: > 0 } offsets)
            {
                string catchAll = offsets.Keys.First().Trim();
                string[] withCatchAll = [.. calibration.TrainedLabels.Where(n => !offsets.Keys.Any(k => string.Equals(k.Trim(), n.Trim(), StringComparison.OrdinalIgnoreCase))).Take(options.Labels - 1), catchAll];
                // Timed like the plain label change, EncodeLabels included: it is where the absorbed names are found.
                catchAllChange = Median(options, () => model.Segment(encoded, model.EncodeLabels(withCatchAll)));
                progress.WriteLine($"label change with \"{catchAll}\" and {withCatchAll.Length - 1} trained names (the unoffered trained names scored for \"{catchAll}\" too): {catchAllChange:F2} ms: {full / catchAllChange:F0}× faster than the full segmentation");
            }
            // Package format 7: beside an untrained name the catch-all absorbs the listed trained names too (at most their number more rows).
            double besideUntrainedChange = double.NaN;
            if (model.Manifest.UntrainedLabels is { UnofferedLabelSimilarityBesideUntrained: not null } besideCalibration && model.Manifest.LabelLogitOffsets is { Count: > 0 } besideOffsets)
            {
                string catchAll = besideOffsets.Keys.First().Trim();
                string[] untrained = [.. Vocabulary.Where(n => !besideCalibration.TrainedLabels.Any(t => string.Equals(t.Trim(), n, StringComparison.OrdinalIgnoreCase))).Take(options.Labels - 1)];
                if (untrained.Length > 0)
                {
                    string[] beside = [.. untrained, catchAll];
                    besideUntrainedChange = Median(options, () => model.Segment(encoded, model.EncodeLabels(beside)));
                    progress.WriteLine($"label change with \"{catchAll}\" and {untrained.Length} untrained names ({string.Join(", ", untrained)}; the listed trained names not close to them scored for \"{catchAll}\" too): {besideUntrainedChange:F2} ms: {full / besideUntrainedChange:F0}× faster than the full segmentation");
                }
            }
            // A label change must read the whole grid once; timing a plain read of it gives the memory-bandwidth floor.
            // Models without spatial blocks keep the C# correlation's grid: D floats per grid pixel plus its norm, which is
            // all MemoryBytes counts until PixelEmbeddings is read (the benchmark never reads it). Timing the sum of an
            // array of the grid's size gives the floor.
            bool hasGrid = model.Manifest.SpatialRegularization.Block == "none";
            long gridPixels = (long)encoded.EmbeddingWidth * encoded.EmbeddingHeight;
            int gridChannels = hasGrid ? (int)(encoded.MemoryBytes / sizeof(float) / gridPixels) - 1 : 0;
            var gridSized = hasGrid ? new float[gridChannels * gridPixels] : null;
            if (gridSized is not null)
                Array.Fill(gridSized, 1f);
            double gridMB = gridSized is null ? double.NaN : gridSized.Length * (double)sizeof(float) / 1048576;
            double gridRead = gridSized is null ? double.NaN : Median(options, () => SumOf(gridSized));
            if (hasGrid)
                progress.WriteLine($"the label change reads the {gridMB:F1} MB grid ({gridChannels} values per pixel); reading it alone takes {gridRead:F2} ms (memory-bandwidth floor: at most {full / gridRead:F0}× for this image size)");

            // (2) Image-encoder batches, on decoded images (the decoding is not what is compared). Images of their own, at
            // least as many as the largest batch, so that a batch of 8 is 8 images whatever --images says.
            var batchSizes = options.BatchSizes ?? EncoderBatchBenchmark.DefaultBatchSizes;
            int batchCount = Math.Max(options.BatchImages, batchSizes.Max());
            string batchFolder = Directory.CreateDirectory(Path.Combine(folder, "batch")).FullName;
            var batchImages = ColourBlockImage.WriteFiles(batchFolder, batchCount, options.ImageSize, options.ImageSize)
                .Select(MLImage.CreateFromFile).ToList();
            IReadOnlyDictionary<int, double> perSecond;
            try
            {
                perSecond = EncoderBatchBenchmark.Run(options.PackagePath, batchImages, labelsA, options.ImageSize, batchSizes, PassesPerSide, progress);
            }
            finally
            {
                batchImages.ForEach(i => i.Dispose());
            }

            // (3) ML.NET Transform vs the low-level API over the same image files (decoding included on both sides).
            var context = new MLContext();
            var table = context.Data.LoadFromEnumerable(files.Select(f => new ImageFile { Path = f }));
            var data = context.Transforms.LoadImages("Image", null, nameof(ImageFile.Path)).Fit(table).Transform(table);
            using var transformer = context.Transforms.LanguageSegment(new LanguageSegmentationOptions
            {
                Labels = labelsA, Model = model, InputSize = options.ImageSize,
            }).Fit(data);
            void RunMLNet() => ReadMasks(data);
            void ReadMasks(IDataView input) => ReadMaskColumn(transformer.Transform(input));
            void RunLowLevel() => SegmentFiles(files);
            void SegmentFiles(IEnumerable<string> paths)
            {
                foreach (string file in paths)
                {
                    using var picture = MLImage.CreateFromFile(file);
                    model.Segment(picture, labelsA, options.ImageSize);
                }
            }
            // Warm-up on two images (sessions, caches), then the timed passes over all of them.
            ReadMasks(context.Data.TakeRows(data, 2));
            SegmentFiles(files.Take(2));
            // Alternating passes, median of each side: a single pass of each swings by ±15% on a shared machine.
            var lowLevelRuns = new List<(double Ms, long Bytes)>();
            var mlnetRuns = new List<(double Ms, long Bytes)>();
            for (int round = 0; round < PassesPerSide; round++)
            {
                lowLevelRuns.Add(Measure(RunLowLevel));
                mlnetRuns.Add(Measure(RunMLNet));
            }
            // PassesPerSide is odd: the median run is one run, whose allocations are reported with its time.
            var (lowLevelMs, lowLevelBytes) = lowLevelRuns.OrderBy(r => r.Ms).ElementAt(PassesPerSide / 2);
            var (mlnetMs, mlnetBytes) = mlnetRuns.OrderBy(r => r.Ms).ElementAt(PassesPerSide / 2);
            double overhead = (mlnetMs - lowLevelMs) / lowLevelMs * 100;
            // Not the pipeline's overhead alone: ML.NET runs the composed graph (image encoder and head graph, at ML.NET's
            // own ONNX Runtime settings), the low-level API the image encoder (at the model's settings) and the C# head.
            progress.WriteLine($"{files.Length} images, median of {PassesPerSide} alternating passes: ML.NET Transform {mlnetMs:F0} ms, low-level API {lowLevelMs:F0} ms: ML.NET takes {overhead:+0.0;-0.0}% (composed graph at ML.NET's ONNX Runtime settings vs image encoder and C# head)");

            double peak = PeakMemory.PeakResidentMB();
            double lowPerImage = lowLevelBytes / 1048576.0 / files.Length, mlnetPerImage = mlnetBytes / 1048576.0 / files.Length;
            progress.WriteLine($"memory: {lowPerImage:F1} MB allocated per image (low-level), {mlnetPerImage:F1} MB (ML.NET); this process's peak working set {peak:F0} MB");

            // (5) Peak memory of one segmentation, each in a process that does nothing else.
            double onePeak = double.NaN, largePeak = double.NaN, oneMLNetPeak = double.NaN, largeMLNetPeak = double.NaN;
            if (measureInFreshProcess is not null)
            {
                onePeak = measureInFreshProcess(new PeakMemory.Request(options.PackagePath, options.ImageSize, options.ImageSize, options.ImageSize, new RuntimeSettings(), labelsA));
                largePeak = measureInFreshProcess(new PeakMemory.Request(options.PackagePath, LargeWidth, LargeHeight, options.ImageSize, new RuntimeSettings(), labelsA));
                oneMLNetPeak = measureInFreshProcess(new PeakMemory.Request(options.PackagePath, options.ImageSize, options.ImageSize, options.ImageSize, new RuntimeSettings(), labelsA, ThroughMLNet: true));
                largeMLNetPeak = measureInFreshProcess(new PeakMemory.Request(options.PackagePath, LargeWidth, LargeHeight, options.ImageSize, new RuntimeSettings(), labelsA, ThroughMLNet: true));
                progress.WriteLine($"peak memory of a process that loads the model and segments one image (model input {options.ImageSize}): {onePeak:F0} MB at {options.ImageSize}×{options.ImageSize}, {largePeak:F0} MB at {LargeWidth}×{LargeHeight}; through an ML.NET pipeline reading the mask column, {oneMLNetPeak:F0} MB and {largeMLNetPeak:F0} MB");
            }
            return new Result(model.Manifest.Name, CliJson.Device(model.UsesGpu), options.ImageSize, options.Labels, files.Length,
                full, change, full / change, newLabelsChange, full / newLabelsChange, changeIntoBuffers, full / changeIntoBuffers, catchAllChange, besideUntrainedChange, gridChannels, gridMB, gridRead, perSecond, batchCount, mlnetMs, lowLevelMs, overhead, lowPerImage, mlnetPerImage, peak, onePeak, largePeak, oneMLNetPeak, largeMLNetPeak);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static double Median(Options options, Action action)
    {
        for (int i = 0; i < options.Warmup; i++)
            action();
        var times = new double[options.Iterations];
        for (int i = 0; i < times.Length; i++)
        {
            var watch = Stopwatch.StartNew();
            action();
            times[i] = watch.Elapsed.TotalMilliseconds;
        }
        return BenchmarkStatistics.Median(times);
    }

    private static float SumOf(float[] values)
    {
        // Parallel like the correlation, so both sides get the machine's full memory bandwidth.
        var partial = new float[Environment.ProcessorCount];
        int chunk = (values.Length + partial.Length - 1) / partial.Length;
        Parallel.For(0, partial.Length, t =>
        {
            var span = values.AsSpan(Math.Min(values.Length, t * chunk), Math.Max(0, Math.Min(chunk, values.Length - t * chunk)));
            var vectors = System.Runtime.InteropServices.MemoryMarshal.Cast<float, System.Numerics.Vector<float>>(span);
            var sum = System.Numerics.Vector<float>.Zero;
            foreach (var v in vectors)
                sum += v;
            partial[t] = System.Numerics.Vector.Sum(sum);
        });
        return partial.Sum();
    }

    private static (double Milliseconds, long AllocatedBytes) Measure(Action action)
    {
        GC.Collect();
        long before = GC.GetTotalAllocatedBytes(precise: true);
        var watch = Stopwatch.StartNew();
        action();
        double elapsed = watch.Elapsed.TotalMilliseconds;
        return (elapsed, GC.GetTotalAllocatedBytes(precise: true) - before);
    }

    /// <summary>Reads every row's mask column of a LanguageSegment output (what an application reading the masks pays).</summary>
    internal static void ReadMaskColumn(IDataView output)
    {
        var mask = output.Schema[LanguageSegmentationOptions.Defaults.OutputColumnName];
        using var cursor = output.GetRowCursor([mask]);
        var getter = cursor.GetGetter<VBuffer<uint>>(mask);
        VBuffer<uint> value = default;
        while (cursor.MoveNext())
            getter(ref value);
    }

    /// <summary>A row of image paths for LoadImages.</summary>
    internal sealed class ImageFile
    {
        public string Path { get; set; } = "";
    }
}

using System.Diagnostics;
using System.Globalization;
using LSeg.Cli.Hosting;
using LSeg.MLNet;
using LSeg.Orleans;
using Microsoft.ML.Data;
using SkiaSharp;

namespace LSeg.Cli.Benchmarks;

/// <summary>
/// Measures, in one run on the same images and model: the per-image cost of the low-level API (one image at a time,
/// in this process), a batch job on 1 silo and on 2 silos (in-process, localhost clustering, one image at a time per
/// silo), and from the 1-silo run the coordination overhead per image; then estimates images/s on N machines.
/// </summary>
internal static class BatchBenchmark
{
    /// <summary>What to measure.</summary>
    /// <param name="PackagePath">Model package; null for the default model.</param>
    /// <param name="Images">Images per run.</param>
    /// <param name="Width">Image width.</param>
    /// <param name="Height">Image height.</param>
    /// <param name="Labels">Labels per image.</param>
    /// <param name="ChunkSize">Images per chunk.</param>
    public sealed record Options(string? PackagePath = null, int Images = 24, int Width = 480, int Height = 360, int Labels = 8, int ChunkSize = 4);

    /// <summary>One batch run.</summary>
    public sealed record BatchRun(int Silos, double ImagesPerSecond, double ElapsedSeconds, double SegmentSecondsPerImage, double NotSegmentingSecondsPerImage,
        double CoordinatorSecondsPerImage, double StartSeconds, IReadOnlyDictionary<string, int> ImagesPerSilo);

    /// <summary>The measurements and the estimate.</summary>
    public sealed record Result(string Model, int Images, int Width, int Height, int Labels, int ChunkSize, int ProcessorCount,
        double LowLevelSecondsPerImage, BatchRun OneSilo, BatchRun TwoSilos, IReadOnlyList<(int Machines, double ImagesPerSecond)> Estimate)
    {
        /// <summary>The 2-silo rate over the 1-silo rate.</summary>
        public double TwoSiloSpeedup => TwoSilos.ImagesPerSecond / OneSilo.ImagesPerSecond;

        /// <summary>Seconds per image on one machine like this one, segmenting and coordination: s + o.</summary>
        public double MachineSecondsPerImage => OneSilo.SegmentSecondsPerImage + OneSilo.NotSegmentingSecondsPerImage;

        /// <summary>The job runner's limit: 1 / c.</summary>
        public double CoordinatorLimit => 1 / OneSilo.CoordinatorSecondsPerImage;

        public override string ToString()
        {
            var text = new System.Text.StringBuilder();
            string F(double v, string format = "0.0000") => v.ToString(format, CultureInfo.InvariantCulture);
            text.AppendLine($"model {Model}, {Images} images {Width}x{Height}, {Labels} labels, chunks of {ChunkSize}, one image at a time per silo, {ProcessorCount} cores");
            text.AppendLine($"low-level API, one image at a time:  {F(LowLevelSecondsPerImage)} s/image = {F(1 / LowLevelSecondsPerImage, "0.000")} images/s");
            foreach (var run in new[] { OneSilo, TwoSilos })
            {
                text.AppendLine($"batch, {run.Silos} silo{(run.Silos > 1 ? "s" : " ")}:  {F(run.ImagesPerSecond, "0.000")} images/s ({Images} images in {F(run.ElapsedSeconds, "0.00")} s after {F(run.StartSeconds, "0.0")} s of cluster start; " +
                    $"per image: segmenting {F(run.SegmentSecondsPerImage)} s, not segmenting {F(run.NotSegmentingSecondsPerImage)} s, coordinator busy {F(run.CoordinatorSecondsPerImage)} s; " +
                    $"per silo: {string.Join(", ", run.ImagesPerSilo.Values)})");
            }
            text.AppendLine($"2 silos / 1 silo: {F(TwoSiloSpeedup, "0.00")}x");
            text.AppendLine($"estimate on N machines like this one, one silo each: images/s = min(N / (s + o), 1 / c)");
            text.AppendLine($"  s = {F(OneSilo.SegmentSecondsPerImage)} s segmenting per image, o = {F(OneSilo.NotSegmentingSecondsPerImage)} s coordination per image (1-silo run: elapsed/images - s), " +
                $"c = {F(OneSilo.CoordinatorSecondsPerImage)} s of job-runner work per image");
            text.AppendLine($"  N / {F(MachineSecondsPerImage)} until the job runner saturates at {F(CoordinatorLimit, "0")} images/s (N = {F(CoordinatorLimit * MachineSecondsPerImage, "0")})");
            text.Append("  ").AppendLine(string.Join(", ", Estimate.Select(e => $"N={e.Machines}: {F(e.ImagesPerSecond, "0.0")}")));
            return text.ToString();
        }
    }

    /// <summary>The most labels per image: the size of the label pool the benchmark draws from.</summary>
    internal const int MaxLabels = 12;

    private static readonly string[] LabelPool = ["sky", "tree", "grass", "road", "building", "car", "person", "other", "water", "dog", "cat", "wall"];

    /// <summary>Runs the benchmark, writing what it is doing to <paramref name="progress"/>.</summary>
    public static Result Run(Options options, TextWriter progress)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Labels, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.Labels, MaxLabels, nameof(options));
        string folder = Path.Combine(Path.GetTempPath(), "lseg-batch-bench-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var images = WriteImages(Path.Combine(folder, "images"), options);
            string[] labels = LabelPool[..options.Labels];
            progress.WriteLine($"low-level API over {images.Length} images…");
            var (modelName, lowLevel) = LowLevel(options.PackagePath, images, labels, Path.Combine(folder, "out-low-level"));
            progress.WriteLine("batch on 1 silo…");
            var one = Batch(1, options, folder, labels, "one");
            progress.WriteLine("batch on 2 silos…");
            var two = Batch(2, options, folder, labels, "two");
            double machine = one.SegmentSecondsPerImage + one.NotSegmentingSecondsPerImage;
            var estimate = new[] { 1, 2, 4, 8, 16, 32, 64 }.Select(n => (n, Math.Min(n / machine, 1 / one.CoordinatorSecondsPerImage))).ToList();
            return new Result(modelName, images.Length, options.Width, options.Height, labels.Length, options.ChunkSize, Environment.ProcessorCount, lowLevel, one, two, estimate);
        }
        finally
        {
            try { Directory.Delete(folder, recursive: true); }
            catch (IOException) { }
        }
    }

    /// <summary>The low-level path a silo runs per image (decode, encode, segment, mask PNG), one image at a time.</summary>
    private static (string Model, double SecondsPerImage) LowLevel(string? packagePath, string[] images, string[] labels, string output)
    {
        Directory.CreateDirectory(output);
        using var model = packagePath is null ? LanguageSegmentationModel.LoadDefault() : LanguageSegmentationModel.Load(packagePath);
        var encoded = model.EncodeLabels(labels);
        using (var warm = MLImage.CreateFromFile(images[0]))
            model.Segment(model.EncodeImage(warm), encoded);
        var clock = Stopwatch.StartNew();
        foreach (string image in images)
        {
            using var photo = MLImage.CreateFromFile(image);
            byte[] mask = model.Segment(model.EncodeImage(photo), encoded).ToMaskPng();
            File.WriteAllBytes(Path.Combine(output, Path.GetFileNameWithoutExtension(image) + ".mask.png"), mask);
        }
        return (model.Manifest.Name, clock.Elapsed.TotalSeconds / images.Length);
    }

    private static BatchRun Batch(int silos, Options options, string folder, string[] labels, string name)
    {
        var start = Stopwatch.StartNew();
        var cluster = LocalSegmentationCluster.StartAsync(silos, o => o.MaxParallelImages = 1).GetAwaiter().GetResult();
        try
        {
            double startSeconds = start.Elapsed.TotalSeconds;
            // A warm-up job first, so that every silo has loaded the model and run it (first-run costs: arena growth, first
            // touch of the activations) before the timed job: two chunks per silo, repeated until each silo has taken one.
            var warm = Path.Combine(folder, "warm-" + name);
            Directory.CreateDirectory(warm);
            for (int i = 0; i < 2 * silos * options.ChunkSize; i++)
                File.Copy(Path.Combine(folder, "images", "bench00.jpg"), Path.Combine(warm, $"warm{i:D3}.jpg"));
            for (int attempt = 0; attempt < 3; attempt++)
            {
                var warmed = cluster.Client.SegmentBatchAsync(Job(warm, Path.Combine(folder, $"warm-out-{name}-{attempt}"), options, labels)).GetAwaiter().GetResult();
                if (warmed.ImagesPerSilo.Count(p => p.Value > 0) >= silos)
                    break;
            }
            var summary = cluster.Client.SegmentBatchAsync(Job(Path.Combine(folder, "images"), Path.Combine(folder, "out-" + name), options, labels)).GetAwaiter().GetResult();
            int n = summary.Succeeded + summary.Failed;
            double elapsed = summary.Elapsed.TotalSeconds;
            double segment = summary.SegmentSeconds / n;
            // One silo segments one image at a time, so what the wall clock holds beyond segmenting is coordination.
            double notSegmenting = elapsed * silos / n - segment;
            return new BatchRun(silos, summary.ImagesPerSecond, elapsed, segment, notSegmenting, summary.CoordinatorSeconds / n, startSeconds, summary.ImagesPerSilo);
        }
        finally
        {
            cluster.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    private static BatchSegmentationJob Job(string input, string output, Options options, string[] labels) => new()
    {
        Input = input, OutputDirectory = output, ModelPath = options.PackagePath, Labels = labels, ChunkSize = options.ChunkSize,
    };

    /// <summary>Photo-like JPEGs: overlapping soft-coloured shapes, different in each image.</summary>
    private static string[] WriteImages(string folder, Options options)
    {
        Directory.CreateDirectory(folder);
        var random = new Random(1234);
        var paths = new string[options.Images];
        for (int i = 0; i < options.Images; i++)
        {
            using var bitmap = new SKBitmap(options.Width, options.Height);
            using (var canvas = new SKCanvas(bitmap))
            {
                canvas.Clear(new SKColor((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256)));
                for (int shape = 0; shape < 12; shape++)
                {
                    using var paint = new SKPaint { Color = new SKColor((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256)), IsAntialias = true };
                    canvas.DrawCircle(random.Next(options.Width), random.Next(options.Height), random.Next(20, options.Width / 3), paint);
                }
            }
            using var image = SKImage.FromBitmap(bitmap);
            using var data = image.Encode(SKEncodedImageFormat.Jpeg, 90);
            paths[i] = Path.Combine(folder, $"bench{i:00}.jpg");
            File.WriteAllBytes(paths[i], data.ToArray());
        }
        return paths;
    }
}

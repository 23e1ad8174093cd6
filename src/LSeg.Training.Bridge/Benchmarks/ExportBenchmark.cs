using System.Diagnostics;
using LSeg.Shared;
using LSeg.Training.Bridge.Export;
using LSeg.Training.Bridge.Network;
using LSeg.Training.Bridge.Network.ImageEncoders;
using LSeg.Training.Bridge.Quantization;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using static TorchSharp.torch;

namespace LSeg.Training.Bridge.Benchmarks;

/// <summary>
/// Measures, in one run on the same weights and inputs, the time per image of the exported model under ONNX Runtime
/// (CPU), of the TorchSharp eager forward, and of the int8 package <c>lseg quantize</c> makes of the export (static
/// QDQ calibrated on a few synthetic images for convolutional backbones, dynamic for ViT): image encoder plus head,
/// batch 1, the three timed alternately. Used by <c>lseg bench export</c>.
/// </summary>
public static class ExportBenchmark
{
    /// <summary>The backbones measured when they are in the catalog.</summary>
    public static IReadOnlyList<string> DefaultBackbones { get; } = ["resnet18", "vit-b32-384"];

    /// <summary>Options of <see cref="Run"/>.</summary>
    /// <param name="Size">Image height and width (a multiple of 32).</param>
    /// <param name="Labels">Number of labels N.</param>
    /// <param name="Iterations">Timed passes per runtime; the median is reported.</param>
    /// <param name="Warmup">Untimed passes before timing.</param>
    /// <param name="Threads">Threads for both runtimes (0: all cores).</param>
    /// <param name="EmbeddingSize">Embedding size C of the networks.</param>
    /// <param name="DecoderFeatures">Decoder width of the networks.</param>
    /// <param name="Backbones">Backbones to measure; those not in the catalog are reported and skipped.</param>
    public sealed record Options(
        int Size = 480,
        int Labels = 150,
        int Iterations = 5,
        int Warmup = 1,
        int Threads = 0,
        int EmbeddingSize = 512,
        int DecoderFeatures = 256,
        IReadOnlyList<string>? Backbones = null);

    /// <summary>One measured model.</summary>
    /// <param name="Backbone">The backbone.</param>
    /// <param name="Size">Image side.</param>
    /// <param name="Labels">Label count N.</param>
    /// <param name="OnnxRuntimeMilliseconds">Median time per image under ONNX Runtime.</param>
    /// <param name="TorchSharpMilliseconds">Median time per image of the TorchSharp eager forward.</param>
    /// <param name="MaxLogitDifference">Max |Δlogit| between the two on the benchmark input (a sanity check).</param>
    /// <param name="Int8Milliseconds">Median time per image of the int8 package under ONNX Runtime.</param>
    /// <param name="Int8Method">How the int8 package was made (static or dynamic).</param>
    public sealed record Result(string Backbone, int Size, int Labels, double OnnxRuntimeMilliseconds, double TorchSharpMilliseconds, double MaxLogitDifference,
        double Int8Milliseconds, string Int8Method)
    {
        /// <summary>TorchSharp time ÷ ONNX Runtime time (above 1: ONNX Runtime is faster).</summary>
        public double Ratio => TorchSharpMilliseconds / OnnxRuntimeMilliseconds;

        /// <summary>Float32 ONNX Runtime time ÷ int8 ONNX Runtime time (above 1: int8 is faster).</summary>
        public double Int8Speedup => OnnxRuntimeMilliseconds / Int8Milliseconds;
    }

    /// <summary>Runs the benchmark and writes a line per model to <paramref name="log"/>.</summary>
    /// <exception cref="ArgumentException">An option is out of range.</exception>
    public static IReadOnlyList<Result> Run(Options options, TextWriter log)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(log);
        if (options.Size <= 0 || options.Size % LSegNet.InputSizeMultiple != 0)
            throw new ArgumentException($"Size must be a positive multiple of {LSegNet.InputSizeMultiple}; got {options.Size}.", nameof(options));
        if (options.Labels <= 0 || options.Iterations <= 0 || options.Warmup < 0 || options.Threads < 0)
            throw new ArgumentException($"Labels and Iterations must be positive, Warmup and Threads 0 or more; got {options.Labels}, {options.Iterations}, {options.Warmup}, {options.Threads}.", nameof(options));

        int threads = options.Threads == 0 ? Environment.ProcessorCount : options.Threads;
        set_num_threads(threads);
        log.WriteLine($"ONNX Runtime (CPU) vs TorchSharp eager, batch 1, {options.Size}×{options.Size}, N = {options.Labels}, C = {options.EmbeddingSize}, decoder {options.DecoderFeatures}, {threads} threads, median of {options.Iterations}");
        var results = new List<Result>();
        foreach (string backbone in options.Backbones ?? DefaultBackbones)
        {
            if (!ImageBackboneCatalog.Names.Contains(backbone))
            {
                log.WriteLine($"{backbone}: not in this build's backbone catalog; skipped.");
                continue;
            }
            var result = Measure(backbone, options, threads);
            results.Add(result);
            log.WriteLine($"{backbone}: ONNX Runtime {result.OnnxRuntimeMilliseconds:F1} ms/image, TorchSharp {result.TorchSharpMilliseconds:F1} ms/image, ratio {result.Ratio:F2}× (max |Δlogit| {result.MaxLogitDifference:E1}); " +
                $"int8 ({result.Int8Method}) {result.Int8Milliseconds:F1} ms/image, {result.Int8Speedup:F2}× faster than float32");
        }
        return results;
    }

    private static Result Measure(string backbone, Options options, int threads)
    {
        var config = new LSegNetConfig { Backbone = backbone, EmbeddingSize = options.EmbeddingSize, DecoderFeatures = options.DecoderFeatures };
        random.manual_seed(1);
        using var net = LSegNet.Create(config, pretrainedBackbone: false);
        net.eval();
        string work = Path.Combine(Path.GetTempPath(), $"lseg-bench-{Guid.NewGuid():N}");
        string package = Path.Combine(work, "float32"), int8Package = Path.Combine(work, "int8");
        try
        {
            ModelPackageExporter.Export(net, package, new ModelPackageExportOptions { IncludeMiniLm = false, DefaultInputSize = options.Size });
            var method = backbone.StartsWith("vit", StringComparison.Ordinal) ? QuantizationMethod.Dynamic : QuantizationMethod.Static;
            string[] calibration = method == QuantizationMethod.Static ? ColourBlockImage.WriteFiles(work, CalibrationImages, options.Size, options.Size) : [];
            ModelPackageQuantizer.Quantize(package, int8Package, new QuantizationOptions { Method = method, CalibrationImages = calibration });
            using var sessionOptions = new SessionOptions { IntraOpNumThreads = threads, InterOpNumThreads = 1 };
            using var float32 = new PackageSessions(package, sessionOptions);
            using var int8 = new PackageSessions(int8Package, sessionOptions);

            using var pixels = rand(1, 3, options.Size, options.Size) * 255f;
            using var labels = randn(options.Labels, options.EmbeddingSize);
            var pixelInput = new DenseTensor<float>(pixels.data<float>().ToArray(), [1, 3, options.Size, options.Size]);
            var labelInput = new DenseTensor<float>(labels.data<float>().ToArray(), [options.Labels, options.EmbeddingSize]);

            // The same work on both sides: the head graph also outputs each pixel's label and score (ArgMax and ReduceMax
            // of the logits), and ONNX Runtime computes every output whichever are read, so the eager pass computes them too.
            float[] RunTorch()
            {
                using var noGrad = no_grad();
                using var logits = net.forward(pixels, labels);
                using var labelMap = logits.argmax(1);
                using var scores = logits.amax([1]);
                return logits.data<float>().ToArray();
            }

            var medians = MedianMilliseconds([() => float32.Logits(pixelInput, labelInput), () => RunTorch(), () => int8.Logits(pixelInput, labelInput)], options);
            double difference = float32.Logits(pixelInput, labelInput).Zip(RunTorch(), (a, b) => Math.Abs(a - b)).Max();
            return new Result(backbone, options.Size, options.Labels, medians[0], medians[1], difference, medians[2], method.ToString().ToLowerInvariant());
        }
        finally
        {
            if (Directory.Exists(work))
                Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>Calibration images for the static int8 package (synthetic; the benchmark measures speed, not accuracy).</summary>
    private const int CalibrationImages = 4;

    /// <summary>A package's image encoder and head under ONNX Runtime.</summary>
    private sealed class PackageSessions(string package, SessionOptions options) : IDisposable
    {
        private readonly InferenceSession _imageEncoder = new(Path.Combine(package, "image_encoder.onnx"), options);
        private readonly InferenceSession _head = new(Path.Combine(package, "head.onnx"), options);

        public float[] Logits(DenseTensor<float> pixels, DenseTensor<float> labels)
        {
            using var encoded = _imageEncoder.Run([NamedOnnxValue.CreateFromTensor("pixels", pixels)], ["pixel_embeddings"]);
            var embeddings = encoded.First().AsTensor<float>();
            using var outputs = _head.Run([NamedOnnxValue.CreateFromTensor("pixel_embeddings", embeddings), NamedOnnxValue.CreateFromTensor("label_embeddings", labels)]);
            return outputs.First(o => o.Name == "logits").AsTensor<float>().ToArray();
        }

        public void Dispose()
        {
            _imageEncoder.Dispose();
            _head.Dispose();
        }
    }

    /// <summary>
    /// Times the passes alternately, so that all see the same machine load, and returns each one's median.
    /// </summary>
    private static double[] MedianMilliseconds(Action[] passes, Options options)
    {
        for (int i = 0; i < options.Warmup; i++)
        {
            foreach (var pass in passes)
                pass();
        }
        var times = passes.Select(_ => new double[options.Iterations]).ToArray();
        for (int i = 0; i < options.Iterations; i++)
        {
            for (int p = 0; p < passes.Length; p++)
                times[p][i] = Time(passes[p]);
        }
        return times.Select(Median).ToArray();
    }

    private static double Time(Action pass)
    {
        long start = Stopwatch.GetTimestamp();
        pass();
        return Stopwatch.GetElapsedTime(start).TotalMilliseconds;
    }

    private static double Median(double[] times) => LSeg.Shared.BenchmarkStatistics.Median(times);
}

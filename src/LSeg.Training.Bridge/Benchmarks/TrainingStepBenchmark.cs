using System.Diagnostics;
using LSeg.Training.Bridge.Network;
using LSeg.Training.Bridge.Training;
using static TorchSharp.torch;

namespace LSeg.Training.Bridge.Benchmarks;

/// <summary>
/// Measures, in one run, the CPU cost of a training step (forward, cross-entropy, backward, AdamW step) for several
/// network variants on the same random crops: decoder widths and frozen parts. Rounds alternate between the variants
/// so machine noise hits them alike; the median per variant is reported with its ratio to the first. Used by
/// <c>lseg bench train</c>.
/// </summary>
public static class TrainingStepBenchmark
{
    /// <summary>One network variant.</summary>
    /// <param name="DecoderFeatures">Decoder width.</param>
    /// <param name="Freeze">State-dict name prefixes kept frozen (see <see cref="TrainingConfig.Freeze"/>).</param>
    public sealed record Variant(int DecoderFeatures, IReadOnlyList<string> Freeze)
    {
        /// <summary>A short description.</summary>
        public override string ToString() => $"decoder {DecoderFeatures}, frozen: {(Freeze.Count == 0 ? "none" : string.Join("+", Freeze.Select(f => f.Replace("pretrained.", "", StringComparison.Ordinal))))}";
    }

    /// <summary>Options of <see cref="Run"/>.</summary>
    /// <param name="CropHeight">Crop height (a multiple of 32).</param>
    /// <param name="CropWidth">Crop width (a multiple of 32).</param>
    /// <param name="BatchSize">Crops per step.</param>
    /// <param name="Labels">Labels per step N.</param>
    /// <param name="Rounds">Timed rounds (each times every variant once); the median is reported.</param>
    /// <param name="Threads">libtorch threads.</param>
    /// <param name="EmbeddingSize">Embedding size C.</param>
    public sealed record Options(int CropHeight = 224, int CropWidth = 320, int BatchSize = 4, int Labels = 23, int Rounds = 5, int Threads = 2, int EmbeddingSize = 384);

    /// <summary>One measured variant.</summary>
    /// <param name="Variant">The variant.</param>
    /// <param name="SecondsPerStep">Median seconds per training step.</param>
    /// <param name="CropsPerSecond">Crops per second at that median.</param>
    /// <param name="RatioToFirst">First variant's seconds ÷ this variant's (above 1: faster).</param>
    public sealed record Result(Variant Variant, double SecondsPerStep, double CropsPerSecond, double RatioToFirst);

    /// <summary>Runs the benchmark (one untimed warm-up step per variant) and writes a line per variant to <paramref name="log"/>.</summary>
    /// <exception cref="ArgumentException">An option is out of range or no variant is given.</exception>
    public static IReadOnlyList<Result> Run(Options options, IReadOnlyList<Variant> variants, TextWriter log)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(variants);
        ArgumentNullException.ThrowIfNull(log);
        if (variants.Count == 0)
            throw new ArgumentException("Give at least one variant.", nameof(variants));
        if (options.CropHeight % LSegNet.InputSizeMultiple != 0 || options.CropWidth % LSegNet.InputSizeMultiple != 0 || options.CropHeight <= 0 || options.CropWidth <= 0)
            throw new ArgumentException($"Crop sides must be positive multiples of {LSegNet.InputSizeMultiple}; got {options.CropHeight}×{options.CropWidth}.", nameof(options));
        if (options.BatchSize < 2 || options.Labels < 1 || options.Rounds < 1 || options.Threads < 1)
            throw new ArgumentException("Batch size must be at least 2 (BatchNorm), labels, rounds and threads at least 1.", nameof(options));
        set_num_threads(options.Threads);
        manual_seed(1);
        using var pixels = rand(options.BatchSize, 3, options.CropHeight, options.CropWidth) * 255;
        using var targets = randint(options.Labels, [options.BatchSize, options.CropHeight, options.CropWidth], dtype: ScalarType.Int64);
        using var labels = randn(options.Labels, options.EmbeddingSize);
        var nets = new List<(LSegNet Net, TorchSharp.Modules.OptimizerHelper Optimizer, IReadOnlyList<nn.Module> Frozen)>();
        try
        {
            foreach (var variant in variants)
            {
                var net = LSegNet.Create(new LSegNetConfig { Backbone = "resnet18", EmbeddingSize = options.EmbeddingSize, DecoderFeatures = variant.DecoderFeatures }, pretrainedBackbone: false);
                var frozen = Trainer.FreezeParameters(net, variant.Freeze);
                var optimizer = optim.AdamW(net.parameters().Where(p => p.requires_grad), 1e-4);
                nets.Add((net, optimizer, frozen));
                Step(net, optimizer, frozen, pixels, targets, labels);
            }
            var times = variants.Select(_ => new List<double>()).ToArray();
            for (int round = 0; round < options.Rounds; round++)
            {
                for (int v = 0; v < nets.Count; v++)
                {
                    var clock = Stopwatch.StartNew();
                    Step(nets[v].Net, nets[v].Optimizer, nets[v].Frozen, pixels, targets, labels);
                    times[v].Add(clock.Elapsed.TotalSeconds);
                }
                log.WriteLine($"round {round + 1}/{options.Rounds}: {string.Join(", ", times.Select(t => $"{t[^1]:F2} s"))}");
            }
            var medians = times.Select(Median).ToArray();
            var results = variants.Select((v, i) => new Result(v, medians[i], options.BatchSize / medians[i], medians[0] / medians[i])).ToList();
            foreach (var r in results)
                log.WriteLine($"{r.Variant}: {r.SecondsPerStep:F2} s per step of {options.BatchSize} crops {options.CropHeight}×{options.CropWidth} ({r.CropsPerSecond:F2} crops/s), {r.RatioToFirst:F2}× the first");
            return results;
        }
        finally
        {
            foreach (var (net, optimizer, _) in nets)
            {
                optimizer.Dispose();
                net.Dispose();
            }
        }
    }

    private static void Step(LSegNet net, TorchSharp.Modules.OptimizerHelper optimizer, IReadOnlyList<nn.Module> frozen, Tensor pixels, Tensor targets, Tensor labels)
    {
        using var scope = NewDisposeScope();
        net.train();
        foreach (var module in frozen)
            module.eval();
        var loss = SegmentationLoss.CrossEntropy(net.forward(pixels, labels), targets);
        loss.backward();
        optimizer.step();
        optimizer.zero_grad();
    }

    private static double Median(List<double> values) => LSeg.Shared.BenchmarkStatistics.Median(values);
}

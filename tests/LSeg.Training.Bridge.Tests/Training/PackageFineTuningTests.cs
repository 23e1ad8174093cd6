using System.Runtime.InteropServices;
using LSeg.MLNet;
using LSeg.MLNet.Imaging;
using LSeg.MLNet.Package;
using LSeg.MLNet.Pipeline;
using LSeg.Tests.Shared;
using LSeg.Training.Bridge.Network;
using LSeg.Training.Bridge.Training;
using Microsoft.ML.Data;
using Onnx;
using Xunit.Abstractions;

namespace LSeg.Training.Bridge.Tests.Training;

/// <summary>
/// Fine-tuning model packages of every backbone, written by the exporter and by the importer, on MSRC-v2 with the
/// network fields left out of the configuration (the package describes the network). The truths are independent of the
/// trainer: the loss is computed here from the ONNX Runtime logits of the packages before and after, and the weights
/// are compared as the package files store them.
/// </summary>
public sealed class PackageFineTuningTests(FineTuningPackages.Fixture packages, ITestOutputHelper output) : IClassFixture<FineTuningPackages.Fixture>, IDisposable
{
    /// <summary>MSRC-v2 training images the runs use (the first of the split): one epoch of three batches of two.</summary>
    private const int TrainingImages = 6;

    /// <summary>The images are scaled to about 99×66 at load, so that a 64×96 crop is nearly the whole image.</summary>
    private const double ImageScale = 0.31;

    private const int InputSize = 96;

    private readonly string _temp = Directory.CreateTempSubdirectory("lseg-package-finetune-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    public static TheoryData<string> Kinds => new(FineTuningPackages.All.Select(k => k.Name));

    [SkippableTheory]
    [MemberData(nameof(Kinds))]
    public void Training_the_last_block_on_MSRC_reduces_the_loss_and_leaves_every_frozen_weight_bit_identical(string kindName)
    {
        var (kind, initial, msrc, labels) = packages.Get(kindName);
        var config = Config(msrc, initial, "run", TrainingImages);
        config.Train = "lastBlocks";
        config.TrainBlocks = 1;
        config.LearningRate = 2e-3;

        var result = Trainer.Run(config, resume: false, output.WriteLine);
        string tuned = Path.Combine(_temp, "tuned");
        TrainedPackage.ExportBest(result, tuned, "tuned", []);

        double before = MsrcLoss(initial, msrc, labels), after = MsrcLoss(tuned, msrc, labels);
        output.WriteLine($"{kind}: cross-entropy over the {TrainingImages} images {before:F4} before, {after:F4} after");
        Assert.True(after < before, $"the loss went from {before:F4} to {after:F4}");

        var start = Initializers(initial);
        var end = Initializers(tuned);
        Assert.Equal(start.Keys.Order(StringComparer.Ordinal), end.Keys.Order(StringComparer.Ordinal));
        bool Trained(string key) => Under(key, kind.LastBlock) || Under(key, "scratch");
        foreach (var (key, values) in start.Where(p => Under(p.Key, "pretrained") && !Trained(p.Key)))
            Assert.True(values.AsSpan().SequenceEqual(end[key]), $"frozen weight '{key}' changed");
        Assert.Contains(start.Keys.Where(k => Under(k, kind.LastBlock)), key => !start[key].AsSpan().SequenceEqual(end[key]));
        Assert.Contains(start.Keys.Where(k => Under(k, "scratch")), key => !start[key].AsSpan().SequenceEqual(end[key]));
        AssertSameNetworkAndTextEncoder(initial, tuned);
    }

    [SkippableTheory]
    [MemberData(nameof(Kinds))]
    public void A_run_at_learning_rate_0_exports_a_package_that_computes_exactly_what_the_initial_one_does(string kindName)
    {
        var (_, initial, msrc, labels) = packages.Get(kindName);
        var config = Config(msrc, initial, "run", images: 2);
        config.Train = "all";
        config.LearningRate = 0;
        config.FreezeBatchNormStatistics = true;

        var result = Trainer.Run(config, resume: false, output.WriteLine);
        string tuned = Path.Combine(_temp, "tuned");
        TrainedPackage.ExportBest(result, tuned, "tuned", []);

        using var before = LanguageSegmentationModel.Load(initial);
        using var after = LanguageSegmentationModel.Load(tuned);
        var beforeLabels = before.EncodeLabels(labels);
        var afterLabels = after.EncodeLabels(labels);
        Assert.True(beforeLabels.Values.Span.SequenceEqual(afterLabels.Values.Span), "the copied text encoder embeds the labels differently");
        foreach (string name in SplitNames(msrc).Take(2))
        {
            using var image = MLImage.CreateFromFile(ImagePath(msrc, name));
            var expected = before.ComputeLogits(image, beforeLabels, InputSize).Logits;
            var actual = after.ComputeLogits(image, afterLabels, InputSize).Logits;
            int firstDifference = expected.AsSpan().CommonPrefixLength(actual);
            Assert.True(firstDifference == expected.Length && actual.Length == expected.Length,
                $"{name}: logit {firstDifference} of {expected.Length} differs ({expected.ElementAtOrDefault(firstDifference)} vs {actual.ElementAtOrDefault(firstDifference)})");
        }
        AssertSameNetworkAndTextEncoder(initial, tuned);
    }

    [SkippableFact]
    public void A_configuration_that_does_not_fit_an_imported_package_is_refused_naming_each_difference_before_anything_is_written()
    {
        var (_, initial, msrc, _) = packages.Get("importer vit-b32-384 clip bottleneck");
        var config = Config(msrc, initial, "misfit", images: 2);
        config.Network = new LSegNetConfig { Backbone = "resnet18", EmbeddingSize = 384, DecoderFeatures = 16, SpatialBlock = SpatialBlock.Depthwise, SpatialDepth = 2 };
        config.TextEncoder = "minilm";

        var error = Assert.Throws<InvalidDataException>(() => Trainer.Run(config, resume: false, output.WriteLine));

        Assert.Contains("network.backbone resnet18 (configuration) vs vit-b32-384 (package)", error.Message);
        Assert.Contains("network.embeddingSize 384 (configuration) vs 32 (package)", error.Message);
        Assert.Contains("network.spatialBlock depthwise (configuration) vs bottleneck (package)", error.Message);
        Assert.Contains("textEncoder minilm (configuration) vs clip (package)", error.Message);
        Assert.DoesNotContain("decoderFeatures", error.Message);
        Assert.DoesNotContain("spatialDepth", error.Message);
        Assert.False(Directory.Exists(config.OutputDirectory), "the refused run wrote its output folder");
    }

    private TrainingConfig Config(string msrc, string initialModel, string run, int images)
    {
        string split = Path.Combine(_temp, "split.txt");
        File.WriteAllLines(split, SplitNames(msrc).Take(images));
        return new TrainingConfig
        {
            Name = "fine-tuned",
            Datasets = [new DatasetConfig { Name = "msrc-v2", Folder = msrc, Split = split, ImageScale = ImageScale }],
            InitialModel = initialModel,
            Augmentation = new() { CropHeight = 64, CropWidth = 96, ScaleMin = 1, ScaleMax = 1, FlipProbability = 0 },
            Epochs = 1, BatchSize = 2, Optimizer = "adamw", WeightDecay = 1e-4,
            OutputDirectory = Path.Combine(_temp, run),
        };
    }

    private static IEnumerable<string> SplitNames(string msrc) => File.ReadLines(Path.Combine(msrc, "train.txt")).Take(TrainingImages);

    private static string ImagePath(string msrc, string name) => Directory.GetFiles(Path.Combine(msrc, "images"), name + ".*").Single();

    /// <summary>
    /// Mean per-pixel cross-entropy of the package's logits (ONNX Runtime, the image resized to the model input) against
    /// the MSRC-v2 label map sampled at the logits' pixels, void pixels left out.
    /// </summary>
    private static double MsrcLoss(string package, string msrc, string[] labels)
    {
        using var model = LanguageSegmentationModel.Load(package);
        var encoded = model.EncodeLabels(labels);
        string[] classes = File.ReadLines(Path.Combine(msrc, "classes.txt")).Select(l => l.Split('\t')[1].Trim()).ToArray();
        double sum = 0;
        long count = 0;
        foreach (string name in SplitNames(msrc))
        {
            using var image = MLImage.CreateFromFile(ImagePath(msrc, name));
            var truth = IndexPng.Read(Path.Combine(msrc, "labels", name + ".png"));
            var (logits, width, height) = model.ComputeLogits(image, encoded, InputSize);
            int plane = width * height;
            for (int y = 0; y < height; y++)
            {
                for (int x = 0; x < width; x++)
                {
                    string cls = classes[truth.Pixels[(y * truth.Height / height) * truth.Width + x * truth.Width / width]];
                    int target = Array.IndexOf(labels, cls);
                    if (target < 0)
                        continue;
                    int p = y * width + x;
                    double max = Enumerable.Range(0, labels.Length).Max(n => logits[n * plane + p]);
                    double logSum = max + Math.Log(Enumerable.Range(0, labels.Length).Sum(n => Math.Exp(logits[n * plane + p] - max)));
                    sum += logSum - logits[target * plane + p];
                    count++;
                }
            }
        }
        return sum / count;
    }

    /// <summary>The image encoder's and head's initializers as float32 values (float16 widened exactly), by state-dict key.</summary>
    private static Dictionary<string, float[]> Initializers(string package)
    {
        var manifest = ModelManifest.FromJson(File.ReadAllText(Path.Combine(package, ModelManifest.FileName)));
        var values = new Dictionary<string, float[]>(StringComparer.Ordinal);
        foreach (string graph in new[] { manifest.Graphs.ImageEncoder, manifest.Graphs.Head })
        {
            foreach (var tensor in SegmentationGraph.ReadWithExternalData(Path.Combine(package, graph)).Graph.Initializer)
            {
                var bytes = tensor.RawData.Span;
                float[]? floats = (TensorProto.Types.DataType)tensor.DataType switch
                {
                    TensorProto.Types.DataType.Float => MemoryMarshal.Cast<byte, float>(bytes).ToArray(),
                    TensorProto.Types.DataType.Float16 => MemoryMarshal.Cast<byte, Half>(bytes).ToArray().Select(h => (float)h).ToArray(),
                    _ => null,
                };
                if (floats is not null)
                    values[tensor.Name.Replace("::fp16", "", StringComparison.Ordinal)] = floats;
            }
        }
        return values;
    }

    /// <summary>The fine-tuned package describes the same network and carries the initial package's text-encoder files, byte for byte.</summary>
    private static void AssertSameNetworkAndTextEncoder(string initial, string tuned)
    {
        var a = ModelManifest.FromJson(File.ReadAllText(Path.Combine(initial, ModelManifest.FileName)));
        var b = ModelManifest.FromJson(File.ReadAllText(Path.Combine(tuned, ModelManifest.FileName)));
        Assert.Equal((a.Backbone, a.EmbeddingSize, a.Temperature, a.DefaultInputSize), (b.Backbone, b.EmbeddingSize, b.Temperature, b.DefaultInputSize));
        Assert.Equal(a.Pixels.BackboneChannelOrder, b.Pixels.BackboneChannelOrder);
        Assert.Equal(a.Pixels.Mean, b.Pixels.Mean);
        Assert.Equal(a.Pixels.Std, b.Pixels.Std);
        Assert.Equal((a.SpatialRegularization.Block, a.SpatialRegularization.Depth, a.SpatialRegularization.Activation),
            (b.SpatialRegularization.Block, b.SpatialRegularization.Depth, b.SpatialRegularization.Activation));
        Assert.Equal((a.TextEncoder.Kind, a.TextEncoder.Graph, a.TextEncoder.Tokenizer, a.TextEncoder.Table, a.TextEncoder.ContextLength),
            (b.TextEncoder.Kind, b.TextEncoder.Graph, b.TextEncoder.Tokenizer, b.TextEncoder.Table, b.TextEncoder.ContextLength));
        // The pixel projection (format 2) is head1, which trains: only the text encoder's files must be copied unchanged.
        var imageSide = new[] { a.Graphs.ImageEncoder, a.Graphs.Head, a.Graphs.PixelProjection }.OfType<string>().ToArray();
        var textFiles = a.Files.Where(f => !imageSide.Any(g => f.Key == g || f.Key.StartsWith(g + ".", StringComparison.Ordinal))).ToList();
        foreach (var (name, file) in textFiles)
            Assert.Equal(file.Sha256, b.Files[name].Sha256);
        b.VerifyFiles(tuned);
    }

    private static bool Under(string key, string prefix) => key == prefix || key.StartsWith(prefix + ".", StringComparison.Ordinal);
}

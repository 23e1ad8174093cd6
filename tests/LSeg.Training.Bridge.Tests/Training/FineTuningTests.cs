using LSeg.Tests.Shared;
using LSeg.Training.Bridge.Export;
using LSeg.Training.Bridge.Import;
using LSeg.Training.Bridge.Network;
using LSeg.Training.Bridge.Tests.Data;
using LSeg.Training.Bridge.Tests.Export;
using LSeg.Training.Bridge.Training;
using static TorchSharp.torch;

namespace LSeg.Training.Bridge.Tests.Training;

/// <summary>
/// Fine-tuning starts from a model package: the weights read back from a package must be the exported network's
/// (its state dict is the truth), and a training run with <c>initialModel</c> must start from them.
/// </summary>
public sealed class FineTuningTests : IDisposable
{
    private static readonly LSegNetConfig SmallNet = new()
    {
        EmbeddingSize = 16, DecoderFeatures = 16, SpatialBlock = SpatialBlock.Depthwise, SpatialDepth = 1,
    };

    private readonly string _temp = Path.Combine(Path.GetTempPath(), "lseg-finetune-" + Guid.NewGuid().ToString("N"));

    public FineTuningTests() => Directory.CreateDirectory(_temp);

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    private string Export(LSegNet net, bool float16, string name)
    {
        string package = Path.Combine(_temp, name);
        ModelPackageExporter.Export(net, package, new ModelPackageExportOptions
        {
            Name = name, DefaultInputSize = 64, StoreWeightsAsFloat16 = float16,
            TextEncoder = new MLNet.Package.TextEncoderInfo { Kind = "table", Table = "labels.json" },
            AdditionalFiles = { ["labels.json"] = WriteLabelTable() },
        });
        return package;
    }

    private string WriteLabelTable()
    {
        string path = Path.Combine(_temp, "labels.json");
        File.WriteAllText(path, "{\"thing\": [" + string.Join(", ", Enumerable.Repeat("0.25", 16)) + "]}");
        return path;
    }

    private static Dictionary<string, float[]> Parameters(LSegNet net) =>
        net.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().cpu().to(ScalarType.Float32).data<float>().ToArray());

    [Fact]
    public void A_package_read_back_gives_the_exported_networks_config_and_every_weight()
    {
        using var exported = ExportTestNets.Random(SmallNet, seed: 1);
        string package = Export(exported, float16: false, "float32");

        var weights = ModelPackageWeights.Read(package);
        var config = weights.Config;
        using var restored = ExportTestNets.Random(config, seed: 2);
        weights.LoadInto(restored);

        Assert.Equal((16, 16, SpatialBlock.Depthwise, 1), (config.EmbeddingSize, config.DecoderFeatures, config.SpatialBlock, config.SpatialDepth));
        var expected = exported.state_dict();
        foreach (var (key, value) in restored.state_dict().Where(e => !ModelPackageWeights.IsNotExported(e.Key)))
            Assert.True(value.equal(expected[key]).all().item<bool>(), $"'{key}' differs from the exported network");
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var pixels = ExportTestNets.Pixels(1, 64, 96);
        var labels = ExportTestNets.Labels(3, 16);
        Assert.True(restored.forward(pixels, labels).equal(exported.forward(pixels, labels)).all().item<bool>(), "the restored network computes other logits");
    }

    [Fact]
    public void A_float16_package_reads_back_as_the_weights_rounded_to_float16()
    {
        using var exported = ExportTestNets.Random(SmallNet, seed: 3);
        string package = Export(exported, float16: true, "float16");

        using var restored = ExportTestNets.Random(SmallNet, seed: 4);
        ModelPackageWeights.Read(package).LoadInto(restored);

        var expected = exported.state_dict();
        foreach (var (key, value) in restored.state_dict().Where(e => e.Value.dtype == ScalarType.Float32 && !ModelPackageWeights.IsNotExported(e.Key)))
            Assert.True(value.equal(expected[key].to(ScalarType.Float16).to(ScalarType.Float32)).all().item<bool>(), $"'{key}' is not the float16 rounding of the exported weight");
    }

    [Fact]
    public void A_training_run_with_an_initial_model_starts_from_the_packages_weights()
    {
        using var exported = ExportTestNets.Random(SmallNet, seed: 5);
        string package = Export(exported, float16: false, "start");
        using var data = new TestDatasetFolder(images: 4, width: 64, height: 48);
        var lines = new List<string>();
        var config = new TrainingConfig
        {
            Name = "fine-tune",
            Datasets = [new DatasetConfig { Name = "tiny", Folder = data.Root, Split = "train.txt" }],
            PretrainedBackbone = false, Network = SmallNet,
            TextEncoder = "fixed", InitialModel = package,
            Augmentation = new() { CropHeight = 32, CropWidth = 32 },
            // A learning rate too small to move any weight: the checkpoint must still hold the package's parameters.
            Epochs = 1, BatchSize = 2, LearningRate = 1e-20, WeightDecay = 0, Optimizer = "sgd",
            OutputDirectory = Path.Combine(_temp, "run"),
        };

        var result = Trainer.Run(config, resume: false, lines.Add);

        Assert.Contains(lines, l => l.StartsWith("fine-tuning: weights of model package", StringComparison.Ordinal));
        using var trained = LSegNet.Create(SmallNet, pretrainedBackbone: false);
        trained.load(Path.Combine(result.BestCheckpoint, Trainer.ModelFileName));
        var start = Parameters(exported);
        foreach (var (key, values) in Parameters(trained).Where(p => !ModelPackageWeights.IsNotExported(p.Key)))
            Assert.True(values.Zip(start[key]).All(p => Math.Abs(p.First - p.Second) <= 1e-6f), $"parameter '{key}' did not start from the package");
    }

    [Fact]
    public void The_default_model_read_back_into_TorchSharp_segments_a_photo_as_its_package_does()
    {
        string package = MLNet.Package.DefaultModelPackage.Extract();
        var weights = ModelPackageWeights.Read(package);
        var config = weights.Config;
        using var net = LSegNet.Create(config, pretrainedBackbone: false);
        weights.LoadInto(net);
        net.eval();
        using var model = MLNet.LanguageSegmentationModel.Load(package);
        using var photo = Microsoft.ML.Data.MLImage.CreateFromFile(Path.Combine(SharedData.RepositoryRoot, "examples", "images", "chelsea.png"));
        var labels = model.EncodeLabels(["cat", "wall", "floor", "other"]);
        var encoded = model.EncodeImage(photo, 320);

        var fromPackage = model.RunHead(encoded.Planar, encoded.EmbeddingSize, encoded.EmbeddingHeight, encoded.EmbeddingWidth, labels);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var pixels = tensor(MLNet.Runtime.ImagePixels.ToPlanarRgb(photo, encoded.InputWidth, encoded.InputHeight), [1, 3, encoded.InputHeight, encoded.InputWidth]);
        // The package calibrates "other" (manifest labelLogitOffsets), which the network does not hold: added here by hand.
        // It also scores the unoffered names "other" absorbs (package format 7): their pixels are counted as "other".
        int scored = labels.ScoredCount;
        var offsets = tensor(labels.LogitOffsets, [1, scored, 1, 1]);
        var torchMap = (net.forward(pixels, tensor(labels.Buffer, [scored, labels.EmbeddingSize])) + offsets).argmax(1).flatten().data<long>().ToArray()
            .Select(winner => (int)winner).ToArray();
        labels.FoldAbsorbed(torchMap);

        Assert.Equal((384, 128), (config.EmbeddingSize, config.DecoderFeatures));
        // The shipped package calibrates "other" (a non-zero offset, so the hand-added offsets above matter); "wall" and
        // "floor" are not among its trained names, so "other" is lowered by the manifest's drop (package format 4).
        float otherOffset = (float)(model.Manifest.LabelLogitOffsets!["other"] - model.Manifest.UntrainedLabels!.CalibratedLabelDrop);
        Assert.NotEqual(0f, otherOffset);
        Assert.Equal([0f, 0f, 0f, otherOffset], labels.LogitOffsets.Take(labels.Count));
        // Beside the untrained names "other" absorbs unoffered stuff names, lowered by the same drop (package format 7).
        Assert.True(scored > labels.Count, "the default package should absorb stuff names next to untrained names");
        Assert.All(labels.LogitOffsets.Skip(labels.Count), offset => Assert.Equal(-(float)model.Manifest.UntrainedLabels.CalibratedLabelDrop, offset));
        double agreement = (double)torchMap.Zip(fromPackage.LabelMap).Count(p => p.First == p.Second) / torchMap.Length;
        Assert.True(agreement >= 0.999, $"{agreement:P3} of pixels agree between the read-back network and the package");
    }

    [Fact]
    public void A_validation_dataset_excluding_a_class_it_does_not_have_is_refused_before_the_first_epoch()
    {
        using var data = new TestDatasetFolder(images: 4, width: 64, height: 48);
        var config = new TrainingConfig
        {
            Datasets = [new DatasetConfig { Name = "tiny", Folder = data.Root, Split = "train.txt" }],
            Validation = [new DatasetConfig { Name = "tiny-val", Folder = data.Root, ExcludedClasses = ["horse"] }],
            PretrainedBackbone = false,
            Network = new LSegNetConfig { Backbone = "resnet18", EmbeddingSize = 16, DecoderFeatures = 16 },
            TextEncoder = "fixed",
            OutputDirectory = Path.Combine(_temp, "typo-run"),
        };

        var error = Assert.Throws<InvalidDataException>(() => Trainer.Run(config, resume: false, _ => { }));

        Assert.Contains("Validation dataset 'tiny-val' excludes class 'horse', which is not one of its classes (sky, grass, cow)", error.Message);
        Assert.False(Directory.Exists(Path.Combine(_temp, "typo-run", "checkpoints")));
    }

    [Fact]
    public void A_test_dataset_that_would_fail_after_the_last_epoch_is_refused_before_the_first()
    {
        using var data = new TestDatasetFolder(images: 4, width: 64, height: 48);
        File.Delete(Path.Combine(data.Root, "labels", "img3.png")); // img3 is not in train.txt, but the test set lists every image
        File.WriteAllLines(Path.Combine(data.Root, "test.txt"), ["img0", "img3"]);
        var config = new TrainingConfig
        {
            Datasets = [new DatasetConfig { Name = "tiny", Folder = data.Root, Split = "train.txt" }],
            Test = [new DatasetConfig { Name = "tiny-test", Folder = data.Root, Split = "test.txt" }],
            PretrainedBackbone = false,
            Network = new LSegNetConfig { Backbone = "resnet18", EmbeddingSize = 16, DecoderFeatures = 16 },
            TextEncoder = "fixed",
            OutputDirectory = Path.Combine(_temp, "test-set-run"),
        };

        var error = Assert.Throws<FileNotFoundException>(() => Trainer.Run(config, resume: false, _ => { }));

        Assert.Contains("Dataset 'tiny-test': label map", error.Message);
        Assert.Contains("img3.png", error.Message);
        Assert.False(Directory.Exists(Path.Combine(_temp, "test-set-run", "checkpoints")));
    }

    [Fact]
    public void An_initial_model_that_does_not_fit_the_configuration_is_refused_naming_each_difference()
    {
        using var exported = ExportTestNets.Random(SmallNet, seed: 6);
        string package = Export(exported, float16: false, "misfit");
        using var data = new TestDatasetFolder(images: 4, width: 64, height: 48);
        var config = new TrainingConfig
        {
            Datasets = [new DatasetConfig { Name = "tiny", Folder = data.Root, Split = "train.txt" }],
            PretrainedBackbone = false,
            Network = new LSegNetConfig { Backbone = "resnet18", EmbeddingSize = 16, DecoderFeatures = 32, SpatialBlock = SpatialBlock.None, SpatialDepth = 0 },
            TextEncoder = "fixed", InitialModel = package,
            OutputDirectory = Path.Combine(_temp, "misfit-run"),
        };

        var error = Assert.Throws<InvalidDataException>(() => Trainer.Run(config, resume: false, _ => { }));

        Assert.Contains("network.decoderFeatures 32 (configuration) vs 16 (package)", error.Message);
        Assert.Contains("network.spatialBlock none (configuration) vs depthwise (package)", error.Message);
        Assert.Contains("network.spatialDepth 0 (configuration) vs 1 (package)", error.Message);
        Assert.DoesNotContain("backbone", error.Message);
        Assert.DoesNotContain("embeddingSize", error.Message);
        Assert.False(Directory.Exists(config.OutputDirectory), "the refused run wrote its output folder");
    }

    /// <summary>A configuration that fine-tunes <paramref name="package"/>, with <paramref name="network"/> as its JSON <c>network</c>.</summary>
    private static TrainingConfig FineTuning(string package, string network) => TrainingConfig.Parse($$"""
        {
          "datasets": [ { "name": "d", "folder": {{System.Text.Json.JsonSerializer.Serialize(Path.GetTempPath())}} } ],
          "initialModel": {{System.Text.Json.JsonSerializer.Serialize(package)}},
          "network": {{network}}
        }
        """);

    [Fact]
    public void A_network_written_in_part_is_compared_with_the_initial_model_only_in_the_fields_written()
    {
        using var exported = ExportTestNets.Random(SmallNet, seed: 7);
        string package = Export(exported, float16: false, "partial-misfit");
        var config = FineTuning(package, """{ "decoderFeatures": 32, "temperature": 0.07 }""");

        var error = Assert.Throws<InvalidDataException>(() => TrainingNetwork.Resolve(config));

        Assert.Contains("network.decoderFeatures 32 (configuration) vs 16 (package)", error.Message);
        Assert.Contains("leave these fields out", error.Message);
        // The package's depthwise block of depth 1 is not the default, but the configuration never wrote those fields.
        Assert.DoesNotContain("spatial", error.Message);
        Assert.DoesNotContain("temperature", error.Message);
    }

    [Fact]
    public void A_network_written_in_part_that_matches_the_initial_model_builds_the_packages_network()
    {
        using var exported = ExportTestNets.Random(SmallNet, seed: 8);
        string package = Export(exported, float16: false, "partial-fit");
        var config = FineTuning(package, """{ "embeddingSize": 16, "spatialBlock": "depthwise" }""");

        var network = TrainingNetwork.Resolve(config);

        // The depth (1) and the decoder width (16) were left out: they are the package's, not the defaults (0, 128).
        Assert.Equal(SmallNet, network.Config);
    }
}

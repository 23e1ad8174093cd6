using LSeg.MLNet.Package;
using LSeg.Training.Bridge.Export;
using LSeg.Training.Bridge.Import;
using LSeg.Training.Bridge.Import.Pickle;
using LSeg.Training.Bridge.Network;
using LSeg.Training.Bridge.Network.TextEncoders;
using LSeg.Training.Bridge.Tests.TextEncoders;
using TorchSharp;
using static TorchSharp.torch;

namespace LSeg.Training.Bridge.Tests.Import;

/// <summary>
/// Importing checkpoints in the official lang-seg format, written by the tests from small random networks: the
/// package's ONNX graphs must reproduce the TorchSharp forward pass of the weights that were written.
/// </summary>
public sealed class OfficialCheckpointImporterTests : IDisposable
{
    private const float Tolerance = 1e-4f;
    private readonly string _directory = Directory.CreateTempSubdirectory("lseg-import-").FullName;
    private readonly string _bpe;

    public OfficialCheckpointImporterTests()
    {
        // Any gzip file stands in for CLIP's merges here: the importer copies it, the graphs do not read it.
        _bpe = PathOf("bpe_simple_vocab_16e6.txt.gz");
        using var file = File.Create(_bpe);
        using var gzip = new System.IO.Compression.GZipStream(file, System.IO.Compression.CompressionLevel.Fastest);
        gzip.Write("\"bpe_simple_vocab_16e6.txt#version: 0.2\ni n\n"u8);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private string PathOf(string name) => Path.Combine(_directory, name);

    internal static readonly ClipTextConfig SmallClip = OfficialFormatCheckpoint.SmallClip;

    /// <summary>ViT-L/16 structure (patch 16, 24×24 position grid, project readout) at width 64 and depth 4.</summary>
    internal static readonly LSegNetConfig SmallVitL16 = new()
    {
        Backbone = "vit-l16-384",
        EmbeddingSize = 32,
        DecoderFeatures = 16,
        ReducedBackbone = new BackboneSizeOverride { Width = 64, Layers = 4, Heads = 1, MlpWidth = 128, Hooks = [0, 1, 2, 3], FeatureChannels = [8, 16, 32, 32] },
    };

    private static readonly LSegNetConfig SmallVitB32WithBottleneck = OfficialFormatCheckpoint.SmallVitB32WithBottleneck;

    private static readonly LSegNetConfig SmallResNet101 = new()
    {
        Backbone = "resnet101",
        EmbeddingSize = 32,
        DecoderFeatures = 16,
        ReducedBackbone = new BackboneSizeOverride { Width = 8, Layers = 1 },
    };

    [Fact]
    public void A_Lightning_ViT_L16_checkpoint_imports_into_a_package_whose_graphs_match_the_TorchSharp_forward()
    {
        using var source = new OfficialFormatCheckpoint(SmallVitL16, SmallClip, seed: 31);
        TorchCheckpointWriter.Save(source.LightningCheckpoint(), PathOf("demo.ckpt"));

        var report = OfficialCheckpointImporter.Import(PathOf("demo.ckpt"), _bpe, PathOf("package"));

        Assert.Equal("lightning-checkpoint", report.CheckpointKind);
        Assert.Equal("vit-l16-384", report.Network.Backbone);
        Assert.Equal(SpatialBlock.None, report.Network.SpatialBlock);
        Assert.Equal(SmallClip, report.Text);
        Assert.Equal("200", report.CheckpointMetadata["epoch"]);
        Assert.Contains(report.Dropped.Keys, k => k.StartsWith("clip_pretrained.visual", StringComparison.Ordinal));
        Assert.Contains(report.Dropped.Keys, k => k.StartsWith("pretrained.model.head.", StringComparison.Ordinal));
        Assert.Contains(report.Dropped.Keys, k => k.StartsWith("pretrained.model.norm.", StringComparison.Ordinal));
        Assert.Empty(report.Warnings);

        var manifest = report.Manifest;
        Assert.Equal("vit-l16-384", manifest.Backbone);
        Assert.Equal("clip", manifest.TextEncoder.Kind);
        Assert.Equal("text_encoder.onnx", manifest.TextEncoder.Graph);
        Assert.Equal("bpe_simple_vocab_16e6.txt.gz", manifest.TextEncoder.Tokenizer);
        Assert.Equal(77, manifest.TextEncoder.ContextLength);
        ModelManifest.FromJson(File.ReadAllText(PathOf("package/manifest.json"))).VerifyFiles(PathOf("package"));
        Assert.Equal(File.ReadAllBytes(_bpe), File.ReadAllBytes(PathOf("package/bpe_simple_vocab_16e6.txt.gz")));

        AssertPackageMatches(source, PathOf("package"), height: 96, width: 160, labels: 7);
        Assert.DoesNotContain(Directory.EnumerateFileSystemEntries(_directory), e => Path.GetFileName(e).StartsWith(".package.", StringComparison.Ordinal));
    }

    [Fact]
    public void A_ViT_B32_checkpoint_with_a_bottleneck_block_imports_when_the_block_is_named()
    {
        using var source = new OfficialFormatCheckpoint(SmallVitB32WithBottleneck, SmallClip, seed: 32);
        TorchCheckpointWriter.Save(source.LightningCheckpoint(), PathOf("fss.ckpt"));

        var missingSettings = Assert.Throws<InvalidDataException>(() => OfficialCheckpointImporter.Import(PathOf("fss.ckpt"), _bpe, PathOf("refused")));
        Assert.Contains("scratch.head_block", missingSettings.Message);
        Assert.False(Directory.Exists(PathOf("refused")));

        var report = OfficialCheckpointImporter.Import(PathOf("fss.ckpt"), _bpe, PathOf("package"),
            new OfficialCheckpointImportOptions { SpatialBlock = SpatialBlock.Bottleneck, SpatialDepth = 2 });
        Assert.Equal("vit-b32-384", report.Network.Backbone);
        Assert.Equal("bottleneck", report.Manifest.SpatialRegularization.Block, ignoreCase: true);
        Assert.Equal(2, report.Manifest.SpatialRegularization.Depth);

        AssertPackageMatches(source, PathOf("package"), height: 96, width: 64, labels: 2);
    }

    [Fact]
    public void A_plain_ResNet101_state_dict_without_the_net_prefix_imports_too()
    {
        using var source = new OfficialFormatCheckpoint(SmallResNet101, SmallClip, seed: 33);
        TorchCheckpointWriter.Save(source.StateDict(prefix: ""), PathOf("lseg_rn101.pt"));

        var report = OfficialCheckpointImporter.Import(PathOf("lseg_rn101.pt"), _bpe, PathOf("package"));
        Assert.Equal("torch-state-dict", report.CheckpointKind);
        Assert.Equal("resnet101", report.Network.Backbone);

        AssertPackageMatches(source, PathOf("package"), height: 64, width: 96, labels: 1);
    }

    [Fact]
    public void A_ViT_B32_package_matches_the_TorchSharp_forward_when_one_side_of_the_patch_grid_is_a_single_cell()
    {
        // A 480 × 32 input (a 1500 × 100 photo at input size 480) gives a 15 × 1 grid of 32-pixel patches: the position
        // embedding is resized to one row, where ONNX's pytorch_half_pixel samples the first row and libtorch the middle.
        using var source = new OfficialFormatCheckpoint(SmallVitB32WithBottleneck, SmallClip, seed: 34);
        TorchCheckpointWriter.Save(source.LightningCheckpoint(), PathOf("fss.ckpt"));

        OfficialCheckpointImporter.Import(PathOf("fss.ckpt"), _bpe, PathOf("package"),
            new OfficialCheckpointImportOptions { SpatialBlock = SpatialBlock.Bottleneck, SpatialDepth = 2 });

        AssertPackageMatches(source, PathOf("package"), height: 32, width: 96, labels: 2);
    }

    [Fact]
    public void The_text_encoder_also_writes_its_weights_as_external_data_beyond_the_threshold_and_the_package_keeps_them()
    {
        using var source = new OfficialFormatCheckpoint(SmallResNet101, SmallClip, seed: 37);
        TorchCheckpointWriter.Save(source.StateDict(), PathOf("small.pt"));

        var report = OfficialCheckpointImporter.Import(PathOf("small.pt"), _bpe, PathOf("package"),
            new OfficialCheckpointImportOptions { ExternalDataThresholdBytes = 1024 });

        Assert.Contains(ClipTextEncoderExporter.PackageFileName + ".data", report.Manifest.Files.Keys);
        ModelManifest.FromJson(File.ReadAllText(PathOf("package/manifest.json"))).VerifyFiles(PathOf("package"));
        AssertPackageMatches(source, PathOf("package"), height: 64, width: 64, labels: 3);
    }

    [Fact]
    public void A_state_dict_saved_under_model_beside_the_optimizer_imports_as_lang_seg_loads_it()
    {
        // lang-seg's BaseModel.save writes {"model": state_dict, "optimizer": ...}, and its load unwraps "model".
        using var source = new OfficialFormatCheckpoint(SmallResNet101, SmallClip, seed: 35);
        var saved = new PyDict(ordered: true) { { "model", source.StateDict(prefix: "") }, { "optimizer", new PyDict() } };
        TorchCheckpointWriter.Save(saved, PathOf("model.pt"));

        var report = OfficialCheckpointImporter.Import(PathOf("model.pt"), _bpe, PathOf("package"));

        Assert.Equal("resnet101", report.Network.Backbone);
        AssertPackageMatches(source, PathOf("package"), height: 64, width: 64, labels: 1);
    }

    [Fact]
    public void A_state_dict_saved_from_a_DataParallel_wrapper_imports_without_its_module_prefix()
    {
        using var source = new OfficialFormatCheckpoint(SmallResNet101, SmallClip, seed: 36);
        TorchCheckpointWriter.Save(source.StateDict(prefix: "module."), PathOf("parallel.pt"));

        var report = OfficialCheckpointImporter.Import(PathOf("parallel.pt"), _bpe, PathOf("package"));

        Assert.Equal("resnet101", report.Network.Backbone);
        Assert.Empty(report.Warnings);
        AssertPackageMatches(source, PathOf("package"), height: 64, width: 64, labels: 1);
    }

    [Fact]
    public void A_safetensors_state_dict_imports_and_writes_external_data_beyond_the_threshold()
    {
        using var source = new OfficialFormatCheckpoint(SmallVitL16, SmallClip, seed: 34);
        var tensors = source.StateDict(includeDroppedParts: false).Select(kv => ((string)kv.Key!, ((PyTensor)kv.Value!).Value)).ToArray();
        SafetensorsWriter.Save(PathOf("lseg.safetensors"), tensors);

        var report = OfficialCheckpointImporter.Import(PathOf("lseg.safetensors"), _bpe, PathOf("package"),
            new OfficialCheckpointImportOptions { ExternalDataThresholdBytes = 64 * 1024 });
        Assert.Equal("safetensors", report.CheckpointKind);
        Assert.Contains(report.Manifest.Files.Keys, name => name.EndsWith(".onnx.data", StringComparison.Ordinal));

        AssertPackageMatches(source, PathOf("package"), height: 64, width: 64, labels: 150);
    }

    [Fact]
    public void Keys_outside_the_network_are_ignored_with_a_warning_that_names_them()
    {
        using var source = new OfficialFormatCheckpoint(SmallVitL16, SmallClip, seed: 35);
        var stateDict = source.StateDict();
        stateDict.Add("criterion.weight", new PyTensor(torch.ones(3)));
        TorchCheckpointWriter.Save(SyntheticCheckpoints.LightningCheckpoint(stateDict), PathOf("extra.ckpt"));

        var report = OfficialCheckpointImporter.Import(PathOf("extra.ckpt"), _bpe, PathOf("package"));
        var warning = Assert.Single(report.Warnings);
        Assert.Contains("criterion.weight", warning);
    }

    [Fact]
    public void Missing_keys_are_listed_and_no_package_is_left_behind()
    {
        using var source = new OfficialFormatCheckpoint(SmallVitL16, SmallClip, seed: 36);
        var stateDict = source.StateDict();
        stateDict.RemoveAll(kv => kv.Key is "net.scratch.refinenet2.out_conv.weight" or "net.clip_pretrained.ln_final.bias");
        TorchCheckpointWriter.Save(SyntheticCheckpoints.LightningCheckpoint(stateDict), PathOf("partial.ckpt"));

        var error = Assert.Throws<InvalidDataException>(() => OfficialCheckpointImporter.Import(PathOf("partial.ckpt"), _bpe, PathOf("package")));
        Assert.Contains("net.scratch.refinenet2.out_conv.weight", error.Message);
        Assert.Contains("net.clip_pretrained.ln_final.bias", error.Message);
        AssertNoPackage("package");
    }

    [Fact]
    public void A_shape_mismatch_names_the_key_and_both_shapes()
    {
        using var source = new OfficialFormatCheckpoint(SmallVitL16, SmallClip, seed: 37);
        var stateDict = source.StateDict();
        int index = stateDict.FindIndex(kv => kv.Key is "net.scratch.refinenet1.out_conv.weight");
        stateDict[index] = new(stateDict[index].Key, new PyTensor(torch.zeros(16, 8, 1, 1)));
        TorchCheckpointWriter.Save(SyntheticCheckpoints.LightningCheckpoint(stateDict), PathOf("wrong.ckpt"));

        var error = Assert.Throws<InvalidDataException>(() => OfficialCheckpointImporter.Import(PathOf("wrong.ckpt"), _bpe, PathOf("package")));
        Assert.Contains("'net.scratch.refinenet1.out_conv.weight'", error.Message);
        Assert.Contains("[16, 16, 1, 1]", error.Message);
        Assert.Contains("[16, 8, 1, 1]", error.Message);
        AssertNoPackage("package");
    }

    [Fact]
    public void A_missing_CLIP_BPE_file_is_reported_before_any_work_and_nothing_is_written()
    {
        using var source = new OfficialFormatCheckpoint(SmallVitL16, SmallClip, seed: 38);
        TorchCheckpointWriter.Save(source.LightningCheckpoint(), PathOf("demo.ckpt"));
        var error = Assert.Throws<FileNotFoundException>(() => OfficialCheckpointImporter.Import(PathOf("demo.ckpt"), PathOf("no-such-bpe.txt.gz"), PathOf("package")));
        Assert.Contains("no-such-bpe.txt.gz", error.Message);
        AssertNoPackage("package");
    }

    [Fact]
    public void A_malicious_checkpoint_is_refused_without_running_it_and_nothing_is_written()
    {
        using var source = new OfficialFormatCheckpoint(SmallVitL16, SmallClip, seed: 39);
        string marker = PathOf("executed");
        var checkpoint = source.LightningCheckpoint();
        checkpoint.Add("hyper_parameters", new PyCall(new PyGlobal("os", "system"), new PyTuple($"touch {marker}")));
        TorchCheckpointWriter.Save(checkpoint, PathOf("evil.ckpt"));

        var error = Assert.Throws<UnsafeCheckpointException>(() => OfficialCheckpointImporter.Import(PathOf("evil.ckpt"), _bpe, PathOf("package")));
        Assert.Equal("os.system", error.GlobalName);
        Assert.False(File.Exists(marker));
        AssertNoPackage("package");
    }

    [Fact]
    public void An_existing_output_is_not_replaced_unless_asked()
    {
        using var source = new OfficialFormatCheckpoint(SmallVitL16, SmallClip, seed: 40);
        TorchCheckpointWriter.Save(source.LightningCheckpoint(), PathOf("demo.ckpt"));
        Directory.CreateDirectory(PathOf("package"));
        File.WriteAllText(PathOf("package/keep.txt"), "mine");
        Assert.Throws<IOException>(() => OfficialCheckpointImporter.Import(PathOf("demo.ckpt"), _bpe, PathOf("package")));
        Assert.True(File.Exists(PathOf("package/keep.txt")));
    }

    private void AssertNoPackage(string name)
    {
        Assert.False(Directory.Exists(PathOf(name)));
        // Neither the exporter's partial package nor the importer's staging folder (both hidden siblings) survives.
        Assert.DoesNotContain(Directory.EnumerateFileSystemEntries(_directory), e => Path.GetFileName(e).StartsWith($".{name}.", StringComparison.Ordinal));
    }

    private static void AssertPackageMatches(OfficialFormatCheckpoint source, string package, int height, int width, int labels)
    {
        var random = new Random(height * 31 + width + labels);
        int[] pixelShape = [1, 3, height, width];
        float[] pixels = Enumerable.Range(0, 3 * height * width).Select(_ => (float)(random.NextDouble() * 255)).ToArray();
        var ids = ClipTokenIds.Random(labels, 77, seed: labels);

        using var pixelTensor = torch.tensor(pixels, [1, 3, height, width]);
        float[] expected = source.ReferenceLogits(pixelTensor, ids, out long[] expectedShape);
        float[] actual = ImportedPackageRunner.Logits(package, pixels, pixelShape, ids, out int[] actualShape);

        Assert.Equal(expectedShape, actualShape.Select(d => (long)d));
        float maxDifference = expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max();
        Assert.True(maxDifference <= Tolerance, $"max |Δlogit| = {maxDifference}");
    }
}

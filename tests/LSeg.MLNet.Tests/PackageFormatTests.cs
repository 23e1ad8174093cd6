using System.Text.Json.Nodes;
using LSeg.MLNet.Package;
using LSeg.MLNet.Tests.Packages;
using LSeg.MLNet.Text;
using LSeg.Training.Bridge.Export;
using LSeg.Training.Bridge.Network;
using static TorchSharp.torch;

namespace LSeg.MLNet.Tests;

/// <summary>
/// Package format 2 (pixel projection, MiniLM inside a minilm package) is what the exporter writes; format 1 packages
/// are still read, and <see cref="ModelPackageUpgrader"/> rewrites them at format 2 with the same weights.
/// </summary>
[Collection(TorchRandomCollection.Name)]
public sealed class PackageFormatTests : IDisposable
{
    private static readonly string[] Labels = ["sky", "grass", "road", "car", "person"];

    private readonly TemporaryDirectory _temp = new();
    private readonly LSegNet _net;

    public PackageFormatTests()
    {
        random.manual_seed(11);
        _net = LSegNet.Create(new LSegNetConfig { EmbeddingSize = 384, DecoderFeatures = 16 }, pretrainedBackbone: false);
        _net.eval();
    }

    public void Dispose()
    {
        _net.Dispose();
        _temp.Dispose();
    }

    private string Export(string name, ModelPackageExportOptions options)
    {
        string package = Path.Combine(_temp.Path, name);
        ModelPackageExporter.Export(_net, package, options);
        return package;
    }

    [Fact]
    public void A_minilm_package_carries_MiniLM_whose_label_embeddings_are_those_of_the_SentenceTransformers_DLL()
    {
        string fp32 = Export("minilm-fp32", new ModelPackageExportOptions { DefaultInputSize = 96 });
        string fp16 = Export("minilm-fp16", new ModelPackageExportOptions { DefaultInputSize = 96, StoreWeightsAsFloat16 = true });
        string[] labels = ["cat", "wall", "a photo of a bicycle", "sidewalk", "other"];

        using var fromDll = MiniLmTextEncoder.Create();
        var expected = fromDll.Encode(labels);
        foreach (var (package, maxOneMinusCosine) in new[] { (fp32, 1e-6), (fp16, 2e-6) })
        {
            using var model = LanguageSegmentationModel.Load(package);
            Assert.Equal(("text_encoder.onnx", "vocab.txt"), (model.Manifest.TextEncoder.Graph, model.Manifest.TextEncoder.Tokenizer));
            var fromPackage = model.EncodeLabels(labels);
            for (int i = 0; i < labels.Length; i++)
            {
                double cosine = fromPackage.Buffer.AsSpan(i * 384, 384).ToArray().Zip(expected[i], (a, b) => (double)a * b).Sum();
                Assert.True(1 - cosine <= maxOneMinusCosine, $"{Path.GetFileName(package)}, '{labels[i]}': cosine {cosine:F9} with the DLL's embedding");
            }
        }
        // Float16 storage halves the text encoder too.
        double ratio = (double)new FileInfo(Path.Combine(fp16, "text_encoder.onnx")).Length / new FileInfo(Path.Combine(fp32, "text_encoder.onnx")).Length;
        Assert.InRange(ratio, 0.45, 0.55);
    }

    [Fact]
    public void Without_IncludeMiniLm_a_minilm_package_names_no_text_encoder_graph()
    {
        string package = Export("no-minilm", new ModelPackageExportOptions { DefaultInputSize = 96, IncludeMiniLm = false });

        var manifest = ModelManifest.ReadVerified(package);

        Assert.Null(manifest.TextEncoder.Graph);
        Assert.False(File.Exists(Path.Combine(package, "text_encoder.onnx")));
    }

    [Fact]
    public void An_upgrade_without_MiniLM_leaves_a_minilm_package_to_the_SentenceTransformers_DLL_and_labels_encode_as_before()
    {
        string version1 = Export("v1-minilm", new ModelPackageExportOptions { DefaultInputSize = 96, IncludeMiniLm = false });
        PackageFormats.AsVersion1(version1);
        string upgraded = Path.Combine(_temp.Path, "v2-minilm");

        var manifest = ModelPackageUpgrader.Upgrade(version1, upgraded, includeMiniLm: false);

        Assert.Equal((2, null), (manifest.FormatVersion, manifest.TextEncoder.Graph));
        Assert.False(File.Exists(Path.Combine(upgraded, "text_encoder.onnx")));
        using var before = LanguageSegmentationModel.Load(version1);
        using var after = LanguageSegmentationModel.Load(upgraded);
        Assert.Equal(before.EncodeLabels(Labels).Values.ToArray(), after.EncodeLabels(Labels).Values.ToArray());
    }

    [Fact]
    public void An_upgraded_version_1_package_is_version_2_and_segments_exactly_as_before()
    {
        var generator = new Random(5);
        string table = Path.Combine(_temp.Path, "labels.json");
        File.WriteAllText(table, System.Text.Json.JsonSerializer.Serialize(Labels.ToDictionary(l => l, _ => Enumerable.Range(0, 384).Select(_ => (float)(generator.NextDouble() * 2 - 1)).ToArray())));
        string version1 = Export("v1", new ModelPackageExportOptions
        {
            Name = "old", DefaultInputSize = 96, StoreWeightsAsFloat16 = true,
            TextEncoder = new TextEncoderInfo { Kind = "table", Table = "labels.json" }, AdditionalFiles = { ["labels.json"] = table },
            Provenance = { ["trainedOn"] = "nothing" },
        });
        PackageFormats.AsVersion1(version1);
        string upgraded = Path.Combine(_temp.Path, "v2");

        var manifest = ModelPackageUpgrader.Upgrade(version1, upgraded);

        Assert.Equal(1, ModelManifest.ReadVerified(version1).FormatVersion);
        Assert.Equal((2, "pixel_projection.onnx", "old", "nothing"), (manifest.FormatVersion, manifest.Graphs.PixelProjection, manifest.Name, manifest.Provenance["trainedOn"]));
        Assert.Equal("package format 1", manifest.Provenance["upgradedFrom"]);
        Assert.Equal(File.ReadAllBytes(table), File.ReadAllBytes(Path.Combine(upgraded, "labels.json")));
        // The weights keep their float16 storage: the image encoder graph is the same size.
        Assert.Equal(new FileInfo(Path.Combine(version1, "image_encoder.onnx")).Length, new FileInfo(Path.Combine(upgraded, "image_encoder.onnx")).Length);
        using var before = LanguageSegmentationModel.Load(version1);
        using var after = LanguageSegmentationModel.Load(upgraded);
        using var image = TestImages.ColourBlocks(128, 96, seed: 8);
        var oneShotBefore = before.Segment(image, Labels);
        var oneShotAfter = after.Segment(image, Labels);
        Assert.Equal(oneShotBefore.Mask, oneShotAfter.Mask);
        // Version 2's one-shot path runs the C# head on the projected features (version 1's runs the head graph), so
        // the scores agree to float rounding rather than bit for bit.
        Assert.Equal(oneShotBefore.Scores.Length, oneShotAfter.Scores.Length);
        for (int i = 0; i < oneShotBefore.Scores.Length; i++)
            Assert.Equal(oneShotBefore.Scores[i], oneShotAfter.Scores[i], 1e-5f);
        // The label change runs on the 16-wide features instead of the 384-wide embeddings: the same mask within a pixel.
        var changedBefore = before.Segment(before.EncodeImage(image), before.EncodeLabels(Labels));
        var changedAfter = after.Segment(after.EncodeImage(image), after.EncodeLabels(Labels));
        Assert.Equal(16, after.EncodeImage(image).Grid!.Channels);
        Assert.True(changedBefore.Mask.Zip(changedAfter.Mask).Count(p => p.First != p.Second) <= 1, "the label change path differs after the upgrade");
    }

    /// <summary>A manifest that passes every check: both graphs listed in files.</summary>
    private static JsonObject ValidManifest() => JsonNode.Parse(new ModelManifest
    {
        EmbeddingSize = 8,
        Files = new() { ["image_encoder.onnx"] = new PackageFile { Bytes = 1, Sha256 = "00" }, ["head.onnx"] = new PackageFile { Bytes = 1, Sha256 = "00" } },
    }.ToJson())!.AsObject();

    // Each edit would otherwise load: a temperature below zero negates every logit (the least similar label wins), zero
    // or a null section fails later with a NullReferenceException or inside ONNX Runtime, and a graph missing from files
    // (or outside the package) is loaded without its sha256 being checked.
    [Theory]
    [InlineData("temperature", "-0.07", "temperature -0.07")]
    [InlineData("temperature", "0", "temperature 0")]
    [InlineData("inputSizeMultiple", "0", "inputSizeMultiple 0")]
    [InlineData("embeddingStride", "0", "embeddingStride 0")]
    [InlineData("defaultInputSize", "4096", "defaultInputSize 4096")]
    [InlineData("textEncoder", "null", "sets a section to null")]
    [InlineData("graphs", "null", "sets a section to null")]
    [InlineData("files", "null", "sets a section to null")]
    [InlineData("files", """{"image_encoder.onnx": {"bytes": 1, "sha256": "00"}}""", "names 'head.onnx' as graphs.head but does not list it in files")]
    [InlineData("files", """{"image_encoder.onnx": {"bytes": 1, "sha256": "00"}, "head.onnx": null}""", "lists 'head.onnx' in files without")]
    [InlineData("graphs", """{"imageEncoder": "image_encoder.onnx", "head": "../head.onnx"}""", "names '../head.onnx' in graphs.head")]
    [InlineData("graphs", """{"imageEncoder": "/tmp/image_encoder.onnx", "head": "head.onnx"}""", "names '/tmp/image_encoder.onnx' in graphs.imageEncoder")]
    [InlineData("graphs", """{"imageEncoder": "image_encoder.onnx", "head": null}""", "has no graphs.head")]
    public void A_manifest_the_model_could_not_use_as_written_is_refused_naming_the_field(string field, string value, string expected)
    {
        var manifest = ValidManifest();
        manifest[field] = JsonNode.Parse(value);

        var error = Assert.Throws<InvalidDataException>(() => ModelManifest.FromJson(manifest.ToJsonString()));

        Assert.Contains(expected, error.Message);
        ModelManifest.FromJson(ValidManifest().ToJsonString()); // the unedited manifest passes
    }

    [Fact]
    public void A_version_1_manifest_that_names_a_pixel_projection_is_refused()
    {
        string json = new ModelManifest { FormatVersion = 1, EmbeddingSize = 8, Graphs = new GraphFiles { PixelProjection = "pixel_projection.onnx" } }.ToJson();

        var error = Assert.Throws<InvalidDataException>(() => ModelManifest.FromJson(json));

        Assert.Contains("format version 2", error.Message);
    }

    [Fact]
    public void A_manifest_of_a_newer_format_that_changed_a_field_says_to_update_not_that_it_is_malformed()
    {
        var manifest = ValidManifest();
        manifest["formatVersion"] = ModelManifest.CurrentFormatVersion + 1;
        manifest["labelLogitOffsets"] = JsonNode.Parse("""{"other": {"offset": 2, "rule": "catch-all"}}"""); // what a later format might write

        var error = Assert.Throws<InvalidDataException>(() => ModelManifest.FromJson(manifest.ToJsonString()));

        Assert.Contains($"has package format version {ModelManifest.CurrentFormatVersion + 1}; this library reads versions 1 to {ModelManifest.CurrentFormatVersion}. Update LSeg.MLNet", error.Message);
    }

    [Theory]
    [InlineData(null, "has no formatVersion")]
    [InlineData("\"7\"", "gives formatVersion \"7\"; it must be a whole number")]
    [InlineData("2.5", "gives formatVersion 2.5; it must be a whole number")]
    [InlineData("0", "has package format version 0; versions start at 1")] // not "update LSeg.MLNet": no update reads it
    public void A_manifest_without_a_whole_format_version_is_refused_rather_than_read_as_the_current_one(string? version, string expected)
    {
        var manifest = ValidManifest();
        if (version is null)
            manifest.Remove("formatVersion");
        else
            manifest["formatVersion"] = JsonNode.Parse(version);

        var error = Assert.Throws<InvalidDataException>(() => ModelManifest.FromJson(manifest.ToJsonString()));

        Assert.Contains(expected, error.Message);
    }

    [Theory]
    [InlineData("../outside.bin", 8, "outside the package folder")]
    [InlineData("{absolute}", 8, "outside the package folder")]
    [InlineData("weights.bin", 9, "reads 9 bytes at offset 0 of 'weights.bin', which holds 8")]
    public void External_data_outside_the_graphs_folder_or_its_file_is_refused(string location, int length, string expected)
    {
        string folder = Path.Combine(_temp.Path, "external-" + Guid.NewGuid().ToString("N")[..8]);
        string package = Path.Combine(folder, "package");
        Directory.CreateDirectory(package);
        File.WriteAllBytes(Path.Combine(folder, "outside.bin"), new byte[8]); // a file of the machine, not of the package
        File.WriteAllBytes(Path.Combine(package, "weights.bin"), [1, 2, 3, 4, 5, 6, 7, 8]);
        string graph = Path.Combine(package, "pixel_projection.onnx");
        WriteGraphWithExternalWeight(graph, location.Replace("{absolute}", Path.Combine(folder, "outside.bin")), length);

        var error = Assert.Throws<InvalidDataException>(() => Pipeline.SegmentationGraph.ReadWithExternalData(graph));

        Assert.Contains(expected, error.Message);
        WriteGraphWithExternalWeight(graph, "weights.bin", 8);
        Assert.Equal([1, 2, 3, 4, 5, 6, 7, 8], Pipeline.SegmentationGraph.ReadWithExternalData(graph).Graph.Initializer[0].RawData.ToByteArray());
    }

    private static void WriteGraphWithExternalWeight(string path, string location, int length)
    {
        var tensor = new Onnx.TensorProto { Name = "weight", DataType = (int)Onnx.TensorProto.Types.DataType.Float, DataLocation = Onnx.TensorProto.Types.DataLocation.External };
        tensor.Dims.Add(2);
        tensor.ExternalData.Add(new Onnx.StringStringEntryProto { Key = "location", Value = location });
        tensor.ExternalData.Add(new Onnx.StringStringEntryProto { Key = "length", Value = length.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        var model = new Onnx.ModelProto { Graph = new Onnx.GraphProto { Name = "projection" } };
        model.Graph.Initializer.Add(tensor);
        File.WriteAllBytes(path, Google.Protobuf.MessageExtensions.ToByteArray(model));
    }
}

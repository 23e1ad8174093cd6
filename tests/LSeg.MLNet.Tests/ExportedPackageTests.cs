using LSeg.MLNet.Runtime;
using LSeg.MLNet.Tests.MLNet;
using LSeg.MLNet.Tests.Packages;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace LSeg.MLNet.Tests;

/// <summary>
/// A package written by the exporter must segment as the TorchSharp network it came from: the argmax of
/// <c>LSegNet.forward</c> at the model input size is the independent truth, for the low-level API and ML.NET.
/// </summary>
[Collection(TorchRandomCollection.Name)]
public sealed class ExportedPackageTests(ExportedPackageFixture fixture) : IClassFixture<ExportedPackageFixture>
{
    private static double Agreement(IReadOnlyList<long> expected, IReadOnlyList<long> actual) =>
        (double)expected.Zip(actual).Count(p => p.First == p.Second) / expected.Count;

    [Fact]
    public void The_low_level_api_matches_the_TorchSharp_forward_at_the_model_input_size()
    {
        // 160 × 96 is already a multiple of 32 at input size 160: no resize, so the pixels are the same on both sides.
        using var image = TestImages.ColourBlocks(160, 96, seed: 11);
        string[] labels = ["sky", "grass", "road", "car", "person"];

        var result = fixture.Model.Segment(fixture.Model.EncodeImage(image, 160), fixture.Model.EncodeLabels(labels));
        var truth = fixture.TorchLabelMap(ImagePixels.ToPlanarRgb(image, 160, 96), 160, 96, labels);

        double agreement = Agreement(truth, result.Mask.Select(m => (long)m).ToArray());
        Assert.True(agreement >= 0.999, $"{agreement:P3} of pixels agree with TorchSharp");
        Assert.True(result.PixelCounts.Count(c => c > 0) >= 2, "a random network should still use several labels");
    }

    [Fact]
    public void A_label_change_on_an_encoded_image_matches_the_TorchSharp_forward_with_the_new_labels()
    {
        using var image = TestImages.ColourBlocks(128, 128, seed: 12);
        var encoded = fixture.Model.EncodeImage(image, 128);
        string[] labels = ["tree", "car", "sky"];

        fixture.Model.Segment(encoded, fixture.Model.EncodeLabels(["sky", "grass"]));
        var changed = fixture.Model.Segment(encoded, fixture.Model.EncodeLabels(labels));
        var truth = fixture.TorchLabelMap(ImagePixels.ToPlanarRgb(image, 128, 128), 128, 128, labels);

        Assert.True(Agreement(truth, changed.Mask.Select(m => (long)m).ToArray()) >= 0.999);
    }

    [Fact]
    public void SegmentInto_runs_the_head_graph_when_the_package_has_spatial_blocks_and_matches_the_TorchSharp_forward()
    {
        using var image = TestImages.ColourBlocks(128, 96, seed: 13);
        var encoded = fixture.Model.EncodeImage(image, 128);
        string[] labels = ["tree", "car", "sky", "road"];
        var mask = new int[128 * 96];
        var counts = new long[labels.Length];

        fixture.Model.SegmentInto(encoded, fixture.Model.EncodeLabels(labels), mask, new float[mask.Length], counts);
        var truth = fixture.TorchLabelMap(ImagePixels.ToPlanarRgb(image, 128, 96), 128, 96, labels);

        Assert.True(Agreement(truth, mask.Select(m => (long)m).ToArray()) >= 0.999);
        Assert.Equal(Enumerable.Range(0, labels.Length).Select(l => (long)mask.Count(m => m == l)), counts);
    }

    [Theory]
    [InlineData(64 * 48 - 1, 64 * 48, 3, "mask")]
    [InlineData(64 * 48, 64 * 48 + 1, 3, "scores")]
    [InlineData(64 * 48, 64 * 48, 2, "pixelCounts")]
    public void SegmentInto_rejects_a_buffer_of_the_wrong_length_and_names_it(int maskLength, int scoresLength, int countsLength, string parameter)
    {
        using var image = TestImages.ColourBlocks(64, 48, seed: 14);
        var encoded = fixture.Model.EncodeImage(image, 64);
        var labels = fixture.Model.EncodeLabels(["tree", "car", "sky"]);

        var error = Assert.Throws<ArgumentException>(() =>
            fixture.Model.SegmentInto(encoded, labels, new int[maskLength], new float[scoresLength], new long[countsLength]));

        Assert.Equal(parameter, error.ParamName);
        Assert.Contains("exactly", error.Message);
    }

    [Fact]
    public void The_ML_NET_pipeline_matches_the_TorchSharp_forward_and_survives_save_and_load()
    {
        var context = new MLContext();
        string folder = Path.Combine(fixture.TempPath, "images-" + Guid.NewGuid().ToString("N")[..6]);
        Directory.CreateDirectory(folder);
        using (var image = TestImages.ColourBlocks(96, 96, seed: 13))
            image.Save(Path.Combine(folder, "noise.png"));
        var table = context.Data.LoadFromEnumerable(new[] { new ImageFileRow { ImagePath = "noise.png" } });
        var data = context.Transforms.LoadImages("Image", folder, nameof(ImageFileRow.ImagePath)).Fit(table).Transform(table);
        string[] labels = ["person", "road", "tree", "grass"];
        using var transformer = context.Transforms.LanguageSegment(labels, model: fixture.Model).Fit(data);

        var mask = context.Data.CreateEnumerable<SegmentationRow>(transformer.Transform(data), false).Single().Mask;
        using var saved = MLImage.CreateFromFile(Path.Combine(folder, "noise.png"));
        var truth = fixture.TorchLabelMap(ImagePixels.ToPlanarRgb(saved, 96, 96), 96, 96, labels);
        string zip = Path.Combine(folder, "model.zip");
        context.Model.Save(transformer, data.Schema, zip);
        var reloaded = new MLContext().Model.Load(zip, out _);
        var reloadedMask = context.Data.CreateEnumerable<SegmentationRow>(reloaded.Transform(data), false).Single().Mask;

        // Default input size 96 (from the manifest) equals the image: ResizeImages passes it through unchanged.
        Assert.True(Agreement(truth, mask.Select(k => (long)k - 1).ToArray()) >= 0.999);
        Assert.Equal(mask, reloadedMask);
    }

    [Fact]
    public void A_manifest_whose_temperature_differs_from_the_head_graphs_is_refused_at_load_naming_both()
    {
        // The C# head takes the temperature from the manifest, the head graph (and so ML.NET) from its own constant: a
        // manifest edited alone gave the low-level API and the pipeline different masks.
        string package = Path.Combine(fixture.TempPath, "edited-temperature-" + Guid.NewGuid().ToString("N")[..6]);
        Directory.CreateDirectory(package);
        foreach (string file in Directory.GetFiles(fixture.PackagePath))
            File.Copy(file, Path.Combine(package, Path.GetFileName(file)));
        string manifestPath = Path.Combine(package, Package.ModelManifest.FileName);
        string manifest = File.ReadAllText(manifestPath);
        Assert.Contains("\"temperature\": 0.07,", manifest);
        File.WriteAllText(manifestPath, manifest.Replace("\"temperature\": 0.07,", "\"temperature\": 0.14,", StringComparison.Ordinal));

        var error = Assert.Throws<InvalidDataException>(() => LanguageSegmentationModel.Load(package));

        Assert.Contains("temperature 0.14", error.Message);
        Assert.Contains("divides by 0.07:", error.Message);
    }

    [Fact]
    public void A_package_with_float16_weights_gives_the_same_masks_in_ML_NET_as_in_the_low_level_api()
    {
        // ML.NET's ApplyOnnxModel cannot read float16 initializers; the composed graph holds them as Constant nodes.
        string package = Path.Combine(fixture.TempPath, "fp16-" + Guid.NewGuid().ToString("N")[..6]);
        Training.Bridge.Export.ModelPackageExporter.Export(fixture.Net, package, new Training.Bridge.Export.ModelPackageExportOptions
        {
            DefaultInputSize = 96,
            StoreWeightsAsFloat16 = true,
            TextEncoder = new Package.TextEncoderInfo { Kind = "table", Table = "labels.json" },
            AdditionalFiles = { ["labels.json"] = Path.Combine(fixture.PackagePath, "labels.json") },
        });
        using var model = LanguageSegmentationModel.Load(package);
        var context = new MLContext();
        string folder = Path.Combine(fixture.TempPath, "fp16-images-" + Guid.NewGuid().ToString("N")[..6]);
        Directory.CreateDirectory(folder);
        using (var image = TestImages.ColourBlocks(96, 96, seed: 14))
            image.Save(Path.Combine(folder, "noise.png"));
        var table = context.Data.LoadFromEnumerable(new[] { new ImageFileRow { ImagePath = "noise.png" } });
        var data = context.Transforms.LoadImages("Image", folder, nameof(ImageFileRow.ImagePath)).Fit(table).Transform(table);
        string[] labels = ["sky", "car", "tree"];

        using var transformer = context.Transforms.LanguageSegment(labels, model: model).Fit(data);
        var mask = context.Data.CreateEnumerable<SegmentationRow>(transformer.Transform(data), false).Single().Mask;
        using var saved = MLImage.CreateFromFile(Path.Combine(folder, "noise.png"));
        var lowLevel = model.Segment(model.EncodeImage(saved, 96), model.EncodeLabels(labels)).Mask;

        Assert.True(Agreement(lowLevel.Select(m => (long)m).ToArray(), mask.Select(k => (long)k - 1).ToArray()) >= 0.999);
        // Kept at float16 (not widened, which doubled the graph ML.NET parses and Model.Save writes): as Constant nodes.
        var encoder = Pipeline.SegmentationGraph.ReadWithExternalData(model.ImageEncoderPath);
        var composed = Pipeline.SegmentationGraph.Compose(encoder, Pipeline.SegmentationGraph.ReadWithExternalData(model.HeadPath), 96, model.Manifest.EmbeddingSize);
        int float16Weights = encoder.Graph.Initializer.Count(t => t.DataType == (int)Onnx.TensorProto.Types.DataType.Float16);
        Assert.True(float16Weights > 0);
        Assert.DoesNotContain(composed.Graph.Initializer, t => t.DataType == (int)Onnx.TensorProto.Types.DataType.Float16);
        Assert.True(composed.Graph.Node.Count(n => n.OpType == "Constant" && n.Attribute.Single().T.DataType == (int)Onnx.TensorProto.Types.DataType.Float16) >= float16Weights);
    }
}

using System.Text.Json;
using LSeg.MLNet.Head;
using LSeg.MLNet.Package;
using LSeg.MLNet.Runtime;
using LSeg.MLNet.Tests.Packages;
using LSeg.Training.Bridge.Export;
using LSeg.Training.Bridge.Network;
using Microsoft.ML.Data;
using static TorchSharp.torch;
using WordPixelCorrelation = LSeg.MLNet.Head.WordPixelCorrelation;

namespace LSeg.MLNet.Tests.Head;

/// <summary>
/// Without spatial regularisation the low-level API computes the head in C# (correlation on a grid made once per
/// encoded image, then ×2 bilinear upsampling and argmax): on the pre-projection features with the pixel projection
/// folded into the labels (package format 2), or on the embeddings (format 1). Each step must compute what the
/// TorchSharp network and the exported head graph compute.
/// </summary>
[Collection(TorchRandomCollection.Name)]
public sealed class CorrelationHeadTests : IDisposable
{
    // 20 channels: not a multiple of the vector width, so the scalar tail of the dot product is exercised.
    private const int Channels = 20;
    private static readonly string[] Labels = ["sky", "grass", "road", "car", "person", "tree", "water"];

    private readonly TemporaryDirectory _temp = new();
    private readonly LSegNet _net;
    private readonly Dictionary<string, float[]> _labelEmbeddings;
    private readonly LanguageSegmentationModel _model;
    private readonly LanguageSegmentationModel _version1Model;

    public CorrelationHeadTests()
    {
        random.manual_seed(5);
        _net = LSegNet.Create(new LSegNetConfig { EmbeddingSize = Channels, DecoderFeatures = 16 }, pretrainedBackbone: false);
        _net.eval();
        var generator = new Random(9);
        _labelEmbeddings = Labels.ToDictionary(l => l, _ => Enumerable.Range(0, Channels).Select(_ => (float)(generator.NextDouble() * 2 - 1)).ToArray());
        string table = Path.Combine(_temp.Path, "labels.json");
        File.WriteAllText(table, JsonSerializer.Serialize(_labelEmbeddings));
        string package = Path.Combine(_temp.Path, "package");
        ModelPackageExporter.Export(_net, package, new ModelPackageExportOptions
        {
            Name = "random-resnet18-no-spatial-block",
            DefaultInputSize = 96,
            TextEncoder = new Package.TextEncoderInfo { Kind = "table", Table = "labels.json" },
            AdditionalFiles = { ["labels.json"] = table },
        });
        _model = LanguageSegmentationModel.Load(package);
        string version1 = Path.Combine(_temp.Path, "package-v1");
        CopyDirectory(package, version1);
        PackageFormats.AsVersion1(version1);
        _version1Model = LanguageSegmentationModel.Load(version1);
    }

    private static void CopyDirectory(string source, string target)
    {
        Directory.CreateDirectory(target);
        foreach (string file in Directory.GetFiles(source))
            File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
    }

    private LanguageSegmentationModel ModelOfFormat(int version) => version == 1 ? _version1Model : _model;

    public void Dispose()
    {
        _model.Dispose();
        _version1Model.Dispose();
        _net.Dispose();
        _temp.Dispose();
    }

    [Fact]
    public void A_package_without_spatial_blocks_is_segmented_by_the_CSharp_head()
    {
        using var image = TestImages.ColourBlocks(64, 64, seed: 1);

        Assert.True(_model.HeadIsCorrelationOnly);
        Assert.NotNull(_model.EncodeImage(image).Grid);
    }

    [Fact]
    public void With_a_pixel_projection_the_grid_holds_the_decoder_features_and_without_it_the_embeddings()
    {
        using var image = TestImages.ColourBlocks(64, 64, seed: 1);

        // DecoderFeatures = 16 < Channels = 20: the format 2 grid is the narrower one.
        Assert.Equal(16, _model.EncodeImage(image).Grid!.Channels);
        Assert.Equal(Channels, _version1Model.EncodeImage(image).Grid!.Channels);
    }

    [Fact]
    public void MemoryBytes_counts_the_grid_and_its_norms_and_then_the_pixel_embeddings_once_rebuilt()
    {
        using var image = TestImages.ColourBlocks(64, 64, seed: 1);
        var projected = _model.EncodeImage(image, 64);
        var embeddings = _version1Model.EncodeImage(image, 64);
        long gridPixels = 32 * 32; // a 64-pixel input, embedding stride 2

        // Format 2 keeps the 16 decoder features per grid pixel, format 1 the 20 embedding values; each plus one norm.
        Assert.Equal((16 + 1) * gridPixels * sizeof(float), projected.MemoryBytes);
        Assert.Equal((Channels + 1) * gridPixels * sizeof(float), embeddings.MemoryBytes);
        _ = projected.PixelEmbeddings;
        Assert.Equal((16 + 1 + Channels) * gridPixels * sizeof(float), projected.MemoryBytes);
    }

    [Fact]
    public void The_largest_encoded_image_bytes_are_what_a_square_image_encoded_at_that_size_holds_and_a_wide_one_holds_less()
    {
        using var square = TestImages.ColourBlocks(80, 80, seed: 2);
        using var wide = TestImages.ColourBlocks(80, 40, seed: 3);

        // A 64-pixel input size: the square image gives a 32×32 grid, the 2:1 one a 32×16 grid.
        Assert.Equal(_model.EncodeImage(square, 64).MemoryBytes, _model.LargestEncodedImageBytes(64));
        Assert.Equal(_version1Model.EncodeImage(square, 64).MemoryBytes, _version1Model.LargestEncodedImageBytes(64));
        Assert.True(_model.EncodeImage(wide, 64).MemoryBytes < _model.LargestEncodedImageBytes(64));
        Assert.Throws<ArgumentOutOfRangeException>(() => _model.LargestEncodedImageBytes(0));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(1)]
    public void The_CSharp_head_gives_the_head_graphs_label_map_and_scores(int formatVersion)
    {
        var model = ModelOfFormat(formatVersion);
        using var image = TestImages.ColourBlocks(160, 96, seed: 2);
        var encoded = model.EncodeImage(image, 160);
        var labels = model.EncodeLabels(Labels);

        var result = model.Segment(encoded, labels);
        // The truth is head.onnx itself, run on the image encoder's own output (ComputeLogits always runs the graph; a
        // one-shot Segment would run the C# head too for a package with a pixel projection, comparing it with itself).
        var (logits, width, height) = model.ComputeLogits(image, labels, 160);
        var (graphMask, _) = HeadTruth.ArgMax(logits, Labels.Length);
        int plane = width * height;
        float[] graphScores = [.. Enumerable.Range(0, plane).Select(p => Enumerable.Range(0, Labels.Length).Max(l => logits[l * plane + p]))];

        Assert.Equal((160, 96), (width, height));
        int agree = result.Mask.Zip(graphMask).Count(p => p.First == p.Second);
        Assert.True(agree >= result.Mask.Length - 1, $"{result.Mask.Length - agree} of {result.Mask.Length} pixels differ from the head graph");
        double worst = result.Scores.Zip(graphScores).Max(p => Math.Abs(p.First - p.Second));
        Assert.True(worst <= 1e-4, $"scores differ from the head graph by up to {worst:G3}");
        Assert.True(result.PixelCounts.Count(c => c > 0) >= 3, "random weights should still use several labels");
    }

    [Theory]
    [InlineData(2)]
    [InlineData(1)]
    public void The_CSharp_head_matches_the_TorchSharp_forward_after_a_label_change(int formatVersion)
    {
        var model = ModelOfFormat(formatVersion);
        using var image = TestImages.ColourBlocks(128, 96, seed: 3);
        var encoded = model.EncodeImage(image, 128);
        string[] labels = ["water", "car", "sky", "grass", "tree"];

        model.Segment(encoded, model.EncodeLabels(["road", "person"]));
        var changed = model.Segment(encoded, model.EncodeLabels(labels));

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var pixels = tensor(ImagePixels.ToPlanarRgb(image, 128, 96), [1, 3, 96, 128]);
        var embeddings = tensor(labels.SelectMany(l => _labelEmbeddings[l]).ToArray(), [labels.Length, Channels]);
        var truth = _net.forward(pixels, embeddings).argmax(1).flatten().data<long>().ToArray();
        double agreement = (double)truth.Zip(changed.Mask).Count(p => p.First == p.Second) / truth.Length;
        Assert.True(agreement >= 0.999, $"{agreement:P3} of pixels agree with TorchSharp");
    }

    [Fact]
    public void SegmentInto_writes_the_label_change_into_the_callers_buffers_and_reuses_them_across_changes()
    {
        using var image = TestImages.ColourBlocks(128, 96, seed: 4);
        var encoded = _model.EncodeImage(image, 128);
        var mask = new int[128 * 96];
        var scores = new float[mask.Length];
        string[] first = ["road", "person"];
        string[] labels = ["water", "car", "sky", "grass", "tree"];

        _model.SegmentInto(encoded, _model.EncodeLabels(first), mask, scores, new long[first.Length]);
        var counts = new long[labels.Length];
        _model.SegmentInto(encoded, _model.EncodeLabels(labels), mask, scores, counts);

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var pixels = tensor(ImagePixels.ToPlanarRgb(image, 128, 96), [1, 3, 96, 128]);
        var embeddings = tensor(labels.SelectMany(l => _labelEmbeddings[l]).ToArray(), [labels.Length, Channels]);
        var logits = _net.forward(pixels, embeddings);
        var truth = logits.argmax(1).flatten().data<long>().ToArray();
        var truthScores = logits.max(1).values.flatten().data<float>().ToArray();
        double agreement = (double)truth.Zip(mask).Count(p => p.First == p.Second) / truth.Length;
        Assert.True(agreement >= 0.999, $"{agreement:P3} of pixels agree with TorchSharp");
        double worst = scores.Zip(truthScores).Max(p => Math.Abs(p.First - p.Second));
        Assert.True(worst <= 1e-3, $"scores differ from TorchSharp's winning logits by up to {worst:G3}");
        Assert.Equal(Enumerable.Range(0, labels.Length).Select(l => (long)mask.Count(m => m == l)), counts);
    }

    [Fact]
    public void SegmentInto_maps_back_to_an_original_size_that_is_not_the_model_input_like_Segment()
    {
        // 150 × 90 resizes to 160 × 96 at input size 160: the buffers hold the original pixels.
        using var image = TestImages.ColourBlocks(150, 90, seed: 6);
        var encoded = _model.EncodeImage(image, 160);
        var labels = _model.EncodeLabels(Labels);
        var mask = new int[150 * 90];
        var scores = new float[mask.Length];
        var counts = new long[Labels.Length];

        _model.SegmentInto(encoded, labels, mask, scores, counts);
        var result = _model.Segment(encoded, labels);

        Assert.Equal(result.Mask, mask);
        Assert.Equal(result.Scores, scores);
        Assert.Equal(result.PixelCounts, counts);
        Assert.Equal(150L * 90, counts.Sum());
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(4, 8)]
    [InlineData(7, 9)]
    [InlineData(13, 5)]
    public void Correlation_logits_are_the_cosine_over_the_temperature_of_TorchSharp(int labelCount, int pixelsWide)
    {
        // An odd pixel count and label counts around the 4-label blocking cover every remainder path.
        int height = 3, width = pixelsWide, channels = 37;
        var generator = new Random(labelCount * 100 + pixelsWide);
        var planar = Enumerable.Range(0, channels * height * width).Select(_ => (float)(generator.NextDouble() * 4 - 2)).ToArray();
        var labels = Enumerable.Range(0, labelCount * channels).Select(_ => (float)(generator.NextDouble() * 2 - 1)).ToArray();

        var grid = PixelGrid.FromEmbeddings(planar, channels, height, width);
        var logits = WordPixelCorrelation.Logits(grid, WordPixelCorrelation.PrepareLabels(labels, labelCount, channels, 0.07f, projection: null));

        using var scope = NewDisposeScope();
        var correlation = new Training.Bridge.Network.WordPixelCorrelation(0.07);
        var expected = correlation.forward(tensor(planar, [1, channels, height, width]), tensor(labels, [labelCount, channels]))
            .permute(0, 2, 3, 1).flatten().data<float>().ToArray();
        Assert.Equal(expected.Length, logits.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - logits[i]) <= 1e-4, $"logit {i}: {logits[i]} vs TorchSharp {expected[i]}");
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(6, 7)]
    public void With_the_projection_folded_into_the_labels_the_logits_are_those_of_the_projected_embeddings(int labelCount, int pixelsWide)
    {
        int height = 2, width = pixelsWide, channels = 37, features = 13;
        var generator = new Random(labelCount * 10 + pixelsWide);
        float[] Random(int count, double scale) => Enumerable.Range(0, count).Select(_ => (float)((generator.NextDouble() * 2 - 1) * scale)).ToArray();
        var weight = Random(channels * features, 0.5);
        var bias = Random(channels, 1);
        var planarFeatures = Random(features * height * width, 2);
        var labels = Random(labelCount * channels, 1);
        // e = W f + b per pixel, computed here in double: the embeddings the head graph would correlate.
        int pixels = height * width;
        var planarEmbeddings = new float[channels * pixels];
        for (int c = 0; c < channels; c++)
            for (int p = 0; p < pixels; p++)
                planarEmbeddings[c * pixels + p] = (float)(bias[c] + Enumerable.Range(0, features).Sum(f => (double)weight[c * features + f] * planarFeatures[f * pixels + p]));

        var grid = PixelGrid.FromFeatures(planarFeatures, features, planarEmbeddings, channels, height, width);
        var projection = new PixelProjection(weight, bias, channels, features);
        var logits = WordPixelCorrelation.Logits(grid, WordPixelCorrelation.PrepareLabels(labels, labelCount, channels, 0.07f, projection));

        using var scope = NewDisposeScope();
        var correlation = new Training.Bridge.Network.WordPixelCorrelation(0.07);
        var expected = correlation.forward(tensor(planarEmbeddings, [1, channels, height, width]), tensor(labels, [labelCount, channels]))
            .permute(0, 2, 3, 1).flatten().data<float>().ToArray();
        Assert.Equal(expected.Length, logits.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - logits[i]) <= 1e-4, $"logit {i}: {logits[i]} vs TorchSharp {expected[i]}");
    }

    [Theory]
    [InlineData(5, 7, 6)]
    [InlineData(1, 4, 3)]
    [InlineData(6, 1, 2)]
    [InlineData(24, 40, 9)]
    [InlineData(12, 20, 8)]
    [InlineData(10, 14, 17)]
    [InlineData(7, 9, 33)]
    public void Upsampling_and_argmax_match_TorchSharp_interpolate_with_align_corners(int height, int width, int labelCount)
    {
        var generator = new Random(height * 31 + width);
        // Independent random logits: neighbours mostly disagree, so nearly every output pixel interpolates all labels.
        var logits = Enumerable.Range(0, height * width * labelCount).Select(_ => (float)(generator.NextDouble() * 10)).ToArray();

        AssertUpsamplingMatchesTorchSharp(logits, height, width, labelCount);
    }

    [Theory]
    [InlineData(8)]
    [InlineData(17)]
    [InlineData(3)]
    public void Interpolated_ties_go_to_the_first_label_as_TorchSharps_argmax(int labelCount)
    {
        var generator = new Random(labelCount);
        // Logits of 0, 1 or 2: many labels tie at a corner and their blends tie exactly between corners, across and
        // within SIMD registers of labels; argmax must still pick the first of the tied labels.
        const int height = 11, width = 13;
        var logits = Enumerable.Range(0, height * width * labelCount).Select(_ => (float)generator.Next(3)).ToArray();

        AssertUpsamplingMatchesTorchSharp(logits, height, width, labelCount);
    }

    [Theory]
    [InlineData(30, 44, 5)]
    [InlineData(9, 13, 3)]
    public void Upsampling_and_argmax_match_TorchSharp_on_regions_with_sharp_borders(int height, int width, int labelCount)
    {
        var generator = new Random(height * 17 + width);
        // Label regions (diagonal bands) with small noise: most cells agree at all four corners (the shortcut), the
        // borders between bands interpolate all labels.
        var logits = new float[height * width * labelCount];
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                int region = (x / 5 + y / 4) % labelCount;
                for (int k = 0; k < labelCount; k++)
                    logits[(y * width + x) * labelCount + k] = (k == region ? 4f : 0f) + (float)generator.NextDouble();
            }
        }

        AssertUpsamplingMatchesTorchSharp(logits, height, width, labelCount);
    }

    [Fact]
    public void The_grid_winners_computed_with_the_correlation_are_the_argmax_of_its_logits()
    {
        var generator = new Random(11);
        const int channels = 12, labelCount = 7, height = 9, width = 150;
        var planar = Enumerable.Range(0, channels * height * width).Select(_ => (float)(generator.NextDouble() * 2 - 1)).ToArray();
        var labels = Enumerable.Range(0, labelCount * channels).Select(_ => (float)(generator.NextDouble() * 2 - 1)).ToArray();
        var grid = PixelGrid.FromEmbeddings(planar, channels, height, width);
        var logits = new float[height * width * labelCount];
        var winners = new int[height * width];

        WordPixelCorrelation.Logits(grid, WordPixelCorrelation.PrepareLabels(labels, labelCount, channels, 0.07f, projection: null), logits, winners);

        for (int p = 0; p < winners.Length; p++)
        {
            var row = logits.AsSpan(p * labelCount, labelCount).ToArray();
            Assert.Equal(Array.IndexOf(row, row.Max()), winners[p]);
        }
    }

    private static void AssertUpsamplingMatchesTorchSharp(float[] logits, int height, int width, int labelCount)
    {
        var (labelMap, scores) = LogitUpsampling.ArgMaxAtTwiceTheSize(logits, height, width, labelCount);

        using var scope = NewDisposeScope();
        var planar = tensor(logits, [1, height, width, labelCount]).permute(0, 3, 1, 2);
        var upsampled = nn.functional.interpolate(planar, size: [2 * height, 2 * width], mode: InterpolationMode.Bilinear, align_corners: true);
        var expectedMap = upsampled.argmax(1).flatten().data<long>().ToArray();
        var expectedScores = upsampled.amax([1]).flatten().data<float>().ToArray();
        Assert.Equal(expectedMap.Select(v => (int)v), labelMap);
        for (int i = 0; i < scores.Length; i++)
            Assert.True(Math.Abs(expectedScores[i] - scores[i]) <= 1e-4, $"score {i}: {scores[i]} vs TorchSharp {expectedScores[i]}");

        // The label change's path: grid winners given, pixels per label counted while the map is written.
        var winners = Enumerable.Range(0, height * width).Select(p =>
        {
            var row = logits.AsSpan(p * labelCount, labelCount).ToArray();
            return Array.IndexOf(row, row.Max());
        }).ToArray();
        var map = new int[labelMap.Length];
        var counts = LogitUpsampling.ArgMaxAtTwiceTheSize(logits, winners, height, width, labelCount, map, new float[scores.Length]);
        Assert.Equal(labelMap, map);
        Assert.Equal(Enumerable.Range(0, labelCount).Select(k => (long)expectedMap.Count(v => v == k)), counts);
    }

    [Fact]
    public void The_planar_embeddings_are_rebuilt_exactly_from_an_embedding_grid()
    {
        var generator = new Random(4);
        var planar = Enumerable.Range(0, 9 * 4 * 5).Select(_ => (float)(generator.NextDouble() * 6 - 3)).ToArray();

        var rebuilt = PixelGrid.FromEmbeddings(planar, 9, 4, 5).ToPlanar();

        Assert.Equal(planar, rebuilt);
    }

    [Fact]
    public void With_a_pixel_projection_the_pixel_embeddings_are_the_image_encoders_within_float_rounding()
    {
        using var image = TestImages.ColourBlocks(96, 64, seed: 6);

        // The version 1 package has the same image encoder; its grid keeps the encoder's embeddings as they were.
        var projected = _model.EncodeImage(image, 96).PixelEmbeddings.ToArray();
        var encoderOutput = _version1Model.EncodeImage(image, 96).PixelEmbeddings.ToArray();

        Assert.Equal(encoderOutput.Length, projected.Length);
        for (int i = 0; i < projected.Length; i++)
            Assert.True(Math.Abs(projected[i] - encoderOutput[i]) <= 1e-5 * Math.Max(1, Math.Abs(encoderOutput[i])), $"value {i}: {projected[i]} vs {encoderOutput[i]}");
    }

    [Fact]
    public void The_pixel_embeddings_are_projected_with_the_graph_read_at_load_even_after_the_package_folder_went()
    {
        string copy = Path.Combine(_temp.Path, "package-removed-later");
        CopyDirectory(Path.Combine(_temp.Path, "package"), copy);
        using var model = LanguageSegmentationModel.Load(copy);
        using var image = TestImages.ColourBlocks(96, 64, seed: 6);
        var encoded = model.EncodeImage(image, 96);
        // What a temp cleaner does to an extracted package (or a re-export replacing the folder) while the model serves.
        Directory.Delete(copy, recursive: true);

        Assert.Equal(_model.EncodeImage(image, 96).PixelEmbeddings.ToArray(), encoded.PixelEmbeddings.ToArray());
    }

    [Fact]
    public void Labels_whose_logits_one_array_cannot_hold_are_refused_naming_the_count_and_the_grid()
    {
        // A 2048×2048 input gives a 1024×1024 grid: 2,048 labels need 2^31 logits, which wrapped to a negative int
        // (ArgumentOutOfRangeException from ArrayPool) and 4,096 to zero (IndexOutOfRangeException).
        var grid = PixelGrid.FromEmbeddings(new float[1024 * 1024], 1, 1024, 1024);

        Assert.Equal(1024 * 1024 * 2000, WordPixelCorrelation.LogitCount(grid, 2000));
        foreach (int labels in new[] { 2048, 4096 })
        {
            var error = Assert.Throws<ArgumentException>(() => WordPixelCorrelation.LogitCount(grid, labels));
            Assert.Equal("labels", error.ParamName);
            Assert.Contains($"{labels} scored labels on a 1024×1024 embedding grid", error.Message);
        }
    }

    [Fact]
    public void A_pixel_projection_graph_that_is_more_than_one_plain_convolution_is_refused_at_load()
    {
        // The label change folds W·x + b into the labels: a Relu after the Conv (or a strided Conv) in the graph would
        // give masks unlike the graph's own, silently.
        string package = Path.Combine(_temp.Path, "package");
        string withRelu = Path.Combine(_temp.Path, "package-relu"), strided = Path.Combine(_temp.Path, "package-strided");
        CopyDirectory(package, withRelu);
        CopyDirectory(package, strided);
        string file = ModelManifest.Read(package).Graphs.PixelProjection!;
        var graph = Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(package, file)));
        var relu = graph.Clone();
        var conv = relu.Graph.Node.Single(n => n.OpType == "Conv");
        string output = conv.Output[0];
        conv.Output[0] = "before_relu";
        relu.Graph.Node.Add(OnnxProtos.Node("Relu", "relu", ["before_relu"], [output]));
        PackageFormats.ReplaceFile(withRelu, file, Google.Protobuf.MessageExtensions.ToByteArray(relu));
        var stride = graph.Clone();
        stride.Graph.Node.Single(n => n.OpType == "Conv").Attribute.Add(new Onnx.AttributeProto { Name = "strides", Type = Onnx.AttributeProto.Types.AttributeType.Ints, Ints = { 2, 2 } });
        PackageFormats.ReplaceFile(strided, file, Google.Protobuf.MessageExtensions.ToByteArray(stride));

        Assert.Contains("holds Relu besides its Conv", Assert.Throws<InvalidDataException>(() => LanguageSegmentationModel.Load(withRelu)).Message);
        Assert.Contains("its Conv sets strides to [2,2]", Assert.Throws<InvalidDataException>(() => LanguageSegmentationModel.Load(strided)).Message);
        using var unedited = LanguageSegmentationModel.Load(package);
    }
}

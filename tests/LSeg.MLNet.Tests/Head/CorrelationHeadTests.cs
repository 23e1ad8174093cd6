using System.Text.Json;
using LSeg.MLNet.Head;
using LSeg.MLNet.Runtime;
using LSeg.MLNet.Tests.Packages;
using LSeg.Training.Bridge.Export;
using LSeg.Training.Bridge.Network;
using WordPixelCorrelation = LSeg.MLNet.Head.WordPixelCorrelation;
using Microsoft.ML.Data;
using static TorchSharp.torch;

namespace LSeg.MLNet.Tests.Head;

/// <summary>
/// Without spatial regularisation the low-level API computes the head in C# (correlation on a pre-normalised grid,
/// then ×2 bilinear upsampling and argmax). Each step must compute what the TorchSharp network and the exported head
/// graph compute.
/// </summary>
public sealed class CorrelationHeadTests : IDisposable
{
    // 20 channels: not a multiple of the vector width, so the scalar tail of the dot product is exercised.
    private const int Channels = 20;
    private static readonly string[] Labels = ["sky", "grass", "road", "car", "person", "tree", "water"];

    private readonly TemporaryDirectory _temp = new();
    private readonly LSegNet _net;
    private readonly Dictionary<string, float[]> _labelEmbeddings;
    private readonly LanguageSegmentationModel _model;

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
    }

    public void Dispose()
    {
        _model.Dispose();
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
    public void The_CSharp_head_gives_the_head_graphs_label_map_and_scores()
    {
        using var image = TestImages.ColourBlocks(160, 96, seed: 2);
        var encoded = _model.EncodeImage(image, 160);
        var labels = _model.EncodeLabels(Labels);

        var result = _model.Segment(encoded, labels);
        var graph = _model.RunHead(encoded.Planar, encoded.EmbeddingSize, encoded.EmbeddingHeight, encoded.EmbeddingWidth, labels.Buffer, labels.Count);

        Assert.Equal((160, 96), (graph.Width, graph.Height));
        int agree = result.Mask.Zip(graph.LabelMap).Count(p => p.First == p.Second);
        Assert.True(agree >= result.Mask.Length - 1, $"{result.Mask.Length - agree} of {result.Mask.Length} pixels differ from the head graph");
        double worst = result.Scores.Zip(graph.Scores).Max(p => Math.Abs(p.First - p.Second));
        Assert.True(worst <= 1e-4, $"scores differ from the head graph by up to {worst:G3}");
        Assert.True(result.PixelCounts.Count(c => c > 0) >= 3, "random weights should still use several labels");
    }

    [Fact]
    public void The_CSharp_head_matches_the_TorchSharp_forward_after_a_label_change()
    {
        using var image = TestImages.ColourBlocks(128, 96, seed: 3);
        var encoded = _model.EncodeImage(image, 128);
        string[] labels = ["water", "car", "sky", "grass", "tree"];

        _model.Segment(encoded, _model.EncodeLabels(["road", "person"]));
        var changed = _model.Segment(encoded, _model.EncodeLabels(labels));

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var pixels = tensor(ImagePixels.ToPlanarRgb(image, 128, 96), [1, 3, 96, 128]);
        var embeddings = tensor(labels.SelectMany(l => _labelEmbeddings[l]).ToArray(), [labels.Length, Channels]);
        var truth = _net.forward(pixels, embeddings).argmax(1).flatten().data<long>().ToArray();
        double agreement = (double)truth.Zip(changed.Mask).Count(p => p.First == p.Second) / truth.Length;
        Assert.True(agreement >= 0.999, $"{agreement:P3} of pixels agree with TorchSharp");
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

        var grid = PixelEmbeddingGrid.FromPlanar(planar, channels, height, width);
        var logits = WordPixelCorrelation.Logits(grid, WordPixelCorrelation.ScaledUnitLabels(labels, labelCount, channels, 0.07f), labelCount);

        using var scope = NewDisposeScope();
        var correlation = new Training.Bridge.Network.WordPixelCorrelation(0.07);
        var expected = correlation.forward(tensor(planar, [1, channels, height, width]), tensor(labels, [labelCount, channels]))
            .permute(0, 2, 3, 1).flatten().data<float>().ToArray();
        Assert.Equal(expected.Length, logits.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - logits[i]) <= 1e-4, $"logit {i}: {logits[i]} vs TorchSharp {expected[i]}");
    }

    [Theory]
    [InlineData(5, 7, 6)]
    [InlineData(1, 4, 3)]
    [InlineData(6, 1, 2)]
    public void Upsampling_and_argmax_match_TorchSharp_interpolate_with_align_corners(int height, int width, int labelCount)
    {
        var generator = new Random(height * 31 + width);
        // Smooth logits with sharp label changes: most upsampled pixels sit between agreeing neighbours, some on borders.
        var logits = Enumerable.Range(0, height * width * labelCount).Select(_ => (float)(generator.NextDouble() * 10)).ToArray();

        var (labelMap, scores) = LogitUpsampling.ArgMaxAtTwiceTheSize(logits, height, width, labelCount);

        using var scope = NewDisposeScope();
        var planar = tensor(logits, [1, height, width, labelCount]).permute(0, 3, 1, 2);
        var upsampled = nn.functional.interpolate(planar, size: [2 * height, 2 * width], mode: InterpolationMode.Bilinear, align_corners: true);
        var expectedMap = upsampled.argmax(1).flatten().data<long>().ToArray();
        var expectedScores = upsampled.amax([1]).flatten().data<float>().ToArray();
        Assert.Equal(expectedMap.Select(v => (int)v), labelMap);
        for (int i = 0; i < scores.Length; i++)
            Assert.True(Math.Abs(expectedScores[i] - scores[i]) <= 1e-4, $"score {i}: {scores[i]} vs TorchSharp {expectedScores[i]}");
    }

    [Fact]
    public void The_planar_embeddings_are_rebuilt_from_the_grid_within_float_rounding()
    {
        var generator = new Random(4);
        var planar = Enumerable.Range(0, 9 * 4 * 5).Select(_ => (float)(generator.NextDouble() * 6 - 3)).ToArray();
        // Pixel 11 is all zero: its norm is clamped by eps when normalising and it must come back as zeros.
        for (int c = 0; c < 9; c++)
            planar[c * 20 + 11] = 0;

        var rebuilt = PixelEmbeddingGrid.FromPlanar(planar, 9, 4, 5).ToPlanar();

        for (int i = 0; i < planar.Length; i++)
            Assert.True(Math.Abs(planar[i] - rebuilt[i]) <= 1e-6 * Math.Max(1, Math.Abs(planar[i])), $"value {i}: {rebuilt[i]} vs {planar[i]}");
    }
}

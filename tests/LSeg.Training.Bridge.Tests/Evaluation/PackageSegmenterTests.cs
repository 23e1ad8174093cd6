using LSeg.MLNet;
using LSeg.Training.Bridge.Data;
using LSeg.Training.Bridge.Evaluation;
using LSeg.Training.Bridge.Export;
using LSeg.Training.Bridge.Network;
using LSeg.Training.Bridge.Tests.Export;
using LSeg.Training.Bridge.Training;

namespace LSeg.Training.Bridge.Tests.Evaluation;

public sealed class PackageSegmenterTests : IDisposable
{
    private static readonly Dictionary<string, float[]> Embeddings = new()
    {
        ["a"] = [1, 0, 0, 0, 0.5f, 0, 0, 0],
        ["b"] = [0, 1, 0, 0.3f, 0, 0, 0, 0],
        ["c"] = [0, 0, 1, 0, 0, 0, -0.4f, 0],
    };

    private readonly ExportTestNets.TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Theory]
    [InlineData(new[] { 1.0 }, false)]
    [InlineData(new[] { 1.0 }, true)]
    [InlineData(new[] { 0.5, 1.0 }, true)]
    [InlineData(new[] { 0.5, 1.0 }, false)]
    public void SingleScaleMultiScaleAndFlipThroughThePackageAgreeWithTheTorchSharpEvaluation(double[] scales, bool flip)
    {
        using var net = ExportTestNets.Random(new LSegNetConfig { Backbone = "resnet18", EmbeddingSize = 8, DecoderFeatures = 8 }, seed: 4);
        string package = _temp.PathOf("package");
        string table = _temp.PathOf("labels.json");
        File.WriteAllText(table, System.Text.Json.JsonSerializer.Serialize(Embeddings));
        ModelPackageExporter.Export(net, package, new ModelPackageExportOptions
        {
            Name = "multi-scale", DefaultInputSize = 64,
            TextEncoder = new MLNet.Package.TextEncoderInfo { Kind = "table", Table = "labels.json" },
            AdditionalFiles = { ["labels.json"] = table },
        });
        // A ramp and a disc: both evaluators resize it by the same rule, so they see the same pixels.
        var image = new RgbImage(64, 64, Enumerable.Range(0, 64 * 64).SelectMany(i =>
        {
            int x = i % 64, y = i / 64;
            bool disc = (x - 40) * (x - 40) + (y - 24) * (y - 24) < 200;
            return new[] { (byte)(disc ? 220 : x * 3), (byte)(y * 3), (byte)(disc ? 30 : 120) };
        }).ToArray());
        using var labels = LabelEmbeddingTable.Frozen(() => throw new InvalidOperationException("all labels are cached"), 8, Embeddings, ["a", "b", "c"]);
        var torch = new TorchSegmenter(net, labels, longSide: 64, scales: scales, flip: flip);
        using var model = LanguageSegmentationModel.Load(package);
        var onnx = new PackageSegmenter(model, inputSize: 64, scales: scales, flip: flip);

        int[] expected = torch.Predict(image, ["c", "a", "b"]);
        int[] actual = onnx.Predict(image, ["c", "a", "b"]);

        Assert.Equal(flip || scales is not [1.0], onnx.CombinesPasses);
        Assert.Equal(onnx.CombinesPasses, torch.CombinesPasses);
        double agreement = expected.Zip(actual).Count(p => p.First == p.Second) / (double)expected.Length;
        Assert.True(agreement >= 0.99, $"package vs TorchSharp agreement {agreement:P2}");
        Assert.True(expected.Distinct().Count() > 1, "the random network must not give one label everywhere (the test would be vacuous)");
    }
}

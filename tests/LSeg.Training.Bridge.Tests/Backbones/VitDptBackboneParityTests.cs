using LSeg.Training.Bridge.Network.ImageEncoders;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace LSeg.Training.Bridge.Tests.Backbones;

/// <summary>
/// The exported ViT DPT backbone computes in ONNX Runtime what the TorchSharp module computes, at non-square sizes
/// that are odd multiples of 32 and at several batch sizes (same graph: batch, H and W are dynamic).
/// </summary>
public sealed class VitDptBackboneParityTests(ITestOutputHelper output)
{
    public static TheoryData<string> Presets => new() { "vit-l16", "vit-b32" };

    internal static VitDptOptions ReducedPreset(string preset) => preset switch
    {
        "vit-l16" => VitDptOptions.VitL16_384.Reduced(width: 64, depth: 4, heads: 4),
        "vit-b32" => VitDptOptions.VitB32_384.Reduced(width: 48, depth: 4, heads: 3),
        _ => throw new ArgumentOutOfRangeException(nameof(preset), preset, "unknown preset"),
    };

    [Theory]
    [MemberData(nameof(Presets))]
    public void OnnxRuntimeFeaturesMatchTorchSharpAtOddNonSquareSizesAndBatches(string preset)
    {
        torch.manual_seed(11);
        using var backbone = new VitDptBackbone(ReducedPreset(preset));
        backbone.eval();
        using var session = BackboneOnnxHarness.Session(BackboneOnnxHarness.Export(backbone));

        foreach (var (batch, height, width) in new[] { (1L, 96L, 160L), (3L, 224L, 352L) })
        {
            using var scope = NewDisposeScope();
            var pixels = BackboneOnnxHarness.RandomPixels(batch, height, width, seed: height + batch);
            using var noGrad = no_grad();
            var expected = backbone.forward(pixels);
            Tensor[] expectedMaps = [expected.Layer1, expected.Layer2, expected.Layer3, expected.Layer4];
            var actual = BackboneOnnxHarness.Run(session, "pixels", pixels);
            int[] strides = [4, 8, 16, 32];
            for (int i = 0; i < 4; i++)
            {
                Assert.Equal([batch, backbone.FeatureChannels[i], height / strides[i], width / strides[i]], actual[i].Shape);
                Assert.Equal(expectedMaps[i].shape, actual[i].Shape);
                float[] reference = expectedMaps[i].contiguous().data<float>().ToArray();
                double diff = BackboneOnnxHarness.MaxAbsDiff(reference, actual[i].Values);
                double magnitude = BackboneOnnxHarness.MaxAbs(reference);
                output.WriteLine($"{preset} B={batch} {height}x{width} layer{i + 1}: max|Δ| = {diff:E2} (max |feature| {magnitude:F3})");
                Assert.True(diff <= 1e-4 * Math.Max(1.0, magnitude), $"layer{i + 1}: max |Δ| {diff:E3} exceeds 1e-4 × max(1, {magnitude:F3})");
            }
        }
    }
}

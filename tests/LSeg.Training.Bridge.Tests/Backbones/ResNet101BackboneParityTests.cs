using LSeg.Training.Bridge.Network.ImageEncoders;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace LSeg.Training.Bridge.Tests.Backbones;

/// <summary>
/// The exported ResNet-101-layout backbone computes in ONNX Runtime what the TorchSharp module computes in
/// inference mode (BatchNorm with non-trivial running statistics), at odd non-square sizes and several batches.
/// </summary>
public sealed class ResNet101BackboneParityTests(ITestOutputHelper output)
{
    internal static ResNet101Options Reduced { get; } = ResNet101Options.Reduced(baseWidth: 8, blocks: [2, 2, 3, 2]);

    /// <summary>Gives every BatchNorm running statistics and an affine that are not the identity, so the export of all four is checked.</summary>
    internal static void RandomizeBatchNorms(nn.Module module, long seed)
    {
        var generator = new Generator((ulong)seed);
        using var noGrad = no_grad();
        foreach (var (_, child) in module.named_modules())
        {
            if (child is TorchSharp.Modules.BatchNorm2d bn)
            {
                bn.running_mean!.copy_(randn(bn.running_mean.shape, generator: generator).mul_(0.1));
                bn.running_var!.copy_(rand(bn.running_var.shape, generator: generator).add_(0.5));
                bn.weight!.copy_(rand(bn.weight.shape, generator: generator).add_(0.5));
                bn.bias!.copy_(randn(bn.bias.shape, generator: generator).mul_(0.1));
            }
        }
    }

    [Fact]
    public void OnnxRuntimeFeaturesMatchTorchSharpAtOddNonSquareSizesAndBatches()
    {
        torch.manual_seed(5);
        using var backbone = new ResNet101Backbone(Reduced);
        RandomizeBatchNorms(backbone, seed: 6);
        backbone.eval();
        using var session = BackboneOnnxHarness.Session(BackboneOnnxHarness.Export(backbone));

        foreach (var (batch, height, width) in new[] { (1L, 96L, 160L), (3L, 224L, 352L) })
        {
            using var scope = NewDisposeScope();
            var pixels = BackboneOnnxHarness.RandomPixels(batch, height, width, seed: height * batch);
            using var noGrad = no_grad();
            var expected = backbone.forward(pixels);
            Tensor[] expectedMaps = [expected.Layer1, expected.Layer2, expected.Layer3, expected.Layer4];
            var actual = BackboneOnnxHarness.Run(session, "pixels", pixels);
            int[] strides = [4, 8, 16, 32];
            for (int i = 0; i < 4; i++)
            {
                Assert.Equal([batch, backbone.FeatureChannels[i], height / strides[i], width / strides[i]], actual[i].Shape);
                float[] reference = expectedMaps[i].contiguous().data<float>().ToArray();
                double diff = BackboneOnnxHarness.MaxAbsDiff(reference, actual[i].Values);
                double magnitude = BackboneOnnxHarness.MaxAbs(reference);
                output.WriteLine($"resnet101-reduced B={batch} {height}x{width} layer{i + 1}: max|Δ| = {diff:E2} (max |feature| {magnitude:F3})");
                Assert.True(diff <= 1e-4 * Math.Max(1.0, magnitude), $"layer{i + 1}: max |Δ| {diff:E3} exceeds 1e-4 × max(1, {magnitude:F3})");
            }
        }
    }
}

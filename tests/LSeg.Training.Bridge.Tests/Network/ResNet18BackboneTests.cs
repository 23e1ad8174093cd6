using Google.Protobuf;
using LSeg.MLNet.Package;
using LSeg.Tests.Shared;
using LSeg.Training.Bridge.Network.ImageEncoders;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Onnx;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace LSeg.Training.Bridge.Tests.Network;

public class ResNet18BackboneTests(ITestOutputHelper output)
{
    private static readonly string[] StageOutputs = ["ReLU283_Output_0", "ReLU315_Output_0", "ReLU347_Output_0", "ReLU393_Output_0"];

    [SkippableTheory]
    [InlineData("chelsea.png", 224, 320)]
    [InlineData("coffee.png", 96, 160)]
    public void PretrainedFeaturesEqualOnnxRuntimeOnTheOriginalGraph(string image, int height, int width)
    {
        string photo = SharedData.RequireDirectory("images", image);
        Skip.IfNot(File.Exists(ResNet18Backbone.DefaultWeightsPath), $"{ResNet18Backbone.DefaultWeightsPath} is absent (the build copies it from NuGet).");
        var (rgb, bgrMinusMean) = CropPixels(photo, height, width);

        // The independent truth: ONNX Runtime running the package's own CNTK graph, fed BGR − mean as ML.NET does.
        using var session = new InferenceSession(StageOutputGraph(ResNet18Backbone.DefaultWeightsPath));
        var input = new DenseTensor<float>(bgrMinusMean, [1, 3, height, width]);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("Input247", input)], StageOutputs);
        var expected = StageOutputs.Select(name => results.Single(r => r.Name == name).AsTensor<float>()).ToArray();

        using var backbone = ResNet18Backbone.LoadPretrained();
        backbone.eval();
        using var noGrad = no_grad();
        using var pixels = tensor(rgb, [1, 3, height, width]);
        using var features = backbone.forward(pixels);
        TorchSharp.torch.Tensor[] actual = [features.Layer1, features.Layer2, features.Layer3, features.Layer4];

        int[] strides = [4, 8, 16, 32];
        for (int stage = 0; stage < 4; stage++)
        {
            Assert.Equal(expected[stage].Dimensions.ToArray().Select(d => (long)d), actual[stage].shape);
            Assert.Equal([1L, backbone.FeatureChannels[stage], height / strides[stage], width / strides[stage]], actual[stage].shape);
            float[] want = expected[stage].ToArray();
            float[] got = actual[stage].data<float>().ToArray();
            float scale = want.Max(MathF.Abs);
            float maxDiff = want.Zip(got, (a, b) => MathF.Abs(a - b)).Max();
            output.WriteLine($"{image} {height}x{width} stage {stage + 1}: max |Δ| {maxDiff:E2}, max |ref| {scale:E2}, relative {maxDiff / scale:E2}");
            Assert.True(scale > 1f, $"stage {stage + 1}: reference activations are all near zero (max {scale}); the comparison would be empty");
            Assert.True(maxDiff <= 1e-4f * scale, $"stage {stage + 1}: max |Δ| {maxDiff} exceeds 1e-4 × max |ref| {scale}");
        }
    }

    [Fact]
    public void RandomBackboneGivesFourLevelsAtStrides4To32ForAnyMultipleOf32()
    {
        using var backbone = new ResNet18Backbone();
        backbone.eval();
        using var noGrad = no_grad();
        using var pixels = rand(2, 3, 96, 160) * 255;
        using var features = backbone.forward(pixels);
        Assert.Equal([2L, 64, 24, 40], features.Layer1.shape);
        Assert.Equal([2L, 128, 12, 20], features.Layer2.shape);
        Assert.Equal([2L, 256, 6, 10], features.Layer3.shape);
        Assert.Equal([2L, 512, 3, 5], features.Layer4.shape);
        Assert.Equal(new[] { 64, 128, 256, 512 }, backbone.FeatureChannels);
    }

    [Fact]
    public void StateDictUsesTorchvisionNamesWithThreeBlocksInTheLastStage()
    {
        using var backbone = new ResNet18Backbone();
        var keys = backbone.state_dict().Keys.ToHashSet();
        Assert.Contains("conv1.weight", keys);
        Assert.Contains("layer2.0.downsample.0.weight", keys);
        Assert.Contains("layer4.2.bn2.running_var", keys);
        Assert.DoesNotContain("layer4.3.conv1.weight", keys);
        Assert.DoesNotContain("layer1.0.downsample.0.weight", keys);
    }

    /// <summary>The package's graph with dynamic input size, no stored intermediate shapes, and the four stage outputs.</summary>
    private static byte[] StageOutputGraph(string path)
    {
        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
        var graph = model.Graph;
        var dims = graph.Input[0].Type.TensorType.Shape.Dim;
        dims[2] = new TensorShapeProto.Types.Dimension { DimParam = "H" };
        dims[3] = new TensorShapeProto.Types.Dimension { DimParam = "W" };
        graph.ValueInfo.Clear();
        graph.Output.Clear();
        var pool = graph.Node.Single(n => n.OpType == "AveragePool");
        graph.Node.Remove(pool);
        foreach (string name in StageOutputs)
            graph.Output.Add(OnnxProtos.TensorValueOfAnyShape(name, TensorProto.Types.DataType.Float));
        return model.ToByteArray();
    }

    /// <summary>The top-left H×W crop of a photo as planar RGB 0–255, and as planar BGR minus the CNTK means.</summary>
    private static (float[] Rgb, float[] BgrMinusMean) CropPixels(string path, int height, int width)
    {
        using var image = MLImage.CreateFromFile(path);
        Assert.True(image.Height >= height && image.Width >= width, $"{path} is {image.Width}×{image.Height}, smaller than {width}×{height}");
        byte[] bgr = image.GetBGRPixels;
        float[] mean = PixelNormalization.CntkResNet18.Mean; // B, G, R
        int plane = height * width;
        var rgb = new float[3 * plane];
        var bgrMinusMean = new float[3 * plane];
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                int source = (y * image.Width + x) * 3, target = y * width + x;
                for (int c = 0; c < 3; c++)
                {
                    float value = bgr[source + c]; // c: 0 = B, 1 = G, 2 = R
                    bgrMinusMean[c * plane + target] = value - mean[c];
                    rgb[(2 - c) * plane + target] = value;
                }
            }
        }
        return (rgb, bgrMinusMean);
    }
}

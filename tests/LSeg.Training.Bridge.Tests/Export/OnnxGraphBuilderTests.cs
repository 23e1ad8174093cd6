using Google.Protobuf;
using LSeg.Training.Bridge.Export;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Onnx;
using static TorchSharp.torch;
using Tensor = TorchSharp.torch.Tensor;

namespace LSeg.Training.Bridge.Tests.Export;

/// <summary>Each builder operator, run by ONNX Runtime, against the TorchSharp operation it stands for.</summary>
public class OnnxGraphBuilderTests
{
    [Theory]
    [InlineData(true, 3, 5)]
    [InlineData(false, 3, 5)]
    [InlineData(true, 7, 4)]
    public void UpsampleBilinearMatchesTorchInterpolateAtOddSizes(bool alignCorners, int height, int width)
    {
        random.manual_seed(1);
        using var x = randn(2, 3, height, width);
        using var expected = nn.functional.interpolate(x, size: [height * 2, width * 2], mode: InterpolationMode.Bilinear, align_corners: alignCorners);
        AssertMatches(expected, x, (g, input) => g.UpsampleBilinear(input, 2, alignCorners), 1e-5);
    }

    [Fact]
    public void AsymmetricConvPadsMatchTorchPadThenConv()
    {
        random.manual_seed(2);
        using var x = randn(1, 3, 9, 10);
        using var weight = randn(4, 3, 3, 3);
        // pads [top, left, bottom, right] = [1, 1, 0, 0]: torch's pad takes (left, right, top, bottom).
        using var expected = nn.functional.conv2d(nn.functional.pad(x, [1, 0, 1, 0]), weight, null, [2, 2], [0, 0], [1, 1], 1);
        AssertMatches(expected, x, (g, input) => g.Conv(input, g.Weight("w", weight), null, [3, 3], [2, 2], [1, 1, 0, 0], [1, 1]), 1e-5);
    }

    [Fact]
    public void L2NormalizeMatchesTorchNormalize()
    {
        random.manual_seed(3);
        using var x = randn(2, 5, 3, 3);
        using var expected = nn.functional.normalize(x, p: 2, dim: 1, eps: 1e-12);
        AssertMatches(expected, x, (g, input) => g.L2Normalize(input, 1), 1e-6);
    }

    [Fact]
    public void GeluIsTheExactErfForm()
    {
        using var x = linspace(-6, 6, 101).reshape(1, 101);
        using var expected = nn.functional.gelu(x);
        AssertMatches(expected, x, (g, input) => g.Gelu(input), 1e-6);
    }

    [Fact]
    public void LinearTransposesTheWeightForMatMul()
    {
        random.manual_seed(4);
        using var linear = nn.Linear(6, 4);
        using var x = randn(2, 3, 6);
        using var expected = linear.forward(x);
        AssertMatches(expected, x, (g, input) => g.Linear(input, linear, "fc"), 1e-5);
    }

    [Fact]
    public void LayerNormMatchesTorch()
    {
        random.manual_seed(5);
        using var norm = nn.LayerNorm(8, eps: 1e-6);
        using (no_grad())
        {
            norm.weight!.uniform_(0.5, 1.5);
            norm.bias!.uniform_(-0.5, 0.5);
        }
        using var x = randn(2, 3, 8);
        using var expected = norm.forward(x);
        AssertMatches(expected, x, (g, input) => g.LayerNorm(input, norm, "norm"), 1e-5);
    }

    [Fact]
    public void ConvTransposeMatchesTorch()
    {
        random.manual_seed(6);
        using var conv = nn.ConvTranspose2d(4, 3, 4, stride: 4);
        using var x = randn(1, 4, 3, 5);
        using var expected = conv.forward(x);
        AssertMatches(expected, x, (g, input) => g.ConvTranspose2d(input, conv, "up"), 1e-5);
    }

    [Fact]
    public void Float16WeightsAreStoredHalfSizeAndCastBack()
    {
        using var weight = tensor(new float[] { 1f, 0.5f, -2f, 1000f }, [2, 2]);
        var graph = new OnnxGraphBuilder("test", storeWeightsAsFloat16: true);
        string x = graph.Input("x", TensorProto.Types.DataType.Float, 2L, 2L);
        graph.Output("y", graph.MatMul(x, graph.Weight("w", weight)), TensorProto.Types.DataType.Float, 2L, 2L);
        var stored = graph.Graph.Initializer.Single();
        Assert.Equal((int)TensorProto.Types.DataType.Float16, stored.DataType);
        Assert.Equal(8, stored.RawData.Length);
        using var identity = eye(2);
        float[] result = Run(graph, identity);
        Assert.Equal(new[] { 1f, 0.5f, -2f, 1000f }, result); // all four are exact in float16
    }

    [Fact]
    public void RequestingTheSameWeightTwiceSharesOneInitializer()
    {
        using var weight = ones(2, 2);
        var graph = new OnnxGraphBuilder("test");
        Assert.Equal(graph.Weight("shared.w", weight), graph.Weight("shared.w", weight));
        Assert.Single(graph.Graph.Initializer);
    }

    private static void AssertMatches(Tensor expected, Tensor input, Func<OnnxGraphBuilder, string, string> build, double tolerance)
    {
        var graph = new OnnxGraphBuilder("test");
        string x = graph.Input("x", TensorProto.Types.DataType.Float, input.shape.Select(d => (object)d).ToArray());
        graph.Output("y", build(graph, x), TensorProto.Types.DataType.Float);
        float[] actual = Run(graph, input);
        float[] want = expected.detach().contiguous().data<float>().ToArray();
        Assert.Equal(want.Length, actual.Length);
        double difference = want.Zip(actual, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(difference <= tolerance, $"max |Δ| {difference:E2} > {tolerance:E0}");
    }

    private static float[] Run(OnnxGraphBuilder graph, Tensor input)
    {
        using var session = new InferenceSession(graph.BuildModel().ToByteArray());
        var tensorInput = new DenseTensor<float>(input.contiguous().data<float>().ToArray(), input.shape.Select(d => (int)d).ToArray());
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("x", tensorInput)]);
        return results.Single().AsTensor<float>().ToArray();
    }
}

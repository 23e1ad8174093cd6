using LSeg.Training.Bridge.Network;
using static TorchSharp.torch;

namespace LSeg.Training.Bridge.Tests.Network;

public class SpatialRegularizationTests
{
    /// <summary>Sets the shared kernel to the identity (centre tap 1) plus a bias.</summary>
    private static void IdentityKernel(SpatialRegularization block, float bias)
    {
        using var noGrad = no_grad();
        var parameters = block.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        var weight = parameters["depthwise.depthwise.weight"];
        weight.zero_();
        weight[0, 0, 1, 1] = tensor(1f);
        parameters["depthwise.depthwise.bias"].fill_(bias);
    }

    [Fact]
    public void DepthwiseAppliesTheKernelThenTheActivationExceptAfterTheLastApplication()
    {
        using var block = new SpatialRegularization(SpatialBlock.Depthwise, 2, SpatialActivation.Relu);
        IdentityKernel(block, -1f);
        using var logits = tensor(new float[] { 3f, 0.5f }, [1, 2, 1, 1]);
        // relu(x − 1) − 1: 3 → 1, 0.5 → −1.
        Assert.Equal(new[] { 1f, -1f }, block.forward(logits).data<float>().ToArray());
    }

    [Fact]
    public void BottleneckAddsTheMaxOverLabelsOfItsInput()
    {
        using var block = new SpatialRegularization(SpatialBlock.Bottleneck, 1, SpatialActivation.LeakyRelu);
        IdentityKernel(block, 0.5f);
        using var logits = tensor(new float[] { 2f, -3f, 1f }, [1, 3, 1, 1]);
        // x + 0.5 + max(x) with max 2; a single application has no activation.
        Assert.Equal(new[] { 4.5f, -0.5f, 3.5f }, block.forward(logits).data<float>().ToArray());
    }

    [Fact]
    public void LeakyReluKeepsOneHundredthOfNegativeValues()
    {
        using var block = new SpatialRegularization(SpatialBlock.Depthwise, 2, SpatialActivation.LeakyRelu);
        IdentityKernel(block, 0f);
        using var logits = tensor(new float[] { -2f }, [1, 1, 1, 1]);
        Assert.Equal(-0.02f, block.forward(logits).data<float>()[0], 6);
    }

    [Fact]
    public void OneSharedKernelMakesTheBlockEquivariantToLabelOrder()
    {
        random.manual_seed(5);
        using var block = new SpatialRegularization(SpatialBlock.Bottleneck, 2, SpatialActivation.LeakyRelu);
        using var logits = randn(2, 5, 6, 7);
        using var order = tensor(new long[] { 3, 0, 4, 1, 2 });
        using var permutedThenRegularised = block.forward(logits.index_select(1, order));
        using var regularisedThenPermuted = block.forward(logits).index_select(1, order);
        Assert.True(permutedThenRegularised.allclose(regularisedThenPermuted, rtol: 0, atol: 1e-6));
        Assert.Equal(2, block.parameters().Count()); // one 3×3 kernel and its bias, whatever N is
    }
}

using TorchSharp;

namespace LSeg.Training.Bridge.Tests;

public class TorchSharpLoadsTests
{
    [Fact]
    public void LibTorchLoadsAndComputesAMatrixProduct()
    {
        // The build marks libLibTorchSharp.so's GLIBCXX_3.4.32 need weak; without that this throws on Debian 12.
        using var a = torch.tensor(new float[] { 1, 2, 3, 4 }, new long[] { 2, 2 });
        using var b = torch.tensor(new float[] { 5, 6, 7, 8 }, new long[] { 2, 2 });
        using var c = torch.matmul(a, b);
        Assert.Equal(new float[] { 19, 22, 43, 50 }, c.data<float>().ToArray());
    }
}

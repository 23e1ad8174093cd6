using LSeg.MLNet.Package;
namespace LSeg.Training.Bridge.Export;

/// <summary>Operators the vision-transformer and ResNet-101 backbones need beyond the shared set.</summary>
internal sealed partial class OnnxGraphBuilder
{
    /// <summary>Split along <paramref name="axis"/> into pieces of the given constant sizes (opset 13–17: sizes as an input).</summary>
    public string[] Split(string x, long axis, params long[] sizes)
        => Node("Split", [x, ConstantInt64("split", sizes)], sizes.Length, OnnxProtos.Attribute("axis", axis));

    /// <summary>Broadcasts <paramref name="x"/> to the shape held by <paramref name="shape"/> (numpy rules).</summary>
    public string Expand(string x, string shape) => Node("Expand", [x, shape]);

    /// <summary>
    /// The backbone input normalisation (x − mean) / std with per-channel constants [1, 3, 1, 1] on NCHW pixels;
    /// the channels must already be in the order the constants are given in.
    /// </summary>
    public string NormalizeChannels(string pixels, float[] mean, float[] std)
    {
        string centred = Sub(pixels, ConstantFloat("pixel_mean", mean, 1, mean.Length, 1, 1));
        return Div(centred, ConstantFloat("pixel_std", std, 1, std.Length, 1, 1));
    }
}

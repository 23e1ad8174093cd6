using LSeg.MLNet.Package;
namespace LSeg.Training.Bridge.Export;

/// <summary>Operators the attention of the vision-transformer backbones and of the CLIP text encoder needs beyond the shared set.</summary>
internal sealed partial class OnnxGraphBuilder
{
    /// <summary>Split along <paramref name="axis"/> into pieces of the given constant sizes (opset 13–17: sizes as an input).</summary>
    public string[] Split(string x, long axis, params long[] sizes)
        => Node("Split", [x, ConstantInt64("split", sizes)], sizes.Length, OnnxProtos.Attribute("axis", axis));

    /// <summary>Broadcasts <paramref name="x"/> to the shape held by <paramref name="shape"/> (numpy rules).</summary>
    public string Expand(string x, string shape) => Node("Expand", [x, shape]);
}

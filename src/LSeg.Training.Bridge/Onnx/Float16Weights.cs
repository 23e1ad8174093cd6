using LSeg.MLNet.Package;
using Onnx;

namespace LSeg.Training.Bridge.Onnx;

/// <summary>
/// Stores the float weights of an existing ONNX model as FLOAT16, each followed by a Cast back to FLOAT: the storage
/// the exporter's <c>StoreWeightsAsFloat16</c> uses for the graphs it writes, applied to a graph written elsewhere (the
/// MiniLM text encoder). Half the file; ONNX Runtime folds the casts when it loads the graph, so it computes in float32.
/// </summary>
internal static class Float16Weights
{
    /// <summary>Tensors smaller than this stay FLOAT (scalars and shape-like constants gain nothing).</summary>
    public const int MinElements = 16;

    private const string Suffix = "::fp16";

    /// <summary>
    /// Rewrites <paramref name="model"/> in place. Tensors with a value beyond float16's range (±65504) stay FLOAT, as do
    /// initializers that are also graph inputs (a caller may override them). Returns how many tensors were converted.
    /// </summary>
    public static int Apply(ModelProto model)
    {
        var graph = model.Graph;
        var inputs = graph.Input.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        var casts = new List<NodeProto>();
        for (int i = 0; i < graph.Initializer.Count; i++)
        {
            var tensor = graph.Initializer[i];
            if (tensor.DataType != (int)TensorProto.Types.DataType.Float || OnnxTensors.ElementCount(tensor.Dims) < MinElements || inputs.Contains(tensor.Name))
                continue;
            float[] values = OnnxTensors.ReadFloats(tensor);
            if (values.Any(v => float.IsFinite(v) && Math.Abs(v) > (float)Half.MaxValue))
                continue;
            graph.Initializer[i] = OnnxTensors.Float16(tensor.Name + Suffix, values, [.. tensor.Dims]);
            casts.Add(OnnxProtos.Node("Cast", tensor.Name + Suffix + "_Cast", [tensor.Name + Suffix], [tensor.Name],
                OnnxProtos.Attribute("to", (long)TensorProto.Types.DataType.Float)));
        }
        // Nodes stay in topological order: the casts, which read only initializers, come first.
        for (int i = casts.Count - 1; i >= 0; i--)
            graph.Node.Insert(0, casts[i]);
        // Recorded shapes of the converted names still hold (the casts restore FLOAT); value_info needs no change.
        return casts.Count;
    }
}

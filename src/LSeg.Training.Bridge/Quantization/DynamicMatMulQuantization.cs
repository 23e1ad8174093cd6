using LSeg.MLNet.Package;
using Onnx;

namespace LSeg.Training.Bridge.Quantization;

/// <summary>
/// Dynamic 8-bit quantization of the matrix products with constant weights (a ViT's linear layers): the weights
/// become 8-bit (symmetric, stored as uint8 around 128) with one scale per output column, and the activations are
/// quantized to uint8 at run time (DynamicQuantizeLinear → MatMulInteger → Cast → Mul by both scales, the pattern
/// ONNX Runtime fuses into one DynamicQuantizeMatMul). No calibration is needed. Products of two activations (attention) stay float.
/// </summary>
internal static class DynamicMatMulQuantization
{
    /// <summary>Rewrites <paramref name="model"/> (a preprocessed graph) in place; returns how many products were quantized.</summary>
    public static int Apply(ModelProto model)
    {
        var graph = model.Graph;
        var initializers = graph.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
        var nodes = new List<NodeProto>();
        int count = 0;
        foreach (var node in graph.Node)
        {
            if (node.OpType != "MatMul" || !initializers.TryGetValue(node.Input[1], out var weight) || weight.Dims.Count != 2
                || weight.DataType != (int)TensorProto.Types.DataType.Float)
            {
                nodes.Add(node);
                continue;
            }
            string name = node.Name.Length > 0 ? node.Name : node.Output[0];
            int columns = (int)weight.Dims[1];
            // uint8 around 128, not int8: see QuantizedValues.SymmetricUint8 (int8 weights saturate on CPUs without VNNI).
            var (values, scales) = QuantizedValues.SymmetricUint8(OnnxTensors.ReadFloats(weight), columns, channelsFirst: false);
            graph.Initializer.Add(OnnxTensors.UInt8(name + "::weight_uint8", values, [.. weight.Dims]));
            graph.Initializer.Add(OnnxTensors.Float(name + "::weight_scale", scales, columns));
            graph.Initializer.Add(QuantizedValues.Uint8WeightZeroPoints(name + "::weight_zero_point", columns));
            string input = node.Input[0];
            nodes.Add(OnnxProtos.Node("DynamicQuantizeLinear", name + "::quantize_input", [input], [name + "::input_uint8", name + "::input_scale", name + "::input_zero_point"]));
            nodes.Add(OnnxProtos.Node("MatMulInteger", name + "::matmul_integer",
                [name + "::input_uint8", name + "::weight_uint8", name + "::input_zero_point", name + "::weight_zero_point"], [name + "::int32"]));
            nodes.Add(OnnxProtos.Node("Cast", name + "::cast", [name + "::int32"], [name + "::float"], OnnxProtos.Attribute("to", (long)TensorProto.Types.DataType.Float)));
            nodes.Add(OnnxProtos.Node("Mul", name + "::scales", [name + "::input_scale", name + "::weight_scale"], [name + "::scale"]));
            nodes.Add(OnnxProtos.Node("Mul", name + "::rescale", [name + "::float", name + "::scale"], [node.Output[0]]));
            count++;
        }
        graph.Node.Clear();
        graph.Node.AddRange(nodes);
        graph.ValueInfo.Clear();
        OnnxGraphEdits.RemoveUnusedInitializers(graph);
        return count;
    }
}

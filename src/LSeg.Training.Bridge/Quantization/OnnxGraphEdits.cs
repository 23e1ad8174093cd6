using System.Runtime.InteropServices;
using Google.Protobuf;
using LSeg.MLNet.Package;
using Onnx;

namespace LSeg.Training.Bridge.Quantization;

/// <summary>Small edits of an ONNX graph that the quantizers share: initializers of several types, nodes, scalar constants.</summary>
internal static class OnnxGraphEdits
{
    public static TensorProto Int32(string name, int[] values, params long[] dims)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int32, RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(values.AsSpan())) };
        tensor.Dims.AddRange(dims);
        return tensor;
    }

    public static TensorProto FloatScalar(string name, float value) => OnnxTensors.Float(name, [value]);

    public static TensorProto UInt8Scalar(string name, byte value) => OnnxTensors.UInt8(name, [value]);

    /// <summary>How many nodes read each value (graph outputs count as readers).</summary>
    public static Dictionary<string, int> ReaderCounts(GraphProto graph)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (string input in graph.Node.SelectMany(n => n.Input).Concat(graph.Output.Select(o => o.Name)).Where(i => i.Length > 0))
            counts[input] = counts.GetValueOrDefault(input) + 1;
        return counts;
    }

    /// <summary>Removes the initializers no node reads any more.</summary>
    public static void RemoveUnusedInitializers(GraphProto graph)
    {
        var read = ReaderCounts(graph);
        for (int i = graph.Initializer.Count - 1; i >= 0; i--)
        {
            if (!read.ContainsKey(graph.Initializer[i].Name))
                graph.Initializer.RemoveAt(i);
        }
    }
}

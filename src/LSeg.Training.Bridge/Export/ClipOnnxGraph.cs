using Google.Protobuf;
using Onnx;
using TorchSharp;
using static TorchSharp.torch;

namespace LSeg.Training.Bridge.Export;

/// <summary>
/// A minimal ONNX graph writer for the CLIP text encoder graph: numbered node outputs, float/int64 initializers
/// and the few attribute kinds the graph needs. Opset 17, IR version 8 (the combination verified with ONNX Runtime).
/// </summary>
internal sealed class ClipOnnxGraph
{
    internal const int OpsetVersion = 17;
    internal const long IrVersion = 8;

    private readonly GraphProto _graph;
    private int _nextValue;

    public ClipOnnxGraph(string name)
    {
        _graph = new GraphProto { Name = name };
    }

    /// <summary>Declares a graph input of the given element type; dimensions are numbers or symbolic names.</summary>
    public string Input(string name, TensorProto.Types.DataType type, params object[] dims)
    {
        _graph.Input.Add(ValueInfo(name, type, dims));
        return name;
    }

    /// <summary>Renames the value <paramref name="value"/> to <paramref name="name"/> and declares it a graph output.</summary>
    public void Output(string value, string name, TensorProto.Types.DataType type, params object[] dims)
    {
        Node("Identity", [value], name);
        _graph.Output.Add(ValueInfo(name, type, dims));
    }

    /// <summary>Adds a float initializer copied from a TorchSharp tensor (any dtype, cast to float32).</summary>
    public string Initializer(string name, Tensor tensor)
    {
        using var scope = torch.NewDisposeScope();
        var contiguous = tensor.detach().cpu().to_type(ScalarType.Float32).contiguous();
        var proto = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        proto.Dims.AddRange(contiguous.shape);
        // One copy out of the tensor, wrapped rather than copied again: nothing else keeps the array.
        proto.RawData = UnsafeByteOperations.UnsafeWrap(contiguous.bytes.ToArray());
        _graph.Initializer.Add(proto);
        return name;
    }

    /// <summary>Adds an int64 initializer with the given shape (a scalar when <paramref name="dims"/> is empty).</summary>
    public string Int64Initializer(string name, long[] values, params long[] dims)
    {
        var proto = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64 };
        proto.Dims.AddRange(dims);
        proto.Int64Data.AddRange(values);
        _graph.Initializer.Add(proto);
        return name;
    }

    /// <summary>Adds a float scalar initializer.</summary>
    public string ScalarInitializer(string name, float value)
    {
        var proto = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        proto.FloatData.Add(value);
        _graph.Initializer.Add(proto);
        return name;
    }

    /// <summary>Adds a node with one output and returns the output's name.</summary>
    public string Node(string opType, string[] inputs, string? output = null, params AttributeProto[] attributes)
    {
        output ??= $"{opType.ToLowerInvariant()}_{_nextValue++}";
        var node = new NodeProto { OpType = opType, Name = $"{opType}_{_graph.Node.Count}" };
        node.Input.AddRange(inputs);
        node.Output.Add(output);
        node.Attribute.AddRange(attributes);
        _graph.Node.Add(node);
        return output;
    }

    public static AttributeProto IntAttribute(string name, long value)
        => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto FloatAttribute(string name, float value)
        => new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    public static AttributeProto IntsAttribute(string name, params long[] values)
    {
        var attribute = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        attribute.Ints.AddRange(values);
        return attribute;
    }

    /// <summary>Wraps the graph in a model with the default-domain opset this writer targets.</summary>
    public ModelProto ToModel(string docString)
    {
        var model = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = "LSeg.Training.Bridge",
            ProducerVersion = typeof(ClipOnnxGraph).Assembly.GetName().Version?.ToString() ?? "",
            DocString = docString,
            Graph = _graph,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = OpsetVersion });
        return model;
    }

    private static ValueInfoProto ValueInfo(string name, TensorProto.Types.DataType type, object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (object dim in dims)
        {
            shape.Dim.Add(dim switch
            {
                string symbol => new TensorShapeProto.Types.Dimension { DimParam = symbol },
                int value => new TensorShapeProto.Types.Dimension { DimValue = value },
                long value => new TensorShapeProto.Types.Dimension { DimValue = value },
                _ => throw new ArgumentException($"A dimension must be a number or a symbolic name; got {dim.GetType().Name}.", nameof(dims)),
            });
        }
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } },
        };
    }
}

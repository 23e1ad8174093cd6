using Google.Protobuf;
using Onnx;

namespace LSeg.MLNet.Package;

/// <summary>
/// The one place that builds ONNX protobuf pieces (nodes, attributes, value infos, models): used by the exporter's
/// graph builder, by the composed ML.NET graph, and by the tests' small packages. Tensors are built by
/// <see cref="OnnxTensors"/>.
/// </summary>
internal static class OnnxProtos
{
    /// <summary>The opset every graph of this project targets.</summary>
    public const int OpsetVersion = 17;

    /// <summary>The IR version that goes with <see cref="OpsetVersion"/>.</summary>
    public const int IrVersion = 8;

    /// <summary>A node named <paramref name="name"/>.</summary>
    public static NodeProto Node(string opType, string name, IEnumerable<string> inputs, IEnumerable<string> outputs, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = opType, Name = name };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        node.Attribute.AddRange(attributes);
        return node;
    }

    /// <summary>An INT attribute.</summary>
    public static AttributeProto Attribute(string name, long value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    /// <summary>An INTS attribute.</summary>
    public static AttributeProto Attribute(string name, long[] values)
    {
        var attribute = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        attribute.Ints.AddRange(values);
        return attribute;
    }

    /// <summary>A FLOAT attribute.</summary>
    public static AttributeProto Attribute(string name, float value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    /// <summary>A STRING attribute.</summary>
    public static AttributeProto Attribute(string name, string value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(value) };

    /// <summary>A tensor value info. Each dimension is a <see cref="long"/> or <see cref="int"/> (fixed) or a <see cref="string"/> (named, dynamic).</summary>
    /// <exception cref="ArgumentException">A dimension is of another type.</exception>
    public static ValueInfoProto TensorValue(string name, TensorProto.Types.DataType elementType, params object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (object dim in dims)
        {
            shape.Dim.Add(dim switch
            {
                string param => new TensorShapeProto.Types.Dimension { DimParam = param },
                int value => new TensorShapeProto.Types.Dimension { DimValue = value },
                long value => new TensorShapeProto.Types.Dimension { DimValue = value },
                _ => throw new ArgumentException($"A dimension must be a long (fixed) or a string (named); got {dim?.GetType().Name ?? "null"}.", nameof(dims)),
            });
        }
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)elementType, Shape = shape } },
        };
    }

    /// <summary>A tensor value info with an element type and no shape (rank unknown), e.g. an intermediate made an output.</summary>
    public static ValueInfoProto TensorValueOfAnyShape(string name, TensorProto.Types.DataType elementType) =>
        new() { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)elementType } } };

    /// <summary>A model holding <paramref name="graph"/> at <see cref="IrVersion"/> and the default domain's <see cref="OpsetVersion"/>.</summary>
    public static ModelProto Model(GraphProto graph, string producerName, string producerVersion = "")
    {
        var model = new ModelProto { IrVersion = IrVersion, ProducerName = producerName, ProducerVersion = producerVersion, Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = OpsetVersion });
        return model;
    }
}

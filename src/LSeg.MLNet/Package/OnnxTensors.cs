using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;

namespace LSeg.MLNet.Package;

/// <summary>Reading and writing the values of ONNX initializers (<see cref="TensorProto"/>) as .NET arrays.</summary>
internal static class OnnxTensors
{
    /// <summary>The values of a FLOAT or FLOAT16 tensor as floats (raw or typed data).</summary>
    /// <exception cref="InvalidDataException">The tensor holds another element type, or lives in external data.</exception>
    public static float[] ReadFloats(TensorProto tensor)
    {
        if (tensor.DataLocation == TensorProto.Types.DataLocation.External)
            throw new InvalidDataException($"Initializer '{tensor.Name}' lives in external data; read the model with its external data first.");
        switch ((TensorProto.Types.DataType)tensor.DataType)
        {
            case TensorProto.Types.DataType.Float:
                return tensor.RawData.IsEmpty ? tensor.FloatData.ToArray() : MemoryMarshal.Cast<byte, float>(tensor.RawData.Span).ToArray();
            case TensorProto.Types.DataType.Float16:
                var bits = tensor.RawData.IsEmpty
                    ? tensor.Int32Data.Select(b => (ushort)b).ToArray()
                    : MemoryMarshal.Cast<byte, ushort>(tensor.RawData.Span).ToArray();
                return Array.ConvertAll(bits, b => (float)BitConverter.UInt16BitsToHalf(b));
            default:
                throw new InvalidDataException($"Initializer '{tensor.Name}' has ONNX element type {(TensorProto.Types.DataType)tensor.DataType}; expected FLOAT or FLOAT16.");
        }
    }

    /// <summary>Number of values of a tensor of shape <paramref name="dims"/>.</summary>
    public static long ElementCount(IEnumerable<long> dims) => dims.Aggregate(1L, (product, d) => product * d);

    /// <summary>A FLOAT tensor with raw data.</summary>
    public static TensorProto Float(string name, ReadOnlySpan<float> values, params long[] dims) =>
        Raw(name, TensorProto.Types.DataType.Float, MemoryMarshal.AsBytes(values), dims);

    /// <summary>A FLOAT16 tensor with raw data (values rounded to the nearest half).</summary>
    public static TensorProto Float16(string name, ReadOnlySpan<float> values, params long[] dims)
    {
        var bits = new ushort[values.Length];
        for (int i = 0; i < bits.Length; i++)
            bits[i] = BitConverter.HalfToUInt16Bits((Half)values[i]);
        return Raw(name, TensorProto.Types.DataType.Float16, MemoryMarshal.AsBytes(bits.AsSpan()), dims);
    }

    /// <summary>An INT64 tensor with raw data (shapes, axes, indices).</summary>
    public static TensorProto Int64(string name, ReadOnlySpan<long> values, params long[] dims) =>
        Raw(name, TensorProto.Types.DataType.Int64, MemoryMarshal.AsBytes(values), dims);

    /// <summary>An INT8 tensor with raw data.</summary>
    public static TensorProto Int8(string name, ReadOnlySpan<sbyte> values, params long[] dims) =>
        Raw(name, TensorProto.Types.DataType.Int8, MemoryMarshal.AsBytes(values), dims);

    /// <summary>A UINT8 tensor with raw data.</summary>
    public static TensorProto UInt8(string name, ReadOnlySpan<byte> values, params long[] dims) =>
        Raw(name, TensorProto.Types.DataType.Uint8, values, dims);

    private static TensorProto Raw(string name, TensorProto.Types.DataType type, ReadOnlySpan<byte> bytes, long[] dims)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)type, RawData = ByteString.CopyFrom(bytes) };
        tensor.Dims.AddRange(dims);
        return tensor;
    }
}

using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace LSeg.Training.Bridge.Import;

/// <summary>Where a checkpoint tensor's bytes live; read on demand so a checkpoint is never held in memory whole.</summary>
internal interface ICheckpointStorage
{
    /// <summary>Human-readable location for error messages.</summary>
    string Description { get; }

    /// <summary>Total bytes of the storage.</summary>
    long ByteLength { get; }

    /// <summary>Reads <paramref name="count"/> bytes starting at <paramref name="offset"/>.</summary>
    byte[] Read(long offset, int count);
}

/// <summary>
/// A tensor described by a checkpoint (element type, shape, strides, offset into a storage) whose data is read only
/// when <see cref="Load"/> is called.
/// </summary>
internal sealed class CheckpointTensor
{
    public CheckpointTensor(ScalarType dtype, long[] shape, long[] stride, long storageOffset, ICheckpointStorage storage)
    {
        if (shape.Length != stride.Length)
            throw new InvalidDataException($"A tensor in {storage.Description} has shape [{string.Join(", ", shape)}] but strides [{string.Join(", ", stride)}].");
        DType = dtype;
        Shape = shape;
        Stride = stride;
        StorageOffset = storageOffset;
        Storage = storage;
    }

    public ScalarType DType { get; }

    public long[] Shape { get; }

    public long[] Stride { get; }

    /// <summary>Offset of the first element, in elements.</summary>
    public long StorageOffset { get; }

    public ICheckpointStorage Storage { get; }

    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);

    /// <summary>Bytes of the data this tensor owns once loaded as <paramref name="dtype"/>.</summary>
    public long ByteSize(ScalarType dtype) => ElementCount * ElementSize(dtype);

    public string ShapeText => $"[{string.Join(", ", Shape)}]";

    /// <summary>Reads the tensor's elements and returns a contiguous CPU tensor of type <paramref name="target"/>.</summary>
    public Tensor Load(ScalarType target)
    {
        int elementSize = ElementSize(DType);
        if (ElementCount == 0)
            return torch.zeros(Shape, target);
        // The span of storage elements this (possibly strided) view touches.
        long lastElement = Shape.Zip(Stride, (size, stride) => (size - 1) * stride).Sum();
        long spanElements = lastElement + 1;
        long byteOffset = StorageOffset * elementSize;
        long byteCount = spanElements * elementSize;
        if (StorageOffset < 0 || byteOffset + byteCount > Storage.ByteLength)
            throw new InvalidDataException($"A tensor of shape {ShapeText} reads bytes {byteOffset}..{byteOffset + byteCount} of {Storage.Description}, which has only {Storage.ByteLength}: the file is truncated or damaged.");
        if (byteCount > int.MaxValue)
            throw new InvalidDataException($"A tensor of shape {ShapeText} in {Storage.Description} spans {byteCount} bytes; tensors over 2 GB are not supported.");

        byte[] bytes = Storage.Read(byteOffset, (int)byteCount);
        using var scope = torch.NewDisposeScope();
        var typed = FromLittleEndianBytes(bytes, DType);
        var view = typed.as_strided(Shape, Stride, 0);
        return view.to_type(target).contiguous().clone().MoveToOuterDisposeScope();
    }

    /// <summary>A 1-D tensor of the elements in <paramref name="bytes"/> (little-endian, as torch and safetensors store them).</summary>
    private static Tensor FromLittleEndianBytes(byte[] bytes, ScalarType dtype)
    {
        var span = bytes.AsSpan();
        switch (dtype)
        {
            case ScalarType.Float32: return torch.tensor(MemoryMarshal.Cast<byte, float>(span).ToArray());
            case ScalarType.Float64: return torch.tensor(MemoryMarshal.Cast<byte, double>(span).ToArray());
            case ScalarType.Int64: return torch.tensor(MemoryMarshal.Cast<byte, long>(span).ToArray());
            case ScalarType.Int32: return torch.tensor(MemoryMarshal.Cast<byte, int>(span).ToArray());
            case ScalarType.Int16: return torch.tensor(MemoryMarshal.Cast<byte, short>(span).ToArray());
            case ScalarType.Int8: return torch.tensor(MemoryMarshal.Cast<byte, sbyte>(span).ToArray());
            case ScalarType.Byte: return torch.tensor(bytes);
            case ScalarType.Bool: return torch.tensor(bytes.Select(b => b != 0).ToArray());
            case ScalarType.Float16:
            {
                var halves = MemoryMarshal.Cast<byte, Half>(span);
                var floats = new float[halves.Length];
                for (int i = 0; i < floats.Length; i++) floats[i] = (float)halves[i];
                return torch.tensor(floats);
            }
            case ScalarType.BFloat16:
            {
                // bfloat16 is the upper half of a float32.
                var raw = MemoryMarshal.Cast<byte, ushort>(span);
                var floats = new float[raw.Length];
                for (int i = 0; i < floats.Length; i++) floats[i] = BitConverter.Int32BitsToSingle(raw[i] << 16);
                return torch.tensor(floats);
            }
            default: throw new NotSupportedException($"Tensors of type {dtype} are not supported in checkpoints.");
        }
    }

    public static int ElementSize(ScalarType dtype) => dtype switch
    {
        ScalarType.Float64 or ScalarType.Int64 => 8,
        ScalarType.Float32 or ScalarType.Int32 => 4,
        ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Int16 => 2,
        ScalarType.Int8 or ScalarType.Byte or ScalarType.Bool => 1,
        _ => throw new NotSupportedException($"Tensors of type {dtype} are not supported in checkpoints."),
    };
}

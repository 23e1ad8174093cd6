using System.Buffers.Binary;
using System.Text.Json;
using static TorchSharp.torch;

namespace LSeg.Training.Bridge.Import;

/// <summary>
/// Reads a safetensors file: an 8-byte little-endian header length, a JSON header naming each tensor's dtype, shape
/// and byte range, then the raw data. Tensors are read from the file only when loaded.
/// </summary>
internal static class SafetensorsCheckpoint
{
    /// <summary>The largest JSON header accepted (the format's own limit is 100 MB).</summary>
    private const long MaxHeaderBytes = 100_000_000;

    /// <summary>True when the first bytes look like a safetensors header: a plausible length, then '{'.</summary>
    public static bool LooksLikeSafetensors(ReadOnlySpan<byte> start, long fileLength)
    {
        if (start.Length < 9)
            return false;
        long headerLength = BinaryPrimitives.ReadInt64LittleEndian(start);
        return headerLength >= 2 && headerLength <= MaxHeaderBytes && headerLength + 8 <= fileLength && start[8] == (byte)'{';
    }

    public static Dictionary<string, CheckpointTensor> Read(string path)
    {
        using var stream = File.OpenRead(path);
        Span<byte> lengthBytes = stackalloc byte[8];
        stream.ReadExactly(lengthBytes);
        long headerLength = BinaryPrimitives.ReadInt64LittleEndian(lengthBytes);
        if (headerLength < 2 || headerLength > MaxHeaderBytes || 8 + headerLength > stream.Length)
            throw new InvalidDataException($"'{path}' declares a safetensors header of {headerLength} bytes in a file of {stream.Length}: the file is truncated or not safetensors.");
        byte[] header = new byte[headerLength];
        stream.ReadExactly(header);
        long dataStart = 8 + headerLength;
        var storage = new FileRangeStorage(path, dataStart, stream.Length - dataStart);

        var tensors = new Dictionary<string, CheckpointTensor>(StringComparer.Ordinal);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(header);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"'{path}' has a safetensors header that is not valid JSON: {e.Message}", e);
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException($"'{path}' has a safetensors header that is not a JSON object of tensors.");
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (property.Name == "__metadata__")
                    continue;
                tensors[property.Name] = ReadEntry(property, storage, path);
            }
        }
        return tensors;
    }

    /// <summary>One tensor's header entry; a hostile or damaged entry is an <see cref="InvalidDataException"/> naming the tensor.</summary>
    private static CheckpointTensor ReadEntry(JsonProperty property, FileRangeStorage storage, string path)
    {
        long[] shape, offsets;
        ScalarType dtype;
        long expectedBytes;
        int elementSize;
        try
        {
            var entry = property.Value;
            dtype = ParseDType(entry.GetProperty("dtype").GetString(), property.Name, path);
            shape = entry.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray();
            offsets = entry.GetProperty("data_offsets").EnumerateArray().Select(d => d.GetInt64()).ToArray();
            if (shape.Any(d => d < 0))
                throw new InvalidDataException($"'{path}': tensor '{property.Name}' has a negative dimension in shape [{string.Join(", ", shape)}].");
            elementSize = CheckpointTensor.ElementSize(dtype);
            expectedBytes = checked(shape.Aggregate(1L, (a, b) => a * b) * elementSize);
        }
        catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException or FormatException or OverflowException)
        {
            // Missing fields, values of the wrong JSON kind, non-integers, or a shape whose size overflows.
            throw new InvalidDataException($"'{path}': tensor '{property.Name}' has a header entry that is not {{\"dtype\": …, \"shape\": [integers], \"data_offsets\": [begin, end]}}: {e.Message}", e);
        }
        if (offsets.Length != 2 || offsets[0] < 0 || offsets[1] - offsets[0] != expectedBytes || offsets[0] % elementSize != 0)
            throw new InvalidDataException($"'{path}': tensor '{property.Name}' of shape [{string.Join(", ", shape)}] has data offsets [{string.Join(", ", offsets)}], which do not hold {expectedBytes} bytes.");
        if (offsets[1] > storage.ByteLength)
            throw new InvalidDataException($"'{path}': tensor '{property.Name}' ends at byte {offsets[1]} of a data section of {storage.ByteLength}: the file is truncated.");
        return new CheckpointTensor(dtype, shape, ContiguousStrides(shape), offsets[0] / elementSize, storage);
    }

    private static ScalarType ParseDType(string? name, string key, string path) => name switch
    {
        "F32" => ScalarType.Float32,
        "F16" => ScalarType.Float16,
        "BF16" => ScalarType.BFloat16,
        "F64" => ScalarType.Float64,
        "I64" => ScalarType.Int64,
        "I32" => ScalarType.Int32,
        "I16" => ScalarType.Int16,
        "I8" => ScalarType.Int8,
        "U8" => ScalarType.Byte,
        "BOOL" => ScalarType.Bool,
        _ => throw new InvalidDataException($"'{path}': tensor '{key}' has dtype '{name}', which the importer does not read (expected F32, F16, BF16, F64, I64, I32, I16, I8, U8 or BOOL)."),
    };

    internal static long[] ContiguousStrides(long[] shape)
    {
        var strides = new long[shape.Length];
        long stride = 1;
        for (int i = shape.Length - 1; i >= 0; i--)
        {
            strides[i] = stride;
            stride *= shape[i];
        }
        return strides;
    }

    private sealed class FileRangeStorage : ICheckpointStorage
    {
        private readonly string _path;
        private readonly long _start;

        public FileRangeStorage(string path, long start, long length)
        {
            _path = path;
            _start = start;
            ByteLength = length;
        }

        public string Description => $"'{_path}'";

        public long ByteLength { get; }

        public byte[] Read(long offset, int count)
        {
            using var stream = File.OpenRead(_path);
            stream.Seek(_start + offset, SeekOrigin.Begin);
            byte[] buffer = new byte[count];
            try
            {
                stream.ReadExactly(buffer);
            }
            catch (EndOfStreamException)
            {
                throw new InvalidDataException($"'{_path}' ends before its declared tensor data: the file is truncated.");
            }
            return buffer;
        }
    }
}

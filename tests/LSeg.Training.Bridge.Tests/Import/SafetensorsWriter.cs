using System.Text;
using System.Text.Json;
using static TorchSharp.torch;

namespace LSeg.Training.Bridge.Tests.Import;

/// <summary>Writes the safetensors format (8-byte little-endian header length, JSON header, raw little-endian data).</summary>
internal static class SafetensorsWriter
{
    public static void Save(string path, params (string Name, Tensor Value)[] tensors)
    {
        var header = new Dictionary<string, object>();
        var data = new List<byte[]>();
        long offset = 0;
        foreach (var (name, value) in tensors)
        {
            byte[] bytes = value.contiguous().bytes.ToArray();
            string dtype = value.dtype switch { ScalarType.Float32 => "F32", ScalarType.Float16 => "F16", ScalarType.Int64 => "I64", _ => throw new ArgumentException($"{value.dtype}") };
            header[name] = new { dtype, shape = value.shape, data_offsets = new[] { offset, offset + bytes.Length } };
            data.Add(bytes);
            offset += bytes.Length;
        }
        header["__metadata__"] = new Dictionary<string, string> { ["format"] = "pt" };
        byte[] json = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(header));
        using var stream = File.Create(path);
        stream.Write(BitConverter.GetBytes((long)json.Length));
        stream.Write(json);
        foreach (byte[] bytes in data)
            stream.Write(bytes);
    }
}

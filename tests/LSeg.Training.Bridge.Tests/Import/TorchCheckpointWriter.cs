using System.IO.Compression;
using System.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace LSeg.Training.Bridge.Tests.Import;

/// <summary>
/// Writes files in the format of PyTorch's <c>torch.save</c> (zip, ≥ 1.6) so that the importer can be tested on
/// checkpoints built by the tests: <c>archive/data.pkl</c> (pickle protocol 2, the protocol torch.save uses), one
/// <c>archive/data/&lt;key&gt;</c> entry per tensor storage, <c>archive/version</c> and <c>archive/byteorder</c>.
/// </summary>
internal static class TorchCheckpointWriter
{
    public static void Save(object? root, string path)
    {
        var storages = new List<Tensor>();
        byte[] pickle;
        using (var buffer = new MemoryStream())
        {
            var writer = new BinaryWriter(buffer);
            writer.Write((byte)0x80);
            writer.Write((byte)2);
            Write(writer, root, storages);
            writer.Write((byte)'.');
            writer.Flush();
            pickle = buffer.ToArray();
        }

        using var stream = File.Create(path);
        using var zip = new ZipArchive(stream, ZipArchiveMode.Create);
        AddEntry(zip, "archive/data.pkl", pickle);
        AddEntry(zip, "archive/byteorder", Encoding.ASCII.GetBytes("little"));
        // One storage at a time, so that writing a large checkpoint never holds a second copy of all its weights.
        for (int i = 0; i < storages.Count; i++)
            AddEntry(zip, $"archive/data/{i}", storages[i].bytes.ToArray());
        AddEntry(zip, "archive/version", Encoding.ASCII.GetBytes("3\n"));
    }

    /// <summary>Writes raw pickle bytes (protocol 2 header, the given body, STOP) as the data.pkl of an archive.</summary>
    public static void SaveRawPickle(byte[] body, string path)
    {
        using var stream = File.Create(path);
        using var zip = new ZipArchive(stream, ZipArchiveMode.Create);
        AddEntry(zip, "archive/data.pkl", [0x80, 2, .. body, (byte)'.']);
        AddEntry(zip, "archive/version", Encoding.ASCII.GetBytes("3\n"));
    }

    private static void AddEntry(ZipArchive zip, string name, byte[] bytes)
    {
        var entry = zip.CreateEntry(name, CompressionLevel.NoCompression);
        using var entryStream = entry.Open();
        entryStream.Write(bytes);
    }

    private static void Write(BinaryWriter w, object? value, List<Tensor> storages)
    {
        switch (value)
        {
            case null: w.Write((byte)'N'); break;
            case bool b: w.Write((byte)(b ? 0x88 : 0x89)); break;
            case int i: WriteInt(w, i); break;
            case long l: WriteInt(w, l); break;
            case double d:
                w.Write((byte)'G');
                w.Write(BitConverter.GetBytes(d).Reverse().ToArray());
                break;
            case string s:
                byte[] utf8 = Encoding.UTF8.GetBytes(s);
                w.Write((byte)'X');
                w.Write((uint)utf8.Length);
                w.Write(utf8);
                break;
            case PyGlobal g: WriteGlobal(w, g); break;
            case PyTuple t:
                w.Write((byte)'(');
                foreach (var item in t.Items) Write(w, item, storages);
                w.Write((byte)'t');
                break;
            case List<object?> list:
                w.Write((byte)']');
                if (list.Count > 0)
                {
                    w.Write((byte)'(');
                    foreach (var item in list) Write(w, item, storages);
                    w.Write((byte)'e');
                }
                break;
            case PyDict dict:
                if (dict.Ordered)
                {
                    WriteGlobal(w, new PyGlobal("collections", "OrderedDict"));
                    w.Write((byte)')');
                    w.Write((byte)'R');
                }
                else
                {
                    w.Write((byte)'}');
                }
                if (dict.Count > 0)
                {
                    w.Write((byte)'(');
                    foreach (var (key, item) in dict)
                    {
                        Write(w, key, storages);
                        Write(w, item, storages);
                    }
                    w.Write((byte)'u');
                }
                break;
            case PyInstance instance:
                WriteGlobal(w, instance.Type);
                w.Write((byte)')');
                w.Write((byte)0x81); // NEWOBJ
                Write(w, instance.State, storages);
                w.Write((byte)'b'); // BUILD
                break;
            case PyCall call:
                WriteGlobal(w, call.Callable);
                Write(w, call.Arguments, storages);
                w.Write((byte)'R');
                break;
            case PyTensor tensor: WriteTensor(w, tensor.Value, storages); break;
            default: throw new ArgumentException($"Cannot pickle a {value.GetType().Name}.");
        }
    }

    private static void WriteTensor(BinaryWriter w, Tensor tensor, List<Tensor> storages)
    {
        var contiguous = tensor.detach().cpu().contiguous();
        string storageType = contiguous.dtype switch
        {
            ScalarType.Float32 => "FloatStorage",
            ScalarType.Float16 => "HalfStorage",
            ScalarType.Int64 => "LongStorage",
            _ => throw new ArgumentException($"Cannot store a {contiguous.dtype} tensor."),
        };
        int key = storages.Count;
        storages.Add(contiguous);
        long[] stride = SafetensorsStrides(contiguous.shape);

        WriteGlobal(w, new PyGlobal("torch._utils", "_rebuild_tensor_v2"));
        w.Write((byte)'(');
        // Persistent id: ('storage', storage_type, key, location, numel), then BINPERSID.
        Write(w, new PyTuple("storage", new PyGlobal("torch", storageType), key.ToString(), "cpu", contiguous.numel()), storages);
        w.Write((byte)'Q');
        WriteInt(w, 0);
        Write(w, new PyTuple(contiguous.shape.Cast<object?>().ToArray()), storages);
        Write(w, new PyTuple(stride.Cast<object?>().ToArray()), storages);
        w.Write((byte)0x89); // requires_grad False
        Write(w, new PyDict(ordered: true), storages); // backward hooks
        w.Write((byte)'t');
        w.Write((byte)'R');
    }

    private static long[] SafetensorsStrides(long[] shape)
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

    private static void WriteGlobal(BinaryWriter w, PyGlobal g)
    {
        w.Write((byte)'c');
        w.Write(Encoding.ASCII.GetBytes($"{g.Module}\n{g.Name}\n"));
    }

    private static void WriteInt(BinaryWriter w, long value)
    {
        if (value is >= 0 and < 256)
        {
            w.Write((byte)'K');
            w.Write((byte)value);
        }
        else if (value is >= int.MinValue and <= int.MaxValue)
        {
            w.Write((byte)'J');
            w.Write((int)value);
        }
        else
        {
            w.Write((byte)0x8a);
            w.Write((byte)8);
            w.Write(value);
        }
    }
}

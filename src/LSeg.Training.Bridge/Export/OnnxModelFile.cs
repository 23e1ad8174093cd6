using Google.Protobuf;
using Onnx;

namespace LSeg.Training.Bridge.Export;

/// <summary>
/// Writes an ONNX model to a file, moving its initializers to ONNX external data (<c>&lt;file&gt;.data</c> beside it)
/// when their total size exceeds a threshold: protobuf cannot hold a message over 2 GB.
/// </summary>
internal static class OnnxModelFile
{
    /// <summary>The protobuf limit on one serialised message.</summary>
    public const long ProtobufLimitBytes = int.MaxValue;

    /// <summary>
    /// Saves <paramref name="model"/> to <paramref name="path"/>. When the initializers hold more than
    /// <paramref name="externalDataThresholdBytes"/> bytes, every initializer's data goes to <c>path + ".data"</c>
    /// (the model is changed in place to point at it). Returns the files written.
    /// </summary>
    public static IReadOnlyList<string> Save(ModelProto model, string path, long externalDataThresholdBytes)
    {
        long initializerBytes = model.Graph.Initializer.Sum(t => (long)t.RawData.Length);
        var written = new List<string>();
        var movable = model.Graph.Initializer.Where(t => t.RawData.Length >= MinExternalTensorBytes).ToList();
        if (initializerBytes > externalDataThresholdBytes && movable.Count > 0)
        {
            string dataPath = path + ".data";
            MoveToExternalData(movable, dataPath);
            written.Add(dataPath);
        }
        long size = model.CalculateSize();
        if (size >= ProtobufLimitBytes)
            throw new InvalidOperationException(
                $"The ONNX graph for '{path}' serialises to {size} bytes, over protobuf's 2 GB limit; lower the external-data threshold (now {externalDataThresholdBytes} bytes).");
        using (var stream = File.Create(path))
            model.WriteTo(stream);
        written.Insert(0, path);
        return written;
    }

    /// <summary>Initializers smaller than this stay inside the .onnx file when the rest goes to external data.</summary>
    private const int MinExternalTensorBytes = 1024;

    /// <summary>
    /// Moves the data of <paramref name="tensors"/> to <paramref name="dataPath"/>. Tensors under
    /// <see cref="MinExternalTensorBytes"/> are never among them (as onnx.save_model's size_threshold): ONNX Runtime's
    /// shape inference must read constant shape inputs (Slice starts, Reshape shapes) from the graph itself.
    /// </summary>
    private static void MoveToExternalData(List<TensorProto> tensors, string dataPath)
    {
        string location = Path.GetFileName(dataPath);
        using var data = File.Create(dataPath);
        foreach (var tensor in tensors)
        {
            long offset = data.Position;
            tensor.RawData.WriteTo(data);
            tensor.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = location });
            tensor.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset.ToString(System.Globalization.CultureInfo.InvariantCulture) });
            tensor.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = tensor.RawData.Length.ToString(System.Globalization.CultureInfo.InvariantCulture) });
            tensor.DataLocation = TensorProto.Types.DataLocation.External;
            tensor.RawData = ByteString.Empty;
        }
    }
}

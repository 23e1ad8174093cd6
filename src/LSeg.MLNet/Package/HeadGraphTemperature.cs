using Google.Protobuf;
using Onnx;

namespace LSeg.MLNet.Package;

/// <summary>
/// The manifest's <c>temperature</c> must be the one the head graph divides by: the C# head of a label change (and of a
/// one-shot segmentation with a pixel projection) takes it from the manifest, the head graph and the ML.NET pipeline's
/// composed graph from their own constant, so a manifest edited on its own gave different masks by path.
/// </summary>
internal static class HeadGraphTemperature
{
    /// <summary>The name the exporter and the importer give the head graph's divisor (a FLOAT scalar initializer).</summary>
    internal const string InitializerName = "temperature";

    /// <summary>
    /// Checks the head graph's <c>temperature</c> initializer, where it has one, against <paramref name="manifest"/>. A
    /// head graph made otherwise (by hand, by another tool) is not checked.
    /// </summary>
    /// <exception cref="InvalidDataException">The two temperatures differ.</exception>
    public static void RequireAgreement(string directory, ModelManifest manifest)
    {
        string path = Path.Combine(directory, manifest.Graphs.Head);
        ModelProto model;
        try
        {
            model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
        }
        catch (InvalidProtocolBufferException)
        {
            return; // not ONNX: ONNX Runtime names the problem when the session is created
        }
        var initializer = model.Graph?.Initializer.FirstOrDefault(i => i.Name == InitializerName);
        // Only the exporter's form is checked: a FLOAT scalar stored in the graph file (not in external data).
        if (initializer is null || initializer.DataType != (int)TensorProto.Types.DataType.Float || initializer.Dims.Count != 0
            || initializer.DataLocation == TensorProto.Types.DataLocation.External)
            return;
        float[] values = OnnxTensors.ReadFloats(initializer);
        if (values.Length != 1)
            return;
        float graph = values[0];
        // The graph holds the float of the manifest's double.
        if (Math.Abs(graph - (float)manifest.Temperature) > 1e-6f * Math.Abs(graph))
            throw new InvalidDataException(
                $"{Path.Combine(directory, ModelManifest.FileName)} has temperature {manifest.Temperature}, but its head graph '{manifest.Graphs.Head}' divides by {graph}: " +
                "the temperature is part of the exported graphs, and the package's paths (the C# head, the head graph, an ML.NET pipeline) would give different masks. " +
                "Set the manifest's temperature back, or export the package again with the temperature wanted.");
    }
}

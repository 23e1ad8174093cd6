using Microsoft.ML.OnnxRuntime;

namespace LSeg.MLNet.Runtime;

/// <summary>Opens a model package's ONNX graphs, so that a graph ONNX Runtime cannot read is refused as the package's fault.</summary>
internal static class PackageGraph
{
    /// <summary>An ONNX Runtime session on the graph at <paramref name="path"/>.</summary>
    /// <exception cref="InvalidDataException">The file is not a graph ONNX Runtime can load (cut short, damaged, another kind of file).</exception>
    public static InferenceSession Open(string path, SessionOptions options)
    {
        try
        {
            return new InferenceSession(path, options);
        }
        catch (OnnxRuntimeException e) when (IsUnreadableGraph(e))
        {
            // The package's checks (sizes, sha256) pass for a file damaged before its manifest was written or edited:
            // ONNX Runtime's own error names neither the package nor what to do, and is not the type the other refusals are.
            throw new InvalidDataException($"Graph '{path}' of the model package is not an ONNX graph this ONNX Runtime can load ({e.Message.Trim()}): it is damaged (export or copy the package again) or made for a newer ONNX Runtime.", e);
        }
    }

    // OnnxRuntimeException's error code is internal; its message starts with it ("[ErrorCode:InvalidProtobuf] Load model …").
    private static bool IsUnreadableGraph(OnnxRuntimeException e) =>
        e.Message.Contains("[ErrorCode:InvalidProtobuf]", StringComparison.Ordinal)
        || e.Message.Contains("[ErrorCode:InvalidGraph]", StringComparison.Ordinal)
        || e.Message.Contains("[ErrorCode:NoModel]", StringComparison.Ordinal);
}

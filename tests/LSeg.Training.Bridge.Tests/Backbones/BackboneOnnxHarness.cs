using Google.Protobuf;
using LSeg.Training.Bridge.Export;
using LSeg.Training.Bridge.Network.ImageEncoders;
using Microsoft.ML.OnnxRuntime;
using Onnx;
using TorchSharp;
using static TorchSharp.torch;
using TensorElementType = Microsoft.ML.OnnxRuntime.Tensors.TensorElementType;

namespace LSeg.Training.Bridge.Tests.Backbones;

/// <summary>
/// Exports a backbone alone (pixels → four feature maps, batch/H/W dynamic) and runs it in ONNX Runtime, so its
/// features can be compared with the TorchSharp forward of the same weights.
/// </summary>
internal static class BackboneOnnxHarness
{
    public static readonly string[] FeatureNames = ["layer1", "layer2", "layer3", "layer4"];

    /// <summary>The ONNX model bytes of <paramref name="backbone"/>'s forward.</summary>
    public static byte[] Export(IImageBackbone backbone)
    {
        var g = new OnnxGraphBuilder("backbone");
        string pixels = g.Input("pixels", TensorProto.Types.DataType.Float, "batch", 3L, "height", "width");
        var names = backbone.ExportOnnx(g, pixels, "pretrained");
        string[] values = [names.Layer1, names.Layer2, names.Layer3, names.Layer4];
        for (int i = 0; i < 4; i++)
            g.Output(FeatureNames[i], values[i], TensorProto.Types.DataType.Float, "batch", (long)backbone.FeatureChannels[i], $"h{i}", $"w{i}");
        return g.BuildModel().ToByteArray();
    }

    /// <summary>A CPU session with full graph optimisations (what a user gets).</summary>
    public static InferenceSession Session(byte[] model)
    {
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        return new InferenceSession(model, options);
    }

    /// <summary>One output of a session run: float values, or INT64 values (label maps), and the shape.</summary>
    public sealed record Output(float[] Values, long[] Indices, long[] Shape);

    /// <summary>Runs the session on one input and returns every float output in the session's output order.</summary>
    public static (float[] Values, long[] Shape)[] Run(InferenceSession session, string inputName, Tensor input)
        => Run(session, new Dictionary<string, Tensor> { [inputName] = input }).Select(o => (o.Values, o.Shape)).ToArray();

    /// <summary>Runs the session on named float inputs and returns every output, in the session's output order.</summary>
    public static Output[] Run(InferenceSession session, Dictionary<string, Tensor> inputs)
    {
        var values = new Dictionary<string, OrtValue>();
        try
        {
            foreach (var (name, tensor) in inputs)
            {
                using var contiguous = tensor.detach().cpu().contiguous();
                values[name] = OrtValue.CreateTensorValueFromMemory(contiguous.data<float>().ToArray(), tensor.shape);
            }
            using var runOptions = new RunOptions();
            string[] outputNames = session.OutputNames.ToArray();
            using var results = session.Run(runOptions, values, outputNames);
            return results.Select(r =>
            {
                var info = r.GetTensorTypeAndShape();
                return info.ElementDataType == TensorElementType.Int64
                    ? new Output([], r.GetTensorDataAsSpan<long>().ToArray(), info.Shape)
                    : new Output(r.GetTensorDataAsSpan<float>().ToArray(), [], info.Shape);
            }).ToArray();
        }
        finally
        {
            foreach (var value in values.Values)
                value.Dispose();
        }
    }

    /// <summary>Random pixels in 0–255, [B, 3, H, W].</summary>
    public static Tensor RandomPixels(long batch, long height, long width, long seed)
    {
        var generator = new Generator((ulong)seed);
        return rand([batch, 3, height, width], generator: generator).mul_(255f);
    }

    /// <summary>Largest |a − b| over two equally long arrays.</summary>
    public static double MaxAbsDiff(float[] a, float[] b)
    {
        Assert.Equal(a.Length, b.Length);
        double max = 0;
        for (int i = 0; i < a.Length; i++)
            max = Math.Max(max, Math.Abs((double)a[i] - b[i]));
        return max;
    }

    /// <summary>Largest |value|, the scale a difference is judged against.</summary>
    public static double MaxAbs(float[] a) => a.Length == 0 ? 0 : a.Max(v => Math.Abs((double)v));
}

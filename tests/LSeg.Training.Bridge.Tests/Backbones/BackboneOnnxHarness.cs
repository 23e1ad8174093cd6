using Google.Protobuf;
using LSeg.Training.Bridge.Export;
using LSeg.Training.Bridge.Network.ImageEncoders;
using Microsoft.ML.OnnxRuntime;
using Onnx;
using TorchSharp;
using static TorchSharp.torch;

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
        var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        return new InferenceSession(model, options);
    }

    /// <summary>Runs the session on <paramref name="input"/> and returns each output as (values, shape).</summary>
    public static (float[] Values, long[] Shape)[] Run(InferenceSession session, string inputName, Tensor input)
    {
        using var contiguous = input.detach().cpu().contiguous();
        float[] data = contiguous.data<float>().ToArray();
        using var value = OrtValue.CreateTensorValueFromMemory(data, input.shape);
        using var runOptions = new RunOptions();
        string[] outputNames = session.OutputNames.ToArray();
        using var results = session.Run(runOptions, new Dictionary<string, OrtValue> { [inputName] = value }, outputNames);
        return results.Select(r => (r.GetTensorDataAsSpan<float>().ToArray(), r.GetTensorTypeAndShape().Shape)).ToArray();
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

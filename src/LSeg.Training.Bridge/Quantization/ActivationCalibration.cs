using Google.Protobuf;
using LSeg.MLNet.Package;
using Microsoft.ML.OnnxRuntime;
using Onnx;

namespace LSeg.Training.Bridge.Quantization;

/// <summary>
/// Calibration for static quantization: the range (min, max) each named activation takes over a set of inputs, read by
/// running the float graph with those activations as extra outputs (ONNX Runtime's MinMax calibration).
/// </summary>
internal static class ActivationCalibration
{
    /// <summary>One calibration input: planar RGB 0–255 pixels [3, Height, Width].</summary>
    public readonly record struct Input(float[] Pixels, int Width, int Height);

    /// <summary>Runs <paramref name="model"/> on every input and returns the range of each of <paramref name="tensors"/>.</summary>
    /// <exception cref="ArgumentException">There is no input.</exception>
    public static Dictionary<string, (float Min, float Max)> Collect(ModelProto model, IReadOnlyCollection<string> tensors, IEnumerable<Input> inputs, string inputName)
    {
        var probe = model.Clone();
        var outputs = probe.Graph.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        foreach (string name in tensors.Where(t => !outputs.Contains(t)))
            probe.Graph.Output.Add(OnnxProtos.TensorValueOfAnyShape(name, TensorProto.Types.DataType.Float));
        probe.Graph.ValueInfo.Clear();

        // The graph is already optimised; further rewrites could rename or fuse away the tensors to observe.
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL, LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL };
        using var session = new InferenceSession(probe.ToByteArray(), options);
        var names = tensors.ToArray();
        var ranges = names.ToDictionary(n => n, _ => (Min: float.PositiveInfinity, Max: float.NegativeInfinity), StringComparer.Ordinal);
        int count = 0;
        foreach (var input in inputs)
        {
            using var pixels = OrtValue.CreateTensorValueFromMemory(input.Pixels, [1, 3, input.Height, input.Width]);
            using var runOptions = new RunOptions();
            using var values = session.Run(runOptions, [inputName], [pixels], names);
            for (int i = 0; i < names.Length; i++)
            {
                var (min, max) = ranges[names[i]];
                foreach (float v in values[i].GetTensorDataAsSpan<float>())
                {
                    if (v < min)
                        min = v;
                    if (v > max)
                        max = v;
                }
                ranges[names[i]] = (min, max);
            }
            count++;
        }
        if (count == 0)
            throw new ArgumentException("Static quantization needs at least one calibration image.", nameof(inputs));
        return ranges;
    }
}

using LSeg.MLNet.Pipeline;
using Microsoft.ML.OnnxRuntime;
using Onnx;

namespace LSeg.Training.Bridge.Quantization;

/// <summary>
/// The step before quantizing a graph (as ONNX Runtime's own quantization tools do): ONNX Runtime's basic graph
/// optimisations, written back as standard ONNX: constants folded (float16 weights become float32 initializers),
/// BatchNormalization fused into the preceding convolution, identities removed. Quantizing then sees each convolution
/// with its final weights and bias.
/// </summary>
internal static class GraphPreprocessing
{
    /// <summary>Graphs at least this large are written with external data (protobuf caps a file at 2 GB).</summary>
    private const long ExternalDataFromBytes = 1L << 30;

    /// <summary>Returns the optimised model of the graph at <paramref name="modelPath"/>; <paramref name="workDirectory"/> receives the intermediate file.</summary>
    public static ModelProto Optimize(string modelPath, string workDirectory)
    {
        string output = Path.Combine(workDirectory, "preprocessed.onnx");
        long bytes = new FileInfo(modelPath).Length + (File.Exists(modelPath + ".data") ? new FileInfo(modelPath + ".data").Length : 0);
        using (var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_BASIC, OptimizedModelFilePath = output, LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL })
        {
            if (bytes >= ExternalDataFromBytes)
            {
                options.AddSessionConfigEntry("session.optimized_model_external_initializers_file_name", "preprocessed.onnx.data");
                options.AddSessionConfigEntry("session.optimized_model_external_initializers_min_size_in_bytes", "1024");
            }
            using var session = new InferenceSession(modelPath, options);
        }
        return SegmentationGraph.ReadWithExternalData(output);
    }
}

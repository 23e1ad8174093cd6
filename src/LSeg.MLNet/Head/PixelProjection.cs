using LSeg.MLNet.Package;
using Onnx;

namespace LSeg.MLNet.Head;

/// <summary>
/// The image encoder's last layer, <c>head1</c>: embedding = W · feature + b, a 1×1 convolution from the F-wide decoder
/// features to the C-wide embedding space (package format 2's <c>pixel_projection.onnx</c>). Because it is linear,
/// the word–pixel correlation folds it into the labels (<see cref="WordPixelCorrelation.PrepareLabels"/>): a label
/// change then reads F values per pixel instead of C (128 instead of 384 for the default model).
/// </summary>
internal sealed class PixelProjection
{
    internal PixelProjection(float[] weight, float[] bias, int embeddingSize, int featureSize)
    {
        Weight = weight;
        Bias = bias;
        EmbeddingSize = embeddingSize;
        FeatureSize = featureSize;
    }

    /// <summary>W, row-major [C, F].</summary>
    public float[] Weight { get; }

    /// <summary>b, [C].</summary>
    public float[] Bias { get; }

    /// <summary>C.</summary>
    public int EmbeddingSize { get; }

    /// <summary>F.</summary>
    public int FeatureSize { get; }

    /// <summary>Reads W and b from the projection graph at <paramref name="path"/>: one 1×1 Conv, its weight and bias initializers (float, or float16 cast to float).</summary>
    /// <exception cref="InvalidDataException">The graph is not a single 1×1 convolution with bias producing <c>pixel_embeddings</c>.</exception>
    public static PixelProjection Read(string path, int embeddingSize)
    {
        // A package with large weights keeps them in ONNX external data (*.onnx.data), the projection's too.
        var graph = Pipeline.SegmentationGraph.ReadWithExternalData(path).Graph;
        string name = Path.GetFileName(path);
        var conv = graph.Node.Where(n => n.OpType == "Conv").ToList();
        if (conv.Count != 1 || conv[0].Input.Count != 3)
            throw new InvalidDataException($"'{name}' must hold one Conv node with a weight and a bias (the pixel projection); it has {conv.Count} Conv nodes.");
        var initializers = graph.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
        var casts = graph.Node.Where(n => n.OpType == "Cast").ToDictionary(n => n.Output[0], n => n.Input[0], StringComparer.Ordinal);
        var weight = Initializer(conv[0].Input[1]);
        var bias = Initializer(conv[0].Input[2]);
        if (weight.Dims.Count != 4 || weight.Dims[0] != embeddingSize || weight.Dims[2] != 1 || weight.Dims[3] != 1 || bias.Dims.Count != 1 || bias.Dims[0] != embeddingSize)
            throw new InvalidDataException(
                $"'{name}' has a weight of shape [{string.Join(",", weight.Dims)}] and a bias of shape [{string.Join(",", bias.Dims)}]; a pixel projection to the manifest's embeddingSize needs [{embeddingSize},F,1,1] and [{embeddingSize}].");
        return new PixelProjection(OnnxTensors.ReadFloats(weight), OnnxTensors.ReadFloats(bias), embeddingSize, (int)weight.Dims[1]);

        TensorProto Initializer(string value)
        {
            string source = casts.TryGetValue(value, out string? input) ? input : value;
            return initializers.TryGetValue(source, out var tensor)
                ? tensor
                : throw new InvalidDataException($"'{name}': the Conv input '{value}' is not an initializer (the pixel projection's weights must be constants).");
        }
    }
}

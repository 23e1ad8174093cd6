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
        // The label change folds exactly W·x + b into the labels: any other operation in the graph, or a Conv that is
        // not a plain 1×1 (grouped, strided, dilated, padded), would make its masks differ from the graph's.
        var others = graph.Node.Select(n => n.OpType).Where(op => op is not ("Conv" or "Cast" or "Identity")).Distinct().ToList();
        if (others.Count > 0)
            throw new InvalidDataException($"'{name}' holds {string.Join(", ", others)} besides its Conv; a pixel projection is one 1×1 Conv (with Casts of its weights and Identity renamings), which the label change folds into the labels.");
        foreach (var attribute in conv[0].Attribute)
        {
            bool plain = attribute.Name switch
            {
                "group" => attribute.I == 1,
                "strides" or "dilations" => attribute.Ints.All(v => v == 1),
                "pads" => attribute.Ints.All(v => v == 0),
                _ => true,
            };
            if (!plain)
                throw new InvalidDataException($"'{name}': its Conv sets {attribute.Name} to {(attribute.Ints.Count > 0 ? $"[{string.Join(",", attribute.Ints)}]" : attribute.I.ToString(System.Globalization.CultureInfo.InvariantCulture))}; a pixel projection is a plain 1×1 convolution.");
        }
        if (!graph.Output.Any(o => o.Name == "pixel_embeddings"))
            throw new InvalidDataException($"'{name}' has no output 'pixel_embeddings' (outputs: {string.Join(", ", graph.Output.Select(o => o.Name))}).");
        var initializers = graph.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
        var casts = graph.Node.Where(n => n.OpType == "Cast").ToDictionary(n => n.Output[0], n => n.Input[0], StringComparer.Ordinal);
        var weight = Initializer(conv[0].Input[1]);
        var bias = Initializer(conv[0].Input[2]);
        if (weight.Dims.Count != 4 || weight.Dims[0] != embeddingSize || weight.Dims[2] != 1 || weight.Dims[3] != 1 || bias.Dims.Count != 1 || bias.Dims[0] != embeddingSize)
            throw new InvalidDataException(
                $"'{name}' has a weight of shape [{string.Join(",", weight.Dims)}] and a bias of shape [{string.Join(",", bias.Dims)}]; a pixel projection to the manifest's embeddingSize needs [{embeddingSize},F,1,1] and [{embeddingSize}].");
        float[] weights = OnnxTensors.ReadFloats(weight), biases = OnnxTensors.ReadFloats(bias);
        if (weights.Length != embeddingSize * weight.Dims[1] || biases.Length != embeddingSize)
            throw new InvalidDataException($"'{name}' declares a weight of [{string.Join(",", weight.Dims)}] and a bias of [{embeddingSize}] but holds {weights.Length} and {biases.Length} values.");
        return new PixelProjection(weights, biases, embeddingSize, (int)weight.Dims[1]);

        TensorProto Initializer(string value)
        {
            string source = casts.TryGetValue(value, out string? input) ? input : value;
            return initializers.TryGetValue(source, out var tensor)
                ? tensor
                : throw new InvalidDataException($"'{name}': the Conv input '{value}' is not an initializer (the pixel projection's weights must be constants).");
        }
    }
}

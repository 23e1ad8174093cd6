using LSeg.MLNet.Package;
using Onnx;

namespace LSeg.Training.Bridge.Quantization;

/// <summary>
/// Static int8 quantization of a convolutional graph in the QDQ format: every convolution gets int8 per-channel
/// weights and an int32 bias behind DequantizeLinear nodes, and its input and output activations a
/// QuantizeLinear → DequantizeLinear pair whose uint8 scale comes from calibration. ONNX Runtime turns each
/// DQ → Conv → Q group into an integer convolution (QLinearConv) when it loads the graph.
/// </summary>
/// <remarks>
/// A ReLU right after a convolution is removed and its output range calibrated instead: the uint8 range of a ReLU
/// output starts at 0, so the quantization clamps exactly as the ReLU did. Convolutions that write
/// the outputs named in <see cref="Plan"/> stay float (the image encoder's <c>head1</c>, so the pixel embeddings keep
/// float precision and match the package's float pixel projection).
/// </remarks>
internal sealed class StaticConvQuantization
{
    private readonly ModelProto _model;
    private readonly List<NodeProto> _convolutions;
    private readonly Dictionary<NodeProto, NodeProto> _foldedRelus;

    private StaticConvQuantization(ModelProto model, List<NodeProto> convolutions, Dictionary<NodeProto, NodeProto> foldedRelus, IReadOnlyCollection<string> activations)
    {
        _model = model;
        _convolutions = convolutions;
        _foldedRelus = foldedRelus;
        Activations = activations;
    }

    /// <summary>The activations to calibrate and quantize (inputs and outputs of the quantized convolutions).</summary>
    public IReadOnlyCollection<string> Activations { get; }

    /// <summary>Number of convolutions that will be quantized.</summary>
    public int ConvolutionCount => _convolutions.Count;

    /// <summary>Plans the quantization of <paramref name="model"/> (a preprocessed graph; see <see cref="GraphPreprocessing"/>).</summary>
    public static StaticConvQuantization Plan(ModelProto model, IReadOnlyCollection<string> keepFloatOutputs)
    {
        var graph = model.Graph;
        var initializers = graph.Initializer.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        var graphInputs = graph.Input.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        var readers = OnnxGraphEdits.ReaderCounts(graph);
        var outputs = graph.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        var convolutions = new List<NodeProto>();
        var foldedRelus = new Dictionary<NodeProto, NodeProto>();
        var activations = new HashSet<string>(StringComparer.Ordinal);
        foreach (var conv in graph.Node.Where(n => n.OpType == "Conv"))
        {
            bool constantWeights = conv.Input.Skip(1).Where(i => i.Length > 0).All(initializers.Contains);
            if (!constantWeights || keepFloatOutputs.Contains(conv.Output[0]) || graphInputs.Contains(conv.Input[0]) || initializers.Contains(conv.Input[0]))
                continue;
            convolutions.Add(conv);
            activations.Add(conv.Input[0]);
            string output = conv.Output[0];
            var relu = graph.Node.FirstOrDefault(n => n.OpType == "Relu" && n.Input[0] == output);
            if (relu is not null && readers[output] == 1 && !outputs.Contains(output))
            {
                foldedRelus[conv] = relu;
                output = relu.Output[0];
            }
            activations.Add(output);
        }
        return new StaticConvQuantization(model, convolutions, foldedRelus, activations.Order(StringComparer.Ordinal).ToList());
    }

    /// <summary>Rewrites the model in place with the calibrated <paramref name="ranges"/> of every planned activation.</summary>
    public void Apply(IReadOnlyDictionary<string, (float Min, float Max)> ranges)
    {
        var graph = _model.Graph;
        var initializers = graph.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
        var activationParameters = Activations.ToDictionary(a => a, a => QuantizedValues.Uint8(ranges[a].Min, ranges[a].Max), StringComparer.Ordinal);
        var weightNodes = new List<NodeProto>();

        // Convolutions: 8-bit weights and int32 bias behind DequantizeLinear; a following ReLU folds into the output.
        foreach (var conv in _convolutions)
        {
            var weight = initializers[conv.Input[1]];
            int channels = (int)weight.Dims[0];
            // uint8 around 128, not int8: see QuantizedValues.SymmetricUint8 (int8 weights saturate on CPUs without VNNI).
            var (values, scales) = QuantizedValues.SymmetricUint8(OnnxTensors.ReadFloats(weight), channels, channelsFirst: true);
            string name = conv.Name.Length > 0 ? conv.Name : conv.Output[0];
            graph.Initializer.Add(OnnxTensors.UInt8(name + "::weight_uint8", values, [.. weight.Dims]));
            graph.Initializer.Add(OnnxTensors.Float(name + "::weight_scale", scales, channels));
            graph.Initializer.Add(QuantizedValues.Uint8WeightZeroPoints(name + "::weight_zero_point", channels));
            weightNodes.Add(OnnxProtos.Node("DequantizeLinear", name + "::weight_dq", [name + "::weight_uint8", name + "::weight_scale", name + "::weight_zero_point"], [name + "::weight"], OnnxProtos.Attribute("axis", 0)));
            conv.Input[1] = name + "::weight";
            if (conv.Input.Count > 2 && conv.Input[2].Length > 0)
            {
                float inputScale = activationParameters[conv.Input[0]].Scale;
                var bias = QuantizedValues.BiasInt32(OnnxTensors.ReadFloats(initializers[conv.Input[2]]), inputScale, scales);
                graph.Initializer.Add(OnnxGraphEdits.Int32(name + "::bias_int32", bias, channels));
                graph.Initializer.Add(OnnxTensors.Float(name + "::bias_scale", scales.Select(s => s * inputScale).ToArray(), channels));
                graph.Initializer.Add(OnnxGraphEdits.Int32(name + "::bias_zero_point", new int[channels], channels));
                weightNodes.Add(OnnxProtos.Node("DequantizeLinear", name + "::bias_dq", [name + "::bias_int32", name + "::bias_scale", name + "::bias_zero_point"], [name + "::bias"], OnnxProtos.Attribute("axis", 0)));
                conv.Input[2] = name + "::bias";
            }
            if (_foldedRelus.TryGetValue(conv, out var relu))
            {
                conv.Output[0] = relu.Output[0];
                graph.Node.Remove(relu);
            }
        }

        // Activations: the producer writes NAME::float; Q → DQ gives back NAME, so every reader (and a graph output) is unchanged.
        var nodes = new List<NodeProto>(weightNodes);
        foreach (var node in graph.Node)
        {
            nodes.Add(node);
            for (int o = 0; o < node.Output.Count; o++)
            {
                string tensor = node.Output[o];
                if (!activationParameters.TryGetValue(tensor, out var parameters))
                    continue;
                node.Output[o] = tensor + "::float";
                graph.Initializer.Add(OnnxGraphEdits.FloatScalar(tensor + "::scale", parameters.Scale));
                graph.Initializer.Add(OnnxGraphEdits.UInt8Scalar(tensor + "::zero_point", parameters.ZeroPoint));
                nodes.Add(OnnxProtos.Node("QuantizeLinear", tensor + "::q", [tensor + "::float", tensor + "::scale", tensor + "::zero_point"], [tensor + "::uint8"]));
                nodes.Add(OnnxProtos.Node("DequantizeLinear", tensor + "::dq", [tensor + "::uint8", tensor + "::scale", tensor + "::zero_point"], [tensor]));
            }
        }
        graph.Node.Clear();
        graph.Node.AddRange(nodes);
        // Intermediate shapes are optional; stale entries for renamed values are dropped rather than kept wrong.
        graph.ValueInfo.Clear();
        OnnxGraphEdits.RemoveUnusedInitializers(graph);
    }
}

using Google.Protobuf;
using LSeg.MLNet.Package;
using Onnx;
using TorchSharp;
using static TorchSharp.torch;

namespace LSeg.Training.Bridge.Export;

/// <summary>
/// Builds one ONNX graph (opset 17, IR 8) from C#: inputs and outputs with dynamic dimensions, initializers taken from
/// TorchSharp tensors, and nodes. Each network module mirrors its forward pass in an export method that calls this
/// builder, so one exporter serves every backbone. Value names are made unique by the builder.
/// </summary>
/// <remarks>
/// The class is partial: operators needed by one family of modules (ViT, CLIP) live in their own
/// <c>OnnxGraphBuilder.*.cs</c> files. Weights can be stored as FLOAT16 followed by a Cast to FLOAT
/// (<see cref="StoreWeightsAsFloat16"/>), which halves the file; ONNX Runtime folds the cast when it loads the graph.
/// </remarks>
internal sealed partial class OnnxGraphBuilder
{
    private readonly GraphProto _graph;
    private readonly HashSet<string> _usedNames = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _counters = new(StringComparer.Ordinal);
    private readonly HashSet<string> _addedWeights = new(StringComparer.Ordinal);

    /// <summary>Starts an empty graph.</summary>
    /// <param name="graphName">The graph's name inside the model.</param>
    /// <param name="storeWeightsAsFloat16">Store float weights as FLOAT16 initializers, each followed by a Cast to FLOAT.</param>
    public OnnxGraphBuilder(string graphName, bool storeWeightsAsFloat16 = false)
    {
        _graph = new GraphProto { Name = graphName };
        StoreWeightsAsFloat16 = storeWeightsAsFloat16;
    }

    /// <summary>Whether weights added with <see cref="Weight"/> are stored as FLOAT16 (cast back to FLOAT in the graph).</summary>
    public bool StoreWeightsAsFloat16 { get; }

    /// <summary>The graph being built.</summary>
    public GraphProto Graph => _graph;

    /// <summary>Wraps the graph in a model with the opset and IR version of this exporter.</summary>
    public ModelProto BuildModel(string producerVersion = "0.1.0") => OnnxProtos.Model(_graph, "LSeg.Training.Bridge", producerVersion);

    // ---------------------------------------------------------------- names, inputs, outputs, initializers

    /// <summary>Returns <paramref name="baseName"/>, or a numbered variant when it is already taken.</summary>
    public string UniqueName(string baseName)
    {
        if (_usedNames.Add(baseName))
            return baseName;
        _counters.TryGetValue(baseName, out int n);
        string candidate;
        do
        {
            n++;
            candidate = $"{baseName}_{n}";
        } while (_usedNames.Contains(candidate));
        _counters[baseName] = n;
        _usedNames.Add(candidate);
        return candidate;
    }

    /// <summary>Declares a graph input. Each dimension is a <see cref="long"/> (fixed) or a <see cref="string"/> (named, dynamic).</summary>
    public string Input(string name, TensorProto.Types.DataType elementType, params object[] dims)
    {
        if (!_usedNames.Add(name))
            throw new ArgumentException($"The graph already has a value named '{name}'.", nameof(name));
        _graph.Input.Add(OnnxProtos.TensorValue(name, elementType, dims));
        return name;
    }

    /// <summary>Declares <paramref name="value"/> as a graph output named <paramref name="name"/> (an Identity is added when the names differ).</summary>
    public void Output(string name, string value, TensorProto.Types.DataType elementType, params object[] dims)
    {
        if (value != name)
        {
            if (!_usedNames.Add(name))
                throw new ArgumentException($"The graph already has a value named '{name}'.", nameof(name));
            AddNode("Identity", [value], [name]);
        }
        _graph.Output.Add(OnnxProtos.TensorValue(name, elementType, dims));
    }

    /// <summary>
    /// Adds a float weight (a parameter or buffer of a module) as an initializer named <paramref name="name"/>; with
    /// <see cref="StoreWeightsAsFloat16"/> it is stored as FLOAT16 and cast back, the cast's output carrying the name.
    /// Asking again for a name already added returns it without adding anything (shared weights).
    /// </summary>
    public string Weight(string name, Tensor tensor)
    {
        // A module applied several times (a shared kernel) asks for its weights again: reuse them.
        if (!_addedWeights.Add(name))
            return name;
        using var scope = NewDisposeScope();
        var values = tensor.detach().cpu().to(ScalarType.Float32).contiguous();
        long[] dims = values.shape;
        if (!StoreWeightsAsFloat16)
            return AddInitializer(name, TensorProto.Types.DataType.Float, dims, FloatBytes(values));
        // float16 ends at 65504: a larger weight (a BatchNorm running variance, say) would be stored as infinity and
        // silently zero or NaN its channel. Kept in float32 instead, as the MiniLM conversion keeps such tensors.
        if (values.abs().max().item<float>() > 65504f)
            return AddInitializer(name, TensorProto.Types.DataType.Float, dims, FloatBytes(values));
        var half = values.to(ScalarType.Float16);
        string stored = AddInitializer(name + "::fp16", TensorProto.Types.DataType.Float16, dims, HalfBytes(half));
        if (!_usedNames.Add(name))
            throw new ArgumentException($"The graph already has a value named '{name}'.", nameof(name));
        AddNode("Cast", [stored], [name], OnnxProtos.Attribute("to", (long)TensorProto.Types.DataType.Float));
        return name;
    }

    /// <summary>Adds a FLOAT constant (never stored as FLOAT16) with the given shape.</summary>
    public string ConstantFloat(string baseName, float[] values, params long[] dims)
    {
        var bytes = new byte[values.Length * sizeof(float)];
        Buffer.BlockCopy(values, 0, bytes, 0, bytes.Length);
        return AddInitializer(UniqueName(baseName), TensorProto.Types.DataType.Float, dims, bytes, nameIsUnique: true);
    }

    /// <summary>Adds a FLOAT scalar constant.</summary>
    public string ScalarFloat(string baseName, float value) => ConstantFloat(baseName, [value]);

    /// <summary>Adds a 1-D INT64 constant (shapes, axes, indices).</summary>
    public string ConstantInt64(string baseName, params long[] values)
    {
        var bytes = new byte[values.Length * sizeof(long)];
        Buffer.BlockCopy(values, 0, bytes, 0, bytes.Length);
        return AddInitializer(UniqueName(baseName), TensorProto.Types.DataType.Int64, [values.Length], bytes, nameIsUnique: true);
    }

    private string AddInitializer(string name, TensorProto.Types.DataType type, long[] dims, byte[] raw, bool nameIsUnique = false)
    {
        if (!nameIsUnique && !_usedNames.Add(name))
            throw new ArgumentException($"The graph already has a value named '{name}'.", nameof(name));
        // Every caller passes a fresh array that nothing else keeps: wrap it instead of copying (a full-size model's
        // weights would otherwise be held twice while the graph is built).
        var tensor = new TensorProto { Name = name, DataType = (int)type, RawData = UnsafeByteOperations.UnsafeWrap(raw) };
        tensor.Dims.AddRange(dims);
        _graph.Initializer.Add(tensor);
        return name;
    }

    /// <summary>The raw bytes of a contiguous float32 tensor, copied once (no intermediate float array).</summary>
    private static byte[] FloatBytes(Tensor values) => values.bytes.ToArray();

    private static byte[] HalfBytes(Tensor values)
    {
        Half[] data = values.data<Half>().ToArray();
        var bytes = new byte[data.Length * 2];
        for (int i = 0; i < data.Length; i++)
            BitConverter.TryWriteBytes(bytes.AsSpan(i * 2, 2), data[i]);
        return bytes;
    }

    // ---------------------------------------------------------------- nodes

    /// <summary>Adds a node with one output and returns the output's (unique) name.</summary>
    public string Node(string opType, string[] inputs, params AttributeProto[] attributes)
        => Node(opType, inputs, 1, attributes)[0];

    /// <summary>Adds a node with <paramref name="outputCount"/> outputs and returns their (unique) names.</summary>
    public string[] Node(string opType, string[] inputs, int outputCount, params AttributeProto[] attributes)
    {
        var outputs = new string[outputCount];
        for (int i = 0; i < outputCount; i++)
            outputs[i] = UniqueName(outputCount == 1 ? opType : $"{opType}_out{i}");
        AddNode(opType, inputs, outputs, attributes);
        return outputs;
    }

    private void AddNode(string opType, string[] inputs, string[] outputs, params AttributeProto[] attributes)
    {
        _graph.Node.Add(OnnxProtos.Node(opType, UniqueName("node_" + opType), inputs, outputs, attributes));
    }
}

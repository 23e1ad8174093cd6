using System.Text.Json;
using Google.Protobuf;
using LSeg.MLNet.Package;
using Onnx;

namespace LSeg.MLNet.Tests.Packages;

/// <summary>
/// A hand-made model package whose answer is known without running it: the "image encoder" averages 2×2 pixel blocks
/// and subtracts mid-grey, so a pixel embedding is its colour centred on zero; labels come from a fixed table
/// (red, green, blue, white, black, …) holding those colours. A red region must be labelled "red". The head is the
/// real LSeg head (cosine ÷ temperature, ×2 bilinear upsampling with align_corners, argmax, max).
/// </summary>
internal static class ColourModelPackage
{
    public static readonly Dictionary<string, float[]> Colours = new()
    {
        ["red"] = [1, -1, -1],
        ["green"] = [-1, 1, -1],
        ["blue"] = [-1, -1, 1],
        ["yellow"] = [1, 1, -1],
        ["cyan"] = [-1, 1, 1],
        ["magenta"] = [1, -1, 1],
        ["white"] = [1, 1, 1],
        ["black"] = [-1, -1, -1],
        ["scarlet"] = [1, -1, -1], // the same colour as "red": two labels the text encoder cannot tell apart
    };

    /// <summary>Writes the package into a new directory under <paramref name="parent"/> and returns its path.</summary>
    /// <remarks>
    /// <paramref name="temperature"/> changes the scores, never the masks: a test that deletes its pipeline's composed
    /// graph (content-addressed, shared by every pipeline of the same package and input-size bucket) writes a package
    /// of its own with a temperature no other test uses.
    /// </remarks>
    public static string Write(string parent, int formatVersion = ModelManifest.CurrentFormatVersion, float temperature = 0.07f)
    {
        string directory = Path.Combine(parent, "colour-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(directory);
        File.WriteAllBytes(Path.Combine(directory, "image_encoder.onnx"), ImageEncoder().ToByteArray());
        File.WriteAllBytes(Path.Combine(directory, "head.onnx"), Head(temperature).ToByteArray());
        File.WriteAllText(Path.Combine(directory, "labels.json"), JsonSerializer.Serialize(Colours));
        var files = new Dictionary<string, PackageFile>();
        foreach (string name in new[] { "image_encoder.onnx", "head.onnx", "labels.json" })
        {
            string path = Path.Combine(directory, name);
            files[name] = new PackageFile { Bytes = new FileInfo(path).Length, Sha256 = ModelManifest.Sha256OfFile(path) };
        }
        var manifest = new ModelManifest
        {
            FormatVersion = formatVersion,
            Name = "colour-test",
            Backbone = "average-colour",
            EmbeddingSize = 3,
            DefaultInputSize = 64,
            TextEncoder = new TextEncoderInfo { Kind = "table", Table = "labels.json" },
            Files = files,
        };
        string json = manifest.ToJson();
        if (formatVersion != ModelManifest.CurrentFormatVersion)
            json = json.Replace($"\"formatVersion\": {ModelManifest.CurrentFormatVersion}", $"\"formatVersion\": {formatVersion}");
        File.WriteAllText(Path.Combine(directory, ModelManifest.FileName), json);
        return directory;
    }

    private static ModelProto ImageEncoder()
    {
        var graph = new GraphProto { Name = "image_encoder" };
        graph.Input.Add(Value("pixels", TensorProto.Types.DataType.Float, "B", 3L, "H", "W"));
        graph.Initializer.Add(FloatTensor("grey", [127.5f], []));
        graph.Node.Add(Node("AveragePool", ["pixels"], ["pooled"], Ints("kernel_shape", 2, 2), Ints("strides", 2, 2)));
        graph.Node.Add(Node("Sub", ["pooled", "grey"], ["pixel_embeddings"]));
        graph.Output.Add(Value("pixel_embeddings", TensorProto.Types.DataType.Float, "B", 3L, "h", "w"));
        return Model(graph);
    }

    /// <summary>The LSeg head of docs/model-package.md without spatial regularisation.</summary>
    public static ModelProto Head(float temperature)
    {
        var graph = new GraphProto { Name = "head" };
        graph.Input.Add(Value("pixel_embeddings", TensorProto.Types.DataType.Float, "B", 3L, "h", "w"));
        graph.Input.Add(Value("label_embeddings", TensorProto.Types.DataType.Float, "N", 3L));
        graph.Initializer.Add(FloatTensor("inverse_temperature", [1f / temperature], []));
        graph.Initializer.Add(FloatTensor("upsample_scales", [1, 1, 2, 2], [4]));
        graph.Initializer.Add(FloatTensor("epsilon", [1e-12f], []));
        graph.Node.Add(Node("ReduceL2", ["pixel_embeddings"], ["pixel_norm_raw"], Ints("axes", 1), Int("keepdims", 1)));
        graph.Node.Add(Node("Max", ["pixel_norm_raw", "epsilon"], ["pixel_norm"]));
        graph.Node.Add(Node("Div", ["pixel_embeddings", "pixel_norm"], ["pixel_unit"]));
        graph.Node.Add(Node("ReduceL2", ["label_embeddings"], ["label_norm_raw"], Ints("axes", 1), Int("keepdims", 1)));
        graph.Node.Add(Node("Max", ["label_norm_raw", "epsilon"], ["label_norm"]));
        graph.Node.Add(Node("Div", ["label_embeddings", "label_norm"], ["label_unit"]));
        graph.Node.Add(Node("Einsum", ["pixel_unit", "label_unit"], ["cosine"], Str("equation", "bchw,nc->bnhw")));
        graph.Node.Add(Node("Mul", ["cosine", "inverse_temperature"], ["low_logits"]));
        graph.Node.Add(Node("Resize", ["low_logits", "", "upsample_scales"], ["logits"],
            Str("mode", "linear"), Str("coordinate_transformation_mode", "align_corners")));
        graph.Node.Add(Node("ArgMax", ["logits"], ["label_map"], Int("axis", 1), Int("keepdims", 0)));
        graph.Node.Add(Node("ReduceMax", ["logits"], ["scores"], Ints("axes", 1), Int("keepdims", 0)));
        graph.Output.Add(Value("logits", TensorProto.Types.DataType.Float, "B", "N", "H", "W"));
        graph.Output.Add(Value("label_map", TensorProto.Types.DataType.Int64, "B", "H", "W"));
        graph.Output.Add(Value("scores", TensorProto.Types.DataType.Float, "B", "H", "W"));
        return Model(graph);
    }

    private static ModelProto Model(GraphProto graph)
    {
        var model = new ModelProto { IrVersion = 8, ProducerName = "LSeg.MLNet.Tests", Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 17 });
        return model;
    }

    private static NodeProto Node(string op, string[] inputs, string[] outputs, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = op, Name = outputs[0] + "_" + op };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        node.Attribute.AddRange(attributes);
        return node;
    }

    private static AttributeProto Int(string name, long value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    private static AttributeProto Ints(string name, params long[] values)
    {
        var attribute = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        attribute.Ints.AddRange(values);
        return attribute;
    }

    private static AttributeProto Str(string name, string value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(value) };

    private static TensorProto FloatTensor(string name, float[] values, long[] dims)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        tensor.Dims.AddRange(dims);
        tensor.FloatData.AddRange(values);
        return tensor;
    }

    private static ValueInfoProto Value(string name, TensorProto.Types.DataType type, params object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (object dim in dims)
            shape.Dim.Add(dim is string s ? new TensorShapeProto.Types.Dimension { DimParam = s } : new TensorShapeProto.Types.Dimension { DimValue = (long)dim });
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } } };
    }
}

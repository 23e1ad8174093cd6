using Onnx;
using LSeg.Training.Bridge.Network.TextEncoders;
using TorchSharp;
using static LSeg.Training.Bridge.Export.ClipOnnxGraph;
using static TorchSharp.torch;
using DataType = Onnx.TensorProto.Types.DataType;

namespace LSeg.Training.Bridge.Export;

/// <summary>
/// Writes a <see cref="ClipTextTransformer"/> as the model package's <c>text_encoder.onnx</c>:
/// <c>input_ids</c> int64 [N, 77] → <c>label_embeddings</c> float [N, C], N dynamic. The graph mirrors
/// <see cref="ClipTextTransformer.forward"/> op for op; initializers keep CLIP's state-dict names.
/// </summary>
public static class ClipTextEncoderExporter
{
    /// <summary>Name of the graph's input: padded token ids, int64 [N, context length].</summary>
    public const string InputName = "input_ids";

    /// <summary>Name of the graph's output: label embeddings, float [N, C].</summary>
    public const string OutputName = "label_embeddings";

    /// <summary>The file name of this graph inside a model package.</summary>
    public const string PackageFileName = "text_encoder.onnx";

    /// <summary>Writes the ONNX graph of <paramref name="model"/> to <paramref name="path"/> (weights inline: the
    /// CLIP ViT-B/32 text tower is about 250 MB, far below protobuf's 2 GB limit).</summary>
    /// <param name="model">The text transformer; its weights are read, not changed.</param>
    /// <param name="path">The .onnx file to create or overwrite.</param>
    public static void Export(ClipTextTransformer model, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrEmpty(path);
        var proto = BuildModel(model);
        using var stream = File.Create(path);
        using var output = new Google.Protobuf.CodedOutputStream(stream);
        proto.WriteTo(output);
    }

    /// <summary>Builds the ONNX model of <paramref name="model"/> in memory.</summary>
    internal static ModelProto BuildModel(ClipTextTransformer model)
    {
        var config = model.Config;
        int headSize = config.Width / config.Heads;
        var g = new ClipOnnxGraph("clip_text_encoder");
        using var scope = torch.NewDisposeScope();

        string ids = g.Input(InputName, DataType.Int64, "N", config.ContextLength);
        string x = g.Node("Gather", [g.Initializer("token_embedding.weight", model.token_embedding.weight!), ids]);
        x = g.Node("Add", [x, g.Initializer("positional_embedding", model.positional_embedding)]);
        string causalMask = g.Initializer("causal_mask", ClipCausalSelfAttention.BuildCausalMask(config.ContextLength));

        string packedShape = g.Int64Initializer("shape_qkv_heads", [0, 0, 3, config.Heads, headSize], 5);
        string mergedShape = g.Int64Initializer("shape_merged_heads", [0, 0, config.Width], 3);
        string[] pick = [g.Int64Initializer("index_q", [0]), g.Int64Initializer("index_k", [1]), g.Int64Initializer("index_v", [2])];
        string queryScale = g.ScalarInitializer("query_scale", (float)(1.0 / Math.Sqrt(headSize)));
        string geluSlope = g.ScalarInitializer("quick_gelu_slope", QuickGelu.Slope);

        for (int i = 0; i < config.Layers; i++)
        {
            var block = model.transformer.resblocks[i];
            string prefix = $"transformer.resblocks.{i}";

            // x + attn(ln_1(x)), with q, k, v packed in one projection as nn.MultiheadAttention stores them.
            string h = LayerNorm(g, x, block.ln_1, $"{prefix}.ln_1");
            string qkv = Linear(g, h, block.attn.in_proj_weight, block.attn.in_proj_bias, $"{prefix}.attn.in_proj");
            string heads = g.Node("Transpose", [g.Node("Reshape", [qkv, packedShape])], attributes: IntsAttribute("perm", 2, 0, 3, 1, 4));
            string q = g.Node("Mul", [g.Node("Gather", [heads, pick[0]]), queryScale]);
            string k = g.Node("Gather", [heads, pick[1]]);
            string v = g.Node("Gather", [heads, pick[2]]);
            string scores = g.Node("Add", [g.Node("MatMul", [q, g.Node("Transpose", [k], attributes: IntsAttribute("perm", 0, 1, 3, 2))]), causalMask]);
            string weights = g.Node("Softmax", [scores], attributes: IntAttribute("axis", -1));
            string attended = g.Node("MatMul", [weights, v]);
            string merged = g.Node("Reshape", [g.Node("Transpose", [attended], attributes: IntsAttribute("perm", 0, 2, 1, 3)), mergedShape]);
            x = g.Node("Add", [x, Linear(g, merged, block.attn.out_proj.weight!, block.attn.out_proj.bias!, $"{prefix}.attn.out_proj")]);

            // x + c_proj(QuickGELU(c_fc(ln_2(x)))).
            h = LayerNorm(g, x, block.ln_2, $"{prefix}.ln_2");
            string hidden = Linear(g, h, block.mlp.c_fc.weight!, block.mlp.c_fc.bias!, $"{prefix}.mlp.c_fc");
            string activated = g.Node("Mul", [hidden, g.Node("Sigmoid", [g.Node("Mul", [hidden, geluSlope])])]);
            x = g.Node("Add", [x, Linear(g, activated, block.mlp.c_proj.weight!, block.mlp.c_proj.bias!, $"{prefix}.mlp.c_proj")]);
        }

        x = LayerNorm(g, x, model.ln_final, "ln_final");
        // The end-of-text token has the largest id, so its position is the argmax of the ids (first one on ties, as torch).
        string endOfText = g.Node("ArgMax", [ids], attributes: [IntAttribute("axis", 1), IntAttribute("keepdims", 1)]);
        string pooled = g.Node("GatherND", [x, endOfText], attributes: IntAttribute("batch_dims", 1));
        string embeddings = g.Node("MatMul", [pooled, g.Initializer("text_projection", model.text_projection)]);
        g.Output(embeddings, OutputName, DataType.Float, "N", config.EmbeddingSize);
        return g.ToModel($"CLIP text transformer: width {config.Width}, {config.Layers} layers, {config.Heads} heads, context {config.ContextLength}, embedding {config.EmbeddingSize}.");
    }

    private static string LayerNorm(ClipOnnxGraph g, string x, TorchSharp.Modules.LayerNorm norm, string name)
        => g.Node("LayerNormalization", [x, g.Initializer($"{name}.weight", norm.weight!), g.Initializer($"{name}.bias", norm.bias!)],
            attributes: [IntAttribute("axis", -1), FloatAttribute("epsilon", (float)ClipResidualAttentionBlock.LayerNormEpsilon)]);

    /// <summary>torch's <c>linear</c> (x Wᵀ + b) as MatMul with the transposed weight, then Add.</summary>
    private static string Linear(ClipOnnxGraph g, string x, Tensor weight, Tensor bias, string name)
    {
        using var transposed = weight.detach().t();
        return g.Node("Add", [g.Node("MatMul", [x, g.Initializer($"{name}.weight_t", transposed)]), g.Initializer($"{name}.bias", bias)]);
    }
}

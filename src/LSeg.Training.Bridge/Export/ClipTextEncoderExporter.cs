using LSeg.Training.Bridge.Network.TextEncoders;
using Onnx;
using TorchSharp;
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

    /// <summary>Writes the ONNX graph of <paramref name="model"/> to <paramref name="path"/>.</summary>
    /// <param name="model">The text transformer; its weights are read, not changed.</param>
    /// <param name="path">The .onnx file to create or overwrite.</param>
    /// <param name="storeWeightsAsFloat16">Store weights as FLOAT16 (cast back to FLOAT in the graph): half the size.</param>
    /// <param name="externalDataThresholdBytes">Beyond this many bytes of weights, they go to <c>path + ".data"</c>
    /// (the CLIP ViT-B/32 text tower is about 250 MB, so the default keeps it in one file).</param>
    /// <returns>The files written (the graph, and its external data when written).</returns>
    public static IReadOnlyList<string> Export(ClipTextTransformer model, string path, bool storeWeightsAsFloat16 = false,
        long externalDataThresholdBytes = ModelPackageExportOptions.Defaults.ExternalDataThresholdBytes)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrEmpty(path);
        var graph = new OnnxGraphBuilder("clip_text_encoder", storeWeightsAsFloat16);
        Build(model, graph);
        var proto = graph.BuildModel();
        var config = model.Config;
        proto.DocString = $"CLIP text transformer: width {config.Width}, {config.Layers} layers, {config.Heads} heads, context {config.ContextLength}, embedding {config.EmbeddingSize}.";
        return OnnxModelFile.Save(proto, path, externalDataThresholdBytes);
    }

    /// <summary>Adds the text encoder's input, nodes and output to <paramref name="g"/>.</summary>
    internal static void Build(ClipTextTransformer model, OnnxGraphBuilder g)
    {
        var config = model.Config;
        long width = config.Width, heads = config.Heads, headSize = config.Width / config.Heads;
        using var scope = torch.NewDisposeScope();

        string ids = g.Input(InputName, DataType.Int64, "labels", (long)config.ContextLength);
        string x = g.Add(g.Gather(g.Weight("token_embedding.weight", model.token_embedding.weight!), ids), g.Weight("positional_embedding", model.positional_embedding));
        using var mask = ClipCausalSelfAttention.BuildCausalMask(config.ContextLength);
        string causalMask = g.ConstantFloat("causal_mask", mask.data<float>().ToArray(), config.ContextLength, config.ContextLength);
        string queryScale = g.ScalarFloat("query_scale", (float)(1.0 / Math.Sqrt(headSize)));
        string geluSlope = g.ScalarFloat("quick_gelu_slope", QuickGelu.Slope);

        for (int i = 0; i < config.Layers; i++)
        {
            var block = model.transformer.resblocks[i];
            string prefix = $"transformer.resblocks.{i}";

            // x + attn(ln_1(x)); q, k, v come from one packed projection, as nn.MultiheadAttention stores them.
            string h = g.LayerNorm(x, block.ln_1, $"{prefix}.ln_1");
            using var inProjection = block.attn.in_proj_weight.detach().t();
            string qkv = g.Add(g.MatMul(h, g.Weight($"{prefix}.attn.in_proj_weight", inProjection)), g.Weight($"{prefix}.attn.in_proj_bias", block.attn.in_proj_bias));
            string[] parts = g.Split(qkv, -1, width, width, width);
            string q = g.Mul(g.Transpose(g.Reshape(parts[0], 0, 0, heads, headSize), 0, 2, 1, 3), queryScale);   // [N,H,L,D]
            string kTransposed = g.Transpose(g.Reshape(parts[1], 0, 0, heads, headSize), 0, 2, 3, 1);             // [N,H,D,L]
            string v = g.Transpose(g.Reshape(parts[2], 0, 0, heads, headSize), 0, 2, 1, 3);                       // [N,H,L,D]
            string weights = g.Softmax(g.Add(g.MatMul(q, kTransposed), causalMask), -1);
            string attended = g.Reshape(g.Transpose(g.MatMul(weights, v), 0, 2, 1, 3), 0, 0, width);
            x = g.Add(x, g.Linear(attended, block.attn.out_proj, $"{prefix}.attn.out_proj"));

            // x + c_proj(QuickGELU(c_fc(ln_2(x)))), QuickGELU(z) = z · σ(1.702 z).
            h = g.LayerNorm(x, block.ln_2, $"{prefix}.ln_2");
            string hidden = g.Linear(h, block.mlp.c_fc, $"{prefix}.mlp.c_fc");
            string activated = g.Mul(hidden, g.Sigmoid(g.Mul(hidden, geluSlope)));
            x = g.Add(x, g.Linear(activated, block.mlp.c_proj, $"{prefix}.mlp.c_proj"));
        }

        x = g.LayerNorm(x, model.ln_final, "ln_final");
        // The end-of-text token has the largest id, so its position is the argmax of the ids (the first on ties, as torch).
        string endOfText = g.ArgMax(ids, 1, keepDims: true);
        string pooled = g.GatherND(x, endOfText, batchDims: 1);
        string embeddings = g.MatMul(pooled, g.Weight("text_projection", model.text_projection));
        g.Output(OutputName, embeddings, DataType.Float, "labels", (long)config.EmbeddingSize);
    }
}

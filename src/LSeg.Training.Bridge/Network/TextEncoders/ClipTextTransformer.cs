using LSeg.Training.Bridge.Export;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using DataType = Onnx.TensorProto.Types.DataType;

namespace LSeg.Training.Bridge.Network.TextEncoders;

/// <summary>
/// The text tower of OpenAI CLIP (paper Figure 2, "text encoder"): token ids [N, 77] → label embeddings [N, C].
/// Token embedding plus positional embedding, a causal pre-norm transformer with QuickGELU, <c>ln_final</c>, then the
/// state at the end-of-text position (the argmax of the ids, since <c>&lt;|endoftext|&gt;</c> is the largest id)
/// multiplied by <c>text_projection</c>. Field names are CLIP's state-dict keys, so the official checkpoint's
/// <c>clip_pretrained.*</c> text tensors load one to one.
/// </summary>
public sealed class ClipTextTransformer : nn.Module<Tensor, Tensor>
{
    // Field names are CLIP's state-dict keys.
    internal readonly Embedding token_embedding;
    internal readonly Parameter positional_embedding;
    internal readonly ClipTransformer transformer;
    internal readonly LayerNorm ln_final;
    internal readonly Parameter text_projection;

    /// <summary>The sizes this transformer was built with.</summary>
    public ClipTextConfig Config { get; }

    /// <summary>Builds a CLIP text transformer with CLIP's random initialisation (weights are usually loaded afterwards).</summary>
    /// <param name="config">Sizes; <see cref="ClipTextConfig.ViTB32"/> for the official LSeg text encoder.</param>
    /// <exception cref="ArgumentException">The sizes are inconsistent.</exception>
    public ClipTextTransformer(ClipTextConfig config) : base(nameof(ClipTextTransformer))
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        Config = config;
        token_embedding = nn.Embedding(config.VocabularySize, config.Width);
        positional_embedding = new Parameter(torch.empty(config.ContextLength, config.Width));
        transformer = new ClipTransformer(config.Width, config.Layers, config.Heads);
        ln_final = nn.LayerNorm(config.Width, ClipResidualAttentionBlock.LayerNormEpsilon);
        text_projection = new Parameter(torch.empty(config.Width, config.EmbeddingSize));
        using (torch.no_grad())
        {
            // CLIP's own initialisation, so random instances have realistic magnitudes.
            nn.init.normal_(token_embedding.weight!, std: 0.02);
            nn.init.normal_(positional_embedding, std: 0.01);
            nn.init.normal_(text_projection, std: Math.Pow(config.Width, -0.5));
        }
        RegisterComponents();
    }

    /// <summary>Encodes padded token ids into label embeddings (not normalised, as CLIP's <c>encode_text</c>).</summary>
    /// <param name="inputIds">int64 [N, <see cref="ClipTextConfig.ContextLength"/>]: start token, BPE ids, end token, zero padding.</param>
    /// <returns>float [N, <see cref="ClipTextConfig.EmbeddingSize"/>].</returns>
    /// <exception cref="ArgumentException">The ids are not int64 [N, context length] with N ≥ 1.</exception>
    public override Tensor forward(Tensor inputIds)
    {
        ArgumentNullException.ThrowIfNull(inputIds);
        if (inputIds.dim() != 2 || inputIds.shape[1] != Config.ContextLength || inputIds.shape[0] < 1)
            throw new ArgumentException($"Token ids must have shape [N, {Config.ContextLength}] with N ≥ 1; got [{string.Join(", ", inputIds.shape)}].", nameof(inputIds));
        if (inputIds.dtype != ScalarType.Int64)
            throw new ArgumentException($"Token ids must be int64; got {inputIds.dtype}.", nameof(inputIds));

        using var scope = torch.NewDisposeScope();
        long n = inputIds.shape[0];
        var x = token_embedding.forward(inputIds) + positional_embedding;
        using var causalMask = ClipCausalSelfAttention.BuildCausalMask(Config.ContextLength, x.device);
        x = ln_final.forward(transformer.forward(x, causalMask));
        var endOfText = inputIds.argmax(-1);
        var pooled = x[torch.arange(n, device: x.device), endOfText];
        return torch.matmul(pooled, text_projection).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Writes <see cref="forward"/> into <paramref name="graph"/> as the whole text-encoder graph: input
    /// <see cref="ClipTextEncoderExporter.InputName"/> int64 [N, context length] → output
    /// <see cref="ClipTextEncoderExporter.OutputName"/> float [N, C], N dynamic. Initializers keep CLIP's state-dict names.
    /// </summary>
    internal void ExportOnnx(OnnxGraphBuilder graph)
    {
        long headSize = Config.Width / Config.Heads;
        // The transposed and detached weight copies made on the way are freed when the graph is written.
        using var scope = torch.NewDisposeScope();
        string ids = graph.Input(ClipTextEncoderExporter.InputName, DataType.Int64, "labels", (long)Config.ContextLength);
        string x = graph.Add(graph.Gather(graph.Weight("token_embedding.weight", token_embedding.weight!), ids), graph.Weight("positional_embedding", positional_embedding));
        // Constants every layer reads, written once.
        using var mask = ClipCausalSelfAttention.BuildCausalMask(Config.ContextLength);
        string causalMask = graph.ConstantFloat("causal_mask", mask.data<float>().ToArray(), Config.ContextLength, Config.ContextLength);
        string queryScale = graph.ScalarFloat("query_scale", (float)(1.0 / Math.Sqrt(headSize)));
        string geluSlope = graph.ScalarFloat("quick_gelu_slope", QuickGelu.Slope);

        x = transformer.ExportOnnx(graph, x, causalMask, queryScale, geluSlope, "transformer");
        x = graph.LayerNorm(x, ln_final, "ln_final");
        // The end-of-text token has the largest id, so its position is the argmax of the ids (the first on ties, as torch).
        string endOfText = graph.ArgMax(ids, 1, keepDims: true);
        string pooled = graph.GatherND(x, endOfText, batchDims: 1);
        string embeddings = graph.MatMul(pooled, graph.Weight("text_projection", text_projection));
        graph.Output(ClipTextEncoderExporter.OutputName, embeddings, DataType.Float, "labels", (long)Config.EmbeddingSize);
    }
}

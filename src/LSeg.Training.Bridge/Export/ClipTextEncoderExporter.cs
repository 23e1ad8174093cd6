using LSeg.Training.Bridge.Network.TextEncoders;

namespace LSeg.Training.Bridge.Export;

/// <summary>
/// Saves a <see cref="ClipTextTransformer"/> as the model package's <c>text_encoder.onnx</c>:
/// <c>input_ids</c> int64 [N, 77] → <c>label_embeddings</c> float [N, C], N dynamic. The graph itself is written by
/// the modules (<c>ClipTextTransformer.ExportOnnx</c>), as every network module writes its own forward pass; this
/// class names the graph's input and output and writes the file.
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
        model.ExportOnnx(graph);
        var proto = graph.BuildModel();
        var config = model.Config;
        proto.DocString = $"CLIP text transformer: width {config.Width}, {config.Layers} layers, {config.Heads} heads, context {config.ContextLength}, embedding {config.EmbeddingSize}.";
        return OnnxModelFile.Save(proto, path, externalDataThresholdBytes);
    }
}

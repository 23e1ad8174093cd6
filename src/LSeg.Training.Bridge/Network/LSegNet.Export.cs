using LSeg.Training.Bridge.Export;
using LSeg.Training.Bridge.Network.ImageEncoders;
using Onnx;

namespace LSeg.Training.Bridge.Network;

/// <summary>The network's forward pass written as the ONNX graphs of a model package (image encoder, pixel projection, head).</summary>
public sealed partial class LSegNet
{
    /// <summary>
    /// Writes the image encoder: input <c>pixels</c> float [batch,3,height,width] (RGB 0–255) → outputs
    /// <c>pixel_embeddings</c> float [batch,C,height/2,width/2] and <c>pixel_features</c> [batch,F,height/2,width/2]
    /// (the decoder features before <c>head1</c>). Initializer names are the state-dict keys.
    /// </summary>
    internal void ExportImageEncoderOnnx(OnnxGraphBuilder graph)
    {
        string pixels = graph.Input("pixels", TensorProto.Types.DataType.Float, "batch", 3L, "height", "width");
        var features = Backbone.ExportOnnx(graph, pixels, "pretrained");
        string decoderFeatures = scratch.ExportFeaturesOnnx(graph, features, "scratch");
        string embeddings = scratch.ExportProjectionOnnx(graph, decoderFeatures, "scratch.head1");
        graph.Output("pixel_embeddings", embeddings, TensorProto.Types.DataType.Float, "batch", (long)Config.EmbeddingSize, "embedding_height", "embedding_width");
        graph.Output("pixel_features", decoderFeatures, TensorProto.Types.DataType.Float, "batch", scratch.FeatureChannels, "embedding_height", "embedding_width");
    }

    /// <summary>
    /// Writes <c>head1</c> on its own (package format 2's pixel projection): input <c>pixel_features</c> [batch,F,h,w]
    /// → output <c>pixel_embeddings</c> [batch,C,h,w]: one Conv node, initializers <c>head1.weight</c> [C,F,1,1] and
    /// <c>head1.bias</c> [C].
    /// </summary>
    internal void ExportPixelProjectionOnnx(OnnxGraphBuilder graph)
    {
        string features = graph.Input("pixel_features", TensorProto.Types.DataType.Float, "batch", scratch.FeatureChannels, "embedding_height", "embedding_width");
        string embeddings = scratch.ExportProjectionOnnx(graph, features, "head1");
        graph.Output("pixel_embeddings", embeddings, TensorProto.Types.DataType.Float, "batch", (long)Config.EmbeddingSize, "embedding_height", "embedding_width");
    }

    /// <summary>
    /// Writes the head: inputs <c>pixel_embeddings</c> [batch,C,h,w] and <c>label_embeddings</c> [labels,C] → outputs
    /// <c>logits</c> [batch,labels,2h,2w], <c>label_map</c> int64 [batch,2h,2w] (argmax, first on ties) and
    /// <c>scores</c> [batch,2h,2w] (the winning logit). <paramref name="withLabelLogitOffsets"/> adds the input
    /// <c>label_logit_offsets</c> [labels].
    /// </summary>
    internal void ExportHeadOnnx(OnnxGraphBuilder graph, bool withLabelLogitOffsets = false)
    {
        long c = Config.EmbeddingSize;
        string pixelEmbeddings = graph.Input("pixel_embeddings", TensorProto.Types.DataType.Float, "batch", c, "embedding_height", "embedding_width");
        string labelEmbeddings = graph.Input("label_embeddings", TensorProto.Types.DataType.Float, "labels", c);
        string logits = correlation.ExportOnnx(graph, pixelEmbeddings, labelEmbeddings);
        if (withLabelLogitOffsets)
        {
            // The package's calibration of particular labels (manifest labelLogitOffsets), one value per label, added
            // where the C# head adds it: to the correlation logits, before spatial blocks and upsampling.
            string offsets = graph.Input("label_logit_offsets", TensorProto.Types.DataType.Float, "labels");
            logits = graph.Add(logits, graph.Reshape(offsets, 1, -1, 1, 1));
        }
        if (scratch.HeadBlock is { } block)
            logits = block.ExportOnnx(graph, logits, "scratch.head_block");
        logits = graph.UpsampleBilinear(logits, 2, alignCorners: true);
        graph.Output("logits", logits, TensorProto.Types.DataType.Float, "batch", "labels", "height", "width");
        graph.Output("label_map", graph.ArgMax(logits, 1, keepDims: false), TensorProto.Types.DataType.Int64, "batch", "height", "width");
        graph.Output("scores", graph.ReduceMax(logits, [1], keepDims: false), TensorProto.Types.DataType.Float, "batch", "height", "width");
    }

    /// <summary>The pixel normalisation the image encoder applies (recorded in the package manifest).</summary>
    public PixelNormalization PixelNormalization => Backbone.PixelNormalization;
}

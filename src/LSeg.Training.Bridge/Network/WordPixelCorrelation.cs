using LSeg.Training.Bridge.Export;
using static TorchSharp.torch;

namespace LSeg.Training.Bridge.Network;

/// <summary>
/// Word–pixel correlation (paper Figure 2): f_ijk = normalize(I_ij) · normalize(T_k) / t, both sides L2-normalised
/// as torch's <c>F.normalize</c> (eps 1e-12). Pixel embeddings [B,C,h,w] and label embeddings [N,C] give logits
/// [B,N,h,w]. The temperature is a constant (not learned).
/// </summary>
public sealed class WordPixelCorrelation : nn.Module<Tensor, Tensor, Tensor>
{
    /// <summary>The eps of the L2 normalisation, as torch's <c>F.normalize</c>.</summary>
    public const double NormEps = 1e-12;

    /// <summary>Builds the correlation with temperature <paramref name="temperature"/>.</summary>
    public WordPixelCorrelation(double temperature) : base(nameof(WordPixelCorrelation))
    {
        if (!(temperature > 0))
            throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "The temperature must be positive.");
        Temperature = temperature;
    }

    /// <summary>The temperature t (logits = cos / t).</summary>
    public double Temperature { get; }

    /// <summary>Cosine similarities / t between every pixel embedding and every label embedding: [B,N,h,w].</summary>
    public override Tensor forward(Tensor pixelEmbeddings, Tensor labelEmbeddings)
    {
        using var scope = NewDisposeScope();
        var pixels = nn.functional.normalize(pixelEmbeddings, p: 2, dim: 1, eps: NormEps).permute(0, 2, 3, 1);
        var labels = nn.functional.normalize(labelEmbeddings, p: 2, dim: 1, eps: NormEps);
        var cosine = matmul(pixels, labels.t()).permute(0, 3, 1, 2);
        return (cosine / Temperature).MoveToOuterDisposeScope();
    }

    /// <summary>Writes <see cref="forward"/> into <paramref name="graph"/>.</summary>
    internal string ExportOnnx(OnnxGraphBuilder graph, string pixelEmbeddings, string labelEmbeddings)
    {
        string pixels = graph.Transpose(graph.L2Normalize(pixelEmbeddings, 1, (float)NormEps), 0, 2, 3, 1);
        string labels = graph.Transpose(graph.L2Normalize(labelEmbeddings, 1, (float)NormEps), 1, 0);
        string cosine = graph.Transpose(graph.MatMul(pixels, labels), 0, 3, 1, 2);
        return graph.Div(cosine, graph.ScalarFloat("temperature", (float)Temperature));
    }
}

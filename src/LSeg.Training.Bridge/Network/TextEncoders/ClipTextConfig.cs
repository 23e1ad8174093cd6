namespace LSeg.Training.Bridge.Network.TextEncoders;

/// <summary>
/// Sizes of a CLIP text transformer. <see cref="ViTB32"/> is the text tower of OpenAI CLIP ViT-B/32, the one the
/// official LSeg checkpoint carries; smaller values keep tests fast while keeping the same structure.
/// </summary>
/// <param name="Width">Transformer width (residual stream size); 512 for ViT-B/32.</param>
/// <param name="Layers">Number of residual attention blocks; 12 for ViT-B/32.</param>
/// <param name="Heads">Attention heads per block; must divide <paramref name="Width"/>. 8 for ViT-B/32.</param>
/// <param name="VocabularySize">Rows of the token embedding; 49,408 for CLIP's BPE vocabulary.</param>
/// <param name="ContextLength">Token positions; 77 for CLIP.</param>
/// <param name="EmbeddingSize">Columns of <c>text_projection</c>: the size C of the label embeddings; 512 for ViT-B/32.</param>
public sealed record ClipTextConfig(int Width, int Layers, int Heads, int VocabularySize, int ContextLength, int EmbeddingSize)
{
    /// <summary>CLIP's vocabulary size (256 bytes, 256 bytes with <c>&lt;/w&gt;</c>, 48,894 merges, 2 special tokens).</summary>
    public const int ClipVocabularySize = 49408;

    /// <summary>CLIP's context length in tokens.</summary>
    public const int ClipContextLength = 77;

    /// <summary>The text tower of OpenAI CLIP ViT-B/32: width 512, 12 layers, 8 heads, C = 512.</summary>
    public static ClipTextConfig ViTB32 { get; } = new(512, 12, 8, ClipVocabularySize, ClipContextLength, 512);

    /// <summary>Checks that every size is positive and that the heads divide the width.</summary>
    /// <exception cref="ArgumentException">A size is not positive, or <see cref="Heads"/> does not divide <see cref="Width"/>.</exception>
    public void Validate()
    {
        if (Width <= 0 || Layers < 0 || Heads <= 0 || VocabularySize <= 0 || ContextLength <= 0 || EmbeddingSize <= 0)
            throw new ArgumentException($"Every CLIP text transformer size must be positive (layers may be 0); got {this}.");
        if (Width % Heads != 0)
            throw new ArgumentException($"The width {Width} must be a multiple of the head count {Heads}.");
    }
}

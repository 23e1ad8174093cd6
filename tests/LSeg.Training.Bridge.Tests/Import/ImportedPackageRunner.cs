using LSeg.MLNet.Package;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace LSeg.Training.Bridge.Tests.Import;

/// <summary>Runs an imported package's three graphs with ONNX Runtime: ids → text_encoder → head(image_encoder(pixels), labels).</summary>
internal static class ImportedPackageRunner
{
    public static float[] Logits(string packageDirectory, float[] pixels, int[] pixelShape, long[,] labelIds, out int[] shape)
    {
        var manifest = ModelManifest.FromJson(File.ReadAllText(Path.Combine(packageDirectory, ModelManifest.FileName)));
        using var textSession = new InferenceSession(Path.Combine(packageDirectory, manifest.TextEncoder.Graph!));
        using var imageSession = new InferenceSession(Path.Combine(packageDirectory, manifest.Graphs.ImageEncoder));
        using var headSession = new InferenceSession(Path.Combine(packageDirectory, manifest.Graphs.Head));

        var ids = new DenseTensor<long>(labelIds.Cast<long>().ToArray(), [labelIds.GetLength(0), labelIds.GetLength(1)]);
        using var text = textSession.Run([NamedOnnxValue.CreateFromTensor("input_ids", ids)]);
        var labels = text.Single().AsTensor<float>().ToDenseTensor();

        using var image = imageSession.Run([NamedOnnxValue.CreateFromTensor("pixels", new DenseTensor<float>(pixels, pixelShape))]);
        var embeddings = image.Single(v => v.Name == "pixel_embeddings").AsTensor<float>().ToDenseTensor();

        using var head = headSession.Run([
            NamedOnnxValue.CreateFromTensor("pixel_embeddings", embeddings),
            NamedOnnxValue.CreateFromTensor("label_embeddings", labels)]);
        var logits = head.Single(v => v.Name == "logits").AsTensor<float>();
        shape = logits.Dimensions.ToArray();
        return logits.ToArray();
    }
}

using LSeg.MLNet.Package;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Tensor = TorchSharp.torch.Tensor;

namespace LSeg.Training.Bridge.Tests.Export;

/// <summary>Runs an exported package's image encoder and head graphs with ONNX Runtime (CPU).</summary>
internal sealed class OnnxPackageRunner : IDisposable
{
    private readonly InferenceSession _imageEncoder;
    private readonly InferenceSession _head;

    public OnnxPackageRunner(string packageDirectory)
    {
        var graphs = new GraphFiles();
        _imageEncoder = new InferenceSession(Path.Combine(packageDirectory, graphs.ImageEncoder));
        _head = new InferenceSession(Path.Combine(packageDirectory, graphs.Head));
    }

    public sealed record HeadOutputs(float[] Logits, long[] LabelMap, float[] Scores, int[] LogitShape);

    public (float[] Values, int[] Shape) EncodeImage(Tensor pixels)
    {
        var input = new DenseTensor<float>(pixels.contiguous().data<float>().ToArray(), pixels.shape.Select(d => (int)d).ToArray());
        using var results = _imageEncoder.Run([NamedOnnxValue.CreateFromTensor("pixels", input)]);
        var output = results.Single(r => r.Name == "pixel_embeddings").AsTensor<float>();
        return (output.ToArray(), output.Dimensions.ToArray());
    }

    public HeadOutputs Head(float[] pixelEmbeddings, int[] shape, Tensor labelEmbeddings)
    {
        var pixels = new DenseTensor<float>(pixelEmbeddings, shape);
        var labels = new DenseTensor<float>(labelEmbeddings.contiguous().data<float>().ToArray(), labelEmbeddings.shape.Select(d => (int)d).ToArray());
        using var results = _head.Run([NamedOnnxValue.CreateFromTensor("pixel_embeddings", pixels), NamedOnnxValue.CreateFromTensor("label_embeddings", labels)]);
        var logits = results.Single(r => r.Name == "logits").AsTensor<float>();
        return new HeadOutputs(
            logits.ToArray(),
            results.Single(r => r.Name == "label_map").AsTensor<long>().ToArray(),
            results.Single(r => r.Name == "scores").AsTensor<float>().ToArray(),
            logits.Dimensions.ToArray());
    }

    public void Dispose()
    {
        _imageEncoder.Dispose();
        _head.Dispose();
    }
}

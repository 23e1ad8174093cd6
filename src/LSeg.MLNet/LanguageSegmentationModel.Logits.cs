using LSeg.MLNet.Runtime;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;

namespace LSeg.MLNet;

public sealed partial class LanguageSegmentationModel
{
    private const string LogitsOutput = "logits";

    /// <summary>
    /// The head graph's logits [N, InputHeight, InputWidth] (cosine ÷ temperature plus the label's logit offset, after spatial regularisation and
    /// upsampling) of <paramref name="image"/> resized to the model input for <paramref name="inputSize"/>. For
    /// evaluations that combine several passes (multi-scale, flip) before the argmax.
    /// </summary>
    internal (float[] Logits, int Width, int Height) ComputeLogits(MLImage image, LabelEmbeddings labels, int? inputSize)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(labels);
        using var call = BeginCall();
        if (!ReferenceEquals(labels.Model, this))
            throw new ArgumentException("The labels were encoded by another LanguageSegmentationModel; encode them with this one.", nameof(labels));
        int size = inputSize ?? Manifest.DefaultInputSize;
        RequireInputSize(size, nameof(inputSize));
        // Before the encoder pass: the logits of many labels at a large input would fail only after it.
        var (width, height) = ModelInputSize.For(image.Width, image.Height, size, Manifest.InputSizeMultiple);
        OnnxOutputLimit.RequireLogitsFit(labels.ScoredCount, width, height, nameof(labels));
        var encoded = Encode(image, inputSize, forLabelChanges: false);
        using var pixels = OrtValue.CreateTensorValueFromMemory(encoded.Planar, [1, encoded.EmbeddingSize, encoded.EmbeddingHeight, encoded.EmbeddingWidth]);
        using var outputs = RunHeadGraph(pixels, labels, [LogitsOutput]);
        var shape = outputs[0].GetTensorTypeAndShape().Shape;
        return (outputs[0].GetTensorDataAsSpan<float>().ToArray(), (int)shape[3], (int)shape[2]);
    }
}

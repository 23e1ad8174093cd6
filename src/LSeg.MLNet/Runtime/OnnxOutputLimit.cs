namespace LSeg.MLNet.Runtime;

/// <summary>
/// The largest output one ONNX Runtime run may give this library: the managed API reads an output through a span whose
/// length in bytes is an <see cref="int"/>, so a larger tensor fails inside ONNX Runtime with an unexplained
/// <see cref="ArgumentOutOfRangeException"/>, after the whole pass has run.
/// </summary>
internal static class OnnxOutputLimit
{
    /// <summary>Bytes one output tensor may hold.</summary>
    public const long Bytes = int.MaxValue;

    /// <summary>
    /// How many images of model input <paramref name="width"/> × <paramref name="height"/> one image-encoder run may take
    /// (at most <paramref name="batchSize"/>): their pixel embeddings, <paramref name="channels"/> floats per grid pixel at
    /// 1/<paramref name="stride"/> of the input, must fit one output.
    /// </summary>
    /// <exception cref="ArgumentException">One image's embeddings alone do not fit: names the input size.</exception>
    public static int ImagesPerRun(int channels, int stride, int width, int height, int batchSize, string parameterName)
    {
        long perImage = (long)channels * CeilDiv(width, stride) * CeilDiv(height, stride) * sizeof(float);
        if (perImage > Bytes)
            throw new ArgumentException(
                $"At a model input of {width}×{height} one image's pixel embeddings take {perImage / 1e9:F2} GB ({channels} values per pixel at 1/{stride} of the input), more than one ONNX Runtime output holds (2 GB); segment at a smaller input size.",
                parameterName);
        return (int)Math.Clamp(Bytes / perImage, 1, Math.Max(1, batchSize));
    }

    /// <summary>Refuses a head-graph run whose logits (<paramref name="labels"/> maps of <paramref name="width"/> × <paramref name="height"/>) would not fit one output.</summary>
    /// <exception cref="ArgumentException">Names the label count and the size.</exception>
    public static void RequireLogitsFit(int labels, int width, int height, string parameterName)
    {
        long bytes = (long)labels * width * height * sizeof(float);
        if (bytes > Bytes)
            throw new ArgumentException(
                $"{labels} labels at a model input of {width}×{height} need {bytes / 1e9:F2} GB of logits, more than one ONNX Runtime output holds (2 GB); offer fewer labels or segment at a smaller input size.",
                parameterName);
    }

    private static long CeilDiv(int value, int divisor) => ((long)value + divisor - 1) / divisor;
}

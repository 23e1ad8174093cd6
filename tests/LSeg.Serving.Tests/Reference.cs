using LSeg.MLNet;
using Microsoft.ML.Data;

namespace LSeg.Serving.Tests;

/// <summary>
/// The low-level API's answers, independent of the server: the bytes decoded by ML.NET's own
/// <see cref="MLImage.CreateFromStream"/> and segmented by a separately loaded model.
/// </summary>
internal static class Reference
{
    /// <summary>One-shot segmentation (what /v1/segment must answer).</summary>
    public static SegmentationResult OneShot(LanguageSegmentationModel model, byte[] image, params string[] labels) =>
        OneShotAt(model, null, image, labels);

    /// <summary>One-shot segmentation at model input size <paramref name="inputSize"/> (null: the package's).</summary>
    public static SegmentationResult OneShotAt(LanguageSegmentationModel model, int? inputSize, byte[] image, params string[] labels)
    {
        using var decoded = MLImage.CreateFromStream(new MemoryStream(image));
        return model.Segment(decoded, labels, inputSize);
    }

    /// <summary>Encode once, then segment (what /v1/images/{id}/segment must answer).</summary>
    public static SegmentationResult Encoded(LanguageSegmentationModel model, byte[] image, params string[] labels) =>
        EncodedAt(model, null, image, labels);

    /// <summary>Encode once at model input size <paramref name="inputSize"/> (null: the package's), then segment.</summary>
    public static SegmentationResult EncodedAt(LanguageSegmentationModel model, int? inputSize, byte[] image, params string[] labels)
    {
        using var decoded = MLImage.CreateFromStream(new MemoryStream(image));
        return model.Segment(model.EncodeImage(decoded, inputSize), model.EncodeLabels(labels));
    }

    public static byte[] Indices(SegmentationResult result) => result.Mask.Select(index => (byte)index).ToArray();
}

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
    public static SegmentationResult OneShot(LanguageSegmentationModel model, byte[] image, params string[] labels)
    {
        using var decoded = MLImage.CreateFromStream(new MemoryStream(image));
        return model.Segment(decoded, labels);
    }

    /// <summary>Encode once, then segment (what /v1/images/{id}/segment must answer).</summary>
    public static SegmentationResult Encoded(LanguageSegmentationModel model, byte[] image, params string[] labels)
    {
        using var decoded = MLImage.CreateFromStream(new MemoryStream(image));
        return model.Segment(model.EncodeImage(decoded), model.EncodeLabels(labels));
    }

    public static byte[] Indices(SegmentationResult result) => result.Mask.Select(index => (byte)index).ToArray();
}

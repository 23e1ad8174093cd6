using LSeg.MLNet;
using Microsoft.ML.Data;

namespace LSeg.Orleans.Tests;

/// <summary>The independent truth for a mask: the low-level API on the same image, in this process.</summary>
internal static class LowLevelMasks
{
    public static Dictionary<string, byte[]> Of(string package, IEnumerable<string> images, IReadOnlyList<string> labels)
    {
        using var model = LanguageSegmentationModel.Load(package);
        var encoded = model.EncodeLabels(labels);
        return images.ToDictionary(Path.GetFullPath, image =>
        {
            using var photo = MLImage.CreateFromFile(image);
            return model.Segment(model.EncodeImage(photo), encoded).ToMaskPng();
        });
    }
}

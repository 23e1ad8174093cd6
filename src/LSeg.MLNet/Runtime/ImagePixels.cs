using LSeg.MLNet.Imaging;
using Microsoft.ML.Data;

namespace LSeg.MLNet.Runtime;

/// <summary>
/// Turns an <see cref="MLImage"/> into the image encoder's input: planar RGB floats in 0–255 (what ML.NET's
/// ExtractPixels produces), bilinearly resized by the project's one rule (<see cref="Resampling"/>).
/// </summary>
internal static class ImagePixels
{
    /// <summary>Planar [3, <paramref name="height"/>, <paramref name="width"/>] RGB 0–255 floats of the resized image.</summary>
    public static float[] ToPlanarRgb(MLImage image, int width, int height)
    {
        var output = new float[3 * width * height];
        ToPlanarRgb(image, width, height, output);
        return output;
    }

    /// <summary>Writes the planar [3, <paramref name="height"/>, <paramref name="width"/>] pixels into the start of <paramref name="output"/>.</summary>
    public static void ToPlanarRgb(MLImage image, int width, int height, Span<float> output)
    {
        var (pixels, bgra) = ImagePixelAccess.Read(image);
        Resampling.ToPlanarRgb(pixels, image.Width, image.Height, bytesPerPixel: 4, red: bgra ? 2 : 0, green: 1, blue: bgra ? 0 : 2, width, height, output);
    }
}

using LSeg.MLNet.Runtime;
using Microsoft.ML.Data;
using SkiaSharp;

namespace LSeg.MLNet.Rendering;

/// <summary>
/// The overlay picture <c>lseg segment</c> writes, for applications: the photo tinted with each label's colour, label
/// boundaries in black, and a legend (colour, label, share of the pixels) below it. Labels are drawn with the fonts
/// shipped in LSeg.MLNet (Latin, Greek, Cyrillic, Hebrew, Arabic, Japanese kana and common CJK ideographs, not Hangul or
/// Indic scripts), letter by letter from left to right: a Hebrew or Arabic label reads reversed and Arabic letters are
/// not joined (SkiaSharp 2.88 has no text shaper; see <c>Rendering/Fonts/README.md</c>). Needs only LSeg.MLNet and SkiaSharp 2.88 (which ML.NET brings).
/// </summary>
public static class SegmentationOverlay
{
    /// <summary>The overlay of <paramref name="result"/> on <paramref name="photo"/> as a PNG file's bytes.</summary>
    /// <param name="photo">The image that was segmented (same size as the result).</param>
    /// <param name="result">Its segmentation.</param>
    /// <exception cref="ArgumentException">The photo and the result differ in size.</exception>
    public static byte[] RenderPng(MLImage photo, SegmentationResult result)
    {
        ArgumentNullException.ThrowIfNull(photo);
        ArgumentNullException.ThrowIfNull(result);
        if (photo.Width != result.Width || photo.Height != result.Height)
            throw new ArgumentException($"The photo is {photo.Width}×{photo.Height} but the segmentation is {result.Width}×{result.Height}.", nameof(photo));
        var (pixels, bgra) = ImagePixelAccess.Read(photo);
        if (bgra)
        {
            for (int i = 0; i < pixels.Length; i += 4)
                (pixels[i], pixels[i + 2]) = (pixels[i + 2], pixels[i]);
        }
        using var bitmap = new SKBitmap(new SKImageInfo(photo.Width, photo.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        System.Runtime.InteropServices.Marshal.Copy(pixels, 0, bitmap.GetPixels(), pixels.Length);
        using var overlay = OverlayRenderer.Render(bitmap, result.Mask, result.Labels);
        using var stream = new MemoryStream();
        OverlayRenderer.WritePng(overlay, stream);
        return stream.ToArray();
    }
}

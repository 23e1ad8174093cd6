using System.Reflection;
using System.Runtime.InteropServices;
using Microsoft.ML.Data;
using SkiaSharp;

namespace LSeg.MLNet.Runtime;

/// <summary>
/// Reads the 32-bit pixels of an <see cref="MLImage"/>. <see cref="MLImage.Pixels"/> calls
/// <c>SKBitmap.GetPixelSpan()</c>, whose return type changed between SkiaSharp 2.88 (what ML.NET 5.0.1 is built
/// against) and 3.x, so it throws <see cref="MissingMethodException"/> in an application where another package
/// (e.g. ScottPlot 5) brings SkiaSharp 3. The bitmap's pixel address and row stride have the same signature in both
/// versions, so they are read directly when the bitmap is reachable.
/// </summary>
internal static class ImagePixelAccess
{
    private static readonly FieldInfo? BitmapField =
        typeof(MLImage).GetFields(BindingFlags.Instance | BindingFlags.NonPublic).FirstOrDefault(f => f.FieldType == typeof(SKBitmap));

    /// <summary>A copy of the pixels (4 bytes per pixel, rows packed), and whether they are BGRA (else RGBA).</summary>
    public static (byte[] Pixels, bool Bgra) Read(MLImage image)
    {
        if (BitmapField?.GetValue(image) is SKBitmap bitmap && bitmap.BytesPerPixel == 4
            && bitmap.ColorType is SKColorType.Bgra8888 or SKColorType.Rgba8888)
            return (CopyPacked(bitmap), bitmap.ColorType == SKColorType.Bgra8888);
        if (image.BitsPerPixel != 32)
            throw new NotSupportedException($"Images with {image.BitsPerPixel} bits per pixel are not supported; expected 32 (RGBA or BGRA).");
        return (image.Pixels.ToArray(), image.PixelFormat == MLPixelFormat.Bgra32);
    }

    /// <summary>
    /// A copy of a 4-byte-per-pixel bitmap's pixels, rows packed (width × 4 bytes each), read through the pixel address
    /// and row stride rather than <c>GetPixelSpan()</c>, for the reason above.
    /// </summary>
    public static byte[] CopyPacked(SKBitmap bitmap)
    {
        int width = bitmap.Width, height = bitmap.Height, rowBytes = bitmap.RowBytes;
        var pixels = new byte[(long)width * height * 4];
        IntPtr address = bitmap.GetPixels();
        for (int y = 0; y < height; y++)
            Marshal.Copy(address + (nint)y * rowBytes, pixels, y * width * 4, width * 4);
        return pixels;
    }
}

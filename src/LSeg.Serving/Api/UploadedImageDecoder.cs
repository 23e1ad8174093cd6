using System.Runtime.InteropServices;
using Microsoft.ML.Data;
using SkiaSharp;

namespace LSeg.Serving.Api;

/// <summary>
/// Decodes an uploaded image into the same pixels <see cref="MLImage.CreateFromStream"/> gives (SkiaSharp's codec,
/// premultiplied, no colour-space conversion, 32-bit kept as is and anything else converted to BGRA), with two checks
/// that method lacks: the pixel count is checked from the header before any pixel is decoded, and input that ends
/// early is refused — <c>SKBitmap.Decode</c> treats a truncated JPEG or PNG as a success and leaves the missing rows
/// blank, which would give a silently wrong mask.
/// </summary>
/// <remarks>Kept in this one file so it can give way to an equivalent check in LSeg.MLNet.</remarks>
internal static class UploadedImageDecoder
{
    /// <summary>The checks of <see cref="Decode"/> that need only the header (format, pixel count, size), without decoding a pixel.</summary>
    /// <exception cref="ServingProblem">The bytes are not an image, or the image is too small or has too many pixels.</exception>
    public static void CheckHeader(byte[] bytes, long maxPixels, int minSide)
    {
        using var data = SKData.CreateCopy(bytes);
        using var codec = OpenChecked(data, bytes.Length, maxPixels, minSide);
    }

    /// <exception cref="ServingProblem">The bytes are not an image, the image is truncated, too small or has too many pixels.</exception>
    public static MLImage Decode(byte[] bytes, long maxPixels, int minSide)
    {
        using var data = SKData.CreateCopy(bytes);
        using var codec = OpenChecked(data, bytes.Length, maxPixels, minSide);
        var info = codec.Info;

        // As SKBitmap.Decode: premultiplied alpha and no colour space, so the pixels equal ML.NET's.
        if (info.AlphaType == SKAlphaType.Unpremul)
            info.AlphaType = SKAlphaType.Premul;
        info.ColorSpace = null;
        using var bitmap = new SKBitmap(info);
        var result = codec.GetPixels(info, bitmap.GetPixels());
        if (result == SKCodecResult.IncompleteInput)
            throw Problems.TruncatedImage(info.Width, info.Height, bytes.Length);
        if (result != SKCodecResult.Success)
            throw Problems.UnreadableImage($"The {info.Width}×{info.Height} image could not be decoded ({result}).");
        return ToMLImage(bitmap);
    }

    private static SKCodec OpenChecked(SKData data, int length, long maxPixels, int minSide)
    {
        // The stream's result tells an image cut before its pixel data (a PNG's header chunks can fill kilobytes) from
        // bytes of no known format; the codec owns the stream.
        var codec = SKCodec.Create(new SKMemoryStream(data), out var result)
            ?? throw (result == SKCodecResult.IncompleteInput && FormatOf(data.AsSpan()) is string format
                ? Problems.TruncatedHeader(format, length)
                : Problems.UnreadableImage($"The {length:N0} uploaded bytes are not an image format this server reads (JPEG, PNG, WebP, GIF, BMP)."));
        var info = codec.Info;
        if ((long)info.Width * info.Height > maxPixels || info.Width < minSide || info.Height < minSide)
        {
            codec.Dispose();
            throw (long)info.Width * info.Height > maxPixels
                ? Problems.TooManyPixels(info.Width, info.Height, maxPixels)
                : Problems.ImageTooSmall(info.Width, info.Height, minSide);
        }
        return codec;
    }

    /// <summary>The format a file's first bytes announce, for a message about a file cut short; null for none known.</summary>
    private static string? FormatOf(ReadOnlySpan<byte> start) => start switch
    {
        [0x89, (byte)'P', (byte)'N', (byte)'G', ..] => "PNG",
        [0xFF, 0xD8, 0xFF, ..] => "JPEG",
        [(byte)'G', (byte)'I', (byte)'F', (byte)'8', ..] => "GIF",
        [(byte)'B', (byte)'M', ..] => "BMP",
        [(byte)'R', (byte)'I', (byte)'F', (byte)'F', _, _, _, _, (byte)'W', (byte)'E', (byte)'B', (byte)'P', ..] => "WebP",
        _ => null,
    };

    /// <summary>As MLImage's constructor: BGRA and RGBA stay as they are, other colour types become BGRA.</summary>
    private static MLImage ToMLImage(SKBitmap bitmap)
    {
        bool native32 = bitmap.ColorType is SKColorType.Bgra8888 or SKColorType.Rgba8888;
        SKBitmap pixels = native32 ? bitmap : bitmap.Copy(SKColorType.Bgra8888)
            ?? throw Problems.UnreadableImage($"The image's pixel format ({bitmap.ColorType}) cannot be converted to 32-bit colour.");
        try
        {
            int width = pixels.Width, height = pixels.Height, rowBytes = pixels.RowBytes;
            var packed = new byte[(long)width * height * 4];
            IntPtr address = pixels.GetPixels();
            for (int y = 0; y < height; y++)
                Marshal.Copy(address + y * rowBytes, packed, y * width * 4, width * 4);
            var format = pixels.ColorType == SKColorType.Rgba8888 ? MLPixelFormat.Rgba32 : MLPixelFormat.Bgra32;
            return MLImage.CreateFromPixels(width, height, format, packed);
        }
        finally
        {
            if (!native32)
                pixels.Dispose();
        }
    }
}

using Microsoft.ML.Data;
using SkiaSharp;

namespace LSeg.MLNet.Runtime;

/// <summary>
/// The one place LSeg decodes image files. SkiaSharp's <c>SKBitmap.Decode</c> (and so <c>MLImage.CreateFromFile</c> and
/// ML.NET's <c>LoadImages</c>) accepts a file cut short and fills the missing part with grey; a segmentation of that grey
/// is a silently wrong mask. Here the codec's result is checked: anything but a complete decode is an error.
/// </summary>
internal static class ImageDecoder
{
    /// <summary>Decodes <paramref name="path"/> completely as 8-bit RGBA (unpremultiplied).</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not an image SkiaSharp reads, or it is truncated or corrupt.</exception>
    public static SKBitmap DecodeRgba(string path)
    {
        using var codec = OpenCodec(path);
        var info = new SKImageInfo(codec.Info.Width, codec.Info.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var bitmap = new SKBitmap(info);
        try
        {
            RequireComplete(codec.GetPixels(info, bitmap.GetPixels()), path);
            return bitmap;
        }
        catch
        {
            bitmap.Dispose();
            throw;
        }
    }

    /// <summary>Decodes <paramref name="path"/> completely into an <see cref="MLImage"/> (RGBA).</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not an image SkiaSharp reads, or it is truncated or corrupt.</exception>
    public static MLImage DecodeMLImage(string path)
    {
        using var bitmap = DecodeRgba(path);
        return MLImage.CreateFromPixels(bitmap.Width, bitmap.Height, MLPixelFormat.Rgba32, bitmap.GetPixelSpan());
    }

    /// <summary>
    /// Checks that <paramref name="path"/> decodes completely, at the smallest scale its codec offers (a JPEG decodes at
    /// 1/8 size, yet the whole stream is read): what ML.NET's <c>LoadImages</c> decoded without checking.
    /// </summary>
    /// <exception cref="InvalidDataException">The file is truncated or corrupt.</exception>
    public static void RequireComplete(string path)
    {
        using var codec = OpenCodec(path);
        var size = codec.GetScaledDimensions(1f / 8);
        var info = new SKImageInfo(Math.Max(1, size.Width), Math.Max(1, size.Height), SKColorType.Rgba8888, SKAlphaType.Unpremul);
        using var bitmap = new SKBitmap(info);
        RequireComplete(codec.GetPixels(info, bitmap.GetPixels()), path);
    }

    /// <summary>
    /// When <paramref name="image"/> came from a file (ML.NET's <c>LoadImages</c> records the path in <see cref="MLImage.Tag"/>),
    /// checks that the file decodes completely; an image made in memory is taken as it is.
    /// </summary>
    /// <exception cref="InvalidDataException">The file the image was read from is truncated or corrupt.</exception>
    public static void RequireCompleteSource(MLImage image)
    {
        if (image.Tag is { Length: > 0 } tag && File.Exists(tag))
            RequireComplete(tag);
    }

    private static SKCodec OpenCodec(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"Image '{path}' does not exist.", path);
        return SKCodec.Create(path, out var result)
            ?? throw new InvalidDataException($"Image '{path}' is not an image LSeg can read (PNG, JPEG, BMP, GIF or WebP): {Describe(result)}.");
    }

    private static void RequireComplete(SKCodecResult result, string path)
    {
        if (result is SKCodecResult.IncompleteInput or SKCodecResult.ErrorInInput)
            throw new InvalidDataException($"Image '{path}' is incomplete or corrupt ({Describe(result)}): only part of it decodes, and the rest would be segmented as grey. Re-export or re-download it.");
        if (result != SKCodecResult.Success)
            throw new InvalidDataException($"Image '{path}' could not be decoded: {Describe(result)}.");
    }

    private static string Describe(SKCodecResult result) => result switch
    {
        SKCodecResult.IncompleteInput => "the file ends before the image data does (truncated)",
        SKCodecResult.ErrorInInput => "the image data is corrupt",
        SKCodecResult.InvalidInput => "not a recognised image format",
        SKCodecResult.Unimplemented => "an image format or feature SkiaSharp does not support",
        _ => $"SkiaSharp codec result {result}",
    };
}

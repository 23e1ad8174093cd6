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
    /// <summary>
    /// Decodes <paramref name="path"/> completely as 8-bit RGBA with premultiplied alpha (training data), so that a
    /// translucent pixel's colour is composited over black as in <see cref="DecodeMLImage(string, long)"/>, which gives the pixels
    /// segmentation sees: a network trained on cut-outs sees their backgrounds as it will at inference.
    /// </summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not an image SkiaSharp reads, or it is truncated or corrupt.</exception>
    public static SKBitmap DecodeRgba(string path)
    {
        using var codec = OpenCodec(path);
        var info = new SKImageInfo(codec.Info.Width, codec.Info.Height, SKColorType.Rgba8888, SKAlphaType.Premul) { ColorSpace = null };
        var bitmap = new SKBitmap(info);
        try
        {
            RequireComplete(codec.GetPixels(info, bitmap.GetPixels()), $"Image '{path}'");
            return bitmap;
        }
        catch
        {
            bitmap.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Decodes <paramref name="path"/> completely into an <see cref="MLImage"/> with the pixels
    /// <see cref="MLImage.CreateFromFile"/> gives for a complete file (the decode <c>SKBitmap.Decode</c> does:
    /// premultiplied alpha, so a translucent pixel is its colour composited over black; no colour-space conversion;
    /// 32-bit BGRA or RGBA kept as the codec gives it, any other colour type, such as 16-bit or grey PNGs, copied to
    /// BGRA as MLImage does). The ML.NET pipeline, the server and this reader then segment the same pixels.
    /// </summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not an image SkiaSharp reads, or it is truncated or corrupt.</exception>
    public static MLImage DecodeMLImage(string path, long maxPixels = LanguageSegmentationModelOptions.Defaults.LargestMaxImagePixels)
    {
        using var codec = OpenCodec(path, maxPixels);
        return DecodeMLImage(codec, $"Image '{path}'");
    }

    /// <summary>
    /// Decodes an image held in memory (an upload, a blob) as <see cref="DecodeMLImage(string, long)"/> decodes a file,
    /// with the same checks: the pixel count on the header, and a complete decode.
    /// </summary>
    /// <exception cref="InvalidDataException">The bytes are empty, not an image SkiaSharp reads, too large, or truncated or corrupt.</exception>
    public static MLImage DecodeMLImage(byte[] bytes, long maxPixels)
    {
        string subject = $"The image ({bytes.Length:N0} bytes)";
        if (bytes.Length == 0)
            throw new InvalidDataException("The image is empty (0 bytes).");
        using var data = SKData.CreateCopy(bytes);
        // The codec owns the stream.
        using var codec = SKCodec.Create(new SKMemoryStream(data), out var result)
            ?? throw new InvalidDataException($"{subject} is not an image LSeg can read (PNG, JPEG, BMP, GIF or WebP): {Describe(result)}.");
        RequirePixelCount(codec, maxPixels, subject);
        return DecodeMLImage(codec, subject);
    }

    private static MLImage DecodeMLImage(SKCodec codec, string subject)
    {
        var info = codec.Info;
        if (info.AlphaType == SKAlphaType.Unpremul)
            info.AlphaType = SKAlphaType.Premul;
        info.ColorSpace = null;
        using var bitmap = new SKBitmap(info);
        RequireComplete(codec.GetPixels(info, bitmap.GetPixels()), subject);
        if (bitmap.ColorType is SKColorType.Bgra8888 or SKColorType.Rgba8888)
            return ToMLImage(bitmap);
        using var bgra = bitmap.Copy(SKColorType.Bgra8888)
            ?? throw new InvalidDataException($"{subject} has a pixel format ({bitmap.ColorType}) that cannot be converted to 32-bit colour.");
        return ToMLImage(bgra);
    }

    private static MLImage ToMLImage(SKBitmap bitmap)
    {
        var format = bitmap.ColorType == SKColorType.Rgba8888 ? MLPixelFormat.Rgba32 : MLPixelFormat.Bgra32;
        return MLImage.CreateFromPixels(bitmap.Width, bitmap.Height, format, ImagePixelAccess.CopyPacked(bitmap));
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
        RequireComplete(codec.GetPixels(info, bitmap.GetPixels()), $"Image '{path}'");
    }

    /// <summary>
    /// When <paramref name="image"/> came from a file (ML.NET's <c>LoadImages</c> records the path in <see cref="MLImage.Tag"/>),
    /// checks that the file decodes completely; an image made in memory is taken as it is.
    /// </summary>
    /// <exception cref="InvalidDataException">The file the image was read from is truncated or corrupt.</exception>
    public static void RequireCompleteSource(MLImage image)
    {
        if (image.Tag is not { Length: > 0 } tag || !File.Exists(tag))
            return;
        // The tag is free text an application may set itself (to a TIFF it decoded elsewhere, or a file since replaced):
        // only a file SkiaSharp reads at the image's own size is taken as its source.
        using var codec = SKCodec.Create(tag);
        if (codec is null || codec.Info.Width != image.Width || codec.Info.Height != image.Height)
            return;
        RequireComplete(tag);
    }

    private static SKCodec OpenCodec(string path, long maxPixels = LanguageSegmentationModelOptions.Defaults.LargestMaxImagePixels)
    {
        if (!File.Exists(path))
            throw Directory.Exists(path)
                ? new FileNotFoundException($"Image '{path}' is a folder, not an image file.", path)
                : new FileNotFoundException($"Image '{path}' does not exist.", path);
        // Opened first so that a file the process may not read fails as such (UnauthorizedAccessException, IOException):
        // SkiaSharp reports it as an unknown "InternalError", which the message below would call "not an image".
        // Shared as SkiaSharp opens it: a file another process is still writing stays readable on Windows too.
        using (var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
        {
            // SkiaSharp calls an empty file an unsupported format.
            if (file.CanSeek && file.Length == 0)
                throw new InvalidDataException($"Image '{path}' is an empty file (0 bytes).");
        }
        var codec = SKCodec.Create(path, out var result)
            ?? throw new InvalidDataException($"Image '{path}' is not an image LSeg can read (PNG, JPEG, BMP, GIF or WebP): {Describe(result)}.");
        RequirePixelCount(codec, maxPixels, $"Image '{path}'");
        return codec;
    }

    /// <summary>Refuses (and disposes) a codec whose image has more than <paramref name="maxPixels"/> pixels.</summary>
    private static void RequirePixelCount(SKCodec codec, long maxPixels, string subject)
    {
        int width = codec.Info.Width, height = codec.Info.Height;
        long pixels = (long)width * height;
        if (pixels <= maxPixels)
            return;
        codec.Dispose();
        // Checked on the header, before gigabytes are allocated and decoded for an image too large to segment.
        throw new InvalidDataException(maxPixels == LanguageSegmentationModelOptions.Defaults.LargestMaxImagePixels
            ? $"{subject} is {width}×{height} ({pixels:N0} pixels); LSeg reads at most {maxPixels:N0}. Downscale it first."
            : $"{subject} is {width}×{height} ({pixels:N0} pixels), more than the {maxPixels:N0} allowed (maxPixels); downscale it, or raise the limit.");
    }

    /// <summary>Refuses a decode that did not complete; <paramref name="subject"/> names the image ("Image 'PATH'").</summary>
    private static void RequireComplete(SKCodecResult result, string subject)
    {
        if (result is SKCodecResult.IncompleteInput or SKCodecResult.ErrorInInput)
            throw new InvalidDataException($"{subject} is incomplete or corrupt ({Describe(result)}): only part of it decodes, and the rest would be segmented as grey. Re-export or re-download it.");
        if (result != SKCodecResult.Success)
            throw new InvalidDataException($"{subject} could not be decoded: {Describe(result)}.");
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

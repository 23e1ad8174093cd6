using SkiaSharp;

namespace LSeg.Orleans.Workers;

/// <summary>
/// Refuses image files that would give a silently wrong mask: SkiaSharp's bitmap decoder (what <c>MLImage</c> uses)
/// returns the decoded part of a file that is cut short, so the whole file is decoded once here and anything short of
/// a complete decode is an error.
/// </summary>
internal static class ImageFileCheck
{
    /// <summary>Checks that <paramref name="bytes"/> (the contents of <paramref name="path"/>) decode completely.</summary>
    /// <exception cref="InvalidDataException">The bytes are not an image SkiaSharp reads, or do not decode completely.</exception>
    public static void RequireComplete(string path, byte[] bytes)
    {
        using var data = SKData.CreateCopy(bytes);
        using var codec = SKCodec.Create(data)
            ?? throw new InvalidDataException($"'{path}' is not a readable image (expected PNG, JPEG, BMP, GIF or WebP).");
        var info = new SKImageInfo(codec.Info.Width, codec.Info.Height, SKColorType.Rgba8888, SKAlphaType.Premul);
        if (info.Width <= 0 || info.Height <= 0)
            throw new InvalidDataException($"'{path}' declares an empty image ({info.Width}x{info.Height}).");
        using var bitmap = new SKBitmap(info);
        var result = codec.GetPixels(info, bitmap.GetPixels());
        if (result == SKCodecResult.IncompleteInput)
            throw new InvalidDataException($"'{path}' is cut short: only part of the image could be decoded (truncated file).");
        if (result != SKCodecResult.Success)
            throw new InvalidDataException($"'{path}' could not be decoded ({result}).");
    }
}

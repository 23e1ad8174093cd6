using SkiaSharp;

namespace LSeg.Orleans.Workers;

/// <summary>
/// Refuses image files that would give a silently wrong mask: SkiaSharp's bitmap decoder (what <c>MLImage</c> uses)
/// returns the decoded part of a file that is cut short, so the whole file is decoded once here and anything short of
/// a complete decode is an error.
/// </summary>
internal static class ImageFileCheck
{
    /// <summary>
    /// Checks that <paramref name="bytes"/> (the contents of <paramref name="path"/>) decode completely, after checking
    /// from the header alone that the image is within the size limits, so that a huge image (or a decompression bomb) is
    /// refused before its pixels are allocated.
    /// </summary>
    /// <exception cref="InvalidDataException">The bytes are not an image SkiaSharp reads, are outside the size limits, or do not decode completely.</exception>
    public static void RequireComplete(string path, byte[] bytes, int minSide, long maxPixels)
    {
        using var data = SKData.CreateCopy(bytes);
        using var codec = SKCodec.Create(data)
            ?? throw new InvalidDataException($"'{path}' is not a readable image (expected PNG, JPEG, BMP, GIF or WebP).");
        var info = new SKImageInfo(codec.Info.Width, codec.Info.Height, SKColorType.Rgba8888, SKAlphaType.Premul);
        if (info.Width <= 0 || info.Height <= 0)
            throw new InvalidDataException($"'{path}' declares an empty image ({info.Width}x{info.Height}).");
        if (info.Width < minSide || info.Height < minSide)
            throw new InvalidDataException($"'{path}' is {info.Width}x{info.Height} pixels; LSeg needs at least {minSide} pixels on each side.");
        if ((long)info.Width * info.Height > maxPixels)
            throw new InvalidDataException($"'{path}' is {info.Width}x{info.Height} = {(long)info.Width * info.Height:N0} pixels, more than the {maxPixels:N0} allowed.");
        using var bitmap = new SKBitmap(info);
        var result = codec.GetPixels(info, bitmap.GetPixels());
        if (result == SKCodecResult.IncompleteInput)
            throw new InvalidDataException($"'{path}' is cut short: only part of the image could be decoded (truncated file).");
        if (result != SKCodecResult.Success)
            throw new InvalidDataException($"'{path}' could not be decoded ({result}).");
    }
}

using Microsoft.ML.Data;

namespace LSeg.MLNet.Imaging;

/// <summary>
/// Reads image files for segmentation and refuses incomplete ones. <c>MLImage.CreateFromFile</c> and ML.NET's
/// <c>LoadImages</c> accept a file cut short (SkiaSharp fills the missing part with grey, which then gets a label);
/// <see cref="Read"/> checks that the whole image decodes. (The ML.NET pipeline checks images from <c>LoadImages</c>
/// itself, by the path ML.NET records in <see cref="MLImage.Tag"/>.)
/// </summary>
public static class ImageFileReader
{
    /// <summary>
    /// Decodes <paramref name="path"/> (PNG, JPEG, BMP, GIF, WebP) completely, into the pixels
    /// <see cref="MLImage.CreateFromFile"/> gives for the same file, so that every path segments the same pixels: a
    /// pixel with alpha is premultiplied (its colour composited over black, as ML.NET's <c>LoadImages</c> sees it), and
    /// a 16-bit or grey image is converted to 32-bit colour as <see cref="MLImage"/> converts it.
    /// </summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a readable image, or it is truncated or corrupt (the message says which).</exception>
    public static MLImage Read(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        return Runtime.ImageDecoder.DecodeMLImage(path);
    }

    /// <summary>
    /// Checks that <paramref name="path"/> is an image that decodes completely, without keeping its pixels (it decodes
    /// at the smallest scale its codec offers; a JPEG at 1/8 size, yet the whole file is read): to refuse a bad file
    /// before any work starts.
    /// </summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a readable image, or it is truncated or corrupt (the message says which).</exception>
    public static void Validate(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        Runtime.ImageDecoder.RequireComplete(path);
    }
}

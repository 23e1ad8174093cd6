using Microsoft.ML.Data;

namespace LSeg.MLNet.Imaging;

/// <summary>
/// Reads image files for segmentation and refuses incomplete ones. <c>MLImage.CreateFromFile</c> and ML.NET's
/// <c>LoadImages</c> accept a file cut short (SkiaSharp fills the missing part with grey, which then gets a label);
/// <see cref="Read(string)"/> checks that the whole image decodes. (The ML.NET pipeline checks images from <c>LoadImages</c>
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
    /// <exception cref="UnauthorizedAccessException">The process may not read the file.</exception>
    /// <exception cref="IOException">The file cannot be opened (e.g. locked by another process).</exception>
    /// <exception cref="InvalidDataException">The file is not a readable image, or it is truncated or corrupt (the message says which).</exception>
    /// <remarks>
    /// Images up to <see cref="LanguageSegmentationModelOptions.Defaults.LargestMaxImagePixels"/> are decoded (gigabytes
    /// for the largest); a service that reads files it did not make should give its own bound with
    /// <see cref="Read(string, long)"/>, which is checked on the file's header before any pixel is decoded.
    /// </remarks>
    public static MLImage Read(string path) => Read(path, LanguageSegmentationModelOptions.Defaults.LargestMaxImagePixels);

    /// <summary>
    /// Decodes <paramref name="path"/> as <see cref="Read(string)"/> does, refusing an image larger than
    /// <paramref name="maxPixels"/> on its header, before its pixels are decoded (a PNG of a few MB can declare
    /// 20000 × 20000 pixels, gigabytes once decoded). Give the model's own limit
    /// (<see cref="LanguageSegmentationModelOptions.MaxImagePixels"/>) to refuse what it would refuse anyway.
    /// </summary>
    /// <param name="path">The image file.</param>
    /// <param name="maxPixels">The largest image accepted, width × height: 1 to <see cref="LanguageSegmentationModelOptions.Defaults.LargestMaxImagePixels"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxPixels"/> is out of that range.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="UnauthorizedAccessException">The process may not read the file.</exception>
    /// <exception cref="IOException">The file cannot be opened (e.g. locked by another process).</exception>
    /// <exception cref="InvalidDataException">The image is larger than <paramref name="maxPixels"/>, is not a readable image, or is truncated or corrupt (the message says which).</exception>
    public static MLImage Read(string path, long maxPixels)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPixels, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxPixels, LanguageSegmentationModelOptions.Defaults.LargestMaxImagePixels);
        return Runtime.ImageDecoder.DecodeMLImage(path, maxPixels);
    }

    /// <summary>
    /// Checks that <paramref name="path"/> is an image that decodes completely, without keeping its pixels (it decodes
    /// at the smallest scale its codec offers; a JPEG at 1/8 size, yet the whole file is read): to refuse a bad file
    /// before any work starts.
    /// </summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="UnauthorizedAccessException">The process may not read the file.</exception>
    /// <exception cref="IOException">The file cannot be opened (e.g. locked by another process).</exception>
    /// <exception cref="InvalidDataException">The file is not a readable image, or it is truncated or corrupt (the message says which).</exception>
    public static void Validate(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        Runtime.ImageDecoder.RequireComplete(path);
    }
}

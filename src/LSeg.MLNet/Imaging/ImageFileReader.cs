using Microsoft.ML.Data;

namespace LSeg.MLNet.Imaging;

/// <summary>
/// Reads image files for segmentation and refuses incomplete ones. <c>MLImage.CreateFromFile</c> and ML.NET's
/// <c>LoadImages</c> accept a file cut short (SkiaSharp fills the missing part with grey, which then gets a label);
/// <see cref="Read(string)"/> checks that the whole image decodes, and <see cref="Read(Stream, long)"/> does the same for
/// an image in memory (an upload), which <c>MLImage.CreateFromStream</c> accepts cut short too. (The ML.NET pipeline checks images from <c>LoadImages</c>
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
    /// Decodes an image held in a stream (an upload, a blob, a resource) as <see cref="Read(string, long)"/> decodes a
    /// file: refused on its header when larger than <paramref name="maxPixels"/>, and refused when it does not decode
    /// completely. <see cref="MLImage.CreateFromStream"/> accepts bytes cut short (an interrupted upload) and paints the
    /// missing part grey, which then gets a label.
    /// </summary>
    /// <param name="stream">Read from its current position to its end, into memory (bound what a client may send, e.g.
    /// with a request size limit, before calling this); not disposed.</param>
    /// <param name="maxPixels">The largest image accepted, width × height: 1 to <see cref="LanguageSegmentationModelOptions.Defaults.LargestMaxImagePixels"/> (the default).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxPixels"/> is out of that range.</exception>
    /// <exception cref="InvalidDataException">The bytes are empty, not a readable image, larger than <paramref name="maxPixels"/>, or truncated or corrupt (the message says which).</exception>
    public static MLImage Read(Stream stream, long maxPixels = LanguageSegmentationModelOptions.Defaults.LargestMaxImagePixels)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPixels, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxPixels, LanguageSegmentationModelOptions.Defaults.LargestMaxImagePixels);
        using var bytes = new MemoryStream();
        stream.CopyTo(bytes);
        return Runtime.ImageDecoder.DecodeMLImage(bytes.ToArray(), maxPixels);
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

namespace LSeg.Training.Bridge.Data;

/// <summary>An 8-bit RGB image, interleaved row-major (<c>Pixels[(y * Width + x) * 3 + c]</c>, c = R, G, B).</summary>
public sealed class RgbImage
{
    /// <summary>Wraps interleaved RGB bytes of <paramref name="width"/> × <paramref name="height"/> pixels.</summary>
    /// <exception cref="ArgumentException">The array length is not width × height × 3.</exception>
    public RgbImage(int width, int height, byte[] pixels)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        if (pixels.Length != width * height * 3)
            throw new ArgumentException($"A {width}×{height} RGB image needs {width * height * 3} bytes; got {pixels.Length}.", nameof(pixels));
        Width = width;
        Height = height;
        Pixels = pixels;
    }

    /// <summary>Width in pixels.</summary>
    public int Width { get; }

    /// <summary>Height in pixels.</summary>
    public int Height { get; }

    /// <summary>Interleaved RGB bytes.</summary>
    public byte[] Pixels { get; }

    /// <summary>Decodes a JPEG, PNG or other image SkiaSharp reads, as 8-bit RGB (translucent pixels composited over black, as segmentation reads them).</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file cannot be decoded as an image, or it is truncated or corrupt (a training
    /// image cut short would otherwise teach the model that grey is whatever its label map says).</exception>
    public static RgbImage Load(string path)
    {
        using var rgba = LSeg.MLNet.Runtime.ImageDecoder.DecodeRgba(path);
        int width = rgba.Width, height = rgba.Height, stride = width * 4;
        ReadOnlySpan<byte> span = LSeg.MLNet.Runtime.ImagePixelAccess.CopyPacked(rgba);
        var pixels = new byte[width * height * 3];
        for (int y = 0; y < height; y++)
        {
            var row = span.Slice(y * stride, width * 4);
            for (int x = 0; x < width; x++)
            {
                pixels[(y * width + x) * 3] = row[x * 4];
                pixels[(y * width + x) * 3 + 1] = row[x * 4 + 1];
                pixels[(y * width + x) * 3 + 2] = row[x * 4 + 2];
            }
        }
        return new RgbImage(width, height, pixels);
    }

    /// <summary>Bilinear resize by the project's one rule (<see cref="LSeg.MLNet.Imaging.Resampling"/>), rounded to bytes.</summary>
    public RgbImage ResizeBilinear(int width, int height)
    {
        if (width == Width && height == Height)
            return this;
        var planar = ToPlanarFloats(width, height);
        int plane = width * height;
        var result = new byte[plane * 3];
        for (int i = 0; i < plane; i++)
        {
            for (int c = 0; c < 3; c++)
                result[i * 3 + c] = (byte)MathF.Round(planar[c * plane + i]);
        }
        return new RgbImage(width, height, result);
    }

    /// <summary>
    /// Planar float pixels [3, <paramref name="height"/>, <paramref name="width"/>], RGB 0–255, of the image resized
    /// bilinearly without rounding: exactly what inference feeds the image encoder for the same image and size.
    /// </summary>
    public float[] ToPlanarFloats(int width, int height)
    {
        var planar = new float[3 * width * height];
        LSeg.MLNet.Imaging.Resampling.ToPlanarRgb(Pixels, Width, Height, bytesPerPixel: 3, red: 0, green: 1, blue: 2, width, height, planar);
        return planar;
    }

    /// <summary>Planar float pixels [3, H, W], RGB, 0–255 (the network's input layout without the batch axis).</summary>
    public float[] ToPlanarFloats()
    {
        int plane = Width * Height;
        var result = new float[3 * plane];
        for (int i = 0; i < plane; i++)
        {
            result[i] = Pixels[i * 3];
            result[plane + i] = Pixels[i * 3 + 1];
            result[2 * plane + i] = Pixels[i * 3 + 2];
        }
        return result;
    }
}

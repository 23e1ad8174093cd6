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

    /// <summary>Decodes a JPEG, PNG or other image SkiaSharp reads, as 8-bit RGB (alpha dropped).</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file cannot be decoded as an image, or it is truncated or corrupt (a training
    /// image cut short would otherwise teach the model that grey is whatever its label map says).</exception>
    public static RgbImage Load(string path)
    {
        using var rgba = LSeg.MLNet.Runtime.ImageDecoder.DecodeRgba(path);
        var span = rgba.GetPixelSpan();
        int width = rgba.Width, height = rgba.Height, stride = rgba.RowBytes;
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

    /// <summary>Bilinear resize (pixel centres aligned, as <c>align_corners = false</c>).</summary>
    public RgbImage ResizeBilinear(int width, int height)
    {
        if (width == Width && height == Height)
            return this;
        var result = new byte[width * height * 3];
        double scaleX = (double)Width / width, scaleY = (double)Height / height;
        for (int y = 0; y < height; y++)
        {
            double sy = Math.Clamp((y + 0.5) * scaleY - 0.5, 0, Height - 1);
            int y0 = (int)sy, y1 = Math.Min(y0 + 1, Height - 1);
            double fy = sy - y0;
            for (int x = 0; x < width; x++)
            {
                double sx = Math.Clamp((x + 0.5) * scaleX - 0.5, 0, Width - 1);
                int x0 = (int)sx, x1 = Math.Min(x0 + 1, Width - 1);
                double fx = sx - x0;
                for (int c = 0; c < 3; c++)
                {
                    double top = Pixels[(y0 * Width + x0) * 3 + c] * (1 - fx) + Pixels[(y0 * Width + x1) * 3 + c] * fx;
                    double bottom = Pixels[(y1 * Width + x0) * 3 + c] * (1 - fx) + Pixels[(y1 * Width + x1) * 3 + c] * fx;
                    result[(y * width + x) * 3 + c] = (byte)Math.Round(top * (1 - fy) + bottom * fy);
                }
            }
        }
        return new RgbImage(width, height, result);
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

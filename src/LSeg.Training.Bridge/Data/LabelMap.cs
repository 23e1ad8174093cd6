using LSeg.MLNet.Imaging;

namespace LSeg.Training.Bridge.Data;

/// <summary>A per-pixel map of 8-bit class indices, row-major (<c>Pixels[y * Width + x]</c>).</summary>
public sealed class LabelMap
{
    /// <summary>Wraps a row-major byte array of <paramref name="width"/> × <paramref name="height"/> indices.</summary>
    /// <exception cref="ArgumentException">The array length is not width × height.</exception>
    public LabelMap(int width, int height, byte[] pixels)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        if (pixels.Length != width * height)
            throw new ArgumentException($"A {width}×{height} label map needs {width * height} values; got {pixels.Length}.", nameof(pixels));
        Width = width;
        Height = height;
        Pixels = pixels;
    }

    /// <summary>Width in pixels.</summary>
    public int Width { get; }

    /// <summary>Height in pixels.</summary>
    public int Height { get; }

    /// <summary>Row-major class indices.</summary>
    public byte[] Pixels { get; }

    /// <summary>Index at (x, y).</summary>
    public byte this[int x, int y] => Pixels[y * Width + x];

    /// <summary>Reads an 8-bit grayscale or palette PNG whose pixel values are class indices.</summary>
    public static LabelMap Load(string path)
    {
        var image = IndexPng.Read(path);
        return new LabelMap(image.Width, image.Height, image.Pixels);
    }

    /// <summary>Writes the map as an 8-bit grayscale PNG.</summary>
    public void Save(string path) => IndexPng.Write(path, Width, Height, Pixels);

    /// <summary>Nearest-neighbour resize by the project's one rule (class indices must never be interpolated).</summary>
    public LabelMap ResizeNearest(int width, int height)
    {
        if (width == Width && height == Height)
            return this;
        var columns = LSeg.MLNet.Imaging.Resampling.Nearest(Width, width);
        var rows = LSeg.MLNet.Imaging.Resampling.Nearest(Height, height);
        var result = new byte[width * height];
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
                result[y * width + x] = Pixels[rows[y] * Width + columns[x]];
        }
        return new LabelMap(width, height, result);
    }
}

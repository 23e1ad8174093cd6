using LSeg.MLNet.Imaging;

namespace LSeg.Cli.Rendering;

/// <summary>
/// Writes a label mask as an 8-bit greyscale PNG whose pixel values are label indices (0 = first label), through the
/// LSeg.MLNet index-PNG writer (exactly 8-bit grey, no colour management or palette).
/// </summary>
internal static class MaskPng
{
    /// <summary>Writes <paramref name="mask"/> (row-major, <paramref name="width"/> × <paramref name="height"/>) to <paramref name="path"/>.</summary>
    /// <exception cref="ArgumentException">The mask size does not match, or a value is outside 0–255.</exception>
    public static void Write(string path, int width, int height, ReadOnlySpan<int> mask)
    {
        using var stream = File.Create(path);
        Write(stream, width, height, mask);
    }

    /// <summary>Writes the PNG to a stream.</summary>
    public static void Write(Stream stream, int width, int height, ReadOnlySpan<int> mask)
    {
        if (width <= 0 || height <= 0)
            throw new ArgumentException($"Mask size must be positive; got {width}×{height}.", nameof(width));
        if (mask.Length != (long)width * height)
            throw new ArgumentException($"Mask has {mask.Length} values; a {width}×{height} mask needs {(long)width * height}.", nameof(mask));

        var indices = new byte[width * height];
        for (int i = 0; i < indices.Length; i++)
        {
            int value = mask[i];
            if ((uint)value > 255)
                throw new ArgumentException($"Mask value {value} at ({i % width}, {i / width}) does not fit an 8-bit label index (0–255).", nameof(mask));
            indices[i] = (byte)value;
        }
        IndexPng.Write(stream, width, height, indices);
    }
}

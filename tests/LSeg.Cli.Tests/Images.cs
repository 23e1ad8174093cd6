using SkiaSharp;

namespace LSeg.Cli.Tests;

/// <summary>Small synthetic image files with known content, and decoding of written masks.</summary>
internal static class Images
{
    public static readonly (byte R, byte G, byte B) Red = (255, 0, 0), Blue = (0, 0, 255), Green = (0, 255, 0), White = (255, 255, 255);

    /// <summary>Writes a PNG painted by <paramref name="colourAt"/> (x, y) → (r, g, b).</summary>
    public static string WritePng(string path, int width, int height, Func<int, int, (byte R, byte G, byte B)> colourAt)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                var (r, g, b) = colourAt(x, y);
                bitmap.SetPixel(x, y, new SKColor(r, g, b));
            }
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        File.WriteAllBytes(path, data.ToArray());
        return path;
    }

    /// <summary>Left half red, right half blue.</summary>
    public static string RedLeftBlueRight(string path, int width = 64, int height = 48) =>
        WritePng(path, width, height, (x, _) => x < width / 2 ? Red : Blue);

    /// <summary>Top quarter green, the rest white.</summary>
    public static string GreenTopWhiteBottom(string path, int width = 64, int height = 64) =>
        WritePng(path, width, height, (_, y) => y < height / 4 ? Green : White);

    /// <summary>Decodes an 8-bit greyscale mask PNG with SkiaSharp into row-major values.</summary>
    public static (int Width, int Height, int[] Values) ReadMask(string path)
    {
        using var bitmap = SKBitmap.Decode(path) ?? throw new InvalidDataException($"'{path}' is not a PNG SkiaSharp can read.");
        Assert.Equal(SKColorType.Gray8, bitmap.ColorType);
        var values = new int[bitmap.Width * bitmap.Height];
        var span = bitmap.GetPixelSpan();
        for (int y = 0; y < bitmap.Height; y++)
            for (int x = 0; x < bitmap.Width; x++)
                values[y * bitmap.Width + x] = span[y * bitmap.RowBytes + x];
        return (bitmap.Width, bitmap.Height, values);
    }
}

using SkiaSharp;

namespace LSeg.Serving.Tests;

/// <summary>Encoded test images with known content (what a client uploads).</summary>
internal static class Pictures
{
    public static readonly (byte R, byte G, byte B) Red = (255, 0, 0), Green = (0, 255, 0), Blue = (0, 0, 255),
        Yellow = (255, 255, 0), White = (255, 255, 255), Black = (0, 0, 0);

    /// <summary>A picture painted by <paramref name="colourAt"/>, encoded as PNG (or JPEG at quality 95).</summary>
    public static byte[] Encode(int width, int height, Func<int, int, (byte R, byte G, byte B)> colourAt, SKEncodedImageFormat format = SKEncodedImageFormat.Png)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                var (r, g, b) = colourAt(x, y);
                bitmap.SetPixel(x, y, new SKColor(r, g, b));
            }
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(format, 95);
        return data.ToArray();
    }

    /// <summary>Seeded random colour noise: it does not compress, so file size grows with the pixels and a cut loses pixel rows.</summary>
    public static byte[] Noise(int width, int height, int seed, SKEncodedImageFormat format = SKEncodedImageFormat.Png)
    {
        var random = new Random(seed);
        return Encode(width, height, (_, _) => ((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256)), format);
    }

    /// <summary>Left half red, right half blue.</summary>
    public static byte[] RedLeftBlueRight(int width = 96, int height = 64) => Encode(width, height, (x, _) => x < width / 2 ? Red : Blue);

    /// <summary>Top half green, bottom half yellow.</summary>
    public static byte[] GreenTopYellowBottom(int width = 64, int height = 96) => Encode(width, height, (_, y) => y < height / 2 ? Green : Yellow);

    /// <summary>One colour all over.</summary>
    public static byte[] Plain(int width, int height, (byte R, byte G, byte B) colour) => Encode(width, height, (_, _) => colour);

    /// <summary>A photo from examples/images.</summary>
    public static byte[] Example(string name) =>
        File.ReadAllBytes(Path.Combine(LSeg.Tests.Shared.SharedData.RepositoryRoot, "examples", "images", name));
}

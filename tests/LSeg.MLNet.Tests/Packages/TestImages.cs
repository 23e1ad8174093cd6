using Microsoft.ML.Data;

namespace LSeg.MLNet.Tests.Packages;

/// <summary>Synthetic images with known content.</summary>
internal static class TestImages
{
    /// <summary>An RGBA image painted by <paramref name="colourAt"/> (x, y) → (r, g, b).</summary>
    public static MLImage Paint(int width, int height, Func<int, int, (byte R, byte G, byte B)> colourAt)
    {
        var pixels = new byte[width * height * 4];
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                var (r, g, b) = colourAt(x, y);
                int o = (y * width + x) * 4;
                pixels[o] = r;
                pixels[o + 1] = g;
                pixels[o + 2] = b;
                pixels[o + 3] = 255;
            }
        }
        return MLImage.CreateFromPixels(width, height, MLPixelFormat.Rgba32, pixels);
    }

    /// <summary>Left half red, right half blue (split at x = width / 2).</summary>
    public static MLImage RedLeftBlueRight(int width, int height) =>
        Paint(width, height, (x, _) => x < width / 2 ? ((byte)255, (byte)0, (byte)0) : ((byte)0, (byte)0, (byte)255));

    /// <summary>
    /// Pixels of a segmentation of <see cref="RedLeftBlueRight"/> (labels "red" and "blue") that are not their half's
    /// colour, counting only columns more than <paramref name="margin"/> away from the seam.
    /// </summary>
    public static int MislabelledAwayFromTheSeam(SegmentationResult result, int margin)
    {
        int wrong = 0, seam = result.Width / 2;
        for (int y = 0; y < result.Height; y++)
        {
            for (int x = 0; x < result.Width; x++)
            {
                if (Math.Abs(x - seam) > margin && result.LabelAt(x, y) != (x < seam ? "red" : "blue"))
                    wrong++;
            }
        }
        return wrong;
    }

    /// <summary>Top third green, the rest yellow.</summary>
    public static MLImage GreenTopYellowBottom(int width, int height) =>
        Paint(width, height, (_, y) => y < height / 3 ? ((byte)0, (byte)255, (byte)0) : ((byte)255, (byte)255, (byte)0));

    /// <summary>
    /// Random colours in 8 × 8 blocks (seeded): a random network then gives label regions rather than salt and pepper.
    /// </summary>
    public static MLImage ColourBlocks(int width, int height, int seed)
    {
        var generator = new Random(seed);
        var grid = new (byte, byte, byte)[(width / 8 + 1) * (height / 8 + 1)];
        for (int i = 0; i < grid.Length; i++)
            grid[i] = ((byte)generator.Next(256), (byte)generator.Next(256), (byte)generator.Next(256));
        return Paint(width, height, (x, y) => grid[(y / 8) * (width / 8 + 1) + x / 8]);
    }
}

using Microsoft.ML.Data;

namespace LSeg.Shared;

/// <summary>
/// Deterministic test images of coloured blocks, for the benchmarks (lseg's and the training bridge's) and the GPU
/// check. Each of them compiles this one file in (it is no part of any public API), so all draw the same images from the
/// same seed.
/// </summary>
internal static class ColourBlockImage
{
    /// <summary>An RGBA image of <paramref name="width"/> × <paramref name="height"/>; the block size and its 64 colours are drawn from <paramref name="generator"/>.</summary>
    public static MLImage Create(int width, int height, Random generator)
    {
        var pixels = new byte[(long)width * height * 4];
        int block = 16 + generator.Next(48);
        var colours = Enumerable.Range(0, 64).Select(_ => ((byte)generator.Next(256), (byte)generator.Next(256), (byte)generator.Next(256))).ToArray();
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                var (r, g, b) = colours[((y / block) * 7 + x / block) % colours.Length];
                long o = ((long)y * width + x) * 4;
                (pixels[o], pixels[o + 1], pixels[o + 2], pixels[o + 3]) = (r, g, b, 255);
            }
        }
        return MLImage.CreateFromPixels(width, height, MLPixelFormat.Rgba32, pixels);
    }

    /// <summary>
    /// Writes <paramref name="count"/> PNG files <c>image-NN.png</c> of <paramref name="width"/> × <paramref name="height"/>
    /// to <paramref name="folder"/>, drawn from seed 42, and returns their paths.
    /// </summary>
    public static string[] WriteFiles(string folder, int count, int width, int height)
    {
        var files = new string[count];
        var generator = new Random(42);
        for (int i = 0; i < count; i++)
        {
            files[i] = Path.Combine(folder, $"image-{i:D2}.png");
            using var image = Create(width, height, generator);
            image.Save(files[i]);
        }
        return files;
    }
}

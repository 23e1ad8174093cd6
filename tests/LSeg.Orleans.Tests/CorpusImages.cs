using SkiaSharp;

namespace LSeg.Orleans.Tests;

/// <summary>Image files with known colours for the colour package: the left part red, the right part blue.</summary>
internal static class CorpusImages
{
    /// <summary>The labels the colour package scores, in mask-index order.</summary>
    public static readonly string[] Labels = ["red", "blue"];

    /// <summary>
    /// Writes <paramref name="count"/> PNGs named <c>img00.png</c>, <c>img01.png</c>, … into <paramref name="folder"/>; image
    /// <c>i</c> is red left of column <c>width·(i mod 5 + 3)/10</c> and blue right of it.
    /// </summary>
    public static string[] Write(string folder, int count, int width = 96, int height = 64)
    {
        Directory.CreateDirectory(folder);
        return Enumerable.Range(0, count).Select(i => WritePng(Path.Combine(folder, $"img{i:00}.png"), width, height, Boundary(i, width))).ToArray();
    }

    /// <summary>The first blue column of image <paramref name="i"/>.</summary>
    public static int Boundary(int i, int width) => width * (i % 5 + 3) / 10;

    private static string WritePng(string path, int width, int height, int boundary)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        using (var canvas = new SKCanvas(bitmap))
        {
            using var red = new SKPaint { Color = new SKColor(230, 20, 30) };
            using var blue = new SKPaint { Color = new SKColor(20, 30, 230) };
            canvas.DrawRect(0, 0, boundary, height, red);
            canvas.DrawRect(boundary, 0, width - boundary, height, blue);
        }
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        File.WriteAllBytes(path, data.ToArray());
        return path;
    }
}

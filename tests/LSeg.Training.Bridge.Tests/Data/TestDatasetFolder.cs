using LSeg.Training.Bridge.Data;

namespace LSeg.Training.Bridge.Tests.Data;

/// <summary>A tiny dataset in the plain folder format, written to a temporary folder and deleted on dispose.</summary>
internal sealed class TestDatasetFolder : IDisposable
{
    public TestDatasetFolder(int images = 3, int width = 40, int height = 30)
    {
        Root = Path.Combine(Path.GetTempPath(), "lseg-data-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path.Combine(Root, "images"));
        Directory.CreateDirectory(Path.Combine(Root, "labels"));
        File.WriteAllText(Path.Combine(Root, "classes.txt"), "0\tvoid\n1\tsky\n2\tgrass\n3\tcow\n");
        for (int i = 0; i < images; i++)
        {
            string name = $"img{i}";
            // Top third sky (1), middle grass (2), a cow (3) block, a void (0) border column on the left.
            var labels = new byte[width * height];
            for (int y = 0; y < height; y++)
            {
                for (int x = 0; x < width; x++)
                    labels[y * width + x] = (byte)(x == 0 ? 0 : y < height / 3 ? 1 : (x > width / 2 && y > height / 2) ? 3 : 2);
            }
            new LabelMap(width, height, labels).Save(Path.Combine(Root, "labels", name + ".png"));
            WritePng(Path.Combine(Root, "images", name + ".png"), width, height, (x, y) => labels[y * width + x] switch
            {
                1 => (90, 160, 250),
                2 => (40, 200, 40),
                3 => (120, 80, 40),
                _ => (0, 0, 0),
            });
        }
        File.WriteAllLines(Path.Combine(Root, "train.txt"), Enumerable.Range(0, images).Select(i => $"img{i}").Take(Math.Max(1, images - 1)));
    }

    public string Root { get; }

    public FolderDatasetOptions Options(string? split = null) => new() { Name = "tiny", Folder = Root, Split = split };

    public static void WritePng(string path, int width, int height, Func<int, int, (int R, int G, int B)> color)
    {
        using var bitmap = new SkiaSharp.SKBitmap(width, height, SkiaSharp.SKColorType.Rgba8888, SkiaSharp.SKAlphaType.Unpremul);
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                var (r, g, b) = color(x, y);
                bitmap.SetPixel(x, y, new SkiaSharp.SKColor((byte)r, (byte)g, (byte)b));
            }
        }
        using var data = bitmap.Encode(SkiaSharp.SKEncodedImageFormat.Png, 100);
        File.WriteAllBytes(path, data.ToArray());
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is harmless.
        }
    }
}

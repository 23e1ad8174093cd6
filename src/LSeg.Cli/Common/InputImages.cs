using LSeg.MLNet;
using SkiaSharp;

namespace LSeg.Cli.Common;

/// <summary>Checks image arguments before any work starts, so a bad path fails fast and writes nothing.</summary>
internal static class InputImages
{
    /// <summary>Checks that every path exists and holds an image SkiaSharp can decode (PNG, JPEG, BMP, GIF, WebP…).</summary>
    /// <exception cref="CommandFailure">An image is missing or unreadable, or two images would write the same output names.</exception>
    public static IReadOnlyList<string> Validate(IReadOnlyList<string>? paths)
    {
        if (paths is null || paths.Count == 0)
            throw new CommandFailure("No image given: name at least one image file.");
        var byOutputName = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (string path in paths)
        {
            RequireReadable(path);
            string name = OutputName(path);
            if (byOutputName.TryGetValue(name, out string? other))
                throw new CommandFailure($"Images '{other}' and '{path}' would both write '{name}.mask.png': rename one or segment them separately.");
            byOutputName[name] = path;
        }
        return paths;
    }

    /// <summary>Checks one image path.</summary>
    public static void RequireReadable(string path)
    {
        if (Directory.Exists(path))
            throw new CommandFailure($"Image '{path}' is a directory, not an image file.");
        if (!File.Exists(path))
            throw new CommandFailure($"Image '{path}' does not exist.");
        using var codec = SKCodec.Create(path);
        if (codec is null || codec.Info.Width <= 0 || codec.Info.Height <= 0)
            throw new CommandFailure($"Image '{path}' is not a readable image (expected PNG, JPEG, BMP, GIF or WebP).");
        int minSide = LanguageSegmentationModelOptions.Defaults.MinImageSide;
        if (codec.Info.Width < minSide || codec.Info.Height < minSide)
            throw new CommandFailure($"Image '{path}' is {codec.Info.Width}x{codec.Info.Height} pixels; segmentation needs at least {minSide} on each side.");
    }

    /// <summary>Decodes an image as 8-bit RGBA.</summary>
    public static SKBitmap Decode(string path)
    {
        var bitmap = SKBitmap.Decode(path);
        if (bitmap is null)
            throw new CommandFailure($"Image '{path}' is not a readable image (expected PNG, JPEG, BMP, GIF or WebP).");
        if (bitmap.ColorType == SKColorType.Rgba8888 && bitmap.AlphaType != SKAlphaType.Unpremul)
            return bitmap;
        var converted = new SKBitmap(new SKImageInfo(bitmap.Width, bitmap.Height, SKColorType.Rgba8888, SKAlphaType.Premul));
        using (var canvas = new SKCanvas(converted))
            canvas.DrawBitmap(bitmap, 0, 0);
        bitmap.Dispose();
        return converted;
    }

    /// <summary>The base name used for an image's outputs: <c>photos/dog.jpg</c> → <c>dog</c>.</summary>
    public static string OutputName(string path) => Path.GetFileNameWithoutExtension(path);
}

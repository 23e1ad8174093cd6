using LSeg.MLNet;
using LSeg.MLNet.Imaging;
using Microsoft.ML.Data;
using SkiaSharp;

namespace LSeg.Cli.Common;

/// <summary>Checks image arguments before any work starts, so a bad path fails fast and writes nothing.</summary>
internal static class InputImages
{
    /// <summary>
    /// Checks that every path exists and holds a complete image SkiaSharp can decode (PNG, JPEG, BMP, GIF, WebP…) within
    /// the size limits.
    /// </summary>
    /// <returns>The paths, each file once (a file named twice is segmented once).</returns>
    /// <exception cref="CommandFailure">An image is missing, unreadable, truncated, too small or too large, two images would write the same output names, an image is where another one's output would be written, or a folder is where an output file would be written.</exception>
    public static IReadOnlyList<string> Validate(IReadOnlyList<string>? paths, long maxPixels, string outputDirectory)
    {
        if (paths is null || paths.Count == 0)
            throw new CommandFailure("No image given: name at least one image file.");
        // The same file named twice ("a.jpg ./a.jpg", or a glob and a name) is segmented once, as a batch manifest's repeats are.
        paths = [.. paths.DistinctBy(Path.GetFullPath, FileNames)];
        var byOutputName = new Dictionary<string, string>(FileNames);
        var outputs = new Dictionary<string, string>(FileNames);
        foreach (string path in paths)
        {
            string name = OutputName(path);
            if (byOutputName.TryGetValue(name, out string? other))
                throw new CommandFailure($"Images '{other}' and '{path}' would both write '{name}.mask.png': rename one or segment them separately.");
            byOutputName[name] = path;
            foreach (string suffix in SegmentationOutputs.Suffixes)
                outputs[Path.GetFullPath(Path.Combine(outputDirectory, name + suffix))] = path;
        }
        // A folder where a mask or overlay goes cannot be replaced by a file: found now, before the model loads, not when
        // the rename fails after earlier images' files were written.
        foreach (string path in paths)
            SegmentationOutputs.RequireFileTargets(outputDirectory, OutputName(path), path);
        foreach (string path in paths)
        {
            // "lseg segment a.png a.mask.png" (or a glob over a folder that holds an earlier run's outputs, with --out
            // that folder) would replace the input a.mask.png with a.png's mask, then segment the replacement.
            if (outputs.TryGetValue(Path.GetFullPath(path), out string? writer))
                throw new CommandFailure($"Image '{path}' is where the outputs of '{writer}' would be written, so it would be replaced before it is read: leave it out (it may be an earlier run's output) or give --out another folder.");
            RequireReadable(path, maxPixels);
        }
        return paths;
    }

    /// <summary>File names compare as the file system does: case-sensitively on Linux, not on Windows and macOS.</summary>
    private static StringComparer FileNames => OperatingSystem.IsLinux() ? StringComparer.Ordinal : StringComparer.OrdinalIgnoreCase;

    /// <summary>Checks one image path: it exists, decodes completely, and its size is within the limits.</summary>
    public static void RequireReadable(string path, long maxPixels)
    {
        if (Directory.Exists(path))
            throw new CommandFailure($"Image '{path}' is a directory, not an image file.");
        if (!File.Exists(path))
            throw new CommandFailure($"Image '{path}' does not exist.");
        RequireSeekableFile(path);
        using (var codec = SKCodec.Create(path))
        {
            if (codec is null || codec.Info.Width <= 0 || codec.Info.Height <= 0)
                throw new CommandFailure($"Image '{path}' is not a readable image (expected PNG, JPEG, BMP, GIF or WebP).");
            int width = codec.Info.Width, height = codec.Info.Height;
            int minSide = LanguageSegmentationModelOptions.Defaults.MinImageSide;
            if (width < minSide || height < minSide)
                throw new CommandFailure($"Image '{path}' is {width}x{height} pixels; segmentation needs at least {minSide} on each side.");
            if ((long)width * height > maxPixels)
            {
                long pixels = (long)width * height, largest = LanguageSegmentationModelOptions.Defaults.LargestMaxImagePixels;
                throw new CommandFailure(pixels <= largest
                    ? $"Image '{path}' is {width}x{height} = {pixels:N0} pixels, more than the {maxPixels:N0} allowed: downscale it, or raise the limit with --max-pixels {pixels}."
                    : $"Image '{path}' is {width}x{height} = {pixels:N0} pixels, more than the {largest:N0} any --max-pixels allows: downscale it.");
            }
        }
        try
        {
            ImageFileReader.Validate(path);
        }
        catch (InvalidDataException e)
        {
            throw new CommandFailure(e.Message);
        }
    }

    /// <summary>
    /// Opens <paramref name="path"/> once to say plainly what the decoder would only call "not a readable image": a link
    /// whose target does not exist, a file this user may not read, or a pipe (<c>/dev/stdin</c>, a process substitution
    /// <c>&lt;(…)</c>), which cannot be read twice as every image is (checked, then decoded).
    /// </summary>
    private static void RequireSeekableFile(string path)
    {
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            // File.Exists is true for a link whatever its target; opening follows it.
            string? target = new FileInfo(path).LinkTarget;
            throw new CommandFailure(target is null
                ? $"Image '{path}' does not exist."
                : $"Image '{path}' is a symbolic link to '{target}', which does not exist.");
        }
        catch (UnauthorizedAccessException)
        {
            throw new CommandFailure($"Image '{path}' cannot be read: permission denied.");
        }
        using (stream)
        {
            if (!stream.CanSeek)
                throw new CommandFailure($"Image '{path}' is a pipe or another stream that can be read only once; images are read twice (checked, then decoded), so pipes are not supported: save it to a file first.");
        }
    }

    /// <summary>Decodes an image completely as 8-bit RGBA.</summary>
    /// <exception cref="CommandFailure">The file cannot be decoded, or it is truncated or corrupt.</exception>
    public static MLImage Decode(string path)
    {
        try
        {
            return ImageFileReader.Read(path);
        }
        catch (InvalidDataException e)
        {
            throw new CommandFailure(e.Message);
        }
    }

    /// <summary>The base name used for an image's outputs: <c>photos/dog.jpg</c> → <c>dog</c>.</summary>
    public static string OutputName(string path) => Path.GetFileNameWithoutExtension(path);
}

using System.Text.Json;

namespace LSeg.Orleans.Jobs;

/// <summary>One input image and where its mask goes, relative to the output folder.</summary>
internal sealed record CorpusImage(string ImagePath, string MaskPath);

/// <summary>
/// Lists a job's images: every image file below a folder (sorted, so a job is the same list each time), or the paths
/// of a manifest (one per line in a text file; one JSON string or <c>{"image": PATH}</c> per line in a <c>.jsonl</c>
/// file; relative paths resolve against the manifest's folder). A mask mirrors its image's path below the input
/// folder (for a manifest, below the deepest folder holding every image), with <c>.mask.png</c> for the extension.
/// </summary>
internal static class ImageCorpus
{
    /// <summary>The file extensions read from a folder: what SkiaSharp decodes.</summary>
    public static readonly string[] ImageExtensions = [".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"];

    /// <summary>Lists the images of <paramref name="input"/>, leaving out anything under <paramref name="outputDirectory"/>.</summary>
    /// <exception cref="BatchSegmentationException">The input is missing or empty, a manifest line is malformed, or two images would write the same mask.</exception>
    public static IReadOnlyList<CorpusImage> List(string input, string outputDirectory) => List(input, outputDirectory, null, out _);

    /// <summary>
    /// The same, with the folder the masks mirror: <paramref name="keepMaskRoot"/> when given (a resumed job's, from its
    /// first run), else the input folder or the manifest images' deepest common folder, returned in <paramref name="maskRoot"/>.
    /// </summary>
    /// <exception cref="BatchSegmentationException">As above, or a manifest lists an image outside <paramref name="keepMaskRoot"/>.</exception>
    public static IReadOnlyList<CorpusImage> List(string input, string outputDirectory, string? keepMaskRoot, out string maskRoot)
    {
        string full = Path.GetFullPath(input);
        string output = FolderPrefix(Path.GetFullPath(outputDirectory));
        List<string> images;
        string root;
        if (Directory.Exists(full))
        {
            root = full;
            // Masks are written below --out, and images there are left out (they would be outputs), so --out must not
            // hold the whole input.
            if (FolderPrefix(full).StartsWith(output, StringComparison.Ordinal))
                throw new BatchSegmentationException($"Output folder '{outputDirectory}' is the input folder '{input}' or holds it: choose an output folder outside the input.");
            images = FilesBelow(full, input)
                .Where(path => ImageExtensions.Contains(Path.GetExtension(path), StringComparer.OrdinalIgnoreCase))
                .Where(path => !path.StartsWith(output, StringComparison.Ordinal))
                .Order(StringComparer.Ordinal)
                .ToList();
            if (images.Count == 0)
                throw new BatchSegmentationException($"Input folder '{input}' holds no image ({string.Join(", ", ImageExtensions)}).");
        }
        else if (File.Exists(full))
        {
            // Read as lines, an image's bytes would give a path with a NUL in it and a message about that.
            if (ImageExtensions.Contains(Path.GetExtension(full), StringComparer.OrdinalIgnoreCase))
                throw new BatchSegmentationException($"Input '{input}' is an image, not a folder or a manifest: put it in a folder (or list it in a manifest file), or segment it with lseg segment.");
            images = ReadManifest(full);
            if (images.Count == 0)
                throw new BatchSegmentationException($"Manifest '{input}' lists no image.");
            root = CommonFolder(images);
            if (keepMaskRoot is not null && !BatchFolder.SamePath(root, keepMaskRoot))
            {
                // The manifest changed since the job started: its masks keep the layout of the first run, or a new image
                // could take a finished one's mask name (the deepest common folder moves up when an image is added higher).
                if (images.FirstOrDefault(image => !image.StartsWith(FolderPrefix(keepMaskRoot), StringComparison.Ordinal)) is { } outside)
                    throw new BatchSegmentationException(
                        $"Manifest '{input}' now lists '{outside}', outside '{keepMaskRoot}', the folder this job's masks mirror (where all the images of its first run were): its mask could take the name of a finished one. Segment images outside it in a new job with another output folder.");
                root = keepMaskRoot;
            }
        }
        else
        {
            throw new BatchSegmentationException($"Input '{input}' does not exist: give a folder of images or a manifest file of image paths.");
        }
        maskRoot = root;
        var corpus = WithMaskPaths(images, root);
        // A manifest may list files in the output folder (a folder input cannot: images there are left out above), and a
        // mask written over one of them would destroy an input, perhaps before it is segmented. Case-blind, as the
        // output folder's file system may be.
        var listed = new HashSet<string>(images, StringComparer.OrdinalIgnoreCase);
        if (corpus.FirstOrDefault(image => listed.Contains(Path.Combine(output, image.MaskPath))) is { } clash)
            throw new BatchSegmentationException(
                $"The mask of '{clash.ImagePath}' would be written over '{Path.Combine(output, clash.MaskPath)}', an image the input lists: choose an output folder that holds no input image.");
        return corpus;
    }

    /// <summary>
    /// Every file below <paramref name="folder"/>, through sub-folders but not through links to folders: a link to a folder
    /// already listed (<c>latest -> 2024-06</c>) gave every image there twice, two masks and two index lines for one file,
    /// and a link to a parent (<c>all -> .</c>) listed the tree again and again. Links to files are followed.
    /// </summary>
    /// <exception cref="BatchSegmentationException">A sub-folder cannot be read (permission denied), naming it.</exception>
    private static IEnumerable<string> FilesBelow(string folder, string input)
    {
        var files = new EnumerationOptions { RecurseSubdirectories = false, AttributesToSkip = 0, IgnoreInaccessible = false };
        var folders = new EnumerationOptions { RecurseSubdirectories = false, AttributesToSkip = FileAttributes.ReparsePoint, IgnoreInaccessible = false };
        var pending = new Stack<string>([folder]);
        while (pending.Count > 0)
        {
            string current = pending.Pop();
            string[] here, below;
            try
            {
                here = Directory.GetFiles(current, "*", files);
                below = Directory.GetDirectories(current, "*", folders);
            }
            catch (UnauthorizedAccessException e)
            {
                // Skipping it would leave its images out of the job without a word.
                throw new BatchSegmentationException(
                    $"Folder '{current}' below the input '{input}' cannot be read ({e.Message}): give this user read access, or list the images to segment in a manifest file and pass that as the input.", e);
            }
            foreach (string file in here)
                yield return file;
            foreach (string sub in below)
                pending.Push(sub);
        }
    }

    private static List<string> ReadManifest(string manifest)
    {
        string folder = Path.GetDirectoryName(manifest)!;
        bool jsonLines = manifest.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var images = new List<string>();
        int lineNumber = 0;
        foreach (string raw in File.ReadLines(manifest))
        {
            lineNumber++;
            string line = raw.Trim();
            if (line.Length == 0 || (!jsonLines && line.StartsWith('#')))
                continue;
            string path = jsonLines ? JsonLinePath(manifest, lineNumber, line) : line;
            string resolved = Path.GetFullPath(Path.Combine(folder, path));
            if (seen.Add(resolved))
                images.Add(resolved);
        }
        return images;
    }

    private static string JsonLinePath(string manifest, int lineNumber, string line)
    {
        try
        {
            using var document = JsonDocument.Parse(line);
            var value = document.RootElement;
            if (value.ValueKind == JsonValueKind.Object && value.TryGetProperty("image", out var image))
                value = image;
            if (value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 } path)
                return path;
        }
        catch (JsonException)
        {
        }
        throw new BatchSegmentationException($"Manifest '{manifest}' line {lineNumber} is neither a JSON string nor an object with an \"image\" path: {line}");
    }

    private static string CommonFolder(IReadOnlyList<string> images)
    {
        string common = Path.GetDirectoryName(images[0])!;
        foreach (string image in images.Skip(1))
        {
            while (!image.StartsWith(FolderPrefix(common), StringComparison.Ordinal))
                common = Path.GetDirectoryName(common) ?? Path.GetPathRoot(common)!;
        }
        return common;
    }

    /// <summary>The folder with one trailing separator, so that a prefix test matches only paths inside it.</summary>
    private static string FolderPrefix(string folder) =>
        Path.EndsInDirectorySeparator(folder) ? folder : folder + Path.DirectorySeparatorChar;

    private static List<CorpusImage> WithMaskPaths(List<string> images, string root)
    {
        var byMask = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var corpus = new List<CorpusImage>(images.Count);
        foreach (string image in images)
        {
            string relative = Path.GetRelativePath(root, image);
            string mask = Path.Combine(Path.GetDirectoryName(relative) ?? "", Path.GetFileNameWithoutExtension(relative) + ".mask.png");
            if (byMask.TryGetValue(mask, out string? other))
                throw new BatchSegmentationException($"Images '{other}' and '{image}' would both write '{mask}': rename one or segment them in separate jobs.");
            byMask[mask] = image;
            corpus.Add(new CorpusImage(image, mask));
        }
        return corpus;
    }
}

using LSeg.MLNet.Package;

namespace LSeg.Training.Bridge.Export;

/// <summary>
/// Writes a model package directory atomically, for every writer of packages (the exporter, the quantizer): the files
/// go to a sibling temporary directory, the manifest (with every file's size and sha256) last, and the directory is
/// renamed into place only when complete. A failed or interrupted write leaves no package at the target path.
/// </summary>
internal static class PackageDirectoryWriter
{
    /// <summary>The full target path, without a trailing separator.</summary>
    public static string TargetPath(string directory) =>
        Path.GetFullPath(directory.TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar));

    /// <summary>Runs <paramref name="writeContents"/> on a fresh temporary directory, then moves it to <paramref name="target"/>.</summary>
    /// <exception cref="IOException">The target appeared meanwhile and <paramref name="overwrite"/> is false.</exception>
    public static ModelManifest Write(string target, bool overwrite, Func<string, ModelManifest> writeContents)
    {
        string parent = Path.GetDirectoryName(target)!;
        Directory.CreateDirectory(parent);
        string temporary = Path.Combine(parent, $".{Path.GetFileName(target)}.partial-{Guid.NewGuid():N}");
        try
        {
            Directory.CreateDirectory(temporary);
            var manifest = writeContents(temporary);
            MoveIntoPlace(temporary, target, overwrite);
            return manifest;
        }
        catch
        {
            if (Directory.Exists(temporary))
                Directory.Delete(temporary, recursive: true);
            throw;
        }
    }

    /// <summary>Size and sha256 of every file under <paramref name="directory"/> (names with '/' separators).</summary>
    public static Dictionary<string, PackageFile> DescribeFiles(string directory)
    {
        var files = new Dictionary<string, PackageFile>(StringComparer.Ordinal);
        foreach (string path in Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            string name = Path.GetRelativePath(directory, path).Replace(Path.DirectorySeparatorChar, '/');
            files[name] = new PackageFile { Bytes = new FileInfo(path).Length, Sha256 = ModelManifest.Sha256OfFile(path) };
        }
        return files;
    }

    /// <summary>Writes the manifest, which comes last: a directory with a manifest is a complete package.</summary>
    public static void WriteManifest(string directory, ModelManifest manifest) =>
        File.WriteAllText(Path.Combine(directory, ModelManifest.FileName), manifest.ToJson());

    private static void MoveIntoPlace(string temporary, string target, bool overwrite)
    {
        if (!Directory.Exists(target) && !File.Exists(target))
        {
            Directory.Move(temporary, target);
            return;
        }
        if (!overwrite)
            throw new IOException($"'{target}' appeared while the package was being written; it was left as it is.");
        string old = Path.Combine(Path.GetDirectoryName(target)!, $".{Path.GetFileName(target)}.old-{Guid.NewGuid():N}");
        Directory.Move(target, old);
        try
        {
            Directory.Move(temporary, target);
        }
        catch
        {
            Directory.Move(old, target);
            throw;
        }
        Directory.Delete(old, recursive: true);
    }
}

using LSeg.MLNet.IO;
using LSeg.MLNet.Package;

namespace LSeg.Training.Bridge.Export;

/// <summary>
/// Writes a model package directory atomically, for every writer of packages (the exporter, the quantizer): the files
/// go to a sibling temporary directory, the manifest (with every file's size and sha256) last, and the directory is
/// renamed into place only when complete (<see cref="AtomicDirectory"/>). A failed or interrupted write leaves no
/// package at the target path.
/// </summary>
internal static class PackageDirectoryWriter
{
    /// <summary>The full target path, without a trailing separator.</summary>
    public static string TargetPath(string directory) =>
        Path.GetFullPath(directory.TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar));

    /// <summary>Runs <paramref name="writeContents"/> on a fresh temporary directory, then moves it to <paramref name="target"/> (<see cref="AtomicDirectory"/>).</summary>
    /// <exception cref="IOException">
    /// The target appeared meanwhile and <paramref name="overwrite"/> is false, or it is a non-empty folder that is not a
    /// model package (no manifest): replacing deletes the old folder, so only a package is replaced.
    /// </exception>
    public static ModelManifest Write(string target, bool overwrite, Func<string, ModelManifest> writeContents)
    {
        if (overwrite && Directory.Exists(target) && !File.Exists(Path.Combine(target, ModelManifest.FileName)) && Directory.EnumerateFileSystemEntries(target).Any())
            throw new IOException($"'{target}' is not a model package (it has no {ModelManifest.FileName}) and is not empty; overwriting replaces only a package, deleting the folder. Write to a new folder.");
        return AtomicDirectory.Write(target, writeContents, overwrite);
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
}

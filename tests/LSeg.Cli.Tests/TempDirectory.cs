namespace LSeg.Cli.Tests;

/// <summary>A fresh empty directory, deleted with everything in it on dispose.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "lseg-cli-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    /// <summary>Full path of a file or folder inside this directory.</summary>
    public string Combine(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    /// <summary>Every file below this directory, relative, sorted.</summary>
    public string[] Files() => new View(Path).Files();

    /// <summary>The files of any directory (none when it does not exist).</summary>
    public sealed record View(string Directory)
    {
        public string[] Files() => System.IO.Directory.Exists(Directory)
            ? System.IO.Directory.GetFiles(Directory, "*", SearchOption.AllDirectories)
                .Select(f => System.IO.Path.GetRelativePath(Directory, f)).Order(StringComparer.Ordinal).ToArray()
            : [];
    }

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); }
        catch (IOException) { }
    }
}

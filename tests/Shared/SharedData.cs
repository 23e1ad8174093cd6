namespace LSeg.Tests.Shared;

/// <summary>
/// Locates the read-only data folder that sits beside the repository (<c>../shared/data</c>). Tests that need it call
/// <see cref="RequireDirectory"/>, which skips the test with a message naming the missing folder.
/// </summary>
internal static class SharedData
{
    /// <summary>Repository root: the nearest ancestor of the test binary that holds <c>LSeg.sln</c>.</summary>
    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    /// <summary><c>../shared/data</c> relative to the repository root (may not exist).</summary>
    public static string DataRoot => Path.GetFullPath(Path.Combine(RepositoryRoot, "..", "shared", "data"));

    /// <summary>Full path of a file or folder under the shared data root (may not exist).</summary>
    public static string PathOf(params string[] parts) => Path.Combine([DataRoot, .. parts]);

    /// <summary>Returns the path of a shared-data file or folder, or skips the calling test when it is absent.</summary>
    public static string RequireDirectory(params string[] parts)
    {
        string path = PathOf(parts);
        Skip.IfNot(Directory.Exists(path) || File.Exists(path),
            $"shared data '{path}' is absent: this test needs the ../shared/data folder beside the repository (CI always has it).");
        return path;
    }

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "LSeg.sln")))
                return dir.FullName;
        }
        throw new InvalidOperationException($"No LSeg.sln above {AppContext.BaseDirectory}: tests must run from a build of the repository.");
    }
}

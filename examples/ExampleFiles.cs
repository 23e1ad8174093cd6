namespace LSeg.Examples;

/// <summary>Finds the example photos (examples/images) from a build output folder or the repository root.</summary>
internal static class ExampleFiles
{
    public static string Image(string name)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "examples", "images", name);
            if (File.Exists(candidate))
                return candidate;
        }
        string fromWorkingDirectory = Path.Combine("examples", "images", name);
        return File.Exists(fromWorkingDirectory)
            ? fromWorkingDirectory
            : throw new FileNotFoundException($"Example image '{name}' not found: run from the repository or pass an image path.");
    }
}

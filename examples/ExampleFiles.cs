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
        if (File.Exists(fromWorkingDirectory))
            return fromWorkingDirectory;
        // A published example run outside the repository with no arguments: a usage line, not a stack trace.
        Console.Error.WriteLine($"Example image '{name}' not found (it is in the repository's examples/images): pass an image path, e.g. {Path.GetFileName(Environment.ProcessPath)} photo.jpg \"cat, wall, other\".");
        Environment.Exit(2);
        return null!;
    }
}

namespace LSeg.Cli.Common;

/// <summary>Checks an output folder before any model work, so a run that cannot write fails in a second, not after the model ran.</summary>
internal static class OutputFolder
{
    /// <summary>
    /// Checks that files can be written in <paramref name="directory"/> (or, when it does not exist yet, that it can be
    /// created): a probe file is written and deleted in the folder or in its nearest existing parent. Nothing is left behind.
    /// </summary>
    /// <exception cref="CommandFailure">The path is a file, or the folder cannot be written or created.</exception>
    public static void RequireWritable(string directory, string optionName = "--out")
    {
        string full = Path.GetFullPath(directory);
        if (File.Exists(full))
            throw new CommandFailure($"{optionName} '{directory}' is a file; give a folder.");
        string existing = full;
        while (!Directory.Exists(existing))
        {
            existing = Path.GetDirectoryName(existing) ?? throw new CommandFailure($"{optionName} '{directory}' has no existing parent folder.");
            // A file where a parent folder would have to be created: say so now, not with the runtime's message at the end.
            if (File.Exists(existing))
                throw new CommandFailure($"{optionName} '{directory}' cannot be created: '{existing}' is a file.");
        }
        string probe = Path.Combine(existing, $".lseg-write-check-{Guid.NewGuid():N}.tmp");
        try
        {
            File.WriteAllBytes(probe, []);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            string what = existing == full ? $"'{directory}' is not writable" : $"'{directory}' cannot be created: '{existing}' is not writable";
            throw new CommandFailure($"{optionName} {what} ({e.Message.TrimEnd('.')}).");
        }
        finally
        {
            try
            {
                File.Delete(probe);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // A folder without search permission refuses even the delete: the error above, not this one, says why.
            }
        }
    }

    /// <summary>
    /// Checks <c>--out</c> of a command that writes a model package: a file is refused; an existing folder needs
    /// <c>--overwrite</c>, and even then is replaced only when it is a model package (it holds <c>manifest.json</c>) or
    /// empty, and is neither one of <paramref name="inputs"/> nor a folder holding one. Replacing deletes the old folder,
    /// so a mistyped <c>--out</c> (a run folder, or the parent of the source package) must not be taken for a package.
    /// </summary>
    /// <exception cref="CommandFailure">Any of those.</exception>
    public static void RequireReplaceablePackage(string output, bool overwrite, params string[] inputs)
    {
        if (File.Exists(output))
            throw new CommandFailure($"--out '{output}' is a file; give a directory for the package.");
        if (!Directory.Exists(output))
            return;
        if (!overwrite)
            throw new CommandFailure($"--out '{output}' already exists; pass --overwrite to replace it.");
        string full = Trimmed(output);
        foreach (string input in inputs)
        {
            string source = Trimmed(input);
            if (string.Equals(source, full, StringComparison.Ordinal) || source.StartsWith(full + Path.DirectorySeparatorChar, StringComparison.Ordinal))
                throw new CommandFailure($"--out '{output}' is or holds the input '{input}'; --overwrite would delete it. Write the package to another folder.", ExitCodes.Usage);
        }
        if (!File.Exists(Path.Combine(full, "manifest.json")) && Directory.EnumerateFileSystemEntries(full).Any())
            throw new CommandFailure($"--out '{output}' is not a model package (it has no manifest.json) and is not empty; --overwrite replaces only a package, deleting the folder. Give a new folder, or an existing package.", ExitCodes.Usage);
    }

    private static string Trimmed(string path) => Path.GetFullPath(path).TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar);
}

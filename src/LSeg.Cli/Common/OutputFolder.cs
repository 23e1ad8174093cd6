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
            File.Delete(probe);
        }
    }
}

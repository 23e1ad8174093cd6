namespace LSeg.MLNet.IO;

/// <summary>
/// Writes a directory so that it appears complete or not at all: the files go to a hidden sibling
/// (<c>.NAME.partial-GUID</c>), which is renamed into place only when the writer has finished. A directory cannot be
/// renamed over another, so an existing target first moves aside, the new one moves in, and the old one is deleted;
/// if the second move fails the old one moves back. A failed or interrupted write leaves no partial directory at the
/// target. The one way model packages (exporter, quantizer, upgrader, importer), training checkpoints and the
/// extracted default model are written; single files go through <see cref="AtomicFile"/>.
/// </summary>
internal static class AtomicDirectory
{
    /// <summary>
    /// Runs <paramref name="writeContents"/> on a fresh temporary sibling of <paramref name="target"/>, then moves it to
    /// <paramref name="target"/>.
    /// </summary>
    /// <param name="target">The directory to write.</param>
    /// <param name="writeContents">Fills the temporary directory it receives; its result is returned.</param>
    /// <param name="overwrite">Whether an existing <paramref name="target"/> is replaced.</param>
    /// <param name="aside">
    /// Where an existing target waits for the instant between the two renames (a leftover there is deleted once the
    /// new contents are complete). By default
    /// a hidden unique sibling; a reader that must survive a kill at that instant names a fixed path and looks there too.
    /// </param>
    /// <exception cref="IOException">The target exists (or appeared meanwhile) and <paramref name="overwrite"/> is false.</exception>
    public static T Write<T>(string target, Func<string, T> writeContents, bool overwrite, string? aside = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(target);
        ArgumentNullException.ThrowIfNull(writeContents);
        target = Path.GetFullPath(target.TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar));
        string parent = Path.GetDirectoryName(target)!;
        Directory.CreateDirectory(parent);
        string temporary = Path.Combine(parent, $".{Path.GetFileName(target)}.partial-{Guid.NewGuid():N}");
        try
        {
            Directory.CreateDirectory(temporary);
            var result = writeContents(temporary);
            // As AtomicFile: after a power loss or a host crash the renamed directory must not hold files whose bytes were
            // still only in the page cache (zero-length checkpoints a resume would then load, with the old one deleted).
            foreach (string file in Directory.EnumerateFiles(temporary, "*", SearchOption.AllDirectories))
                AtomicFile.FlushToDisk(file);
            MoveIntoPlace(temporary, target, overwrite, aside);
            return result;
        }
        catch
        {
            if (Directory.Exists(temporary))
                Directory.Delete(temporary, recursive: true);
            throw;
        }
    }

    private static void MoveIntoPlace(string temporary, string target, bool overwrite, string? aside)
    {
        if (!Directory.Exists(target) && !File.Exists(target))
        {
            Directory.Move(temporary, target);
            // Only now: with no target, an aside left by an earlier swap that was killed half-way is the only complete
            // copy until the new one is in place (deleting it first, a kill in between left only the hidden temporary).
            if (aside is not null && Directory.Exists(aside))
                Directory.Delete(aside, recursive: true);
            return;
        }
        if (!overwrite)
            throw new IOException($"'{target}' appeared while it was being written; it was left as it is.");
        if (aside is not null && Directory.Exists(aside))
            Directory.Delete(aside, recursive: true);
        string old = aside ?? Path.Combine(Path.GetDirectoryName(target)!, $".{Path.GetFileName(target)}.old-{Guid.NewGuid():N}");
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

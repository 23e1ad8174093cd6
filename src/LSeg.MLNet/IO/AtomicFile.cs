namespace LSeg.MLNet.IO;

/// <summary>
/// Writes files so that a reader sees the old file or the complete new one, never a part: the bytes go to a uniquely
/// named hidden sibling (<c>.NAME.GUID.tmp</c>, in the same folder, so the rename cannot cross file systems), are
/// flushed to disk, and the sibling is then renamed over the target. A failed write removes its temporary file and
/// leaves the target as it was. Two writers of the same file both leave a complete one. Every writer of this
/// repository's output files (the CLI's outputs, the trainer's JSON files, checkpoints, composed graphs, the batch
/// jobs' masks and job files) goes through it.
/// </summary>
public static class AtomicFile
{
    /// <summary>
    /// Writes the file that <paramref name="write"/> produces (it receives the temporary path to write to) to
    /// <paramref name="path"/>, creating its folder when missing.
    /// </summary>
    public static void Write(string path, Action<string> write)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(write);
        string temporary = TemporarySibling(path);
        try
        {
            write(temporary);
            FlushToDisk(temporary);
            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            DeleteIfPresent(temporary);
        }
    }

    /// <summary>Writes the stream that <paramref name="write"/> fills to <paramref name="path"/>, atomically.</summary>
    public static void WriteStream(string path, Action<Stream> write)
    {
        ArgumentNullException.ThrowIfNull(write);
        Write(path, temporary =>
        {
            using var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None);
            write(stream);
        });
    }

    /// <summary>Writes <paramref name="bytes"/> to <paramref name="path"/>, atomically.</summary>
    public static void WriteAllBytes(string path, ReadOnlySpan<byte> bytes)
    {
        byte[] copy = bytes.ToArray();
        Write(path, temporary => File.WriteAllBytes(temporary, copy));
    }

    /// <summary>Writes <paramref name="text"/> (UTF-8, no byte-order mark) to <paramref name="path"/>, atomically.</summary>
    public static void WriteAllText(string path, string text) => Write(path, temporary => File.WriteAllText(temporary, text));

    /// <summary>
    /// Writes several files as a group: all are written to temporaries first, then renamed into place; if any write
    /// fails, none of the targets is created or changed.
    /// </summary>
    public static void WriteAll(IReadOnlyList<(string Path, Action<string> Write)> files)
    {
        ArgumentNullException.ThrowIfNull(files);
        var temporaries = new List<(string Temporary, string Target)>();
        try
        {
            foreach (var (path, write) in files)
            {
                string temporary = TemporarySibling(path);
                temporaries.Add((temporary, path));
                write(temporary);
                FlushToDisk(temporary);
            }
            foreach (var (temporary, target) in temporaries)
                File.Move(temporary, target, overwrite: true);
        }
        finally
        {
            foreach (var (temporary, _) in temporaries)
                DeleteIfPresent(temporary);
        }
    }

    /// <summary>
    /// A fresh hidden temporary path beside <paramref name="path"/>, whose folder is created when missing. The name is
    /// <c>.NAME.GUID.tmp</c>, 38 bytes longer than NAME: where that would pass the 255 bytes a file name may have, NAME
    /// loses characters from its start (its end, such as <c>.mask.png</c>, is what cleaners match), so a long but valid
    /// output name is still written.
    /// </summary>
    private static string TemporarySibling(string path)
    {
        string directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(directory);
        string name = Path.GetFileName(path), suffix = $".{Guid.NewGuid():N}.tmp";
        while (name.Length > 1 && System.Text.Encoding.UTF8.GetByteCount(name) + suffix.Length + 1 > MaxFileNameBytes)
            name = name[(char.IsHighSurrogate(name[0]) ? 2 : 1)..];
        return Path.Combine(directory, $".{name}{suffix}");
    }

    /// <summary>The longest file name (in UTF-8 bytes) common file systems allow (ext4, XFS, NTFS in UTF-16 units alike).</summary>
    private const int MaxFileNameBytes = 255;

    /// <summary>Flushes the written file to the disk, so that the rename never exposes a file whose bytes are still only in memory.</summary>
    internal static void FlushToDisk(string path)
    {
        if (!File.Exists(path))
            return;  // the writer wrote nothing; the rename reports the missing file
        using var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
        stream.Flush(flushToDisk: true);
    }

    private static void DeleteIfPresent(string path)
    {
        if (File.Exists(path))
            File.Delete(path);
    }
}

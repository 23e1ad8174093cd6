namespace LSeg.Cli.Common;

/// <summary>
/// Writes an output file so that it either appears complete or not at all: the bytes go to a temporary sibling
/// first, which is renamed over the target only after it is fully written.
/// </summary>
internal static class AtomicFile
{
    /// <summary>Writes the file produced by <paramref name="write"/> (which receives the temporary path) to <paramref name="path"/>.</summary>
    public static void Write(string path, Action<string> write)
    {
        string directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(directory);
        string temporary = Path.Combine(directory, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
        try
        {
            write(temporary);
            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temporary))
                File.Delete(temporary);
        }
    }

    /// <summary>Writes bytes atomically.</summary>
    public static void WriteAllBytes(string path, ReadOnlySpan<byte> bytes)
    {
        byte[] copy = bytes.ToArray();
        Write(path, temporary => File.WriteAllBytes(temporary, copy));
    }

    /// <summary>Writes text (UTF-8) atomically.</summary>
    public static void WriteAllText(string path, string text) => Write(path, temporary => File.WriteAllText(temporary, text));

    /// <summary>
    /// Writes several files as a group: all are written to temporaries, then moved into place; if any write fails,
    /// none of the targets is created.
    /// </summary>
    public static void WriteAll(IReadOnlyList<(string Path, Action<string> Write)> files)
    {
        var temporaries = new List<(string Temporary, string Target)>();
        try
        {
            foreach (var (path, write) in files)
            {
                string directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
                Directory.CreateDirectory(directory);
                string temporary = Path.Combine(directory, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
                temporaries.Add((temporary, path));
                write(temporary);
            }
            foreach (var (temporary, target) in temporaries)
                File.Move(temporary, target, overwrite: true);
        }
        finally
        {
            foreach (var (temporary, _) in temporaries)
            {
                if (File.Exists(temporary))
                    File.Delete(temporary);
            }
        }
    }
}

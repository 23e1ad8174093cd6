namespace LSeg.MLNet.IO;

/// <summary>
/// This library's folders under the temporary folder, one per OS user (<c>NAME-USER</c>), created readable and
/// writable by that user only where the OS has Unix file modes. On Linux and macOS the temporary folder is usually
/// shared by every account: a folder the first user created (mode 0755) would refuse every later user's writes, so
/// that their pipelines could not even be fitted, and any account could place files in a folder it created first.
/// </summary>
internal static class PrivateTempFolder
{
    /// <summary>Creates (if needed) and returns the current user's folder <paramref name="name"/>-USER under the temporary folder.</summary>
    /// <exception cref="InvalidOperationException">The folder exists as a link, or belongs to another account (its mode cannot be set).</exception>
    /// <exception cref="UnauthorizedAccessException">The folder cannot be created (the message names it and TMPDIR).</exception>
    /// <exception cref="IOException">The folder cannot be created (the message names it and TMPDIR).</exception>
    public static string Create(string name)
    {
        string directory = Path.Combine(Path.GetTempPath(), $"{name}-{UserKey(Environment.UserName)}");
        const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
        try
        {
            if (OperatingSystem.IsWindows())
            {
                Directory.CreateDirectory(directory);
                return directory;
            }
            Directory.CreateDirectory(directory, OwnerOnly);
        }
        // The bare message names a path the caller never chose (a read-only container root, a TMPDIR of another account).
        catch (UnauthorizedAccessException e)
        {
            throw new UnauthorizedAccessException(CannotCreate(directory, e), e);
        }
        catch (IOException e)
        {
            throw new IOException(CannotCreate(directory, e), e);
        }
        // The name is predictable, and the mode above applies only to a folder created now: one that another account
        // made first (open to all, or a link elsewhere) would let it swap the files this library runs.
        if (new DirectoryInfo(directory).LinkTarget is not null)
            throw new InvalidOperationException($"'{directory}' is a link; this library keeps its files only in a folder of its own there. Remove it, or point TMPDIR elsewhere.");
        try
        {
            // Only the owner may change a mode: this also finds a folder of another account.
            if (File.GetUnixFileMode(directory) != OwnerOnly)
                File.SetUnixFileMode(directory, OwnerOnly);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new InvalidOperationException($"'{directory}' belongs to another account; this library keeps its files only in a folder of its own. Remove it, or point TMPDIR elsewhere.", e);
        }
        return directory;
    }

    private static string CannotCreate(string directory, Exception e) =>
        $"LSeg keeps its files (the extracted default model, composed graphs) in '{directory}', under the temporary folder, and cannot create it: {e.Message} Point TMPDIR (TEMP on Windows) at a writable folder.";

    /// <summary>The user name as a file-name part: letters, digits, '-', '_' and '.' kept, anything else '_'.</summary>
    internal static string UserKey(string userName)
    {
        var key = new string([.. userName.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_')]);
        return key.Trim('.').Length == 0 ? "user" : key;
    }
}

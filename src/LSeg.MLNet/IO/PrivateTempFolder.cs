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
    public static string Create(string name)
    {
        string directory = Path.Combine(Path.GetTempPath(), $"{name}-{UserKey(Environment.UserName)}");
        if (OperatingSystem.IsWindows())
            Directory.CreateDirectory(directory);
        else
            Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return directory;
    }

    /// <summary>The user name as a file-name part: letters, digits, '-', '_' and '.' kept, anything else '_'.</summary>
    internal static string UserKey(string userName)
    {
        var key = new string([.. userName.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_')]);
        return key.Trim('.').Length == 0 ? "user" : key;
    }
}

namespace LSeg.Cli.Common;

/// <summary>
/// A problem the user can fix (a missing file, an empty label list, a bad config): reported as one line on stderr
/// and a non-zero exit code, never as a stack trace.
/// </summary>
internal sealed class CommandFailure(string message, int exitCode = ExitCodes.Failure) : Exception(message)
{
    /// <summary>The process exit code to return.</summary>
    public int ExitCode { get; } = exitCode;

    /// <summary>"WHAT 'PATH' does not exist", or, when PATH is a folder, that a file is wanted.</summary>
    public static CommandFailure NoFile(string what, string path) =>
        new(Directory.Exists(path) ? $"{what} '{path}' is a folder; give a file." : $"{what} '{path}' does not exist.");

    /// <summary>"WHAT 'PATH' does not exist", or, when PATH is a file, that a folder is wanted.</summary>
    public static CommandFailure NoFolder(string what, string path) =>
        new(File.Exists(path) ? $"{what} '{path}' is a file; give a folder." : $"{what} '{path}' does not exist.");
}

/// <summary>Exit codes of every command.</summary>
internal static class ExitCodes
{
    /// <summary>The command did what was asked.</summary>
    public const int Success = 0;

    /// <summary>The command failed: bad input, missing file, model error.</summary>
    public const int Failure = 1;

    /// <summary>The command line itself could not be parsed (unknown option, missing argument).</summary>
    public const int Usage = 2;

    /// <summary>Stopped by Ctrl+C or SIGTERM before it finished (128 + SIGINT, as shells report it).</summary>
    public const int Interrupted = 130;
}

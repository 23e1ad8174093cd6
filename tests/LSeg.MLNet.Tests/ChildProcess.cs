using System.Diagnostics;

namespace LSeg.MLNet.Tests;

/// <summary>Runs this test assembly as a program (<see cref="Program"/>) in a new process: what a fresh application sees.</summary>
internal static class ChildProcess
{
    /// <summary>Runs <c>dotnet LSeg.MLNet.Tests.dll ARGS</c>; a process still running after <paramref name="timeout"/> is killed (exit code -1).</summary>
    public static (int ExitCode, string StdOut, string StdErr) Run(string? workingDirectory, TimeSpan timeout, params string[] args) =>
        Run(workingDirectory, timeout, environment: null, args);

    /// <summary>As above, with <paramref name="environment"/> set in the new process (e.g. its own TMPDIR).</summary>
    public static (int ExitCode, string StdOut, string StdErr) Run(string? workingDirectory, TimeSpan timeout, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
            start.Environment[name] = value;
        if (workingDirectory is not null)
            start.WorkingDirectory = workingDirectory;
        start.ArgumentList.Add(typeof(ChildProcess).Assembly.Location);
        foreach (string argument in args)
            start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        string stderr = "";
        var stderrReader = new Thread(() => stderr = process.StandardError.ReadToEnd());
        stderrReader.Start();
        string stdout = process.StandardOutput.ReadToEnd();
        bool exited = process.WaitForExit(timeout);
        if (!exited)
            process.Kill(entireProcessTree: true);
        stderrReader.Join();
        return (exited ? process.ExitCode : -1, stdout, stderr);
    }
}

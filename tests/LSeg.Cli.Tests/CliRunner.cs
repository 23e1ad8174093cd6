using System.Diagnostics;
using LSeg.Cli;

namespace LSeg.Cli.Tests;

/// <summary>The outcome of one <c>lseg</c> run.</summary>
internal sealed record CliResult(int ExitCode, string StdOut, string StdErr)
{
    /// <summary>Non-empty lines written to stderr.</summary>
    public string[] ErrorLines => StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{StdOut}\n--- stderr\n{StdErr}";
}

/// <summary>Runs <c>lseg</c>: as a real child process (<c>dotnet lseg.dll</c>) or in-process through its entry.</summary>
internal static class CliRunner
{
    private static readonly Lazy<string> CliDll = new(FindCliDll);

    /// <summary>Runs the built <c>lseg.dll</c> in a child process and waits for it.</summary>
    public static CliResult RunProcess(string workingDirectory, params string[] args) => RunDll(CliDll.Value, workingDirectory, null, args);

    /// <summary>Path of the built lseg.dll.</summary>
    public static string CliDllPath => CliDll.Value;

    /// <summary>
    /// Runs the example <paramref name="project"/> from its own build output folder (beside this test project's, so
    /// with its own dependency graph) and waits for it.
    /// </summary>
    public static CliResult RunExample(string project, string workingDirectory, IDictionary<string, string>? environment, params string[] args)
    {
        string here = AppContext.BaseDirectory;
        string dll = Path.GetFullPath(Path.Combine(here, "..", "..", project, new DirectoryInfo(here).Name, project + ".dll"));
        if (!File.Exists(dll))
            throw new FileNotFoundException($"Example {project} is not built at '{dll}'.", dll);
        return RunDll(dll, workingDirectory, environment, args);
    }

    private static CliResult RunDll(string dll, string workingDirectory, IDictionary<string, string>? environment, string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(dll);
        foreach (string arg in args)
            start.ArgumentList.Add(arg);
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
            start.Environment[key] = value;
        using var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start dotnet.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(10)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{Path.GetFileName(dll)} {string.Join(' ', args)} did not finish within 10 minutes.");
        }
        return new CliResult(process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>Runs <c>lseg</c> in this process with captured output (relative paths resolve against the test's working directory).</summary>
    public static CliResult RunInProcess(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int exit = CliApp.Run(args, stdout, stderr);
        return new CliResult(exit, stdout.ToString(), stderr.ToString());
    }

    private static string FindCliDll()
    {
        // The CLI's own output folder has lseg.runtimeconfig.json and lseg.deps.json beside lseg.dll.
        string here = AppContext.BaseDirectory;
        var candidates = new[]
        {
            Path.Combine(here, "lseg.dll"),
            Path.GetFullPath(Path.Combine(here, "..", "..", "LSeg.Cli", new DirectoryInfo(here).Name, "lseg.dll")),
        };
        foreach (string candidate in candidates)
        {
            if (File.Exists(candidate) && File.Exists(Path.ChangeExtension(candidate, ".runtimeconfig.json")))
                return candidate;
        }
        throw new FileNotFoundException($"Built lseg.dll (with its runtimeconfig) not found; looked at: {string.Join(", ", candidates)}.");
    }
}

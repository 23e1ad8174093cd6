using System.Diagnostics;
using System.Text;

namespace LSeg.Orleans.Tests;

/// <summary>A running <c>lseg</c> (the built <c>lseg.dll</c>) with its output captured, which a test can SIGKILL.</summary>
internal sealed class LsegProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout = new(), _stderr = new();

    private LsegProcess(Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_stdout) _stdout.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_stderr) _stderr.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public string StdOut { get { lock (_stdout) return _stdout.ToString(); } }

    public string StdErr { get { lock (_stderr) return _stderr.ToString(); } }

    public int ExitCode => _process.ExitCode;

    public static LsegProcess Start(string workingDirectory, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(CliDll.Value);
        foreach (string arg in args)
            start.ArgumentList.Add(arg);
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        return new LsegProcess(Process.Start(start) ?? throw new InvalidOperationException("Could not start dotnet."));
    }

    /// <summary>Runs lseg to the end and returns it.</summary>
    public static LsegProcess Run(string workingDirectory, params string[] args)
    {
        var process = Start(workingDirectory, args);
        process.WaitForExit(TimeSpan.FromMinutes(5));
        return process;
    }

    /// <summary>Waits for the process to end; kills it and fails when it does not within <paramref name="limit"/>.</summary>
    public void WaitForExit(TimeSpan limit)
    {
        if (!_process.WaitForExit(limit))
        {
            _process.Kill(entireProcessTree: true);
            throw new TimeoutException($"lseg did not finish within {limit}.\n{this}");
        }
        _process.WaitForExit(); // drains the redirected output
    }

    /// <summary>Waits until <paramref name="condition"/> holds, polling every 20 ms; fails after <paramref name="limit"/> or when the process ends first.</summary>
    public void WaitUntil(Func<bool> condition, TimeSpan limit, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (_process.HasExited)
                throw new InvalidOperationException($"lseg ended before {what}.\n{this}");
            if (clock.Elapsed > limit)
                throw new TimeoutException($"Waited {limit} for {what}.\n{this}");
            Thread.Sleep(20);
        }
    }

    /// <summary>SIGKILL: the process gets no chance to clean up (what <c>kill -9</c> does).</summary>
    public void KillHard()
    {
        _process.Kill(entireProcessTree: false);
        _process.WaitForExit();
    }

    public override string ToString() => $"--- stdout\n{StdOut}\n--- stderr\n{StdErr}";

    public void Dispose()
    {
        if (!_process.HasExited)
            _process.Kill(entireProcessTree: true);
        _process.Dispose();
    }

    private static readonly Lazy<string> CliDll = new(() =>
    {
        // The CLI's own output folder has lseg.runtimeconfig.json and lseg.deps.json beside lseg.dll.
        string here = AppContext.BaseDirectory;
        string dll = Path.GetFullPath(Path.Combine(here, "..", "..", "LSeg.Cli", new DirectoryInfo(here).Name, "lseg.dll"));
        return File.Exists(dll) ? dll : throw new FileNotFoundException($"The built lseg.dll is not at '{dll}'.", dll);
    });
}

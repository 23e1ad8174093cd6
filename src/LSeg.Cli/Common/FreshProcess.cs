using System.Diagnostics;
using System.Globalization;
using LSeg.Cli.Benchmarks;

namespace LSeg.Cli.Common;

/// <summary>
/// Runs <c>lseg bench memory</c> in a new process (the same lseg.dll, the same dotnet host): a peak-memory figure only
/// means something for a process that did nothing else.
/// </summary>
internal static class FreshProcess
{
    /// <summary>Peak resident set (MB) of a process that loads the model and segments one image as <paramref name="request"/> says.</summary>
    /// <exception cref="CommandFailure">The child process failed.</exception>
    public static double MeasurePeakMemory(PeakMemory.Request request)
    {
        var arguments = new List<string> { "bench", "memory", "--width", Text(request.Width), "--height", Text(request.Height), "--size", Text(request.InputSize),
            "--arena", request.Settings.EnableMemoryArena ? "on" : "off", "--optimization", RuntimeSettings.OptimizationName(request.Settings.GraphOptimization) };
        if (request.Settings.IntraOpThreads is int threads)
            arguments.AddRange(["--threads", Text(threads)]);
        if (request.PackagePath is not null)
            arguments.AddRange(["--model", request.PackagePath]);
        arguments.AddRange(["--labels", string.Join(",", request.LabelsOrDefault)]);
        if (request.ThroughMLNet)
            arguments.AddRange(["--through", "mlnet"]);
        string output = RunLseg(arguments);
        return double.Parse(output.Trim(), CultureInfo.InvariantCulture);
    }

    private static string RunLseg(IEnumerable<string> arguments)
    {
        string host = Path.GetFileNameWithoutExtension(Environment.ProcessPath ?? "dotnet") == "dotnet" ? Environment.ProcessPath! : "dotnet";
        var start = new ProcessStartInfo(host) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(typeof(FreshProcess).Assembly.Location);
        foreach (string argument in arguments)
            start.ArgumentList.Add(argument);
        using var process = Process.Start(start) ?? throw new CommandFailure($"Could not start '{host}'.");
        var error = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new CommandFailure($"'lseg {string.Join(' ', start.ArgumentList.Skip(1))}' failed (exit {process.ExitCode}): {error.Result.Trim()}");
        return output;
    }

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);
}

namespace LSeg.Cli.Common;

/// <summary>Where a command writes: results to <see cref="Out"/>, progress and diagnostics to <see cref="Error"/>.</summary>
internal sealed class CliConsole(TextWriter output, TextWriter error)
{
    /// <summary>Results (tables, JSON).</summary>
    public TextWriter Out { get; } = output;

    /// <summary>Problems and diagnostics.</summary>
    public TextWriter Error { get; } = error;

    /// <summary>True when results go to an interactive terminal (so a progress bar makes sense).</summary>
    public bool IsInteractive => ReferenceEquals(Out, Console.Out) && !Console.IsOutputRedirected && !Console.IsErrorRedirected;
}

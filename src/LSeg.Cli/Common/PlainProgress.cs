namespace LSeg.Cli.Common;

/// <summary>
/// Progress as plain lines, one per finished item, the last one included (<c>Segmenting: 2/2 (100%)</c>), for a
/// terminal that cannot redraw a progress bar. Spectre.Console's own fallback there prints a line only at some
/// percentages and never the last one, so a finished run looked stuck at 50%.
/// </summary>
internal sealed class PlainProgress(TextWriter output, string what, int total)
{
    private int _done;

    /// <summary>
    /// True when the terminal cannot draw a bar: <c>NO_COLOR</c> set, <c>TERM=dumb</c>, or a terminal Spectre.Console
    /// finds without ANSI support or not interactive.
    /// </summary>
    public static bool Wanted =>
        !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("NO_COLOR"))
        || string.Equals(Environment.GetEnvironmentVariable("TERM"), "dumb", StringComparison.Ordinal)
        || !Spectre.Console.AnsiConsole.Profile.Capabilities.Ansi
        || !Spectre.Console.AnsiConsole.Profile.Capabilities.Interactive;

    /// <summary>Counts one more item done and prints the line.</summary>
    public void Advance()
    {
        _done++;
        output.WriteLine($"{what}: {_done}/{total} ({100 * _done / Math.Max(1, total)}%)");
    }
}

using System.CommandLine;
using System.CommandLine.Help;
using LSeg.Cli.Commands;
using LSeg.Cli.Common;

namespace LSeg.Cli;

/// <summary>
/// The <c>lseg</c> command tree and the one place that turns failures into a single stderr line and an exit code.
/// </summary>
internal static class CliApp
{
    /// <summary>Builds the root command with every subcommand.</summary>
    public static RootCommand BuildRootCommand(CliConsole console)
    {
        var root = new RootCommand("lseg: language-driven semantic segmentation (LSeg) for ML.NET. Segment images with any text labels, train, evaluate, export, import and benchmark models.");
        root.Subcommands.Add(SegmentCommand.Create(console));
        root.Subcommands.Add(RelabelCommand.Create(console));
        root.Subcommands.Add(TrainCommand.Create(console));
        root.Subcommands.Add(EvaluateCommand.Create(console));
        root.Subcommands.Add(ExportCommand.Create(console));
        root.Subcommands.Add(AverageCommand.Create(console));
        root.Subcommands.Add(TextProjectionCommand.Create(console));
        root.Subcommands.Add(ImportCommand.Create(console));
        root.Subcommands.Add(InfoCommand.Create(console));
        root.Subcommands.Add(UpgradeCommand.Create(console));
        root.Subcommands.Add(QuantizeCommand.Create(console));
        root.Subcommands.Add(BenchCommand.Create(console));
        root.Subcommands.Add(ServeCommand.Create(console));
        root.Subcommands.Add(BatchCommand.Create(console));
        root.Subcommands.Add(SiloCommand.Create(console));
        return root;
    }

    /// <summary>
    /// How the command line is read. Response files are off: System.CommandLine would read any argument starting with
    /// '@' as a file of more arguments, so an image named <c>@home.jpg</c>, or <c>--labels @list</c>, would be opened and
    /// split on whitespace; the tool documents no such files.
    /// </summary>
    internal static ParserConfiguration ParserConfiguration => new() { ResponseFileTokenReplacer = null };

    /// <summary>Parses <paramref name="args"/>, runs the chosen command and returns the process exit code.</summary>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        // Numbers in tables and JSON never depend on the machine's locale.
        System.Globalization.CultureInfo.CurrentCulture = System.Globalization.CultureInfo.InvariantCulture;
        // Nor do messages: System.CommandLine ships translated parse errors, which the plain-words rewrite
        // (ParseErrors) matches in English only.
        System.Globalization.CultureInfo.CurrentUICulture = System.Globalization.CultureInfo.InvariantCulture;
        var console = new CliConsole(stdout, stderr);
        var root = BuildRootCommand(console);
        ParseResult parsed = root.Parse(args, ParserConfiguration);

        // Parse errors become one line (System.CommandLine would print each error and the whole help text).
        var errors = parsed.Errors.Select(e => e.Message).Concat(ParseErrors.UnknownOptions(parsed)).ToList();
        if (errors.Count > 0 && parsed.Action is not HelpAction)
        {
            string command = CommandPath(parsed);
            string problems = string.Join("; ", errors.Select(e => OneLine(ParseErrors.Plain(e))).Distinct());
            stderr.WriteLine($"{command}: {problems} Usage: {ParseErrors.Usage(parsed.CommandResult.Command, command)} (see '{command} --help')");
            return ExitCodes.Usage;
        }
        try
        {
            return parsed.Invoke(new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false });
        }
        catch (Exception e)
        {
            stderr.WriteLine($"{CommandPath(parsed)}: {Describe(e)}");
            if (Environment.GetEnvironmentVariable("LSEG_DEBUG") == "1")
                stderr.WriteLine(e);
            return e is CommandFailure failure ? failure.ExitCode : ExitCodes.Failure;
        }
    }

    /// <summary>The message of an exception on one line; unexpected exception types also name their type.</summary>
    internal static string Describe(Exception e)
    {
        Exception inner = e is AggregateException { InnerExceptions.Count: 1 } aggregate ? aggregate.InnerException! : e;
        bool expected = inner is CommandFailure or FileNotFoundException or DirectoryNotFoundException or InvalidDataException
            or ArgumentException or InvalidOperationException or IOException or UnauthorizedAccessException or NotSupportedException
            or System.Text.Json.JsonException;
        string text = inner.Message;
        // ArgumentException appends " (Parameter 'labels')": the library's parameter name, not the command line's.
        // ArgumentOutOfRangeException then adds "Actual value was …" on a line of its own: cut both.
        if (inner is ArgumentException { ParamName: { } parameter } && text.IndexOf($" (Parameter '{parameter}')", StringComparison.Ordinal) is int at and >= 0)
            text = text[..at];
        string message = TerminalText.Escape(OneLine(text));
        return expected ? message : $"{inner.GetType().Name}: {message}";
    }

    private static string CommandPath(ParseResult parsed)
    {
        var names = new List<string>();
        for (var result = parsed.CommandResult; result is not null; result = result.Parent as System.CommandLine.Parsing.CommandResult)
            names.Insert(0, result.Command is RootCommand ? "lseg" : result.Command.Name);
        return string.Join(' ', names);
    }

    private static string OneLine(string text) =>
        string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}

using System.CommandLine;
using System.Text.RegularExpressions;

namespace LSeg.Cli.Common;

/// <summary>Command-line errors as a user reads them: plain words for bad numbers, and the command's usage line.</summary>
internal static partial class ParseErrors
{
    /// <summary>A System.CommandLine message in plain words (it names .NET types for values that do not parse).</summary>
    public static string Plain(string message)
    {
        var unrecognized = UnrecognizedOption().Match(message);
        if (unrecognized.Success)
            return $"Unknown option '{unrecognized.Groups["option"].Value}'.";
        var match = CannotParse().Match(message);
        if (!match.Success)
            return message;
        string type = match.Groups["type"].Value;
        string kind = type.Contains("Int32", StringComparison.Ordinal) || type.Contains("Int64", StringComparison.Ordinal) ? "a whole number"
            : type.Contains("Double", StringComparison.Ordinal) || type.Contains("Single", StringComparison.Ordinal) ? "a number"
            : "another kind of value";
        return $"{match.Groups["option"].Value} takes {kind}; '{match.Groups["value"].Value}' is not one.";
    }

    /// <summary>"lseg segment IMAGE... --labels LIST [options]": the arguments and required options of <paramref name="command"/>.</summary>
    public static string Usage(Command command, string commandPath)
    {
        var parts = new List<string> { commandPath };
        parts.AddRange(command.Arguments.Select(a => a.Arity.MaximumNumberOfValues > 1 ? a.Name + "..." : a.Name));
        parts.AddRange(command.Options.Where(o => o.Required).Select(o => $"{o.Name} {o.HelpName ?? "VALUE"}"));
        if (command.Options.Any(o => !o.Required))
            parts.Add("[options]");
        if (command.Subcommands.Count > 0)
            parts.Add("COMMAND");
        return string.Join(' ', parts);
    }

    /// <summary>
    /// Adds to <paramref name="argument"/> an error for each value that looks like an option (<c>--colour</c>): an option
    /// the command does not have would otherwise be taken for a file name.
    /// </summary>
    public static void RefuseUnknownOptions(Argument argument) => argument.Validators.Add(result =>
    {
        foreach (var token in result.Tokens.Where(t => t.Value.Length > 1 && t.Value[0] == '-'))
            result.AddError($"Unknown option '{token.Value}'.");
    });

    [GeneratedRegex("^Unrecognized command or argument '(?<option>-[^']+)'")]
    private static partial Regex UnrecognizedOption();

    [GeneratedRegex("Cannot parse argument '(?<value>.*)' for option '(?<option>[^']*)' as expected type '(?<type>[^']*)'")]
    private static partial Regex CannotParse();
}

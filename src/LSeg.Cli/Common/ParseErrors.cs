using System.CommandLine;
using System.CommandLine.Parsing;
using System.Runtime.CompilerServices;
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

    /// <summary>The arguments whose values may not look like options (see <see cref="RefuseUnknownOptions"/>).</summary>
    private static readonly ConditionalWeakTable<Argument, object> Refusing = [];

    /// <summary>
    /// Makes each value of <paramref name="argument"/> that looks like an option (<c>--colour</c>) an error, found by
    /// <see cref="UnknownOptions"/>: an option the command does not have would otherwise be taken for a file name. A value
    /// after <c>--</c> is taken as it is (<c>-- -dash.jpg</c> names a file).
    /// </summary>
    public static void RefuseUnknownOptions(Argument argument) => Refusing.AddOrUpdate(argument, Refusing);

    /// <summary>
    /// "Unknown option '-x'." for each value of an argument marked with <see cref="RefuseUnknownOptions"/> that starts
    /// with '-' and comes before <c>--</c>. Done on the whole parse, not in a validator, because only the parse result
    /// knows where <c>--</c> stood (a value's token is the same whichever side of it the value was).
    /// </summary>
    public static IEnumerable<string> UnknownOptions(ParseResult parsed)
    {
        int doubleDash = parsed.Tokens.Select((token, i) => (token, i)).FirstOrDefault(p => p.token.Type == TokenType.DoubleDash) is { token: not null } found
            ? found.i : parsed.Tokens.Count;
        var beforeDoubleDash = parsed.Tokens.Take(doubleDash).ToHashSet(ReferenceEqualityComparer.Instance);
        foreach (var argument in parsed.CommandResult.Command.Arguments)
        {
            if (!Refusing.TryGetValue(argument, out _) || parsed.GetResult(argument) is not { } result)
                continue;
            foreach (var token in result.Tokens.Where(t => t.Value.Length > 1 && t.Value[0] == '-' && beforeDoubleDash.Contains(t)))
                yield return $"Unknown option '{token.Value}'.";
        }
    }

    [GeneratedRegex("^Unrecognized command or argument '(?<option>-[^']+)'")]
    private static partial Regex UnrecognizedOption();

    [GeneratedRegex("Cannot parse argument '(?<value>.*)' for option '(?<option>[^']*)' as expected type '(?<type>[^']*)'")]
    private static partial Regex CannotParse();
}

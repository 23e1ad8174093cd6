namespace LSeg.MLNet.Runtime;

/// <summary>An argument check's message as a sentence to quote inside another message.</summary>
internal static class ArgumentMessage
{
    /// <summary>
    /// <paramref name="e"/>'s message without the " (Parameter 'NAME')" .NET appends: a message that quotes it says which
    /// parameter itself (or names none, when the reader never wrote that parameter).
    /// </summary>
    public static string WithoutParameter(ArgumentException e) =>
        e.ParamName is null ? e.Message : e.Message.Replace($" (Parameter '{e.ParamName}')", "", StringComparison.Ordinal);
}

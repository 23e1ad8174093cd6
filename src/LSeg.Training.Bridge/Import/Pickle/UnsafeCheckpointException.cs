namespace LSeg.Training.Bridge.Import.Pickle;

/// <summary>
/// A checkpoint's pickle names a Python class or function the importer does not allow. The file is refused before
/// anything it describes is built; nothing in it is executed (the importer never runs code from a checkpoint).
/// </summary>
public sealed class UnsafeCheckpointException : Exception
{
    /// <summary>Creates the exception for the refused global.</summary>
    /// <param name="globalName">The refused global, as <c>module.name</c>.</param>
    /// <param name="message">The full message.</param>
    public UnsafeCheckpointException(string globalName, string message) : base(message)
    {
        GlobalName = globalName;
    }

    /// <summary>The refused Python global, as <c>module.name</c> (e.g. <c>posix.system</c>).</summary>
    public string GlobalName { get; }
}

namespace LSeg.Training.Bridge.Import.Pickle;

/// <summary>What an allowed Python global may become when a pickle calls it.</summary>
internal enum AllowedGlobalKind
{
    /// <summary>May be referenced (e.g. a storage type in a tensor's persistent id, a class used as a dict key), never called.</summary>
    ReferenceOnly,

    /// <summary>A dict or dict subclass (OrderedDict, Lightning's AttributeDict): calling it gives an empty <see cref="PickleDict"/>.</summary>
    Dictionary,

    /// <summary>A plain class kept as inert data: calling it gives a <see cref="PickleObject"/> holding the arguments and state.</summary>
    InertClass,

    /// <summary>A function the reader interprets itself (rebuilding a tensor, a set): see <see cref="PickleAllowList.Function"/>.</summary>
    Function,
}

/// <summary>
/// The Python globals a checkpoint pickle may name, and what each becomes. Anything else is refused by name with an
/// <see cref="UnsafeCheckpointException"/> as soon as the pickle names it: nothing from the file is ever executed,
/// and only the objects listed here are constructed.
/// </summary>
internal sealed class PickleAllowList
{
    private readonly Dictionary<string, AllowedGlobalKind> _kinds = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Func<IReadOnlyList<object?>, object?>> _functions = new(StringComparer.Ordinal);

    public void Allow(string fullName, AllowedGlobalKind kind) => _kinds[fullName] = kind;

    public void AllowFunction(string fullName, Func<IReadOnlyList<object?>, object?> function)
    {
        _kinds[fullName] = AllowedGlobalKind.Function;
        _functions[fullName] = function;
    }

    public bool TryGetKind(string fullName, out AllowedGlobalKind kind) => _kinds.TryGetValue(fullName, out kind);

    public Func<IReadOnlyList<object?>, object?> Function(string fullName) => _functions[fullName];

    /// <summary>Python's own containers and the inert classes a Lightning checkpoint of the lang-seg era carries.</summary>
    public static PickleAllowList ForCheckpoints(IEnumerable<string>? additionalInertClasses = null)
    {
        var list = new PickleAllowList();
        list.Allow("collections.OrderedDict", AllowedGlobalKind.Dictionary);
        list.Allow("builtins.dict", AllowedGlobalKind.Dictionary);
        list.Allow("__builtin__.dict", AllowedGlobalKind.Dictionary);
        list.Allow("pytorch_lightning.utilities.parsing.AttributeDict", AllowedGlobalKind.Dictionary);
        list.Allow("lightning.pytorch.utilities.parsing.AttributeDict", AllowedGlobalKind.Dictionary);
        list.Allow("lightning_fabric.utilities.data.AttributeDict", AllowedGlobalKind.Dictionary);
        foreach (string name in new[] { "builtins.set", "__builtin__.set", "builtins.frozenset", "__builtin__.frozenset" })
            list.AllowFunction(name, args => args.Count == 0 ? new List<object?>() : new List<object?>(AsSequence(args[0], name)));
        // Protocol-2 pickles spell bytes as _codecs.encode(text, 'latin1'); numpy scalars (a metric saved by a
        // callback) are numpy.dtype plus raw bytes. Both are decoded or kept as data, never run.
        list.AllowFunction("_codecs.encode", EncodeLatin1);
        foreach (string inert in InertClasses.Concat(additionalInertClasses ?? []))
            list.Allow(inert, AllowedGlobalKind.InertClass);
        return list;
    }

    /// <summary>Classes seen in Lightning checkpoints as plain data (callback states, hyper-parameters, paths).</summary>
    internal static readonly string[] InertClasses =
    [
        "argparse.Namespace",
        "pathlib.Path", "pathlib.PosixPath", "pathlib.WindowsPath", "pathlib.PurePosixPath", "pathlib.PureWindowsPath",
        "pytorch_lightning.callbacks.model_checkpoint.ModelCheckpoint",
        "pytorch_lightning.callbacks.early_stopping.EarlyStopping",
        "pytorch_lightning.callbacks.lr_monitor.LearningRateMonitor",
        "pytorch_lightning.callbacks.progress.ProgressBar",
        "pytorch_lightning.callbacks.progress.tqdm_progress.TQDMProgressBar",
        "lightning.pytorch.callbacks.model_checkpoint.ModelCheckpoint",
        "lightning.pytorch.callbacks.early_stopping.EarlyStopping",
        "numpy.dtype", "numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar",
    ];

    private static byte[] EncodeLatin1(IReadOnlyList<object?> args)
    {
        if (args.Count is < 1 or > 2 || args[0] is not string text || (args.Count == 2 && args[1] is not ("latin1" or "latin-1")))
            throw new InvalidDataException("The pickle calls _codecs.encode with arguments other than (text, 'latin1'), the only form pickles use for bytes.");
        return System.Text.Encoding.Latin1.GetBytes(text);
    }

    private static IEnumerable<object?> AsSequence(object? value, string function) => value switch
    {
        List<object?> list => list,
        object?[] tuple => tuple,
        _ => throw new InvalidDataException($"The pickle calls {function} with a {value?.GetType().Name ?? "None"}; expected a list or tuple."),
    };
}

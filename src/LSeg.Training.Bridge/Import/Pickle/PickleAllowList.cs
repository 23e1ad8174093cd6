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
    ];

    private static IEnumerable<object?> AsSequence(object? value, string function) => value switch
    {
        List<object?> list => list,
        object?[] tuple => tuple,
        _ => throw new InvalidDataException($"The pickle calls {function} with a {value?.GetType().Name ?? "None"}; expected a list or tuple."),
    };
}

using LSeg.Training.Bridge.Import.Pickle;

namespace LSeg.Training.Bridge.Import;

/// <summary>
/// Opens a checkpoint of any supported kind and presents it as a flat state dict of lazily read tensors plus what the
/// checkpoint says about itself: a Lightning <c>.ckpt</c> (a dict with <c>state_dict</c>, <c>optimizer_states</c>, …),
/// a plain <c>torch.save(state_dict)</c> file, or safetensors.
/// </summary>
internal sealed class CheckpointFile : IDisposable
{
    private readonly IDisposable? _owner;

    private CheckpointFile(string kind, IReadOnlyDictionary<string, CheckpointTensor> tensors, IReadOnlyDictionary<string, string> metadata,
        IReadOnlyList<string> ignoredEntries, IDisposable? owner)
    {
        Kind = kind;
        Tensors = tensors;
        Metadata = metadata;
        IgnoredEntries = ignoredEntries;
        _owner = owner;
    }

    /// <summary><c>lightning-checkpoint</c>, <c>torch-state-dict</c> or <c>safetensors</c>.</summary>
    public string Kind { get; }

    /// <summary>The model state dict, keys as stored (for a Lightning checkpoint, <c>state_dict</c>'s keys).</summary>
    public IReadOnlyDictionary<string, CheckpointTensor> Tensors { get; }

    /// <summary>Scalars the checkpoint records about itself (epoch, global_step, Lightning version).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>State-dict entries that are not tensors, and top-level entries that are not read (optimizer state, …).</summary>
    public IReadOnlyList<string> IgnoredEntries { get; }

    public void Dispose() => _owner?.Dispose();

    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a checkpoint, is truncated, or holds no state dict.</exception>
    /// <exception cref="UnsafeCheckpointException">The file's pickle names a class or function that is not allowed.</exception>
    public static CheckpointFile Open(string path, IEnumerable<string>? additionalInertClasses = null)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"The checkpoint '{path}' does not exist.", path);
        byte[] start = new byte[16];
        long length;
        using (var stream = File.OpenRead(path))
        {
            length = stream.Length;
            int read = stream.ReadAtLeast(start, start.Length, throwOnEndOfStream: false);
            Array.Resize(ref start, read);
        }

        if (start.Length >= 4 && start[0] == 'P' && start[1] == 'K' && start[2] == 3 && start[3] == 4)
        {
            var zip = TorchZipCheckpoint.Open(path, additionalInertClasses);
            try
            {
                return FromRoot(path, zip.Root, zip);
            }
            catch
            {
                zip.Dispose();
                throw;
            }
        }
        if (SafetensorsCheckpoint.LooksLikeSafetensors(start, length))
            return new CheckpointFile("safetensors", SafetensorsCheckpoint.Read(path), new Dictionary<string, string>(), [], null);
        if (start.Length >= 3 && start[0] == 0x80 && start[1] <= 5 && start[2] == 0x8a)
            throw new InvalidDataException($"'{path}' is in the legacy torch.save format of PyTorch before 1.6, which the importer does not read. Re-save it with a current PyTorch (torch.save(torch.load(f), f2)) or convert it to safetensors.");
        throw new InvalidDataException($"'{path}' is not a checkpoint: expected a torch.save zip archive (PyTorch Lightning .ckpt or .pt) or a safetensors file; the file starts with bytes {Convert.ToHexString(start.AsSpan(0, Math.Min(8, start.Length)))}.");
    }

    private static CheckpointFile FromRoot(string path, object? root, IDisposable owner)
    {
        if (root is not PickleDict top)
            throw new InvalidDataException($"'{path}' holds a pickled {Describe(root)}, not a checkpoint dict or a state dict.");

        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        var ignored = new List<string>();
        PickleDict stateDict;
        string kind;
        if (top.TryGetValue("state_dict", out var nested))
        {
            stateDict = nested as PickleDict ?? throw new InvalidDataException($"'{path}': the checkpoint's 'state_dict' is a {Describe(nested)}, not a dict of tensors.");
            kind = "lightning-checkpoint";
            foreach (var (key, value) in top.Items)
            {
                string name = key?.ToString() ?? "None";
                if (name == "state_dict")
                    continue;
                if (value is long or double or string or bool)
                    metadata[name] = Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? "";
                else
                    ignored.Add(name);
            }
        }
        else if (!top.Items.Any(item => item.Value is CheckpointTensor) && top.TryGetValue("model", out var model) && model is PickleDict modelDict)
        {
            // lang-seg's own BaseModel.save: {"model": state_dict, "optimizer": …}, which its load unwraps the same way.
            stateDict = modelDict;
            kind = "torch-model-dict";
            ignored.AddRange(top.Items.Select(item => item.Key?.ToString() ?? "None").Where(name => name != "model"));
        }
        else
        {
            stateDict = top;
            kind = "torch-state-dict";
        }

        var tensors = new Dictionary<string, CheckpointTensor>(StringComparer.Ordinal);
        foreach (var (key, value) in stateDict.Items)
        {
            string name = key as string ?? throw new InvalidDataException($"'{path}': the state dict has a key of type {Describe(key)}; state-dict keys are strings.");
            if (value is CheckpointTensor tensor)
                tensors[name] = tensor;
            else
                ignored.Add($"state_dict['{name}'] ({Describe(value)})");
        }
        if (tensors.Count == 0)
            throw new InvalidDataException(
                $"'{path}' holds a dict without tensors: it is not a model checkpoint (a state dict, or one under 'state_dict' or 'model'); its keys: {string.Join(", ", top.Items.Take(8).Select(item => $"'{item.Key}' ({Describe(item.Value)})"))}.");
        return new CheckpointFile(kind, tensors, metadata, ignored, owner);
    }

    private static string Describe(object? value) => value switch
    {
        null => "None",
        PickleDict => "dict",
        PickleObject obj => obj.Type.FullName + " object",
        List<object?> => "list",
        object?[] => "tuple",
        CheckpointTensor => "tensor",
        _ => value.GetType().Name,
    };
}

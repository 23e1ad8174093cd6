using System.IO.Compression;
using LSeg.Training.Bridge.Import.Pickle;
using static TorchSharp.torch;

namespace LSeg.Training.Bridge.Import;

/// <summary>
/// Reads the zip format of <c>torch.save</c> (PyTorch ≥ 1.6, so every Lightning checkpoint): <c>&lt;archive&gt;/data.pkl</c>
/// is a pickle whose tensors point, through persistent ids, at storages stored as <c>&lt;archive&gt;/data/&lt;key&gt;</c>.
/// The pickle is read with the <see cref="RestrictedUnpickler"/>; storages are read only when a tensor is loaded.
/// </summary>
internal sealed class TorchZipCheckpoint : IDisposable
{
    private readonly ZipArchive _archive;
    private readonly string _prefix;
    private readonly string _path;

    private TorchZipCheckpoint(ZipArchive archive, string prefix, string path)
    {
        _archive = archive;
        _prefix = prefix;
        _path = path;
    }

    /// <summary>The unpickled top-level object (a dict for checkpoints and state dicts).</summary>
    public object? Root { get; private set; }

    public static TorchZipCheckpoint Open(string path, IEnumerable<string>? additionalInertClasses)
    {
        ZipArchive archive;
        try
        {
            archive = ZipFile.OpenRead(path);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"'{path}' starts like a torch.save zip archive but its directory cannot be read ({e.Message}): the file is truncated or damaged.", e);
        }
        try
        {
            var pickleEntry = archive.Entries.FirstOrDefault(e => e.FullName == "data.pkl" || e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal))
                ?? throw new InvalidDataException($"'{path}' is a zip archive without a data.pkl entry: it is not a torch.save checkpoint.");
            string prefix = pickleEntry.FullName[..^"data.pkl".Length];
            var byteOrder = archive.GetEntry(prefix + "byteorder");
            if (byteOrder is not null)
            {
                using var reader = new StreamReader(byteOrder.Open());
                string order = reader.ReadToEnd().Trim();
                if (order != "little")
                    throw new InvalidDataException($"'{path}' stores tensors in {order}-endian byte order; only little-endian checkpoints are supported.");
            }
            var checkpoint = new TorchZipCheckpoint(archive, prefix, path);
            var allowList = PickleAllowList.ForCheckpoints(additionalInertClasses);
            RegisterTensorRebuilders(allowList);
            var unpickler = new RestrictedUnpickler(allowList, checkpoint.LoadStorage, $"'{path}' ({pickleEntry.FullName})");
            using (var stream = pickleEntry.Open())
                checkpoint.Root = unpickler.Load(stream);
            return checkpoint;
        }
        catch
        {
            archive.Dispose();
            throw;
        }
    }

    public void Dispose() => _archive.Dispose();

    private static void RegisterTensorRebuilders(PickleAllowList allowList)
    {
        foreach (string storage in StorageTypes.Keys)
            allowList.Allow($"torch.{storage}", AllowedGlobalKind.ReferenceOnly);
        allowList.AllowFunction("torch._utils._rebuild_tensor_v2", args => RebuildTensor(args, "_rebuild_tensor_v2"));
        allowList.AllowFunction("torch._utils._rebuild_tensor", args => RebuildTensor(args, "_rebuild_tensor"));
        // A Parameter pickles as its data tensor plus flags; the data is all the importer needs.
        allowList.AllowFunction("torch._utils._rebuild_parameter", args => args.Count > 0 ? args[0] : null);
        allowList.AllowFunction("torch._utils._rebuild_parameter_with_state", args => args.Count > 0 ? args[0] : null);
    }

    /// <summary>torch storage class names and the element type of their data.</summary>
    private static readonly Dictionary<string, ScalarType> StorageTypes = new(StringComparer.Ordinal)
    {
        ["FloatStorage"] = ScalarType.Float32,
        ["HalfStorage"] = ScalarType.Float16,
        ["BFloat16Storage"] = ScalarType.BFloat16,
        ["DoubleStorage"] = ScalarType.Float64,
        ["LongStorage"] = ScalarType.Int64,
        ["IntStorage"] = ScalarType.Int32,
        ["ShortStorage"] = ScalarType.Int16,
        ["CharStorage"] = ScalarType.Int8,
        ["ByteStorage"] = ScalarType.Byte,
        ["BoolStorage"] = ScalarType.Bool,
        ["UntypedStorage"] = ScalarType.Byte,
    };

    private sealed record StorageReference(ScalarType DType, ICheckpointStorage Storage);

    private object? LoadStorage(object? persistentId)
    {
        // torch.save writes ('storage', storage_type, key, location, numel).
        if (persistentId is not object?[] { Length: >= 5 } id || id[0] is not "storage" || id[1] is not PickleGlobal type || id[2] is not string key)
            throw new InvalidDataException($"'{_path}' has a persistent id that is not a torch storage reference.");
        if (type.Module != "torch" || !StorageTypes.TryGetValue(type.Name, out var dtype))
            throw new InvalidDataException($"'{_path}' has a storage of unknown type '{type.FullName}'.");
        string entryName = $"{_prefix}data/{key}";
        var entry = _archive.GetEntry(entryName)
            ?? throw new InvalidDataException($"'{_path}' refers to tensor storage '{entryName}', which the archive does not contain: the file is truncated or damaged.");
        return new StorageReference(dtype, new ZipEntryStorage(entry, $"'{_path}' ({entryName})"));
    }

    private static CheckpointTensor RebuildTensor(IReadOnlyList<object?> args, string function)
    {
        if (args.Count < 4 || args[0] is not StorageReference storage || args[1] is not long offset || args[2] is not object?[] size || args[3] is not object?[] stride)
            throw new InvalidDataException($"A checkpoint calls torch._utils.{function} with arguments that are not (storage, offset, size, stride).");
        return new CheckpointTensor(storage.DType, size.Select(ToLong).ToArray(), stride.Select(ToLong).ToArray(), offset, storage.Storage);
    }

    private static long ToLong(object? value)
        => value is long number ? number : throw new InvalidDataException($"A checkpoint tensor has a dimension that is a {value?.GetType().Name ?? "None"}, not an integer.");

    private sealed class ZipEntryStorage : ICheckpointStorage
    {
        private readonly ZipArchiveEntry _entry;

        public ZipEntryStorage(ZipArchiveEntry entry, string description)
        {
            _entry = entry;
            Description = description;
        }

        public string Description { get; }

        public long ByteLength => _entry.Length;

        public byte[] Read(long offset, int count)
        {
            using var stream = _entry.Open();
            if (stream.CanSeek)
                stream.Seek(offset, SeekOrigin.Begin);
            else
                Skip(stream, offset);
            byte[] buffer = new byte[count];
            try
            {
                stream.ReadExactly(buffer);
            }
            catch (EndOfStreamException)
            {
                throw new InvalidDataException($"{Description} ends before its declared size: the file is truncated or damaged.");
            }
            catch (InvalidDataException e)
            {
                throw new InvalidDataException($"{Description} cannot be read ({e.Message}): the file is truncated or damaged.", e);
            }
            return buffer;
        }

        private void Skip(Stream stream, long count)
        {
            byte[] scratch = new byte[81920];
            while (count > 0)
            {
                int read = stream.Read(scratch, 0, (int)Math.Min(scratch.Length, count));
                if (read == 0)
                    throw new InvalidDataException($"{Description} ends before its declared size: the file is truncated or damaged.");
                count -= read;
            }
        }
    }
}

using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using LSeg.MLNet.IO;

namespace LSeg.Orleans.Jobs;

/// <summary>
/// A job's output folder: <c>batch.json</c> (what the job is: input, labels, model, input size, the model's identity)
/// and <c>index.jsonl</c> (one line per finished image, appended by the job runner alone). The index is the job's
/// memory: a resumed job skips every image it names, after cutting off a last line that a killed run left unfinished.
/// </summary>
internal sealed partial class BatchFolder : IDisposable
{
    /// <summary>The index file's name.</summary>
    public const string IndexFileName = "index.jsonl";

    /// <summary>The job file's name.</summary>
    public const string JobFileName = "batch.json";

    /// <summary>
    /// The lock file's name: held exclusively by the run working on the folder, so that a second run on the same folder
    /// (another terminal, another machine on the shared storage) is refused instead of writing the same images twice.
    /// </summary>
    public const string LockFileName = ".lseg-batch.lock";

    private readonly FileStream _lock;
    private readonly FileStream _index;
    private readonly bool _createdFolder;
    private JobDescription _job;
    private bool _appended;

    private BatchFolder(string directory, JobDescription job, Dictionary<string, bool> finished, FileStream jobLock, FileStream index, bool isNew, bool createdFolder)
    {
        Directory = directory;
        _lock = jobLock;
        _job = job;
        Finished = finished;
        _index = index;
        IsNew = isNew;
        _createdFolder = createdFolder;
    }

    /// <summary>True when this run started the job (no <c>--resume</c> of an earlier one).</summary>
    public bool IsNew { get; }

    /// <summary>What identifies a job, so that a resumed run cannot mix masks of two different jobs.</summary>
    internal sealed record JobDescription(string Input, string[] Labels, string? Model, int? InputSize, string? ModelIdentity, string? MaskRoot = null);

    /// <summary>Full path of the folder.</summary>
    public string Directory { get; }

    /// <summary>Full path of <c>index.jsonl</c>.</summary>
    public string IndexPath => Path.Combine(Directory, IndexFileName);

    /// <summary>The images already in the index (full path → whether it succeeded).</summary>
    public IReadOnlyDictionary<string, bool> Finished { get; }

    /// <summary>The identity of the model the job's masks were made with; null until a silo first reported it.</summary>
    public string? ModelIdentity => _job.ModelIdentity;

    /// <summary>The folder the job's mask paths mirror, as its first run listed it; null for a job written before it was recorded.</summary>
    public string? MaskRoot => _job.MaskRoot;

    /// <summary>
    /// Opens <paramref name="directory"/> for <paramref name="job"/>: creates it and the job file for a new job; with
    /// <paramref name="resume"/>, checks that the folder holds the same job and reads its index.
    /// </summary>
    /// <exception cref="BatchSegmentationException">The folder is a file, holds another job, holds a job and <paramref name="resume"/>
    /// is false, or another run is working on it.</exception>
    public static BatchFolder Open(string directory, JobDescription job, bool resume)
    {
        string full = Path.GetFullPath(directory);
        if (File.Exists(full))
            throw new BatchSegmentationException($"Output folder '{directory}' is a file; give a folder.");
        bool createdFolder = !System.IO.Directory.Exists(full);
        System.IO.Directory.CreateDirectory(full);
        var jobLock = Lock(directory, full);
        try
        {
            return Open(directory, full, job, resume, jobLock, createdFolder);
        }
        catch
        {
            jobLock.Dispose();
            throw;
        }
    }

    private static BatchFolder Open(string directory, string full, JobDescription job, bool resume, FileStream jobLock, bool createdFolder)
    {
        string jobPath = Path.Combine(full, JobFileName);
        string indexPath = Path.Combine(full, IndexFileName);
        bool started = File.Exists(jobPath) || File.Exists(indexPath);
        var finished = new Dictionary<string, bool>(StringComparer.Ordinal);
        if (started && !resume)
            throw new BatchSegmentationException($"Output folder '{directory}' already holds a batch job ({JobFileName}, {IndexFileName}): resume it (BatchSegmentationJob.Resume, lseg batch --resume), or choose another output folder.");
        if (started)
        {
            if (!File.Exists(jobPath))
                throw new BatchSegmentationException($"Output folder '{directory}' has an {IndexFileName} but no {JobFileName}: it was not written by a batch job, so it cannot be resumed.");
            job = RequireSameJob(directory, ReadJob(jobPath), job);
            ReadIndex(indexPath, finished);
            RemoveTemporaryMasks(full);
        }
        else
        {
            WriteJob(jobPath, job);
        }
        var index = new FileStream(indexPath, FileMode.Append, FileAccess.Write, FileShare.Read);
        return new BatchFolder(full, job, finished, jobLock, index, isNew: !started, createdFolder);
    }

    /// <summary>Takes the folder's lock file (an exclusive lock the operating system drops when the process ends, however it ends).</summary>
    private static FileStream Lock(string directory, string full)
    {
        try
        {
            return new FileStream(Path.Combine(full, LockFileName), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException)
        {
            throw new BatchSegmentationException($"Another lseg batch run is working on '{directory}' (it holds {LockFileName}); wait for it to end, or stop it and resume.");
        }
    }

    /// <summary>
    /// Deletes the hidden temporary masks that silos killed while writing left in the folder, at the end of a job (every
    /// image is in the index by then).
    /// </summary>
    public void RemoveTemporaryMasks() => RemoveTemporaryMasks(Directory);

    /// <summary>
    /// Deletes the hidden temporary masks a killed run left (an atomic write's <c>.NAME.mask.png.GUID.tmp</c> before its
    /// rename): with the folder locked, no write is in flight, and the images they belong to are redone. A sub-folder
    /// that holds a job of its own (<c>--out masks/cats</c> beside <c>--out masks</c>) is that job's: its writes may be
    /// in flight under its own lock, so it is left alone.
    /// </summary>
    private static void RemoveTemporaryMasks(string full)
    {
        foreach (string file in System.IO.Directory.EnumerateFiles(full, ".*.mask.png.*.tmp"))
        {
            if (TemporaryMask().IsMatch(Path.GetFileName(file)))
                File.Delete(file);
        }
        foreach (string folder in System.IO.Directory.EnumerateDirectories(full))
        {
            if (new FileInfo(folder).LinkTarget is not null || HoldsJob(folder))
                continue;
            RemoveTemporaryMasks(folder);
        }
    }

    private static bool HoldsJob(string folder) =>
        File.Exists(Path.Combine(folder, JobFileName)) || File.Exists(Path.Combine(folder, IndexFileName)) || File.Exists(Path.Combine(folder, LockFileName));

    [System.Text.RegularExpressions.GeneratedRegex(@"^\..+\.mask\.png\.[0-9a-f]{32}\.tmp$")]
    private static partial System.Text.RegularExpressions.Regex TemporaryMask();

    /// <summary>
    /// Removes a new job that never recorded an image (its job file, its empty index, and the folder when this run
    /// created it), so that the corrected command can start it again without <c>--resume</c>; a job with any image
    /// recorded, or a resumed one, is kept. Closes the index either way.
    /// </summary>
    public void AbandonIfUntouched()
    {
        _index.Dispose();
        if (!IsNew || _appended)
            return;
        File.Delete(Path.Combine(Directory, JobFileName));
        File.Delete(IndexPath);
        _lock.Dispose();
        File.Delete(Path.Combine(Directory, LockFileName));
        if (_createdFolder && !System.IO.Directory.EnumerateFileSystemEntries(Directory).Any())
            System.IO.Directory.Delete(Directory);
    }

    /// <summary>Records the identity of the model the first ready silo loaded.</summary>
    public void RecordModelIdentity(string identity)
    {
        _job = _job with { ModelIdentity = identity };
        WriteJob(Path.Combine(Directory, JobFileName), _job);
    }

    /// <summary>Appends complete lines to the index in one write and hands them to the operating system.</summary>
    public void Append(IReadOnlyList<string> lines)
    {
        if (lines.Count == 0)
            return;
        var text = new StringBuilder();
        foreach (string line in lines)
            text.Append(line).Append('\n');
        _index.Write(Encoding.UTF8.GetBytes(text.ToString()));
        _index.Flush();
        _appended = true;
    }

    public void Dispose()
    {
        _index.Dispose();
        _lock.Dispose();
    }

    private static JobDescription RequireSameJob(string directory, JobDescription stored, JobDescription asked)
    {
        string? problem =
            !stored.Labels.SequenceEqual(asked.Labels, StringComparer.Ordinal) ? $"labels \"{string.Join(", ", stored.Labels)}\", not \"{string.Join(", ", asked.Labels)}\""
            : !SamePath(stored.Input, asked.Input) ? $"input '{stored.Input}', not '{asked.Input}'"
            : !(stored.Model is null ? asked.Model is null : asked.Model is not null && SamePath(stored.Model, asked.Model)) ? $"model {stored.Model ?? "(default)"}, not {asked.Model ?? "(default)"}"
            : stored.InputSize != asked.InputSize ? $"input size {stored.InputSize?.ToString() ?? "(model default)"}, not {asked.InputSize?.ToString() ?? "(model default)"}"
            : null;
        if (problem is not null)
            throw new BatchSegmentationException($"Cannot resume the job in '{directory}': it was started with {problem}. Resume it with the same settings, or choose another output folder.");
        return stored;
    }

    /// <summary>One folder however it was typed: <c>photos/</c> and <c>photos</c> are the same input.</summary>
    internal static bool SamePath(string a, string b) =>
        string.Equals(Path.TrimEndingDirectorySeparator(a), Path.TrimEndingDirectorySeparator(b), StringComparison.Ordinal);

    private static void ReadIndex(string indexPath, Dictionary<string, bool> finished)
    {
        if (!File.Exists(indexPath))
            return;
        CutUnfinishedLine(indexPath);
        int number = 0;
        foreach (string line in File.ReadLines(indexPath))
        {
            number++;
            if (line.Length == 0)
                continue;
            try
            {
                var node = JsonNode.Parse(line)!;
                string image = node["image"]!.GetValue<string>();
                finished[image] = node["status"]!.GetValue<string>() == IndexLines.Succeeded;
            }
            catch (Exception e) when (e is JsonException or NullReferenceException or InvalidOperationException)
            {
                throw new BatchSegmentationException($"'{indexPath}' line {number} is not an index line ({e.Message}); fix or remove it, then resume.");
            }
        }
    }

    /// <summary>A run killed while appending can leave a last line without its newline: it is cut off (its image is redone).</summary>
    private static void CutUnfinishedLine(string indexPath)
    {
        using var file = new FileStream(indexPath, FileMode.Open, FileAccess.ReadWrite);
        long end = file.Length;
        if (end == 0)
            return;
        var buffer = new byte[1];
        long keep = end;
        while (keep > 0)
        {
            file.Position = keep - 1;
            file.ReadExactly(buffer);
            if (buffer[0] == (byte)'\n')
                break;
            keep--;
        }
        if (keep < end)
            file.SetLength(keep);
    }

    private static readonly JsonSerializerOptions JobJson = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    private static JobDescription ReadJob(string path)
    {
        try
        {
            return JsonSerializer.Deserialize<JobDescription>(File.ReadAllText(path), JobJson)
                ?? throw new JsonException("empty document");
        }
        catch (JsonException e)
        {
            throw new BatchSegmentationException($"'{path}' is not a batch job file ({e.Message}).");
        }
    }

    private static void WriteJob(string path, JobDescription job) =>
        AtomicFile.WriteAllBytes(path, JsonSerializer.SerializeToUtf8Bytes(job, JobJson));
}

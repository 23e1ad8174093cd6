namespace LSeg.Training.Bridge.Training;

/// <summary>
/// Named checkpoint folders (<c>last</c>, <c>best</c>) under a run's <c>checkpoints/</c> folder, written atomically: the
/// files go into a temporary sibling folder, which then replaces the old one by renames. A kill at any moment leaves
/// either the old or the new checkpoint complete (the old one under <c>NAME.old</c> for an instant, which
/// <see cref="Find"/> also accepts).
/// </summary>
public sealed class CheckpointStore
{
    /// <summary>The file whose presence marks a complete checkpoint; written last.</summary>
    public const string StateFileName = "state.json";

    /// <summary>Creates a store in <paramref name="directory"/>.</summary>
    public CheckpointStore(string directory)
    {
        Directory = directory;
    }

    /// <summary>The <c>checkpoints/</c> folder.</summary>
    public string Directory { get; }

    /// <summary>Writes checkpoint <paramref name="name"/>: <paramref name="writeFiles"/> fills a folder, then the state is written and the folder swapped in.</summary>
    public string Save(string name, Action<string> writeFiles, TrainingState state)
    {
        ArgumentNullException.ThrowIfNull(writeFiles);
        ArgumentNullException.ThrowIfNull(state);
        System.IO.Directory.CreateDirectory(Directory);
        string target = Path.Combine(Directory, name);
        string temporary = Path.Combine(Directory, $"{name}.tmp-{Environment.ProcessId}");
        string old = Path.Combine(Directory, $"{name}.old");
        if (System.IO.Directory.Exists(temporary))
            System.IO.Directory.Delete(temporary, recursive: true);
        System.IO.Directory.CreateDirectory(temporary);
        writeFiles(temporary);
        File.WriteAllText(Path.Combine(temporary, StateFileName), state.ToJson());
        if (System.IO.Directory.Exists(old))
            System.IO.Directory.Delete(old, recursive: true);
        if (System.IO.Directory.Exists(target))
            System.IO.Directory.Move(target, old);
        System.IO.Directory.Move(temporary, target);
        if (System.IO.Directory.Exists(old))
            System.IO.Directory.Delete(old, recursive: true);
        return target;
    }

    /// <summary>The folder of complete checkpoint <paramref name="name"/>, or null when there is none.</summary>
    public string? Find(string name)
    {
        foreach (string candidate in new[] { name, $"{name}.old" })
        {
            string path = Path.Combine(Directory, candidate);
            if (File.Exists(Path.Combine(path, StateFileName)))
                return path;
        }
        return null;
    }

    /// <summary>Reads the state of a checkpoint folder.</summary>
    public static TrainingState ReadState(string checkpointDirectory) =>
        TrainingState.FromJson(File.ReadAllText(Path.Combine(checkpointDirectory, StateFileName)));
}

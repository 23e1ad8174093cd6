using LSeg.MLNet.IO;

namespace LSeg.Training.Bridge.Training;

/// <summary>
/// Named checkpoint folders (<c>last</c>, <c>best</c>) under a run's <c>checkpoints/</c> folder, written atomically
/// (<see cref="AtomicDirectory"/>): the files go into a temporary sibling folder, which then replaces the old one by
/// renames. A kill at any moment leaves either the old or the new checkpoint complete (the old one under
/// <c>NAME.old</c> for an instant, which <see cref="Find"/> also accepts).
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
        string target = Path.Combine(Directory, name);
        // A kill between the two renames leaves the old checkpoint under NAME.old, where Find looks too.
        AtomicDirectory.Write(target, temporary =>
        {
            writeFiles(temporary);
            File.WriteAllText(Path.Combine(temporary, StateFileName), state.ToJson());
            return temporary;
        }, overwrite: true, aside: Path.Combine(Directory, $"{name}.old"));
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

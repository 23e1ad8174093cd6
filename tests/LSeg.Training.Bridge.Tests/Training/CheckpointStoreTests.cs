using LSeg.Training.Bridge.Training;

namespace LSeg.Training.Bridge.Tests.Training;

public sealed class CheckpointStoreTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "lseg-ckpt-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root))
            Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public void ASavedCheckpointReplacesThePreviousOneAndKeepsItsState()
    {
        var store = new CheckpointStore(_root);
        store.Save("last", dir => File.WriteAllText(Path.Combine(dir, "weights"), "one"), new TrainingState { EpochsCompleted = 1 });
        store.Save("last", dir => File.WriteAllText(Path.Combine(dir, "weights"), "two"), new TrainingState { EpochsCompleted = 2 });

        string found = store.Find("last")!;

        Assert.Equal("two", File.ReadAllText(Path.Combine(found, "weights")));
        Assert.Equal(2, CheckpointStore.ReadState(found).EpochsCompleted);
        Assert.Equal(new[] { "last" }, Directory.GetDirectories(_root).Select(Path.GetFileName));
    }

    [Fact]
    public void AWriteInterruptedBeforeTheSwapLeavesThePreviousCheckpoint()
    {
        var store = new CheckpointStore(_root);
        store.Save("last", dir => File.WriteAllText(Path.Combine(dir, "weights"), "one"), new TrainingState { EpochsCompleted = 1 });

        Assert.Throws<IOException>(() => store.Save("last", _ => throw new IOException("disk full"), new TrainingState { EpochsCompleted = 2 }));

        Assert.Equal(1, CheckpointStore.ReadState(store.Find("last")!).EpochsCompleted);
    }

    [Fact]
    public void AKillBetweenTheTwoRenamesIsRecoveredFromTheOldFolder()
    {
        var store = new CheckpointStore(_root);
        store.Save("last", dir => File.WriteAllText(Path.Combine(dir, "weights"), "one"), new TrainingState { EpochsCompleted = 1 });
        // The state after "last → last.old" and before "tmp → last".
        Directory.Move(Path.Combine(_root, "last"), Path.Combine(_root, "last.old"));

        string? found = store.Find("last");

        Assert.NotNull(found);
        Assert.Equal(1, CheckpointStore.ReadState(found!).EpochsCompleted);
    }

    [Fact]
    public void AFolderWithoutStateIsNotACheckpoint()
    {
        Directory.CreateDirectory(Path.Combine(_root, "last"));

        Assert.Null(new CheckpointStore(_root).Find("last"));
    }
}

using LSeg.Training.Bridge.Evaluation;
using LSeg.Training.Bridge.Network;

namespace LSeg.Training.Bridge.Training;

/// <summary>What a finished training run produced.</summary>
public sealed class TrainingResult
{
    /// <summary>The run's folder.</summary>
    public string OutputDirectory { get; init; } = "";

    /// <summary>Folder of the best checkpoint (highest validation mIoU; the last one without validation).</summary>
    public string BestCheckpoint { get; init; } = "";

    /// <summary>Final state: epochs, steps, best score, history, wall time.</summary>
    public TrainingState State { get; init; } = new();

    /// <summary>Fixed-label test metrics of the best checkpoint, one per test dataset.</summary>
    public IReadOnlyList<SegmentationMetrics> Test { get; init; } = [];

    /// <summary>The network the run trained (what its checkpoints hold).</summary>
    public LSegNetConfig NetworkConfig => Network.Config;

    /// <summary>The network and text encoder of the run: what its package is exported with.</summary>
    internal TrainingNetwork Network { get; init; } = null!;

    /// <summary>Zero-shot test result of the best checkpoint, when the run trained a zero-shot fold.</summary>
    public ZeroShotFoldResult? ZeroShot { get; init; }
}

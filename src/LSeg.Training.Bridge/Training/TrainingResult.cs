using LSeg.Training.Bridge.Evaluation;

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

    /// <summary>Zero-shot test result of the best checkpoint, when the run trained a zero-shot fold.</summary>
    public ZeroShotFoldResult? ZeroShot { get; init; }
}

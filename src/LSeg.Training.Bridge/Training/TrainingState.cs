using System.Text.Json;

namespace LSeg.Training.Bridge.Training;

/// <summary>One finished epoch: mean training loss, the learning rate at its end, and validation mIoU (if any).</summary>
public sealed class EpochRecord
{
    /// <summary>0-based epoch.</summary>
    public int Epoch { get; set; }

    /// <summary>Mean training loss over the epoch's batches.</summary>
    public double TrainLoss { get; set; }

    /// <summary>Backbone learning rate of the epoch's last optimizer step.</summary>
    public double LearningRate { get; set; }

    /// <summary>Mean validation mIoU over the validation datasets (NaN without validation).</summary>
    public double ValidationMeanIoU { get; set; } = double.NaN;

    /// <summary>Validation mIoU per validation dataset name.</summary>
    public Dictionary<string, double> Validation { get; set; } = [];

    /// <summary>Seconds spent on the epoch (training and validation).</summary>
    public double Seconds { get; set; }
}

/// <summary>Where a run stands; saved with each checkpoint so <c>resume</c> continues from the next epoch.</summary>
public sealed class TrainingState
{
    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>Epochs completed (the next epoch to run).</summary>
    public int EpochsCompleted { get; set; }

    /// <summary>Optimizer steps taken.</summary>
    public int Steps { get; set; }

    /// <summary>Best validation score so far (mean mIoU), or NaN.</summary>
    public double BestScore { get; set; } = double.NaN;

    /// <summary>Epoch of the best checkpoint, or −1.</summary>
    public int BestEpoch { get; set; } = -1;

    /// <summary>Wall-clock seconds of training so far, over every session of the run.</summary>
    public double Seconds { get; set; }

    /// <summary>Every finished epoch.</summary>
    public List<EpochRecord> History { get; set; } = [];

    /// <summary>Serialises the state.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    /// <summary>Parses a saved state.</summary>
    public static TrainingState FromJson(string json) =>
        JsonSerializer.Deserialize<TrainingState>(json, JsonOptions) ?? throw new InvalidDataException("Training state is empty.");
}

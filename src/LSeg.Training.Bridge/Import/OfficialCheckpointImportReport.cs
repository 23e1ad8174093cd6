using LSeg.MLNet.Package;
using LSeg.Training.Bridge.Network;
using LSeg.Training.Bridge.Network.TextEncoders;

namespace LSeg.Training.Bridge.Import;

/// <summary>What <see cref="OfficialCheckpointImporter.Import"/> read, kept, dropped and wrote.</summary>
public sealed class OfficialCheckpointImportReport
{
    /// <summary><c>lightning-checkpoint</c>, <c>torch-state-dict</c> or <c>safetensors</c>.</summary>
    public required string CheckpointKind { get; init; }

    /// <summary>The image network detected (backbone, embedding size, spatial block).</summary>
    public required LSegNetConfig Network { get; init; }

    /// <summary>The CLIP text tower detected.</summary>
    public required ClipTextConfig Text { get; init; }

    /// <summary>Tensors loaded into the image network.</summary>
    public int ImageTensorCount { get; init; }

    /// <summary>Tensors loaded into the CLIP text transformer.</summary>
    public int TextTensorCount { get; init; }

    /// <summary>Bytes of the kept weights once cast to float32 (what the package's graphs carry).</summary>
    public long KeptBytes { get; init; }

    /// <summary>Dropped groups of tensors (CLIP's image tower, unused ViT norm and classifier) and their tensor counts.</summary>
    public required IReadOnlyDictionary<string, int> Dropped { get; init; }

    /// <summary>Warnings: keys that were ignored because the network does not use them.</summary>
    public required IReadOnlyList<string> Warnings { get; init; }

    /// <summary>Scalars the checkpoint records (epoch, global_step, Lightning version).</summary>
    public required IReadOnlyDictionary<string, string> CheckpointMetadata { get; init; }

    /// <summary>The manifest of the package written.</summary>
    public required ModelManifest Manifest { get; init; }

    /// <summary>Wall-clock time of the import, reading to the finished package.</summary>
    public TimeSpan Elapsed { get; init; }

    /// <summary>The process's peak working set at the end of the import (bytes), as the OS reports it.</summary>
    public long PeakWorkingSetBytes { get; init; }
}

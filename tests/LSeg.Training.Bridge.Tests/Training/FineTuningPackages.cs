using System.Text.Json;
using LSeg.MLNet.Package;
using LSeg.Tests.Shared;
using LSeg.Training.Bridge.Export;
using LSeg.Training.Bridge.Import;
using LSeg.Training.Bridge.Network;
using LSeg.Training.Bridge.Tests.Export;
using LSeg.Training.Bridge.Tests.Import;

namespace LSeg.Training.Bridge.Tests.Training;

/// <summary>
/// Small model packages of every backbone, as the two writers make them: the exporter (from a random network, with a
/// MiniLM or label-table text encoder) and the importer (from an official-format checkpoint, with the CLIP text tower).
/// Each kind names its backbone's last block, so that tests know, without asking the code under test, which weights
/// "train the last block" may change.
/// </summary>
public static class FineTuningPackages
{
    /// <summary>How a test package is made.</summary>
    /// <param name="Name">The theory's case name.</param>
    /// <param name="Network">The network written.</param>
    /// <param name="Writer"><c>exporter</c> or <c>importer</c>.</param>
    /// <param name="TextEncoder"><c>minilm</c> or <c>table</c> (exporter), <c>clip</c> (importer).</param>
    /// <param name="LastBlock">State-dict prefix of the backbone's last block.</param>
    /// <param name="Float16">Weights stored as float16 (exporter).</param>
    /// <param name="ExternalData">Graphs written with ONNX external data (importer).</param>
    public sealed record Kind(string Name, LSegNetConfig Network, string Writer, string TextEncoder, string LastBlock, bool Float16 = false, bool ExternalData = false)
    {
        public override string ToString() => Name;
    }

    private static readonly BackboneSizeOverride SmallVit = new() { Width = 64, Layers = 4, Heads = 1, MlpWidth = 128, Hooks = [0, 1, 2, 3], FeatureChannels = [8, 16, 32, 32] };

    private static readonly BackboneSizeOverride SmallResNet101 = new() { Width = 8, Layers = 1 };

    /// <summary>Every kind the tests fine-tune: four backbones from the exporter, three from the importer.</summary>
    public static readonly Kind[] All =
    [
        new("exporter resnet18 minilm float16", new() { Backbone = "resnet18", EmbeddingSize = 384, DecoderFeatures = 16 }, "exporter", "minilm", "pretrained.layer4.2", Float16: true),
        new("exporter vit-b32-384 table depthwise", new() { Backbone = "vit-b32-384", EmbeddingSize = 32, DecoderFeatures = 16, SpatialBlock = SpatialBlock.Depthwise, SpatialDepth = 1, ReducedBackbone = SmallVit },
            "exporter", "table", "pretrained.model.blocks.3"),
        new("exporter vit-l16-384 table bottleneck tanh", new()
            {
                Backbone = "vit-l16-384", EmbeddingSize = 32, DecoderFeatures = 16, SpatialBlock = SpatialBlock.Bottleneck, SpatialDepth = 2, Activation = SpatialActivation.Tanh,
                Temperature = 0.1, ReducedBackbone = SmallVit,
            }, "exporter", "table", "pretrained.model.blocks.3"),
        new("exporter resnet101 table", new() { Backbone = "resnet101", EmbeddingSize = 32, DecoderFeatures = 16, ReducedBackbone = SmallResNet101 }, "exporter", "table", "pretrained.layer4.0"),
        new("importer vit-l16-384 clip external data", OfficialCheckpointImporterTests.SmallVitL16, "importer", "clip", "pretrained.model.blocks.3", ExternalData: true),
        new("importer vit-b32-384 clip bottleneck", OfficialFormatCheckpoint.SmallVitB32WithBottleneck, "importer", "clip", "pretrained.model.blocks.3"),
        new("importer resnet101 clip", new() { Backbone = "resnet101", EmbeddingSize = 32, DecoderFeatures = 16, ReducedBackbone = SmallResNet101 }, "importer", "clip", "pretrained.layer4.0"),
    ];

    /// <summary>The kinds by name (for theories).</summary>
    public static Kind Named(string name) => All.Single(k => k.Name == name);

    /// <summary>The MSRC-v2 class names (void excluded) and "other": the labels a run on MSRC-v2 encodes.</summary>
    public static string[] MsrcLabels(string msrc) =>
        [.. File.ReadLines(Path.Combine(msrc, "classes.txt")).Select(l => l.Split('\t')[1].Trim()).Where(n => n != "void"), "other"];

    /// <summary>
    /// The packages of every kind, written once per test class on first use (seeded, so every test sees the same
    /// weights) into a temporary folder deleted with the fixture.
    /// </summary>
    public sealed class Fixture : IDisposable
    {
        private readonly string _root = Directory.CreateTempSubdirectory("lseg-finetune-packages-").FullName;
        private readonly Dictionary<string, string> _written = [];

        /// <summary>The package of the kind named <paramref name="name"/> for MSRC-v2's labels (skips without MSRC-v2).</summary>
        public (Kind Kind, string Package, string Msrc, string[] Labels) Get(string name)
        {
            var kind = Named(name);
            string msrc = SharedData.RequireDirectory("msrc-v2");
            var labels = MsrcLabels(msrc);
            lock (_written)
            {
                if (!_written.TryGetValue(name, out var package))
                {
                    string folder = Path.Combine(_root, $"kind{Array.IndexOf(All, kind)}");
                    package = Write(kind, Path.Combine(folder, "package"), Path.Combine(folder, "scratch"), labels, seed: 7 + Array.IndexOf(All, kind));
                    _written[name] = package;
                }
                return (kind, package, msrc, labels);
            }
        }

        public void Dispose() => Directory.Delete(_root, recursive: true);
    }

    /// <summary>Writes the package of <paramref name="kind"/> into <paramref name="directory"/> (its sibling files go to <paramref name="scratch"/>).</summary>
    public static string Write(Kind kind, string directory, string scratch, IReadOnlyList<string> labels, int seed)
    {
        Directory.CreateDirectory(scratch);
        if (kind.Writer == "importer")
        {
            using var source = new OfficialFormatCheckpoint(kind.Network, OfficialFormatCheckpoint.SmallClip, seed);
            string checkpoint = Path.Combine(scratch, "official.ckpt");
            TorchCheckpointWriter.Save(source.LightningCheckpoint(), checkpoint);
            string bpe = Path.Combine(SharedData.RequireDirectory("clip"), OfficialCheckpointImporter.ClipBpeFileName);
            OfficialCheckpointImporter.Import(checkpoint, bpe, directory, new OfficialCheckpointImportOptions
            {
                SpatialBlock = kind.Network.SpatialBlock == SpatialBlock.None ? null : kind.Network.SpatialBlock,
                SpatialDepth = kind.Network.SpatialDepth,
                SpatialActivation = kind.Network.Activation,
                ExternalDataThresholdBytes = kind.ExternalData ? 1 : ModelPackageExportOptions.Defaults.ExternalDataThresholdBytes,
                DefaultInputSize = 96,
            });
            return directory;
        }

        using var net = ExportTestNets.Random(kind.Network, seed);
        var options = new ModelPackageExportOptions { Name = kind.Name, DefaultInputSize = 96, StoreWeightsAsFloat16 = kind.Float16 };
        if (kind.TextEncoder == "table")
        {
            string table = Path.Combine(scratch, "labels.json");
            var random = new Random(seed);
            File.WriteAllText(table, JsonSerializer.Serialize(labels.ToDictionary(l => l, _ => Enumerable.Range(0, kind.Network.EmbeddingSize).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray())));
            options.TextEncoder = new TextEncoderInfo { Kind = "table", Table = "labels.json" };
            options.AdditionalFiles["labels.json"] = table;
        }
        ModelPackageExporter.Export(net, directory, options);
        return directory;
    }
}

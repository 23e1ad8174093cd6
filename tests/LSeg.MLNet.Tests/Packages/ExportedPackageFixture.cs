using System.Text.Json;
using LSeg.MLNet.Package;
using LSeg.Training.Bridge.Export;
using LSeg.Training.Bridge.Network;
using static TorchSharp.torch;

namespace LSeg.MLNet.Tests.Packages;

/// <summary>
/// A small random-weight LSeg network (ResNet18 layout, bottleneck spatial regularisation) exported by the
/// training side's <see cref="ModelPackageExporter"/> with a fixed label table; the TorchSharp network stays
/// available as the independent truth for what the package must compute.
/// </summary>
public sealed class ExportedPackageFixture : IDisposable
{
    public static readonly string[] Labels = ["sky", "grass", "road", "car", "person", "tree"];

    private readonly TemporaryDirectory _temp = new();

    public ExportedPackageFixture()
    {
        random.manual_seed(7);
        Net = LSegNet.Create(new LSegNetConfig
        {
            EmbeddingSize = 16, DecoderFeatures = 16, SpatialBlock = SpatialBlock.Bottleneck, SpatialDepth = 1,
        }, pretrainedBackbone: false);
        Net.eval();
        var generator = new Random(3);
        LabelEmbeddings = Labels.ToDictionary(l => l, _ => Enumerable.Range(0, 16).Select(_ => (float)(generator.NextDouble() * 2 - 1)).ToArray());
        string table = Path.Combine(_temp.Path, "labels.json");
        File.WriteAllText(table, JsonSerializer.Serialize(LabelEmbeddings));
        PackagePath = Path.Combine(_temp.Path, "package");
        ModelPackageExporter.Export(Net, PackagePath, new ModelPackageExportOptions
        {
            Name = "random-resnet18-table",
            DefaultInputSize = 96,
            TextEncoder = new TextEncoderInfo { Kind = "table", Table = "labels.json" },
            AdditionalFiles = { ["labels.json"] = table },
        });
        Model = LanguageSegmentationModel.Load(PackagePath);
    }

    public LSegNet Net { get; }

    public Dictionary<string, float[]> LabelEmbeddings { get; }

    public string PackagePath { get; }

    public LanguageSegmentationModel Model { get; }

    public string TempPath => _temp.Path;

    /// <summary>argmax over labels of the TorchSharp forward of planar RGB pixels [3, H, W]: the label map [H·W].</summary>
    public long[] TorchLabelMap(float[] planarPixels, int width, int height, string[] labels)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var pixels = tensor(planarPixels, [1, 3, height, width]);
        var embeddings = tensor(labels.SelectMany(l => LabelEmbeddings[l]).ToArray(), [labels.Length, 16]);
        var logits = Net.forward(pixels, embeddings);
        return logits.argmax(1).flatten().data<long>().ToArray();
    }

    public void Dispose()
    {
        Model.Dispose();
        Net.Dispose();
        _temp.Dispose();
    }
}

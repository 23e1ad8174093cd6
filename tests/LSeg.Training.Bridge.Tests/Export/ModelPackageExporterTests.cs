using System.Security.Cryptography;
using LSeg.MLNet.Package;
using LSeg.Training.Bridge.Export;
using LSeg.Training.Bridge.Network;

namespace LSeg.Training.Bridge.Tests.Export;

public class ModelPackageExporterTests
{
    private static readonly LSegNetConfig SmallConfig = new() { EmbeddingSize = 16, DecoderFeatures = 8, SpatialBlock = SpatialBlock.Bottleneck, SpatialDepth = 2, Activation = SpatialActivation.Tanh };

    [Fact]
    public void ManifestDescribesTheNetworkAndHashesEveryFile()
    {
        using var net = ExportTestNets.Random(SmallConfig);
        using var directory = new ExportTestNets.TempDirectory();
        string tokenizer = directory.PathOf("vocab.txt");
        File.WriteAllText(tokenizer, "hello\nworld\n");
        string package = directory.PathOf("package");
        ModelPackageExporter.Export(net, package, new ModelPackageExportOptions
        {
            Name = "lseg-test",
            TextEncoder = new TextEncoderInfo { Kind = "clip", Graph = "text/text_encoder.onnx", Tokenizer = "vocab.txt", ContextLength = 77 },
            AdditionalFiles = { ["vocab.txt"] = tokenizer },
            AdditionalWriters = { dir => { Directory.CreateDirectory(Path.Combine(dir, "text")); File.WriteAllBytes(Path.Combine(dir, "text", "text_encoder.onnx"), [1, 2, 3]); } },
            Provenance = { ["trainedOn"] = "nothing (random weights)" },
        });

        var manifest = ModelManifest.FromJson(File.ReadAllText(Path.Combine(package, ModelManifest.FileName)));
        Assert.Equal("lseg-test", manifest.Name);
        Assert.Equal("resnet18", manifest.Backbone);
        Assert.Equal(16, manifest.EmbeddingSize);
        Assert.Equal(0.07, manifest.Temperature);
        Assert.Equal(32, manifest.InputSizeMultiple);
        Assert.Equal(2, manifest.EmbeddingStride);
        Assert.Equal("BGR", manifest.Pixels.BackboneChannelOrder);
        Assert.Equal(new[] { 103.06f, 115.90f, 123.15f }, manifest.Pixels.Mean);
        Assert.Equal("bottleneck", manifest.SpatialRegularization.Block);
        Assert.Equal(2, manifest.SpatialRegularization.Depth);
        Assert.Equal("tanh", manifest.SpatialRegularization.Activation);
        Assert.Equal("clip", manifest.TextEncoder.Kind);
        Assert.Equal("nothing (random weights)", manifest.Provenance["trainedOn"]);
        // The lowest version that holds it: a pixel projection (2), no label logit offsets (3).
        Assert.Equal(2, manifest.FormatVersion);
        Assert.Equal("pixel_projection.onnx", manifest.Graphs.PixelProjection);
        Assert.Equal(["head.onnx", "image_encoder.onnx", "pixel_projection.onnx", "text/text_encoder.onnx", "vocab.txt"], manifest.Files.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, file) in manifest.Files)
        {
            byte[] bytes = File.ReadAllBytes(Path.Combine(package, name));
            Assert.Equal(bytes.Length, file.Bytes);
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes)), file.Sha256);
        }
        manifest.VerifyFiles(package);
        Assert.Empty(SiblingLeftovers(directory.Root));
    }

    [Fact]
    public void FailureWhileWritingLeavesNothingAtTheTarget()
    {
        using var net = ExportTestNets.Random(SmallConfig);
        using var directory = new ExportTestNets.TempDirectory();
        string package = directory.PathOf("package");
        var options = new ModelPackageExportOptions
        {
            // Fails after both graphs are written, as a full disk or a killed text-encoder export would.
            AdditionalWriters = { _ => throw new IOException("No space left on device") },
        };

        var error = Assert.Throws<IOException>(() => ModelPackageExporter.Export(net, package, options));
        Assert.Equal("No space left on device", error.Message);
        Assert.False(Directory.Exists(package));
        Assert.Empty(SiblingLeftovers(directory.Root));
    }

    [Fact]
    public void FailureWhileReplacingKeepsTheOldPackage()
    {
        using var net = ExportTestNets.Random(SmallConfig);
        using var directory = new ExportTestNets.TempDirectory();
        string package = directory.PathOf("package");
        var first = ModelPackageExporter.Export(net, package);
        var options = new ModelPackageExportOptions { Overwrite = true, AdditionalWriters = { _ => throw new IOException("interrupted") } };

        Assert.Throws<IOException>(() => ModelPackageExporter.Export(net, package, options));
        ModelManifest.FromJson(File.ReadAllText(Path.Combine(package, ModelManifest.FileName))).VerifyFiles(package);
        Assert.Equal(first.Files.Keys.Order(), Directory.GetFiles(package).Select(Path.GetFileName).Where(n => n != ModelManifest.FileName).Order()!);
        Assert.Empty(SiblingLeftovers(directory.Root));
    }

    [Fact]
    public void ExistingTargetIsKeptUnlessOverwriteIsSetAndOverwriteReplacesOnlyAPackage()
    {
        using var net = ExportTestNets.Random(SmallConfig);
        using var directory = new ExportTestNets.TempDirectory();
        string package = directory.PathOf("package");
        Directory.CreateDirectory(package);
        File.WriteAllText(Path.Combine(package, "keep.txt"), "mine");

        var error = Assert.Throws<IOException>(() => ModelPackageExporter.Export(net, package));
        Assert.Contains("already exists", error.Message);
        // A folder that is not a package (a run folder, say) is not deleted even with Overwrite.
        var notAPackage = Assert.Throws<IOException>(() => ModelPackageExporter.Export(net, package, new ModelPackageExportOptions { Overwrite = true }));
        Assert.Contains("is not a model package", notAPackage.Message);
        Assert.Equal("mine", File.ReadAllText(Path.Combine(package, "keep.txt")));

        File.Delete(Path.Combine(package, "keep.txt"));
        ModelPackageExporter.Export(net, package, new ModelPackageExportOptions { Overwrite = true }); // an empty folder
        ModelPackageExporter.Export(net, package, new ModelPackageExportOptions { Overwrite = true }); // a package
        ModelManifest.FromJson(File.ReadAllText(Path.Combine(package, ModelManifest.FileName))).VerifyFiles(package);
        Assert.Empty(SiblingLeftovers(directory.Root));
    }

    [Fact]
    public void TextEncoderFileMissingFromThePackageIsAnError()
    {
        using var net = ExportTestNets.Random(SmallConfig);
        using var directory = new ExportTestNets.TempDirectory();
        string package = directory.PathOf("package");
        var options = new ModelPackageExportOptions { TextEncoder = new TextEncoderInfo { Kind = "clip", Graph = "text_encoder.onnx", ContextLength = 77 } };

        var error = Assert.Throws<InvalidOperationException>(() => ModelPackageExporter.Export(net, package, options));
        Assert.Contains("text_encoder.onnx", error.Message);
        Assert.False(Directory.Exists(package));
    }

    [Theory]
    [InlineData(2560)]
    [InlineData(16)]
    [InlineData(100)]
    public void ADefaultInputSizeThePackageReaderRefusesIsRefusedBeforeAnythingIsWritten(int size)
    {
        using var net = ExportTestNets.Random(SmallConfig);
        using var directory = new ExportTestNets.TempDirectory();
        string package = directory.PathOf("package");

        var error = Assert.Throws<ArgumentException>(() => ModelPackageExporter.Export(net, package, new ModelPackageExportOptions { DefaultInputSize = size }));

        Assert.Contains($"a multiple of 32 from 32 to 2048; got {size}", error.Message);
        Assert.False(Directory.Exists(package));
    }

    [Fact]
    public void MissingAdditionalSourceIsReportedBeforeAnythingIsWritten()
    {
        using var net = ExportTestNets.Random(SmallConfig);
        using var directory = new ExportTestNets.TempDirectory();
        string package = directory.PathOf("package");
        var options = new ModelPackageExportOptions { AdditionalFiles = { ["labels.json"] = directory.PathOf("absent.txt") } };

        var error = Assert.Throws<FileNotFoundException>(() => ModelPackageExporter.Export(net, package, options));
        Assert.Contains("absent.txt", error.Message);
        Assert.Empty(Directory.GetFileSystemEntries(directory.Root));
    }

    [Fact]
    public void ExportRestoresTrainingMode()
    {
        using var net = ExportTestNets.Random(SmallConfig);
        net.train();
        using var directory = new ExportTestNets.TempDirectory();
        ModelPackageExporter.Export(net, directory.PathOf("package"));
        Assert.True(net.training);
    }

    private static string[] SiblingLeftovers(string root)
        => Directory.GetFileSystemEntries(root).Select(Path.GetFileName).Where(n => n!.StartsWith('.')).ToArray()!;
}

using System.Security.Cryptography;
using System.Text.Json.Nodes;
using LSeg.MLNet.Imaging;
using LSeg.MLNet.Package;
using LSeg.MLNet.Tests.Packages;
using Microsoft.ML.OnnxRuntime;

namespace LSeg.MLNet.Tests;

/// <summary>
/// Options at their edges and packages damaged in ways their checksums cannot see: each is refused naming what is wrong
/// (or, for a valid option, works), never with another component's error.
/// </summary>
public sealed class PackageAndOptionRefusalTests : IDisposable
{
    private readonly TemporaryDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    /// <summary>Replaces <paramref name="file"/> of the package with <paramref name="bytes"/> and makes its manifest agree (size, sha256).</summary>
    private static void ReplaceListedFile(string package, string file, byte[] bytes)
    {
        File.WriteAllBytes(Path.Combine(package, file), bytes);
        string manifestPath = Path.Combine(package, ModelManifest.FileName);
        var manifest = JsonNode.Parse(File.ReadAllText(manifestPath))!.AsObject();
        manifest["files"]![file] = new JsonObject { ["bytes"] = bytes.Length, ["sha256"] = Convert.ToHexStringLower(SHA256.HashData(bytes)) };
        File.WriteAllText(manifestPath, manifest.ToJsonString());
    }

    [SkippableFact]
    public void A_model_loaded_without_graph_optimisation_segments_as_with_the_default_level()
    {
        Skip.IfNot(LanguageSegmentationModel.HasDefaultModel, "this build embeds no default model (models/default/ was absent)");
        using var photo = TestImages.ColourBlocks(96, 64, seed: 3);
        string[] labels = ["grass", "sky", "other"];
        using var optimised = LanguageSegmentationModel.LoadDefault();
        // ONNX Runtime infers no output shapes at this level: the text encoder's width read as -1 and the load failed.
        using var plain = LanguageSegmentationModel.LoadDefault(new LanguageSegmentationModelOptions { GraphOptimization = GraphOptimizationLevel.ORT_DISABLE_ALL });

        var expected = optimised.Segment(photo, labels);
        var actual = plain.Segment(photo, labels);

        int differing = expected.Mask.Where((label, i) => actual.Mask[i] != label).Count();
        Assert.True(differing <= expected.Mask.Length / 1000, $"{differing} of {expected.Mask.Length} pixels differ");
    }

    [Fact]
    public void IntraOpThreads_beyond_the_processors_is_lowered_to_the_processor_count_and_the_model_loads()
    {
        var options = new LanguageSegmentationModelOptions { IntraOpThreads = Environment.ProcessorCount + 5 };

        using var model = LanguageSegmentationModel.Load(ColourModelPackage.Write(_temp.Path), options);

        Assert.Equal(Environment.ProcessorCount, model.Options.IntraOpThreadsUsed);
        Assert.Equal(1, new LanguageSegmentationModelOptions { IntraOpThreads = 1 }.IntraOpThreadsUsed);
        Assert.Null(new LanguageSegmentationModelOptions().IntraOpThreadsUsed);
    }

    [Fact]
    public void A_MinImageSide_that_leaves_no_image_under_the_default_pixel_limit_is_named_itself()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() =>
            LanguageSegmentationModel.Load(ColourModelPackage.Write(_temp.Path), new LanguageSegmentationModelOptions { MinImageSide = 100_000 }));

        Assert.Equal(nameof(LanguageSegmentationModelOptions.MinImageSide), error.ParamName);
        Assert.Contains("MinImageSide = 100000 and MaxImagePixels = 40,000,000 allow no image", error.Message);
    }

    [Fact]
    public void A_graph_cut_short_with_its_manifest_edited_to_match_is_refused_naming_the_graph()
    {
        string package = ColourModelPackage.Write(_temp.Path);
        string encoder = ModelManifest.Read(package).Graphs.ImageEncoder;
        byte[] intact = File.ReadAllBytes(Path.Combine(package, encoder));
        ReplaceListedFile(package, encoder, intact[..(intact.Length / 2)]);

        var error = Assert.Throws<InvalidDataException>(() => LanguageSegmentationModel.Load(package));

        Assert.Contains($"Graph '{Path.Combine(package, encoder)}' of the model package is not an ONNX graph this ONNX Runtime can load", error.Message);
        Assert.IsType<OnnxRuntimeException>(error.InnerException);
    }

    [SkippableFact]
    public void A_MiniLM_package_with_an_empty_vocabulary_is_refused_naming_the_vocabulary_file()
    {
        Skip.IfNot(LanguageSegmentationModel.HasDefaultModel, "this build embeds no default model (models/default/ was absent)");
        string package = Path.Combine(_temp.Path, "empty-vocabulary");
        Directory.CreateDirectory(package);
        foreach (string file in Directory.GetFiles(LanguageSegmentationModel.ExtractDefaultModel()))
            File.Copy(file, Path.Combine(package, Path.GetFileName(file)));
        ReplaceListedFile(package, "vocab.txt", []);

        var error = Assert.Throws<InvalidDataException>(() => LanguageSegmentationModel.Load(package));

        Assert.Contains($"The MiniLM vocabulary '{Path.Combine(package, "vocab.txt")}' is not a WordPiece vocabulary", error.Message);
    }

    [Fact]
    public void An_empty_image_file_is_refused_as_empty()
    {
        string path = Path.Combine(_temp.Path, "empty.png");
        File.WriteAllBytes(path, []);

        var read = Assert.Throws<InvalidDataException>(() => ImageFileReader.Read(path));
        var validated = Assert.Throws<InvalidDataException>(() => ImageFileReader.Validate(path));

        Assert.Equal($"Image '{path}' is an empty file (0 bytes).", read.Message);
        Assert.Equal(read.Message, validated.Message);
    }

    [Fact]
    public void Among_several_images_one_outside_the_size_limits_is_named_by_its_index()
    {
        using var model = LanguageSegmentationModel.Load(ColourModelPackage.Write(_temp.Path));
        using var photo = TestImages.ColourBlocks(64, 48, seed: 1);
        using var dot = TestImages.Paint(1, 1, (_, _) => (255, 0, 0));

        var error = Assert.Throws<ArgumentException>(() => model.Segment(new[] { photo, dot }, ["red", "blue"]));

        Assert.StartsWith("Image 1: The image is 1×1", error.Message);
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(error.Message, @"\(Parameter '"));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(5000)]
    public void LargestEncodedImageBytes_refuses_input_sizes_no_image_is_encoded_at(int inputSize)
    {
        using var model = LanguageSegmentationModel.Load(ColourModelPackage.Write(_temp.Path));

        var error = Assert.Throws<ArgumentOutOfRangeException>(() => model.LargestEncodedImageBytes(inputSize));

        Assert.Contains("The model input size must be 32 to 2048 pixels", error.Message);
    }
}

using LSeg.MLNet.Package;
using LSeg.MLNet.Tests.Packages;

namespace LSeg.MLNet.Tests;

/// <summary>
/// The low-level API on a hand-made package whose right answer is known (a red region is "red"), plus every bad
/// input the issue lists: label lists, image sizes, damaged packages.
/// </summary>
public sealed class LanguageSegmentationModelTests : IDisposable
{
    private readonly TemporaryDirectory _temp = new();
    private readonly string _package;
    private readonly LanguageSegmentationModel _model;

    public LanguageSegmentationModelTests()
    {
        _package = ColourModelPackage.Write(_temp.Path);
        _model = LanguageSegmentationModel.Load(_package);
    }

    public void Dispose()
    {
        _model.Dispose();
        _temp.Dispose();
    }

    [Fact]
    public void A_two_colour_image_is_labelled_by_colour_at_its_original_size()
    {
        using var image = TestImages.RedLeftBlueRight(100, 60);

        var result = _model.Segment(image, ["blue", "green", "red"]);

        Assert.Equal((100, 60), (result.Width, result.Height));
        Assert.Equal(100 * 60, result.Mask.Length);
        Assert.Equal("red", result.LabelAt(10, 30));
        Assert.Equal("blue", result.LabelAt(90, 30));
        // Only the columns next to the colour edge may go either way (the model sees the image at 64 × 32 pixels).
        Assert.Equal(0, TestImages.MislabelledAwayFromTheSeam(result, margin: 4));
    }

    [Fact]
    public void Pixel_counts_add_up_to_the_image_and_match_the_mask()
    {
        using var image = TestImages.GreenTopYellowBottom(90, 90);

        var result = _model.Segment(image, ["yellow", "green", "black"]);

        Assert.Equal(90L * 90, result.PixelCounts.Sum());
        for (int label = 0; label < 3; label++)
            Assert.Equal(result.Mask.Count(m => m == label), result.PixelCounts[label]);
        Assert.Equal(0, result.PixelCounts[2]);
        Assert.InRange(result.PixelCounts[1], 90 * 25, 90 * 35);
    }

    [Fact]
    public void The_score_is_the_winning_cosine_divided_by_the_temperature()
    {
        // Pure red against labels red and white: cos(red, red) = 1, so the winning logit is 1 / 0.07.
        using var image = TestImages.Paint(64, 64, (_, _) => (255, 0, 0));

        var result = _model.Segment(image, ["white", "red"]);

        Assert.All(result.Mask, m => Assert.Equal(1, m));
        Assert.All(result.Scores, s => Assert.Equal(1 / 0.07, s, 3));
    }

    [Fact]
    public void A_label_change_on_an_encoded_image_gives_the_same_mask_as_segmenting_from_scratch()
    {
        using var image = TestImages.RedLeftBlueRight(80, 48);
        var encoded = _model.EncodeImage(image);

        // No exact ties between labels (blue is equally far from cyan and magenta): the encoded image goes through the
        // C# head and the one-shot call through the head graph, and an exact tie may round either way in each.
        var first = _model.Segment(encoded, _model.EncodeLabels(["red", "blue"]));
        var second = _model.Segment(encoded, _model.EncodeLabels(["cyan", "yellow", "red"]));
        var fromScratch = _model.Segment(image, ["cyan", "yellow", "red"]);

        Assert.Equal(fromScratch.Mask, second.Mask);
        Assert.Equal(["red", "blue"], first.Labels);
        Assert.NotEqual(first.Mask, second.Mask);
    }

    [Fact]
    public void Each_label_is_encoded_once_per_model()
    {
        _model.EncodeLabels(["red", "blue"]);
        _model.EncodeLabels(["blue", "red", "green"]);

        Assert.Equal(3, _model.CachedLabelCount);
    }

    [Fact]
    public void The_encoder_input_keeps_the_aspect_ratio_with_sides_multiple_of_32()
    {
        using var image = TestImages.RedLeftBlueRight(640, 427);

        var encoded = _model.EncodeImage(image, inputSize: 480);

        Assert.Equal((480, 320), (encoded.InputWidth, encoded.InputHeight));
        Assert.Equal((240, 160), (encoded.EmbeddingWidth, encoded.EmbeddingHeight));
        Assert.Equal(3 * 240 * 160, encoded.PixelEmbeddings.Length);
    }

    [Fact]
    public void Embeddings_are_attached_only_when_asked_for()
    {
        using var image = TestImages.RedLeftBlueRight(64, 64);
        var encoded = _model.EncodeImage(image);
        var labels = _model.EncodeLabels(["red", "blue"]);

        Assert.Null(_model.Segment(encoded, labels).EncodedImage);
        Assert.Same(encoded, _model.Segment(encoded, labels, includeEmbeddings: true).EncodedImage);
    }

    [Fact]
    public void An_empty_label_list_is_rejected()
    {
        var error = Assert.Throws<ArgumentException>(() => _model.EncodeLabels([]));
        Assert.Contains("empty", error.Message);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    public void A_null_empty_or_whitespace_label_is_rejected_by_position(string? label)
    {
        var error = Assert.Throws<ArgumentException>(() => _model.EncodeLabels(["red", label!]));
        Assert.Contains("Label 1", error.Message);
    }

    [Fact]
    public void A_duplicate_label_is_rejected_by_name()
    {
        var error = Assert.Throws<ArgumentException>(() => _model.EncodeLabels(["red", "blue", "red"]));
        Assert.Contains("'red'", error.Message);
    }

    [Fact]
    public void Labels_that_differ_only_in_surrounding_spaces_are_refused_as_duplicates_saying_so()
    {
        // The model reads labels without surrounding spaces; before, this failed later as labels "the text encoder
        // cannot tell apart", blaming case, accents or punctuation.
        var error = Assert.Throws<ArgumentException>(() => _model.EncodeLabels(["red", "red "]));

        Assert.Contains("Label 'red ' appears more than once (again at index 1, differing only in surrounding spaces", error.Message);
    }

    [Fact]
    public void Options_changed_after_load_do_not_reach_the_model_which_validated_them_at_load()
    {
        var options = new LanguageSegmentationModelOptions { ImageBatchSize = 2 };
        using var model = LanguageSegmentationModel.Load(_package, options);
        using var image = TestImages.ColourBlocks(64, 48, seed: 3);
        // Invalid values, which Load would have refused: set on the caller's object afterwards.
        options.ImageBatchSize = 0;
        options.MaxImagePixels = 10;

        var result = model.Segment(image, ["red", "blue"]);

        Assert.Equal((64, 48), (result.Width, result.Height));
    }

    [Fact]
    public void A_head_graph_without_the_logits_output_is_refused_at_load_naming_it()
    {
        // Multi-scale segmentation and the evaluator read the head's logits; before, such a package loaded and failed
        // at the first SegmentMultiScale with an ONNX Runtime error.
        string package = LSeg.MLNet.Tests.Packages.ColourModelPackage.Write(_temp.Path);
        var head = Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(package, "head.onnx")));
        head.Graph.Output.Remove(head.Graph.Output.Single(o => o.Name == "logits"));
        LSeg.MLNet.Tests.Packages.PackageFormats.ReplaceFile(package, "head.onnx", Google.Protobuf.MessageExtensions.ToByteArray(head));

        var error = Assert.Throws<InvalidDataException>(() => LanguageSegmentationModel.Load(package));

        Assert.Contains("has no output 'logits'", error.Message);
    }

    [Fact]
    public void A_label_the_fixed_table_does_not_know_is_rejected_by_name()
    {
        var error = Assert.Throws<ArgumentException>(() => _model.EncodeLabels(["red", "sky"]));
        Assert.Contains("'sky'", error.Message);
    }

    [Fact]
    public void A_one_pixel_image_is_rejected_with_its_size()
    {
        using var image = TestImages.Paint(1, 1, (_, _) => (255, 0, 0));

        var error = Assert.Throws<ArgumentException>(() => _model.EncodeImage(image));

        Assert.Contains("1×1", error.Message);
    }

    [Fact]
    public void A_ten_thousand_pixel_square_image_is_rejected_with_its_size()
    {
        using var image = TestImages.Paint(10000, 10000, (_, _) => (0, 0, 0));

        var error = Assert.Throws<ArgumentException>(() => _model.EncodeImage(image));

        Assert.Contains("10000×10000", error.Message);
        Assert.Contains("MaxImagePixels", error.Message);
    }

    [Fact]
    public void A_pixel_limit_past_what_one_array_holds_is_refused_at_load()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => LanguageSegmentationModel.Load(_package, new LanguageSegmentationModelOptions { MaxImagePixels = 600_000_000 }));

        Assert.Contains("MaxImagePixels may be at most 500,000,000", error.Message);
    }

    [Fact]
    public void A_disposed_image_is_refused_as_disposed_naming_the_argument_and_a_disposed_model_before_foreign_labels()
    {
        var image = TestImages.RedLeftBlueRight(64, 48);
        image.Dispose();
        using var other = LanguageSegmentationModel.Load(_package);
        var foreignLabels = other.EncodeLabels(["red"]);
        var disposedModel = LanguageSegmentationModel.Load(_package);
        disposedModel.Dispose();
        using var photo = TestImages.RedLeftBlueRight(64, 48);

        // ML.NET's own getter said only "Object is disposed." (an InvalidOperationException the docs do not list).
        var error = Assert.Throws<ObjectDisposedException>(() => _model.EncodeImage(image));
        // As Segment and SegmentInto: a disposed model says so, whatever else is wrong with the call.
        Assert.Throws<ObjectDisposedException>(() => disposedModel.SegmentMultiScale(photo, foreignLabels, [1.0]));

        Assert.Contains("image", error.Message);
        Assert.Contains("disposed", error.Message);
    }

    [Fact]
    public void A_label_cache_of_no_entries_is_refused_at_load_naming_the_option()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => LanguageSegmentationModel.Load(_package, new LanguageSegmentationModelOptions { LabelCacheCapacity = 0 }));

        Assert.Equal("LabelCacheCapacity", error.ParamName);
    }

    [Fact]
    public void A_fixed_label_table_reads_labels_with_surrounding_spaces_as_the_trimmed_labels()
    {
        using var image = TestImages.Paint(64, 32, (x, _) => x < 32 ? ((byte)255, (byte)0, (byte)0) : ((byte)0, (byte)0, (byte)255));

        var spaced = _model.Segment(image, "red, blue".Split(','));
        var trimmed = _model.Segment(image, ["red", "blue"]);

        Assert.Equal(["red", " blue"], spaced.Labels);
        Assert.Equal(trimmed.Mask, spaced.Mask);
    }

    [Fact]
    public void LabelAt_outside_the_mask_is_refused_instead_of_reading_another_row()
    {
        using var image = TestImages.Paint(64, 32, (_, _) => ((byte)255, (byte)0, (byte)0));
        var result = _model.Segment(image, ["red", "green"]);

        Assert.Equal("red", result.LabelAt(63, 31));
        Assert.Equal("x", Assert.Throws<ArgumentOutOfRangeException>(() => result.LabelAt(64, 0)).ParamName);
        Assert.Equal("x", Assert.Throws<ArgumentOutOfRangeException>(() => result.LabelAt(-1, 1)).ParamName);
        Assert.Equal("y", Assert.Throws<ArgumentOutOfRangeException>(() => result.LabelAt(0, 32)).ParamName);
    }

    [Fact]
    public void A_large_image_is_accepted_when_the_limit_is_raised()
    {
        using var model = LanguageSegmentationModel.Load(_package, new LanguageSegmentationModelOptions { MaxImagePixels = 200_000_000 });
        using var image = TestImages.Paint(10000, 10000, (x, _) => x < 5000 ? ((byte)255, (byte)0, (byte)0) : ((byte)0, (byte)255, (byte)0));

        var result = model.Segment(image, ["red", "green"]);

        Assert.Equal(100_000_000, result.Mask.Length);
        Assert.Equal("red", result.LabelAt(100, 100));
        Assert.Equal("green", result.LabelAt(9900, 9900));
    }

    [Fact]
    public void A_package_with_a_missing_file_is_refused_naming_the_file()
    {
        string package = ColourModelPackage.Write(_temp.Path);
        File.Delete(Path.Combine(package, "head.onnx"));

        var error = Assert.Throws<FileNotFoundException>(() => LanguageSegmentationModel.Load(package));

        Assert.Contains("head.onnx", error.Message);
    }

    [Fact]
    public void A_file_whose_sha256_differs_from_the_manifest_is_refused()
    {
        string package = ColourModelPackage.Write(_temp.Path);
        string table = Path.Combine(package, "labels.json");
        var bytes = File.ReadAllBytes(table);
        bytes[2] ^= 0x01; // same size, different content
        File.WriteAllBytes(table, bytes);

        var error = Assert.Throws<InvalidDataException>(() => LanguageSegmentationModel.Load(package));

        Assert.Contains("labels.json", error.Message);
        Assert.Contains("sha256", error.Message);
    }

    [Fact]
    public void An_unknown_manifest_version_is_refused_naming_the_version()
    {
        string package = ColourModelPackage.Write(_temp.Path, formatVersion: ModelManifest.CurrentFormatVersion + 1);

        var error = Assert.Throws<InvalidDataException>(() => LanguageSegmentationModel.Load(package));

        Assert.Contains($"version {ModelManifest.CurrentFormatVersion + 1}", error.Message);
    }

    [Fact]
    public void ModelManifest_Read_takes_the_directory_or_its_manifest_and_leaves_hashing_to_VerifyFiles()
    {
        string package = ColourModelPackage.Write(_temp.Path);
        string table = Path.Combine(package, "labels.json");
        var bytes = File.ReadAllBytes(table);
        bytes[2] ^= 0x01;
        File.WriteAllBytes(table, bytes);

        var fromDirectory = ModelManifest.Read(package);
        var fromFile = ModelManifest.Read(Path.Combine(package, ModelManifest.FileName));

        Assert.Equal(fromDirectory.ToJson(), fromFile.ToJson());
        var error = Assert.Throws<InvalidDataException>(() => fromDirectory.VerifyFiles(package));
        Assert.Contains("labels.json", error.Message);
        Assert.Throws<FileNotFoundException>(() => ModelManifest.Read(_temp.Path));
    }

    [Fact]
    public void A_directory_without_a_manifest_is_refused()
    {
        var error = Assert.Throws<FileNotFoundException>(() => LanguageSegmentationModel.Load(_temp.Path));
        Assert.Contains("manifest.json", error.Message);
    }

    [Fact]
    public void An_unreadable_image_file_fails_when_it_is_read_naming_it_not_later()
    {
        string path = Path.Combine(_temp.Path, "broken.png");
        File.WriteAllText(path, "this is not a PNG");

        var error = Assert.Throws<InvalidDataException>(() => LSeg.MLNet.Imaging.ImageFileReader.Read(path));

        Assert.Contains("broken.png", error.Message);
    }

    [Fact]
    public void Images_and_labels_of_another_model_are_refused()
    {
        using var other = LanguageSegmentationModel.Load(_package);
        using var image = TestImages.RedLeftBlueRight(64, 64);

        Assert.Throws<ArgumentException>(() => _model.Segment(other.EncodeImage(image), _model.EncodeLabels(["red"])));
        Assert.Throws<ArgumentException>(() => _model.Segment(_model.EncodeImage(image), other.EncodeLabels(["red"])));
    }

    [Fact]
    public void Several_threads_segmenting_at_once_get_the_single_thread_results()
    {
        using var image = TestImages.GreenTopYellowBottom(96, 64);
        string[][] labelSets = [["green", "yellow", "red"], ["red", "yellow", "green"]];
        var expected = labelSets.Select(labels => _model.Segment(image, labels).Mask).ToArray();
        Assert.NotEqual(expected[0], expected[1]); // the two sets index the colours differently

        // Two label sets interleaved: calls with different labels run at once and must not mix their labels or buffers.
        var results = Enumerable.Range(0, 8).AsParallel().WithDegreeOfParallelism(4)
            .Select(i => (Set: i % 2, _model.Segment(image, labelSets[i % 2]).Mask))
            .ToArray();

        Assert.All(results, r => Assert.Equal(expected[r.Set], r.Mask));
    }

    [Fact]
    public void A_file_given_as_the_package_is_refused_as_a_file_not_as_a_missing_directory()
    {
        string zip = Path.Combine(_temp.Path, "model.zip");
        File.WriteAllBytes(zip, [0x50, 0x4B, 0x03, 0x04]);

        var error = Assert.Throws<DirectoryNotFoundException>(() => LanguageSegmentationModel.Load(zip));

        Assert.Contains("is a file, not a model package directory", error.Message);
        Assert.DoesNotContain("does not exist", error.Message);
    }

    [SkippableFact]
    public void More_labels_than_one_text_encoder_run_takes_get_the_embeddings_each_gets_alone()
    {
        Skip.IfNot(LanguageSegmentationModel.HasDefaultModel, "this build embeds no default model (models/default/ was absent)");
        string[] labels = [.. Enumerable.Range(0, LanguageSegmentationModel.LabelsPerTextEncoderRun * 2 + 5).Select(i => $"object number {i}")];
        using var together = LanguageSegmentationModel.LoadDefault();
        using var alone = LanguageSegmentationModel.LoadDefault();

        var all = together.EncodeLabels(labels);

        for (int i = 0; i < labels.Length; i += 17)
        {
            var one = alone.EncodeLabels([labels[i]]);
            var expected = one.Buffer.AsSpan(0, one.EmbeddingSize).ToArray();
            var actual = all.Buffer.AsSpan(i * all.EmbeddingSize, all.EmbeddingSize).ToArray();
            Assert.All(expected.Zip(actual), pair => Assert.Equal(pair.First, pair.Second, 1e-4f));
        }
    }

    [SkippableFact]
    public void Pixel_embeddings_rebuilt_by_the_projection_say_to_read_them_before_the_model_is_disposed()
    {
        Skip.IfNot(LanguageSegmentationModel.HasDefaultModel, "this build embeds no default model (models/default/ was absent)");
        var model = LanguageSegmentationModel.LoadDefault();
        using var image = TestImages.GreenTopYellowBottom(96, 64);
        var readFirst = model.EncodeImage(image);
        var readLater = model.EncodeImage(image);
        int length = readFirst.PixelEmbeddings.Length;
        model.Dispose();

        var error = Assert.Throws<ObjectDisposedException>(() => readLater.PixelEmbeddings);

        Assert.Contains("read PixelEmbeddings before disposing the model", error.Message);
        Assert.Equal(length, readFirst.PixelEmbeddings.Length);
    }

    [Fact]
    public void A_disposed_model_refuses_work()
    {
        var model = LanguageSegmentationModel.Load(_package);
        model.Dispose();

        Assert.Throws<ObjectDisposedException>(() => model.EncodeLabels(["red"]));
    }

    [SkippableFact]
    public void Without_a_default_model_in_the_build_LoadDefault_says_so()
    {
        Skip.If(LanguageSegmentationModel.HasDefaultModel, "this build embeds a default model");

        var error = Assert.Throws<InvalidOperationException>(() => LanguageSegmentationModel.LoadDefault());

        Assert.Contains("no default model", error.Message);
        Assert.Contains("no default model", Assert.Throws<InvalidOperationException>(LanguageSegmentationModel.ExtractDefaultModel).Message);
    }

    [SkippableFact]
    public void ExtractDefaultModel_gives_the_verified_package_LoadDefault_loads()
    {
        Skip.IfNot(LanguageSegmentationModel.HasDefaultModel, "this build embeds no default model (models/default/ was absent)");

        string directory = LanguageSegmentationModel.ExtractDefaultModel();
        using var model = LanguageSegmentationModel.LoadDefault();

        Assert.Equal(model.PackagePath, directory);
        var manifest = ModelManifest.Read(directory);
        manifest.VerifyFiles(directory);
        Assert.Equal(model.Manifest.ToJson(), manifest.ToJson());
    }

    [SkippableFact]
    public void The_default_model_is_read_from_the_embedded_resources_and_segments()
    {
        Skip.IfNot(LanguageSegmentationModel.HasDefaultModel, "this build embeds no default model (models/default/ was absent)");

        using var first = LanguageSegmentationModel.LoadDefault();
        using var second = LanguageSegmentationModel.LoadDefault();
        using var image = TestImages.GreenTopYellowBottom(96, 64);
        var result = first.Segment(image, ["grass", "sky", "sand"]);

        Assert.Equal(first.PackagePath, second.PackagePath); // extracted once per version, then reused
        Assert.Equal("minilm", first.Manifest.TextEncoder.Kind);
        Assert.Equal((96, 64), (result.Width, result.Height));
        Assert.Equal(96L * 64, result.PixelCounts.Sum());
    }

    [SkippableFact]
    public void Labels_with_surrounding_spaces_are_scored_exactly_as_the_trimmed_labels()
    {
        Skip.IfNot(LanguageSegmentationModel.HasDefaultModel, "this build embeds no default model (models/default/ was absent)");
        // "dog, grass, other".Split(',') gives " grass" and " other". The default model's "other" takes unoffered
        // trained names by a rule for sets of trained names and another beside untrained names: " grass" must count as
        // the trained "grass", so the scored names, their embeddings and their offsets are those of the trimmed set.
        using var model = LanguageSegmentationModel.LoadDefault();

        var spaced = model.EncodeLabels("dog, grass, other".Split(','));
        var trimmed = model.EncodeLabels(["dog", "grass", "other"]);

        Assert.Equal(["dog", " grass", " other"], spaced.Labels);
        Assert.Equal(trimmed.ScoredCount, spaced.ScoredCount);
        Assert.True(trimmed.ScoredCount > 3, "the trimmed set should absorb unoffered trained names into other");
        Assert.Equal(trimmed.CatchAllIndex, spaced.CatchAllIndex);
        Assert.Equal(trimmed.LogitOffsets, spaced.LogitOffsets);
        Assert.Equal(trimmed.Buffer.AsSpan(0, trimmed.ScoredCount * trimmed.EmbeddingSize).ToArray(),
            spaced.Buffer.AsSpan(0, spaced.ScoredCount * spaced.EmbeddingSize).ToArray());
    }
}

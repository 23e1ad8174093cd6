using LSeg.MLNet.Package;
using LSeg.MLNet.Pipeline;
using LSeg.MLNet.Tests.Packages;
using LSeg.Training.Bridge.Export;
using LSeg.Training.Bridge.Network;
using Microsoft.ML.Data;
using static TorchSharp.torch;

namespace LSeg.MLNet.Tests.Head;

/// <summary>
/// A package may calibrate particular labels (manifest <c>labelLogitOffsets</c>, e.g. a catch-all "other" that was
/// trained to claim too much): the offset is added to that label's logits before the argmax, on every path that
/// computes a mask — the C# head (one-shot and label change), the head graph, the ML.NET pipeline. The truth each
/// path is checked against is the same network exported WITHOUT offsets, with the offsets added to its logits here.
/// A package may also lower its calibrated labels when a label set holds a name the network was not trained with
/// (manifest <c>untrainedLabels</c>): the same paths, the same truth, with the offset each label should get written
/// out by hand.
/// </summary>
[Collection(TorchRandomCollection.Name)]
public sealed class LabelLogitOffsetTests : IDisposable
{
    private const int Channels = 20;
    private const int Size = 64;
    private static readonly string[] Labels = ["sky", "grass", "road", "car", "water"];

    // "Grass" in another case than the label offered: labels match ignoring case and surrounding spaces.
    private static readonly Dictionary<string, double> Offsets = new() { [" Grass "] = 1.5, ["water"] = -2.25 };

    // Trained: sky, grass, water (matched ignoring case and spaces). Car is calibrated (-1); road is neither, so in a
    // set with road, car drops by 1.75 more.
    private static readonly UntrainedLabelCalibration Untrained = new() { CalibratedLabelDrop = 1.75, TrainedLabels = [" SKY", "grass", "water"] };
    private static readonly Dictionary<string, double> UntrainedPackageOffsets = new() { ["car"] = -1.0 };

    private readonly TemporaryDirectory _temp = new();
    private readonly string _plainPackage;
    private readonly LanguageSegmentationModel _plain;
    private readonly LanguageSegmentationModel _withOffsets;
    private readonly LanguageSegmentationModel _withUntrained;

    public LabelLogitOffsetTests()
    {
        random.manual_seed(11);
        using var net = LSegNet.Create(new LSegNetConfig { EmbeddingSize = Channels, DecoderFeatures = 16 }, pretrainedBackbone: false);
        net.eval();
        var generator = new Random(4);
        var table = Labels.ToDictionary(l => l, _ => Enumerable.Range(0, Channels).Select(_ => (float)(generator.NextDouble() * 2 - 1)).ToArray());
        _plainPackage = Path.Combine(_temp.Path, "plain");
        _plain = HeadTruth.ExportWithTable(net, _temp.Path, "plain", table, Size, []);
        _withOffsets = HeadTruth.ExportWithTable(net, _temp.Path, "offsets", table, Size, Offsets);
        _withUntrained = HeadTruth.ExportWithTable(net, _temp.Path, "untrained", table, Size, UntrainedPackageOffsets, Untrained);
    }

    public void Dispose()
    {
        _plain.Dispose();
        _withOffsets.Dispose();
        _withUntrained.Dispose();
        _temp.Dispose();
    }

    /// <summary>The packages with offsets, and the offset each label should get from each, by hand.</summary>
    private (LanguageSegmentationModel Model, Func<string, float> OffsetOf) Package(string name) => name switch
    {
        "labelLogitOffsets" => (_withOffsets, label => label switch { "grass" => 1.5f, "water" => -2.25f, _ => 0f }),
        "untrainedLabels" => (_withUntrained, label => label switch { "car" => -2.75f, _ => 0f }),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    /// <summary>The plain package's head-graph logits [N, H, W] with the offsets added by hand.</summary>
    private float[] ExpectedLogits(MLImage image, Func<string, float> offsetOf)
    {
        var (logits, width, height) = _plain.ComputeLogits(image, _plain.EncodeLabels(Labels), Size);
        Assert.Equal((Size, Size), (width, height));
        int plane = width * height;
        return logits.Select((value, i) => value + offsetOf(Labels[i / plane])).ToArray();
    }

    [Fact]
    public void The_manifest_records_the_offsets_at_format_version_3_and_a_package_without_them_stays_at_version_2()
    {
        Assert.Equal(3, _withOffsets.Manifest.FormatVersion);
        Assert.Equal(1.5, _withOffsets.Manifest.LabelLogitOffsets![" Grass "]);
        Assert.Equal(2, _plain.Manifest.FormatVersion);
        Assert.Null(_plain.Manifest.LabelLogitOffsets);
    }

    [Fact]
    public void Untrained_label_offsets_are_recorded_at_format_version_4()
    {
        Assert.Equal(4, _withUntrained.Manifest.FormatVersion);
        Assert.Equal(1.75, _withUntrained.Manifest.UntrainedLabels!.CalibratedLabelDrop);
        Assert.Equal([" SKY", "grass", "water"], _withUntrained.Manifest.UntrainedLabels.TrainedLabels);
        Assert.Null(_withOffsets.Manifest.UntrainedLabels);
    }

    [Theory]
    [InlineData("sky,car,water", "0,-1,0")]       // every name trained or calibrated: the offsets as written
    [InlineData("sky,car,road", "0,-2.75,0")]     // road is untrained: car drops by 1.75
    [InlineData(" Car , ROAD ", "-2.75,0")]       // names match after trimming, ignoring case
    [InlineData("road,sky", "0,0")]               // nothing calibrated to lower
    [InlineData("sky,\u200Bcar", "0,-1")]         // a zero-width space pasted with "car" is still car (MiniLM drops it)
    public void A_calibrated_label_drops_only_in_a_set_that_holds_an_untrained_name(string labels, string offsets)
    {
        var actual = _withUntrained.Manifest.LogitOffsetsOf(labels.Split(','));

        Assert.Equal(offsets.Split(',').Select(o => float.Parse(o, System.Globalization.CultureInfo.InvariantCulture)), actual);
    }

    [Fact]
    public void Editing_the_models_public_manifest_changes_nothing_it_computes()
    {
        using var model = LanguageSegmentationModel.Load(_withOffsets.PackagePath);
        var before = model.EncodeLabels(["grass", "sky"]).LogitOffsets.ToArray();

        model.Manifest.LabelLogitOffsets![" Grass "] = double.NaN; // a caller's edit of the collection it was handed
        model.Manifest.LabelLogitOffsets["sky"] = 5;

        Assert.Equal([1.5f, 0f], before);
        Assert.Equal(before, model.EncodeLabels(["grass", "sky"]).LogitOffsets.ToArray());
    }

    [Theory]
    [InlineData("sign  symbol")]  // two spaces
    [InlineData("sign\tsymbol")]  // a tab
    [InlineData("Sign Symbol")]
    public void A_trained_name_written_with_other_white_space_is_still_trained_as_the_text_encoder_reads_it(string written)
    {
        // MiniLM gives "sign  symbol" the embedding of "sign symbol": the calibration must not call it untrained and
        // drop "other" from +2 to −2 for it.
        var manifest = new ModelManifest
        {
            Name = "calibrated",
            EmbeddingSize = 2,
            LabelLogitOffsets = new() { ["other"] = 2 },
            UntrainedLabels = new UntrainedLabelCalibration { CalibratedLabelDrop = 4, TrainedLabels = ["sign symbol", "road"] },
        };

        Assert.Equal([0f, 2f], manifest.LogitOffsetsOf([written, "other"]));
        Assert.Equal([0f, 2f], manifest.LogitOffsetsOf(["road", "other\u200B"]));
        Assert.Equal([0f, -2f], manifest.LogitOffsetsOf(["signsymbol", "other"])); // another word: untrained
    }

    [Theory]
    [InlineData("labelLogitOffsets")]
    [InlineData("untrainedLabels")]
    public void The_head_graph_adds_each_labels_offset_to_its_logits_and_to_no_other_label(string package)
    {
        var (model, offsetOf) = Package(package);
        using var image = TestImages.ColourBlocks(Size, Size, seed: 21);

        var (actual, _, _) = model.ComputeLogits(image, model.EncodeLabels(Labels), Size);

        var expected = ExpectedLogits(image, offsetOf);
        double worst = expected.Zip(actual).Max(p => Math.Abs(p.First - p.Second));
        Assert.True(worst <= 1e-4, $"logits differ from plain logits + offsets by up to {worst:G3}");
    }

    [Theory]
    [InlineData("labelLogitOffsets")]
    [InlineData("untrainedLabels")]
    public void The_offsets_change_the_mask_and_every_path_gives_the_argmax_of_the_offset_logits(string package)
    {
        var (model, offsetOf) = Package(package);
        using var image = TestImages.ColourBlocks(Size, Size, seed: 22);
        var (expected, gap) = HeadTruth.ArgMax(ExpectedLogits(image, offsetOf), Labels.Length);
        var plainMask = _plain.Segment(image, Labels).Mask;
        Assert.True(plainMask.Zip(expected).Count(p => p.First != p.Second) >= 20, "offsets of this size should move some pixels to another label");

        var oneShot = model.Segment(image, Labels).Mask;
        var encoded = model.EncodeImage(image);
        model.Segment(encoded, model.EncodeLabels(["road", "car"]));
        var labelChange = model.Segment(encoded, model.EncodeLabels(Labels)).Mask;

        HeadTruth.AssertMask(expected, gap, oneShot, "one-shot (C# head)");
        HeadTruth.AssertMask(expected, gap, labelChange, "label change (C# head)");
        HeadTruth.AssertMask(expected, gap, HeadTruth.PipelineMask(model, image, Labels, Size, _temp.Path), "ML.NET pipeline (head graph)");
    }

    [Fact]
    public void A_manifest_with_offsets_whose_head_graph_takes_none_is_refused_at_load()
    {
        string copy = Path.Combine(_temp.Path, "edited");
        Directory.CreateDirectory(copy);
        foreach (string file in Directory.GetFiles(_plainPackage))
            File.Copy(file, Path.Combine(copy, Path.GetFileName(file)));
        string manifestPath = Path.Combine(copy, ModelManifest.FileName);
        string json = File.ReadAllText(manifestPath).Replace("\"formatVersion\": 2", "\"formatVersion\": 3")
            .Replace("\"graphs\":", "\"labelLogitOffsets\": { \"other\": -2 },\n  \"graphs\":");
        File.WriteAllText(manifestPath, json);

        var error = Assert.Throws<InvalidDataException>(() => LanguageSegmentationModel.Load(copy));
        Assert.Contains("label_logit_offsets", error.Message);
    }

    [Theory]
    [InlineData(2, "{ \"other\": -2 }", "need package format version 3")]
    [InlineData(3, "{ \"other\": -2, \"OTHER\": 1 }", "two labelLogitOffsets")]
    [InlineData(3, "{ \"sign symbol\": 1, \"sign  symbol\": 2 }", "two labelLogitOffsets")]  // one label as offered labels are matched
    [InlineData(3, "{ \"other\": 1, \"other\u200b\": 2 }", "two labelLogitOffsets")]
    [InlineData(3, "{ \" \": -2 }", "empty label")]
    public void Invalid_offsets_in_a_manifest_are_refused_with_the_rule_they_break(int formatVersion, string offsets, string message)
    {
        string json = $$"""{ "format": "lseg-model-package", "formatVersion": {{formatVersion}}, "embeddingSize": 8, "labelLogitOffsets": {{offsets}} }""";

        var error = Assert.Throws<InvalidDataException>(() => ModelManifest.FromJson(json));
        Assert.Contains(message, error.Message);
    }

    [Theory]
    [InlineData(3, "{ \"calibratedLabelDrop\": 2, \"trainedLabels\": [\"sky\"] }", "need package format version 4")]
    [InlineData(4, "{ \"calibratedLabelDrop\": 2 }", "without trainedLabels")]
    [InlineData(4, "{ \"calibratedLabelDrop\": 2, \"trainedLabels\": [] }", "without trainedLabels")]
    [InlineData(4, "{ \"calibratedLabelDrop\": 2, \"trainedLabels\": [\"sky\", \" \"] }", "empty name")]
    [InlineData(4, "{ \"calibratedLabelDrop\": 2, \"trainedLabels\": [\"sky\"] }", "no labelLogitOffsets")]
    public void An_invalid_untrained_label_entry_is_refused_with_the_rule_it_breaks(int formatVersion, string untrained, string message)
    {
        string json = $$"""{ "format": "lseg-model-package", "formatVersion": {{formatVersion}}, "embeddingSize": 8, "untrainedLabels": {{untrained}} }""";

        var error = Assert.Throws<InvalidDataException>(() => ModelManifest.FromJson(json));
        Assert.Contains(message, error.Message);
    }

    [Fact]
    public void The_exporter_refuses_offsets_a_manifest_could_not_hold()
    {
        using var net = LSegNet.Create(new LSegNetConfig { EmbeddingSize = 8, DecoderFeatures = 8 }, pretrainedBackbone: false);

        var error = Assert.Throws<ArgumentException>(() => ModelPackageExporter.Export(net, Path.Combine(_temp.Path, "bad"),
            new ModelPackageExportOptions { LabelLogitOffsets = new() { ["other"] = double.NaN } }));
        Assert.Contains("finite", error.Message);
        Assert.False(Directory.Exists(Path.Combine(_temp.Path, "bad")));
    }

    [Fact]
    public void A_packed_label_vector_saved_before_offsets_existed_reads_as_zero_offsets()
    {
        // [N = 2, C = 3, six embedding values]: the raw form of models saved by earlier versions.
        float[] raw = [2, 3, 1, 2, 3, 4, 5, 6];
        var output = new LabelPackingOutput();

        LabelPackingMapping.Map(new LabelPackingInput { Raw = raw }, output);

        Assert.Equal([2L, 3L], output.Shape);
        Assert.Equal([1f, 2, 3, 4, 5, 6, 0, 0], output.Embeddings[..8]);
    }

    [Fact]
    public void Labels_the_pipeline_cannot_carry_are_refused_when_packed_naming_the_offered_count_and_the_limit()
    {
        // 2^18 values hold (2^18 − 2) / 385 = 680 labels of 384 values; 600 offered plus 90 absorbed names are 690.
        string[] labels = [.. Enumerable.Range(0, 600).Select(i => $"label {i}")];
        var tooMany = new LabelEmbeddings(null!, labels, new float[690 * 384], 384, new float[690], catchAllIndex: 0);
        var fitting = new LabelEmbeddings(null!, labels, new float[680 * 384], 384, new float[680], catchAllIndex: 0);

        var error = Assert.Throws<ArgumentException>(() => LabelPackingMapping.Raw(tooMany));

        Assert.Contains("600 labels (scored as 690 with the 90 trained names the catch-all stands for) of 384 values", error.Message);
        Assert.Contains("680 scored labels with this model", error.Message);
        Assert.Equal(2 + 680 * 385 + 2, LabelPackingMapping.Raw(fitting).Length);
    }
}

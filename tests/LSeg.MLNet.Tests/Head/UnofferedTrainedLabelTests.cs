using LSeg.MLNet.Head;
using LSeg.MLNet.Package;
using LSeg.MLNet.Tests.Packages;
using LSeg.Training.Bridge.Network;
using Microsoft.ML.Data;
using static TorchSharp.torch;

namespace LSeg.MLNet.Tests.Head;

/// <summary>
/// A package may let its catch-all ("other") take what a trained name the label set does not offer would win
/// (manifest <c>untrainedLabels.unofferedLabelSimilarity</c>), in sets of trained names only, leaving out trained names
/// close to an offered one. The truth every path is checked against is the same network exported without any
/// calibration, segmenting with the absorbed names offered explicitly (chosen here by hand), the catch-all's offset added
/// by hand, and the absorbed names' pixels then counted as the catch-all's.
/// </summary>
[Collection(TorchRandomCollection.Name)]
public sealed class UnofferedTrainedLabelTests : IDisposable
{
    private const int Channels = 20;
    private const int Size = 64;
    private const double Similarity = 0.5;
    private const float OtherOffset = 0.5f, Drop = 1.0f;

    // Trained: sky, grass, road, car, water; "boat" is not. "Water" is built close to "sky", so next to an offered "sky"
    // it is not absorbed; grass and road are random, far from sky and car.
    private static readonly string[] Trained = ["sky", "grass", "road", "car", "water"];

    private readonly TemporaryDirectory _temp = new();
    private readonly Dictionary<string, float[]> _table;
    private readonly LanguageSegmentationModel _plain;
    private readonly LanguageSegmentationModel _absorbing;
    private readonly LanguageSegmentationModel _absorbingGrassOnly;
    private readonly LanguageSegmentationModel _absorbingGrassBesideUntrained;

    public UnofferedTrainedLabelTests()
    {
        random.manual_seed(12);
        using var net = LSegNet.Create(new LSegNetConfig { EmbeddingSize = Channels, DecoderFeatures = 16 }, pretrainedBackbone: false);
        net.eval();
        var generator = new Random(5);
        float[] Random() => Enumerable.Range(0, Channels).Select(_ => (float)(generator.NextDouble() * 2 - 1)).ToArray();
        _table = new[] { "sky", "grass", "road", "car", "other", "boat" }.ToDictionary(l => l, _ => Random());
        _table["water"] = _table["sky"].Select(v => v + 0.6f * (float)(generator.NextDouble() * 2 - 1)).ToArray();
        _plain = HeadTruth.ExportWithTable(net, _temp.Path, "plain", _table, Size, []);
        _absorbing = HeadTruth.ExportWithTable(net, _temp.Path, "absorbing", _table, Size, new() { ["other"] = OtherOffset },
            new UntrainedLabelCalibration { CalibratedLabelDrop = Drop, TrainedLabels = [.. Trained], UnofferedLabelSimilarity = Similarity });
        _absorbingGrassOnly = HeadTruth.ExportWithTable(net, _temp.Path, "grass-only", _table, Size, new() { ["other"] = OtherOffset },
            new UntrainedLabelCalibration { CalibratedLabelDrop = Drop, TrainedLabels = [.. Trained], UnofferedLabelSimilarity = Similarity, UnofferedLabels = ["grass"] });
        _absorbingGrassBesideUntrained = HeadTruth.ExportWithTable(net, _temp.Path, "grass-beside-untrained", _table, Size, new() { ["other"] = OtherOffset },
            new UntrainedLabelCalibration
            {
                CalibratedLabelDrop = Drop,
                TrainedLabels = [.. Trained],
                UnofferedLabelSimilarity = Similarity,
                UnofferedLabelSimilarityBesideUntrained = Similarity,
                UnofferedLabelsBesideUntrained = ["grass"],
            });
    }

    public void Dispose()
    {
        _plain.Dispose();
        _absorbing.Dispose();
        _absorbingGrassOnly.Dispose();
        _absorbingGrassBesideUntrained.Dispose();
        _temp.Dispose();
    }

    private double Cosine(string a, string b)
    {
        float[] x = _table[a], y = _table[b];
        double dot = x.Zip(y).Sum(p => (double)p.First * p.Second);
        return dot / Math.Sqrt(x.Sum(v => (double)v * v) * y.Sum(v => (double)v * v));
    }

    /// <summary>
    /// The plain package's mask for <paramref name="offered"/> plus <paramref name="absorbed"/> offered explicitly, with
    /// <paramref name="offsetOf"/> added to the logits by hand; absorbed names' pixels become <paramref name="catchAll"/>'s.
    /// Also the gap between the top two logits per pixel.
    /// </summary>
    private (int[] Mask, float[] Gap) Expected(MLImage image, string[] offered, string[] absorbed, int catchAll, Func<string, float> offsetOf)
    {
        string[] scored = [.. offered, .. absorbed];
        var (logits, width, height) = _plain.ComputeLogits(image, _plain.EncodeLabels(scored), Size);
        int plane = width * height;
        var (mask, gap) = HeadTruth.ArgMax(logits.Select((value, i) => value + offsetOf(scored[i / plane])).ToArray(), scored.Length);
        return (mask.Select(k => k >= offered.Length ? catchAll : k).ToArray(), gap);
    }

    private static void AssertMask((int[] Mask, float[] Gap) expected, IReadOnlyList<int> actual, string path) =>
        HeadTruth.AssertMask(expected.Mask, expected.Gap, actual, path);

    private int[] PipelineMask(MLImage image, string[] labels, LanguageSegmentationModel? model = null) =>
        HeadTruth.PipelineMask(model ?? _absorbing, image, labels, Size, _temp.Path);

    [Fact]
    public void The_setup_is_as_described_water_is_near_sky_and_grass_and_road_are_far_from_sky_and_car()
    {
        Assert.True(Cosine("water", "sky") >= Similarity);
        foreach (string name in new[] { "grass", "road", "water" })
            Assert.True(Cosine(name, "car") < Similarity, $"{name} vs car");
        foreach (string name in new[] { "grass", "road" })
            Assert.True(Cosine(name, "sky") < Similarity, $"{name} vs sky");
    }

    [Fact]
    public void The_similarity_is_recorded_at_format_version_6()
    {
        Assert.Equal(6, _absorbing.Manifest.FormatVersion);
        Assert.Equal(Similarity, _absorbing.Manifest.UntrainedLabels!.UnofferedLabelSimilarity);
        Assert.Equal(2, _plain.Manifest.FormatVersion);
    }

    [Fact]
    public void In_a_set_of_trained_names_other_takes_what_an_unoffered_trained_name_far_from_them_wins_on_every_path()
    {
        using var image = TestImages.ColourBlocks(Size, Size, seed: 31);
        string[] labels = ["sky", "car", "other"];
        var expected = Expected(image, labels, ["grass", "road"], catchAll: 2, label => label == "other" ? OtherOffset : 0f);
        var withoutAbsorbing = Expected(image, labels, [], catchAll: 2, label => label == "other" ? OtherOffset : 0f);
        Assert.True(expected.Mask.Zip(withoutAbsorbing.Mask).Count(p => p.First != p.Second) >= 20, "grass and road should win some pixels for other");

        var encodedLabels = _absorbing.EncodeLabels(labels);
        var encoded = _absorbing.EncodeImage(image);
        var labelChange = _absorbing.Segment(encoded, encodedLabels);
        var into = new int[Size * Size];
        var counts = new long[labels.Length];
        _absorbing.SegmentInto(encoded, encodedLabels, into, new float[into.Length], counts);

        AssertMask(expected, _absorbing.Segment(image, labels).Mask, "one-shot");
        AssertMask(expected, labelChange.Mask, "label change");
        AssertMask(expected, into, "SegmentInto");
        AssertMask(expected, _absorbing.SegmentMultiScale(image, encodedLabels, [1.0]).Mask, "multi-scale at one scale");
        AssertMask(expected, PipelineMask(image, labels), "ML.NET pipeline");
        // Counts and embeddings describe the offered labels only.
        Assert.Equal(labels.Length, labelChange.PixelCounts.Length);
        Assert.Equal(labels.Select((_, k) => (long)labelChange.Mask.Count(m => m == k)), labelChange.PixelCounts);
        Assert.Equal(labelChange.PixelCounts, counts);
        Assert.Equal(labels.Length * Channels, encodedLabels.Values.Length);
    }

    [Fact]
    public void A_trained_name_near_an_offered_one_is_not_absorbed()
    {
        using var image = TestImages.ColourBlocks(Size, Size, seed: 32);
        string[] labels = ["sky", "car", "other"];

        // Water (near sky) is not among the absorbed: absorbing it too would hand some of sky's pixels to "other".
        var expected = Expected(image, labels, ["grass", "road"], catchAll: 2, label => label == "other" ? OtherOffset : 0f);
        var withWater = Expected(image, labels, ["grass", "road", "water"], catchAll: 2, label => label == "other" ? OtherOffset : 0f);
        int decisive = Enumerable.Range(0, expected.Mask.Length).Count(p => expected.Mask[p] != withWater.Mask[p] && expected.Gap[p] > 1e-3f);
        Assert.True(decisive >= 10, $"absorbing water should move some clearly decided pixels; it moves {decisive}");

        AssertMask(expected, _absorbing.Segment(image, labels).Mask, "one-shot");
    }

    [Fact]
    public void A_package_that_lists_its_unoffered_labels_absorbs_only_those()
    {
        using var image = TestImages.ColourBlocks(Size, Size, seed: 34);
        string[] labels = ["sky", "car", "other"];
        var expected = Expected(image, labels, ["grass"], catchAll: 2, label => label == "other" ? OtherOffset : 0f);
        var withRoad = Expected(image, labels, ["grass", "road"], catchAll: 2, label => label == "other" ? OtherOffset : 0f);
        int decisive = Enumerable.Range(0, expected.Mask.Length).Count(p => expected.Mask[p] != withRoad.Mask[p] && expected.Gap[p] > 1e-3f);
        Assert.True(decisive >= 10, $"absorbing road too should move some clearly decided pixels; it moves {decisive}");

        AssertMask(expected, _absorbingGrassOnly.Segment(image, labels).Mask, "one-shot");
        AssertMask(expected, PipelineMask(image, labels, _absorbingGrassOnly), "ML.NET pipeline");
    }

    [Theory]
    [InlineData("sky,boat,other")]   // an untrained name: the calibrated drop alone
    [InlineData("sky,car")]          // no catch-all offered: nothing to absorb into
    public void Sets_with_an_untrained_name_or_without_the_catch_all_absorb_nothing(string set)
    {
        using var image = TestImages.ColourBlocks(Size, Size, seed: 33);
        string[] labels = set.Split(',');
        bool untrained = labels.Contains("boat");
        var expected = Expected(image, labels, [], catchAll: -1, label => label == "other" ? OtherOffset - (untrained ? Drop : 0f) : 0f);

        AssertMask(expected, _absorbing.Segment(image, labels).Mask, set);
        AssertMask(expected, PipelineMask(image, labels), set + " (ML.NET pipeline)");
    }

    [Fact]
    public void Beside_an_untrained_name_other_absorbs_only_the_names_listed_for_such_sets_on_every_path()
    {
        using var image = TestImages.ColourBlocks(Size, Size, seed: 35);
        string[] labels = ["sky", "boat", "other"];
        // "boat" is untrained: "other" is lowered by the drop, and of the unoffered trained names only grass is absorbed
        // (road, also far from sky and boat, would be absorbed in a set of trained names), lowered by the drop too.
        Func<string, float> offsets = label => label == "other" ? OtherOffset - Drop : label is "grass" or "road" ? -Drop : 0f;
        var expected = Expected(image, labels, ["grass"], catchAll: 2, offsets);
        var withoutAbsorbing = Expected(image, labels, [], catchAll: 2, offsets);
        var withRoad = Expected(image, labels, ["grass", "road"], catchAll: 2, offsets);
        int Decisive((int[] Mask, float[] Gap) other) => Enumerable.Range(0, expected.Mask.Length).Count(p => expected.Mask[p] != other.Mask[p] && expected.Gap[p] > 1e-3f);
        Assert.True(Decisive(withoutAbsorbing) >= 10, $"absorbing grass should move some clearly decided pixels; it moves {Decisive(withoutAbsorbing)}");
        Assert.True(Decisive(withRoad) >= 10, $"absorbing road too should move some clearly decided pixels; it moves {Decisive(withRoad)}");
        var grassUndropped = Expected(image, labels, ["grass"], catchAll: 2, label => label == "other" ? OtherOffset - Drop : 0f);
        Assert.True(Decisive(grassUndropped) >= 10, $"grass at raw logits should take some clearly decided pixels more; it moves {Decisive(grassUndropped)}");

        var model = _absorbingGrassBesideUntrained;
        var encodedLabels = model.EncodeLabels(labels);
        AssertMask(expected, model.Segment(image, labels).Mask, "one-shot");
        AssertMask(expected, model.Segment(model.EncodeImage(image), encodedLabels).Mask, "label change");
        AssertMask(expected, model.SegmentMultiScale(image, encodedLabels, [1.0]).Mask, "multi-scale at one scale");
        AssertMask(expected, PipelineMask(image, labels, model), "ML.NET pipeline");
        // In a set of trained names the package's first rule (every unoffered trained name far from the offered) holds.
        string[] trainedSet = ["sky", "car", "other"];
        AssertMask(Expected(image, trainedSet, ["grass", "road"], catchAll: 2, label => label == "other" ? OtherOffset : 0f), model.Segment(image, trainedSet).Mask, "trained names");
        Assert.Equal(7, model.Manifest.FormatVersion);
    }

    [Theory]
    [InlineData(6, "0.5, \"unofferedLabelsBesideUntrained\": [\"grass\"]", "needs package format version 7")]
    [InlineData(7, "0.5", "without unofferedLabelsBesideUntrained")]
    [InlineData(7, "2, \"unofferedLabelsBesideUntrained\": [\"sky\"]", "cosine similarity")]
    [InlineData(7, "0.5, \"unofferedLabelsBesideUntrained\": [\"road\"]", "'road' in untrainedLabels.unofferedLabelsBesideUntrained, which is not one of its trainedLabels")]
    [InlineData(7, "null, \"unofferedLabelsBesideUntrained\": [\"sky\"]", "without unofferedLabelSimilarityBesideUntrained")]
    public void An_invalid_absorption_beside_untrained_names_is_refused_with_the_rule_it_breaks(int formatVersion, string similarity, string message)
    {
        string json = $$"""{ "format": "lseg-model-package", "formatVersion": {{formatVersion}}, "embeddingSize": 8, "labelLogitOffsets": { "other": 1 }, "untrainedLabels": { "calibratedLabelDrop": 2, "trainedLabels": ["sky", "grass"], "unofferedLabelSimilarityBesideUntrained": {{similarity}} } }""";

        var error = Assert.Throws<InvalidDataException>(() => ModelManifest.FromJson(json));
        Assert.Contains(message, error.Message);
    }

    [Theory]
    [InlineData(5, "0.5", "needs package format version 6")]
    [InlineData(6, "1.5", "cosine similarity")]
    [InlineData(6, "-1", "cosine similarity")]
    [InlineData(6, "0.5, \"unofferedLabels\": [\"road\"]", "'road' in untrainedLabels.unofferedLabels, which is not one of its trainedLabels")]
    [InlineData(6, "null, \"unofferedLabels\": [\"sky\"]", "without unofferedLabelSimilarity")]
    public void An_invalid_similarity_in_a_manifest_is_refused_with_the_rule_it_breaks(int formatVersion, string similarity, string message)
    {
        string json = $$"""{ "format": "lseg-model-package", "formatVersion": {{formatVersion}}, "embeddingSize": 8, "labelLogitOffsets": { "other": 1 }, "untrainedLabels": { "calibratedLabelDrop": 2, "trainedLabels": ["sky"], "unofferedLabelSimilarity": {{similarity}} } }""";

        var error = Assert.Throws<InvalidDataException>(() => ModelManifest.FromJson(json));
        Assert.Contains(message, error.Message);
    }

    [Fact]
    public void A_table_package_whose_trained_names_the_table_lacks_is_refused_at_load_not_at_its_first_other()
    {
        random.manual_seed(12);
        using var net = LSegNet.Create(new LSegNetConfig { EmbeddingSize = Channels, DecoderFeatures = 16 }, pretrainedBackbone: false);
        string folder = Path.Combine(_temp.Path, "lacking");
        Directory.CreateDirectory(folder);

        var error = Assert.Throws<InvalidDataException>(() => HeadTruth.ExportWithTable(net, folder, "package", _table, Size, new() { ["other"] = OtherOffset },
            new UntrainedLabelCalibration { CalibratedLabelDrop = Drop, TrainedLabels = [.. Trained, "mountain"], UnofferedLabelSimilarity = Similarity }));

        Assert.Contains("untrainedLabels names a trained label its fixed label table lacks", error.Message);
        Assert.Contains("'mountain'", error.Message);
    }

    [Fact]
    public void A_failed_encoding_of_the_trained_names_is_tried_again_on_the_next_label_set_instead_of_failing_every_later_one()
    {
        var manifest = new ModelManifest
        {
            Name = "calibrated",
            EmbeddingSize = 2,
            LabelLogitOffsets = new() { ["other"] = 2 },
            UntrainedLabels = new UntrainedLabelCalibration { CalibratedLabelDrop = 1, TrainedLabels = ["sky", "grass"], UnofferedLabelSimilarity = 0.5 },
        };
        int calls = 0;
        float[][] Encode(string[] names) => ++calls == 1
            ? throw new InvalidOperationException("out of memory (transient)")
            : [.. names.Select(n => n == "sky" ? new[] { 1f, 0f } : new[] { 0f, 1f })];
        var absorption = UnofferedTrainedLabels.For(manifest, Encode)!;
        string[] labels = ["sky", "other"];
        float[][] embeddings = [[1f, 0f], [0.7f, 0.7f]];

        Assert.Throws<InvalidOperationException>(() => absorption.Absorbed(labels, embeddings));
        var (catchAll, absorbed, offset) = absorption.Absorbed(labels, embeddings);

        Assert.Equal(1, catchAll);
        Assert.Equal([[0f, 1f]], absorbed); // grass, far from the offered sky
        Assert.Equal(0f, offset);
        absorption.Absorbed(labels, embeddings);
        Assert.Equal(2, calls); // encoded once it succeeded
    }
}

using LSeg.MLNet.Tests.Packages;

namespace LSeg.MLNet.Tests;

/// <summary>
/// <see cref="LanguageSegmentationModel.SegmentMultiScale"/>: several scales and the mirrored image combined before the
/// argmax (its agreement with the TorchSharp evaluator is held in the training bridge's PackageSegmenterTests).
/// </summary>
public sealed class MultiScaleSegmentationTests : IDisposable
{
    private readonly TemporaryDirectory _temp = new();
    private readonly LanguageSegmentationModel _model;

    public MultiScaleSegmentationTests() => _model = LanguageSegmentationModel.Load(ColourModelPackage.Write(_temp.Path));

    public void Dispose()
    {
        _model.Dispose();
        _temp.Dispose();
    }

    [Fact]
    public void Scales_and_flip_keep_a_two_colour_image_labelled_by_colour_at_its_original_size()
    {
        using var image = TestImages.RedLeftBlueRight(100, 60);

        var result = _model.SegmentMultiScale(image, _model.EncodeLabels(["blue", "green", "red"]), [0.5, 1, 1.5], flip: true);

        Assert.Equal((100, 60), (result.Width, result.Height));
        Assert.Equal(100L * 60, result.PixelCounts.Sum());
        Assert.Equal(0, TestImages.MislabelledAwayFromTheSeam(result, margin: 4));
    }

    [Fact]
    public void With_flip_the_mask_of_a_mirrored_image_is_the_mirrored_mask()
    {
        // A mirror-symmetric function of the image: a pass and its mirrored pass are added, so swapping them must mirror
        // the result. Any one-column shift of the mirrored pass's logits, or of the resizing, breaks it. The image is not
        // square, not a multiple of 32, and larger than its passes (the 64-wide sum is resized up to it by nearest
        // neighbour). Width 91, not 90: at 90 the nearest source of column 22 lies exactly on a boundary of the 64 source
        // columns ((22 + 0.5) × 64 / 90 = 16), where rounding picks the right-hand one for column 22 and for its mirror
        // 67 alike, so that one column is not mirror-symmetric by construction; at 91 only the centre column is.
        // Pure colours in blocks (the colour package labels pixels by their nearest pure colour).
        (byte, byte, byte)[] colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (0, 0, 0)];
        (byte, byte, byte) At(int x, int y) => colours[((x / 13) * 7 + (y / 9) * 3 + (x / 13) * (y / 9)) % colours.Length];
        using var image = TestImages.Paint(91, 50, At);
        using var mirrored = TestImages.Paint(91, 50, (x, y) => At(90 - x, y));
        var labels = _model.EncodeLabels(["red", "green", "blue", "yellow", "black"]);

        var result = _model.SegmentMultiScale(image, labels, [0.75, 1.0], flip: true, inputSize: 48);
        var ofMirrored = _model.SegmentMultiScale(mirrored, labels, [0.75, 1.0], flip: true, inputSize: 48);

        Assert.True(result.Mask.Distinct().Count() > 2, "the blocks must not all get one or two labels (the test would be vacuous)");
        int mirroredAgreeing = 0;
        for (int y = 0; y < 50; y++)
        {
            for (int x = 0; x < 91; x++)
                mirroredAgreeing += result.Mask[y * 91 + x] == ofMirrored.Mask[y * 91 + 90 - x] ? 1 : 0;
        }
        // Ties between labels are the only freedom (float sums in another order): none is expected on colour blocks.
        Assert.Equal(91 * 50, mirroredAgreeing);
    }

    [Fact]
    public void One_pass_at_scale_1_is_the_ordinary_segmentation_when_the_image_is_the_models_output_size()
    {
        using var image = TestImages.ColourBlocks(64, 64, seed: 5);
        var labels = _model.EncodeLabels(["red", "green", "blue", "yellow", "black"]);

        var single = _model.Segment(_model.EncodeImage(image, 64), labels);
        var combined = _model.SegmentMultiScale(image, labels, [1.0], flip: false, inputSize: 64);

        Assert.True(single.Mask.Distinct().Count() > 1, "the blocks must not all get one label (the test would be vacuous)");
        Assert.Equal(single.Mask, combined.Mask);
        Assert.All(single.Scores.Zip(combined.Scores), p => Assert.Equal(p.First, p.Second, 1e-4));
    }

    [Fact]
    public void At_scale_1_an_input_size_between_two_multiples_of_32_is_rounded_as_the_single_pass_rounds_it()
    {
        // 80 is 2.5 × 32: the single pass rounds it away from zero, to 96. Multi-scale rounded it to even (64), so
        // "scale 1" (and every --flip run) encoded at another size than the pass it claims to repeat. The image is
        // 96 × 96, the single pass's output size, so that neither result is resized after the head.
        using var image = TestImages.ColourBlocks(96, 96, seed: 7);
        var labels = _model.EncodeLabels(["red", "green", "blue", "yellow", "black"]);

        var single = _model.Segment(_model.EncodeImage(image, 80), labels);
        var combined = _model.SegmentMultiScale(image, labels, [1.0], flip: false, inputSize: 80);

        Assert.Equal(single.Mask, combined.Mask);
        Assert.All(single.Scores.Zip(combined.Scores), p => Assert.Equal(p.First, p.Second, 1e-4));
    }

    [Fact]
    public void Two_scales_that_give_the_same_encoder_input_are_refused_instead_of_counting_one_pass_twice()
    {
        using var image = TestImages.RedLeftBlueRight(64, 64);

        // 320 × 1.04 = 332.8: its longer side rounds to 320 as scale 1's does.
        var error = Assert.Throws<ArgumentException>(() => _model.SegmentMultiScale(image, _model.EncodeLabels(["red"]), [1.0, 1.04], inputSize: 320));

        Assert.Equal("scales", error.ParamName);
        Assert.Contains("The scales 1 and 1.04 × input size 320 both give an input of 320 pixels", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void With_flip_the_mirrored_image_gets_the_mirrored_mask()
    {
        using var image = TestImages.ColourBlocks(72, 48, seed: 6);
        byte[] pixels = image.Pixels.ToArray();
        using var mirror = TestImages.Paint(72, 48, (x, y) =>
        {
            int o = (y * 72 + 71 - x) * 4;
            return (pixels[o], pixels[o + 1], pixels[o + 2]);
        });
        var labels = _model.EncodeLabels(["red", "green", "blue", "yellow", "black"]);

        var result = _model.SegmentMultiScale(image, labels, [0.5, 1], flip: true, inputSize: 64);
        var mirrored = _model.SegmentMultiScale(mirror, labels, [0.5, 1], flip: true, inputSize: 64);

        // Resampling rounds differently on the two sides, so near-ties on a label edge may go either way; nowhere else.
        int differ = 0, differInside = 0;
        for (int y = 0; y < 48; y++)
        {
            for (int x = 0; x < 72; x++)
            {
                if (result.Mask[y * 72 + x] == mirrored.Mask[y * 72 + 71 - x])
                    continue;
                differ++;
                differInside += OnEdge(result.Mask, 72, 48, x, y) ? 0 : 1;
            }
        }
        Assert.True(result.Mask.Distinct().Count() > 1, "the blocks must not all get one label (the test would be vacuous)");
        Assert.True(differ < 0.05 * 72 * 48, $"{differ} of {72 * 48} pixels differ from the mirror's");
        Assert.Equal(0, differInside);
    }

    private static bool OnEdge(int[] mask, int width, int height, int x, int y)
    {
        for (int dy = -2; dy <= 2; dy++)
        {
            for (int dx = -2; dx <= 2; dx++)
            {
                int nx = Math.Clamp(x + dx, 0, width - 1), ny = Math.Clamp(y + dy, 0, height - 1);
                if (mask[ny * width + nx] != mask[y * width + x])
                    return true;
            }
        }
        return false;
    }

    [Fact]
    public void An_image_larger_than_the_largest_pass_comes_back_at_its_own_size()
    {
        using var image = TestImages.RedLeftBlueRight(400, 300);

        var result = _model.SegmentMultiScale(image, _model.EncodeLabels(["red", "blue"]), [0.5, 1], flip: true, inputSize: 64);

        Assert.Equal((400, 300), (result.Width, result.Height));
        Assert.Equal(400L * 300, result.PixelCounts.Sum());
        Assert.Equal("red", result.LabelAt(20, 150));
        Assert.Equal("blue", result.LabelAt(380, 150));
    }

    [Theory]
    [InlineData(new double[0], "at least one scale")]
    [InlineData(new[] { 1.0, 0.0 }, "positive")]
    [InlineData(new[] { double.NaN }, "positive")]
    public void Scales_that_are_missing_or_not_positive_are_refused(double[] scales, string message)
    {
        using var image = TestImages.RedLeftBlueRight(64, 64);

        var error = Assert.Throws<ArgumentException>(() => _model.SegmentMultiScale(image, _model.EncodeLabels(["red"]), scales));

        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(100.0, "A scale of 100 × input size 64 is 6400 pixels")]
    [InlineData(0.25, "A scale of 0.25 × input size 64 is 16 pixels")]
    [InlineData(0.01, "A scale of 0.01 × input size 64 is 0.6 pixels")]
    [InlineData(1e12, "A scale of 1000000000000 × input size 64 is")]
    public void A_scale_that_takes_the_input_size_out_of_range_is_refused_naming_the_scale(double scale, string expected)
    {
        using var image = TestImages.RedLeftBlueRight(64, 64);

        // Before: a small scale was rounded up to one 32-pixel pass and a huge one overflowed to it, silently.
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => _model.SegmentMultiScale(image, _model.EncodeLabels(["red"]), [1.0, scale], inputSize: 64));

        Assert.Equal("scales", error.ParamName);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.Contains("must be 32 to 2048", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Labels_of_another_model_are_refused()
    {
        using var other = LanguageSegmentationModel.Load(ColourModelPackage.Write(_temp.Path));
        using var image = TestImages.RedLeftBlueRight(64, 64);

        var error = Assert.Throws<ArgumentException>(() => _model.SegmentMultiScale(image, other.EncodeLabels(["red"]), [1.0]));

        Assert.Contains("another LanguageSegmentationModel", error.Message, StringComparison.Ordinal);
    }
}

using LSeg.MLNet.Imaging;
using LSeg.MLNet.Runtime;
using LSeg.Tests.Shared;
using LSeg.Training.Bridge.Data;
using LSeg.Training.Bridge.Evaluation;

namespace LSeg.Training.Bridge.Tests.Data;

/// <summary>
/// Training crops, evaluation and inference resize a photo by one rule, so the network sees the same pixels for the
/// same photo whichever path it runs on.
/// </summary>
public class OneResamplingRuleTests
{
    [Fact]
    public void BilinearResizingUsesHalfPixelCentresLikeTorchWithoutAlignCorners()
    {
        // torch.nn.functional.interpolate([[0, 100]], size=4, mode="linear", align_corners=False) = [0, 25, 75, 100].
        float[] source = [0, 100];
        var taps = Resampling.Bilinear(source.Length, 4);
        float[] resized = Enumerable.Range(0, 4)
            .Select(i => Resampling.Blend(source[taps.Lower[i]], source[taps.Upper[i]], 0, 0, taps.Weight[i], fy: 0)).ToArray();

        Assert.Equal(new[] { 0f, 25f, 75f, 100f }, resized);
    }

    [Fact]
    public void NearestNeighbourPicksThePixelThatCoversEachCentre()
    {
        Assert.Equal(new[] { 1, 3 }, Resampling.Nearest(4, 2));
        Assert.Equal(new[] { 0, 0, 1, 1 }, Resampling.Nearest(2, 4));
        Assert.Equal(new[] { 0, 1, 1, 2 }, Resampling.Nearest(3, 4));
    }

    [Fact]
    public void A_translucent_png_gives_training_the_pixels_inference_reads()
    {
        // Every alpha from 0 to 255 over a white colour: segmentation composites it over black (ML.NET's decode);
        // training decoded it unpremultiplied and kept the white under a transparent pixel.
        const int width = 16, height = 16;
        var rgba = new byte[width * height * 4];
        for (int i = 0; i < width * height; i++)
        {
            rgba[i * 4] = 255;
            rgba[i * 4 + 1] = (byte)(i * 7);
            rgba[i * 4 + 2] = 200;
            rgba[i * 4 + 3] = (byte)i;
        }
        string path = Path.Combine(Path.GetTempPath(), $"lseg-translucent-{Guid.NewGuid():N}.png");
        File.WriteAllBytes(path, RawPng.Encode(width, height, bitDepth: 8, colourType: 6, rgba));
        try
        {
            var training = RgbImage.Load(path);
            using var inference = ImageFileReader.Read(path);
            var expected = new byte[width * height * 3];
            var pixels = inference.Pixels.ToArray();
            bool bgra = inference.PixelFormat == Microsoft.ML.Data.MLPixelFormat.Bgra32;
            for (int i = 0; i < width * height; i++)
            {
                expected[i * 3] = pixels[i * 4 + (bgra ? 2 : 0)];
                expected[i * 3 + 1] = pixels[i * 4 + 1];
                expected[i * 3 + 2] = pixels[i * 4 + (bgra ? 0 : 2)];
            }

            Assert.Equal(expected, training.Pixels);
            Assert.Equal([0, 0, 0], training.Pixels[..3]); // alpha 0: black, not the stored white
        }
        finally
        {
            File.Delete(path);
        }
    }

    [SkippableFact]
    public void TrainingEvaluationAndInferenceSeeTheSamePixelsForTheSamePhoto()
    {
        string folder = SharedData.RequireDirectory("images");
        string photo = Directory.EnumerateFiles(folder, "*.jpg").Order(StringComparer.Ordinal).First();
        // A 300×200 region of the photo at scale 0.96 is 288×192: a training crop (multiples of 32) that covers exactly
        // the scaled image, so its offset is 0 and the three paths resize the same pixels to the same size.
        var image = Region(RgbImage.Load(photo), 300, 200);
        const double scale = 0.96;
        const int width = 288, height = 192;

        // Inference: the low-level API and the ML.NET pipeline both call ImagePixels on the decoded MLImage.
        using var mlImage = PackageSegmenter.ToMLImage(image);
        float[] inference = ImagePixels.ToPlanarRgb(mlImage, width, height);
        // Evaluation: what TorchSegmenter feeds the TorchSharp network.
        float[] evaluation = image.ToPlanarFloats(width, height);
        // Training: a crop at exactly this scale, as large as the scaled image, not mirrored.
        var augmenter = new Augmenter(new AugmentationOptions { CropWidth = width, CropHeight = height, ScaleMin = scale, ScaleMax = scale, FlipProbability = 0 });
        var training = new float[3 * width * height];
        var targets = new byte[width * height];
        var sample = new SegmentationSample("photo", image, new LabelMap(image.Width, image.Height, new byte[image.Width * image.Height]));
        augmenter.Crop(sample, Enumerable.Repeat((byte)0, 256).ToArray(), new Random(1), training, targets);

        Assert.Equal(inference, evaluation);
        Assert.Equal(inference, training);
    }

    [SkippableFact]
    public void EvaluationFeedsTheNetworkTheInputSizeInferenceChooses()
    {
        string folder = SharedData.RequireDirectory("images");
        var image = RgbImage.Load(Path.Combine(folder, "dog.jpg"));

        var (pixels, width, height) = TorchSegmenter.InputPixels(image, 320);

        // By hand: 768 × 576 at 320 is 320 × 240, and 240 = 7.5 × 32 rounds away from zero to 8 × 32 = 256, as inference does.
        Assert.Equal((768, 576), (image.Width, image.Height));
        Assert.Equal((320, 256), (width, height));
        using var mlImage = PackageSegmenter.ToMLImage(image);
        Assert.Equal(ImagePixels.ToPlanarRgb(mlImage, width, height), pixels);
    }

    private static RgbImage Region(RgbImage photo, int width, int height)
    {
        var pixels = new byte[width * height * 3];
        for (int y = 0; y < height; y++)
            Array.Copy(photo.Pixels, y * photo.Width * 3, pixels, y * width * 3, width * 3);
        return new RgbImage(width, height, pixels);
    }
}

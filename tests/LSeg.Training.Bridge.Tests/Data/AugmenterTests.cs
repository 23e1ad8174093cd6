using LSeg.Training.Bridge.Data;

namespace LSeg.Training.Bridge.Tests.Data;

public class AugmenterTests
{
    private static readonly byte[] Identity = Enumerable.Range(0, 256).Select(v => (byte)v).ToArray();

    // A 64×32 image whose label is the column index / 8 (0..7) and whose red channel is the column index × 4.
    private static SegmentationSample Columns()
    {
        int w = 64, h = 32;
        var labels = new byte[w * h];
        var pixels = new byte[w * h * 3];
        for (int y = 0; y < h; y++)
        {
            for (int x = 0; x < w; x++)
            {
                labels[y * w + x] = (byte)(x / 8);
                pixels[(y * w + x) * 3] = (byte)(x * 4);
            }
        }
        return new SegmentationSample("columns", new RgbImage(w, h, pixels), new LabelMap(w, h, labels));
    }

    [Fact]
    public void AtScaleOneWithoutFlipACropCopiesAWindowOfTheImageAndItsLabels()
    {
        var augmenter = new Augmenter(new AugmentationOptions { CropHeight = 32, CropWidth = 32, ScaleMin = 1, ScaleMax = 1, FlipProbability = 0 });
        var pixels = new float[3 * 32 * 32];
        var targets = new byte[32 * 32];

        augmenter.Crop(Columns(), Identity, new Random(3), pixels, targets);

        // Whatever the offset, each crop column's label must match its red value (label = red / 32).
        for (int x = 0; x < 32; x++)
            Assert.Equal((byte)(pixels[x] / 32), targets[x]);
        Assert.Equal(4f, pixels[1] - pixels[0]);
    }

    [Fact]
    public void AFlippedCropMirrorsColumns()
    {
        var augmenter = new Augmenter(new AugmentationOptions { CropHeight = 32, CropWidth = 64, ScaleMin = 1, ScaleMax = 1, FlipProbability = 1 });
        var pixels = new float[3 * 32 * 64];
        var targets = new byte[32 * 64];

        augmenter.Crop(Columns(), Identity, new Random(1), pixels, targets);

        Assert.Equal(7, targets[0]);
        Assert.Equal(0, targets[63]);
        Assert.Equal(63 * 4f, pixels[0]);
    }

    [Fact]
    public void WhereTheCropExceedsTheImageItIsPaddedWithIgnoredTargets()
    {
        // The image is 64×32; a 64×64 crop at scale 1 must pad 32 rows, all ignored.
        var augmenter = new Augmenter(new AugmentationOptions { CropHeight = 64, CropWidth = 64, ScaleMin = 1, ScaleMax = 1, FlipProbability = 0 });
        var pixels = new float[3 * 64 * 64];
        var targets = new byte[64 * 64];

        augmenter.Crop(Columns(), Identity, new Random(5), pixels, targets);

        Assert.Equal(32 * 64, targets.Count(t => t == Augmenter.IgnoreTarget));
        Assert.Equal(32 * 64, targets.Count(t => t != Augmenter.IgnoreTarget));
    }

    [Fact]
    public void TheTargetTableMapsVoidToIgnore()
    {
        var table = Enumerable.Repeat(Augmenter.IgnoreTarget, 256).ToArray();
        table[3] = 0;
        var augmenter = new Augmenter(new AugmentationOptions { CropHeight = 32, CropWidth = 64, ScaleMin = 1, ScaleMax = 1, FlipProbability = 0 });
        var targets = new byte[32 * 64];

        augmenter.Crop(Columns(), table, new Random(1), new float[3 * 32 * 64], targets);

        Assert.Equal(8 * 32, targets.Count(t => t == 0));
        Assert.Equal(56 * 32, targets.Count(t => t == Augmenter.IgnoreTarget));
    }

    [Fact]
    public void TheSameSeedGivesTheSameCrop()
    {
        var options = new AugmentationOptions { CropHeight = 32, CropWidth = 32, ScaleMin = 0.5, ScaleMax = 2 };
        var a = (new float[3 * 32 * 32], new byte[32 * 32]);
        var b = (new float[3 * 32 * 32], new byte[32 * 32]);

        new Augmenter(options).Crop(Columns(), Identity, new Random(42), a.Item1, a.Item2);
        new Augmenter(options).Crop(Columns(), Identity, new Random(42), b.Item1, b.Item2);

        Assert.Equal(a.Item1, b.Item1);
        Assert.Equal(a.Item2, b.Item2);
    }

    [Fact]
    public void CropSizesThatAreNotMultiplesOf32AreRejected()
    {
        var error = Assert.Throws<ArgumentException>(() => new Augmenter(new AugmentationOptions { CropHeight = 100, CropWidth = 64 }));
        Assert.Contains("100", error.Message);
    }
}

using LSeg.MLNet.Rendering;
using SkiaSharp;

namespace LSeg.MLNet.Tests.Rendering;

public class OverlayRendererTests
{
    private const int Width = 400, Height = 200;

    private static SKBitmap GreyPhoto(byte value)
    {
        var photo = new SKBitmap(new SKImageInfo(Width, Height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        photo.Erase(new SKColor(value, value, value));
        return photo;
    }

    /// <summary>Left half label 0, right half label 1.</summary>
    private static int[] HalvesMask()
    {
        var mask = new int[Width * Height];
        for (int y = 0; y < Height; y++)
            for (int x = Width / 2; x < Width; x++)
                mask[y * Width + x] = 1;
        return mask;
    }

    private static (byte R, byte G, byte B) PixelAt(SKBitmap bitmap, int x, int y)
    {
        var color = bitmap.GetPixel(x, y);
        return (color.Red, color.Green, color.Blue);
    }

    [Fact]
    public void Each_photo_pixel_is_half_photo_half_its_label_colour()
    {
        using var photo = GreyPhoto(100);
        using var overlay = OverlayRenderer.Render(photo, HalvesMask(), ["sky", "grass"]);

        // Label 0 is (230, 25, 75) and label 1 is (60, 180, 75) in the palette: 50/50 with grey 100.
        var left = PixelAt(overlay, 50, 100);
        var right = PixelAt(overlay, 350, 100);
        AssertNear((165, 62.5, 87.5), left);
        AssertNear((80, 140, 87.5), right);
    }

    [Fact]
    public void The_boundary_between_two_labels_is_outlined_and_the_legend_sits_below_the_photo()
    {
        using var photo = GreyPhoto(100);
        using var overlay = OverlayRenderer.Render(photo, HalvesMask(), ["sky", "grass"]);

        Assert.Equal(Width, overlay.Width);
        Assert.True(overlay.Height > Height, $"overlay height {overlay.Height} leaves no room for a legend below the {Height}-pixel photo");
        Assert.Equal((0, 0, 0), PixelAt(overlay, Width / 2 - 1, 10));
        Assert.NotEqual((0, 0, 0), PixelAt(overlay, Width / 2 - 2, 10));

        // The legend holds both label colours (swatches) and white text pixels.
        var legendColours = new HashSet<(byte, byte, byte)>();
        for (int y = Height; y < overlay.Height; y++)
            for (int x = 0; x < Width; x++)
                legendColours.Add(PixelAt(overlay, x, y));
        Assert.Contains(((byte)230, (byte)25, (byte)75), legendColours);
        Assert.Contains(((byte)60, (byte)180, (byte)75), legendColours);
        Assert.Contains(((byte)245, (byte)245, (byte)245), legendColours);
    }

    [Fact]
    public void Many_labels_wrap_the_legend_onto_more_rows()
    {
        using var photo = GreyPhoto(100);
        var mask = HalvesMask();
        using var two = OverlayRenderer.Render(photo, mask, ["sky", "grass"]);
        var many = Enumerable.Range(0, 12).Select(i => $"a rather long label {i}").ToArray();
        using var twelve = OverlayRenderer.Render(photo, mask, many);

        Assert.True(twelve.Height > two.Height, $"12 long labels ({twelve.Height} px) should need more legend rows than 2 short ones ({two.Height} px)");
    }

    /// <summary>Legend text pixels (near-white, outside the swatch column) of a one-label overlay of a photo this wide.</summary>
    private static int TextPixelCount(string label, int width, out int legendHeight)
    {
        using var photo = new SKBitmap(new SKImageInfo(width, Height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        photo.Erase(new SKColor(100, 100, 100));
        using var overlay = OverlayRenderer.Render(photo, new int[width * Height], [label]);
        int scale = OverlayRenderer.FontScale(width), textLeft = 3 * scale + 10 * scale;
        int count = 0;
        for (int y = Height; y < overlay.Height; y++)
            for (int x = textLeft; x < width; x++)
                count += overlay.GetPixel(x, y).Red > 200 ? 1 : 0;
        legendHeight = overlay.Height - Height;
        return count;
    }

    [Fact]
    public void A_legend_entry_wider_than_a_narrow_photo_wraps_instead_of_being_cut_off()
    {
        const string label = "a label much wider than the photo";
        int wide = TextPixelCount(label, 590, out int oneLine);
        int narrow = TextPixelCount(label, 120, out int wrapped);

        // Both widths draw at the same font scale. At 120 px the text needs several lines; every glyph is still drawn (the same glyphs, so about the same
        // number of text pixels as on one line of a wide photo: antialiasing at other sub-pixel positions differs).
        Assert.True(wrapped > oneLine, $"the narrow legend ({wrapped} px) should be taller than one line ({oneLine} px)");
        Assert.InRange(narrow, wide * 0.85, wide * 1.15);
    }

    [Fact]
    public void Pixel_counts_and_shares_follow_the_mask()
    {
        var counts = OverlayRenderer.CountPixels([0, 0, 2, 2, 2, 2, 0, 1], 3);

        Assert.Equal([3L, 1L, 4L], counts);
        Assert.Equal(50.0, OverlayRenderer.Share(counts[2], 8));
    }

    /// <summary>The legend text pixels of a one-label overlay.</summary>
    private static string LegendPixels(string label)
    {
        using var photo = GreyPhoto(100);
        using var overlay = OverlayRenderer.Render(photo, new int[Width * Height], [label]);
        var text = new System.Text.StringBuilder();
        for (int y = Height; y < overlay.Height; y++)
            for (int x = 0; x < Width; x++)
                text.Append(overlay.GetPixel(x, y).Red > 200 && overlay.GetPixel(x, y).Blue > 200 ? '#' : '.');
        return text.ToString();
    }

    [Theory]
    [InlineData("猫")]      // CJK: the shipped Droid Sans Fallback subset
    [InlineData("ねこ")]     // Hiragana
    [InlineData("кошка")]   // Cyrillic: DejaVu Sans
    [InlineData("café")]
    public void Labels_in_other_scripts_are_drawn_with_real_glyphs_not_a_missing_glyph_box(string label)
    {
        // U+0378 is unassigned: no shipped font has it, so it draws as the missing-glyph box.
        string missing = LegendPixels(new string('\u0378', label.Length));

        Assert.NotEqual(missing, LegendPixels(label));
        Assert.All(label.EnumerateRunes(), r => Assert.True(LegendFont.Instance.Covers(r.Value), $"U+{r.Value:X4} is in no shipped font"));
        Assert.False(LegendFont.Instance.Covers(0x0378));
    }

    [Fact]
    public void Every_label_past_the_twentieth_gets_a_colour_clearly_apart_from_every_earlier_label()
    {
        // CIELAB (D65, ΔE 1976) computed here from the sRGB formulas; ΔE below about 10 is hard to tell apart once
        // tinted at half opacity. Golden-angle hues gave labels 8 and 32 ΔE 5.5.
        static (double L, double A, double B) Lab((byte R, byte G, byte B) c)
        {
            static double Linear(byte v) => v / 255.0 <= 0.04045 ? v / 255.0 / 12.92 : Math.Pow((v / 255.0 + 0.055) / 1.055, 2.4);
            double r = Linear(c.R), g = Linear(c.G), b = Linear(c.B);
            double x = (0.412453 * r + 0.357580 * g + 0.180423 * b) / 0.950456, y = 0.212671 * r + 0.715160 * g + 0.072169 * b, z = (0.019334 * r + 0.119193 * g + 0.950227 * b) / 1.088754;
            static double F(double t) => t > 0.008856 ? Math.Cbrt(t) : 7.787 * t + 16.0 / 116;
            return (116 * F(y) - 16, 500 * (F(x) - F(y)), 200 * (F(y) - F(z)));
        }
        var colours = Enumerable.Range(0, 256).Select(i => { var c = LabelPalette.ColorOf(i); return Lab((c.R, c.G, c.B)); }).ToList();
        double Delta(int i, int j) => Math.Sqrt(Math.Pow(colours[i].L - colours[j].L, 2) + Math.Pow(colours[i].A - colours[j].A, 2) + Math.Pow(colours[i].B - colours[j].B, 2));

        for (int i = 20; i < 64; i++)
            for (int j = 0; j < i; j++)
                Assert.True(Delta(i, j) > 10, $"labels {j} and {i}: ΔE {Delta(i, j):F1}");
        Assert.Equal(256, colours.Distinct().Count());
    }

    [Fact]
    public void Control_characters_and_escape_sequences_in_a_label_are_drawn_escaped()
    {
        Assert.Equal("red\\u001B[31m", LegendFont.Printable("red\u001b[31m"));
        Assert.Equal(LegendPixels("a\\u0007"), LegendPixels("a\u0007"));
        // Bidi overrides stay visible; the zero-width (non-)joiner of ordinary Persian spelling is not shown as a code.
        Assert.Equal("a\\u202Eb", LegendFont.Printable("a\u202Eb"));
        Assert.Equal("درختها", LegendFont.Printable("درخت\u200Cها"));
    }

    private static void AssertNear((double R, double G, double B) expected, (byte R, byte G, byte B) actual)
    {
        Assert.True(Math.Abs(expected.R - actual.R) <= 1 && Math.Abs(expected.G - actual.G) <= 1 && Math.Abs(expected.B - actual.B) <= 1,
            $"expected about {expected}, got {actual}");
    }
}

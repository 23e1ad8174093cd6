using LSeg.Cli.Rendering;
using SkiaSharp;

namespace LSeg.Cli.Tests;

public class MaskPngTests
{
    [Fact]
    public void A_written_mask_decodes_with_SkiaSharp_to_the_same_8_bit_label_indices()
    {
        const int width = 37, height = 11;
        var mask = new int[width * height];
        for (int i = 0; i < mask.Length; i++)
            mask[i] = (i * 7) % 256;
        using var stream = new MemoryStream();

        MaskPng.Write(stream, width, height, mask);

        byte[] png = stream.ToArray();
        Assert.Equal(8, png[24]);  // IHDR bit depth
        Assert.Equal(0, png[25]);  // IHDR colour type: greyscale
        using var decoded = SKBitmap.Decode(png);
        Assert.NotNull(decoded);
        Assert.Equal((width, height), (decoded.Width, decoded.Height));
        Assert.Equal(SKColorType.Gray8, decoded.ColorType);
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
                Assert.Equal(mask[y * width + x], decoded.GetPixelSpan()[y * decoded.RowBytes + x]);
    }

    [Fact]
    public void A_label_index_that_does_not_fit_8_bits_is_refused()
    {
        var error = Assert.Throws<ArgumentException>(() => MaskPng.Write(new MemoryStream(), 2, 1, [0, 256]));
        Assert.Contains("256", error.Message);
    }

    [Fact]
    public void A_mask_of_the_wrong_length_is_refused()
    {
        Assert.Throws<ArgumentException>(() => MaskPng.Write(new MemoryStream(), 3, 3, new int[8]));
    }
}

using LSeg.MLNet.Imaging;
using LSeg.Tests.Shared;
using LSeg.Training.Bridge.Data;

namespace LSeg.Training.Bridge.Tests.Data;

public class IndexPngTests
{
    [Fact]
    public void AWrittenLabelMapReadsBackValueForValue()
    {
        var values = Enumerable.Range(0, 7 * 5).Select(i => (byte)(i * 7 % 256)).ToArray();
        string path = Path.GetTempFileName();
        try
        {
            new LabelMap(7, 5, values).Save(path);
            var read = LabelMap.Load(path);
            Assert.Equal((7, 5), (read.Width, read.Height));
            Assert.Equal(values, read.Pixels);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void PaletteIndicesAreReadAsIndicesNotColours()
    {
        // A hand-built palette PNG whose palette maps index 1 to pure red: a colour decoder would see 76 (its grey
        // level); the label reader must see 1. Rows use the Sub and Up filters so unfiltering is exercised.
        byte[] png = PalettePng(3, 2, [[1, 0, 0], [0, 1, 2]], filters: [1, 2]);

        var map = IndexPng.Decode(png);

        Assert.Equal(new byte[] { 1, 0, 0, 0, 1, 2 }, map.Pixels);
    }

    [Fact]
    public void A16BitPngIsRefusedWithItsBitDepth()
    {
        byte[] png = PalettePng(1, 1, [[0]], filters: [0], bitDepth: 16, colorType: 0);

        var error = Assert.Throws<InvalidDataException>(() => IndexPng.Decode(png));

        Assert.Contains("bit depth 16", error.Message);
    }

    [Fact]
    public void APngCutShortIsRefusedAsTruncated()
    {
        var values = Enumerable.Range(0, 64 * 64).Select(i => (byte)(i * 31 % 251)).ToArray();
        byte[] png = IndexPng.Encode(64, 64, values);

        var error = Assert.Throws<InvalidDataException>(() => IndexPng.Decode(png.AsSpan(0, png.Length / 2)));

        Assert.Contains("truncated", error.Message);
    }

    [Fact]
    public void A_label_map_with_a_flipped_bit_in_its_image_data_is_refused_by_the_chunk_CRC_not_read_as_other_labels()
    {
        var values = Enumerable.Range(0, 16 * 16).Select(i => (byte)(i % 3)).ToArray();
        byte[] png = IndexPng.Encode(16, 16, values);
        int idatData = png.AsSpan().IndexOf("IDAT"u8) + 4;
        png[idatData + 10] ^= 0x01; // one bit of the compressed rows

        var error = Assert.Throws<InvalidDataException>(() => IndexPng.Decode(png));

        Assert.Contains("IDAT chunk at byte", error.Message);
        Assert.Contains("fails its CRC check", error.Message);
    }

    [Fact]
    public void A_label_map_without_its_IEND_chunk_is_refused_as_truncated()
    {
        byte[] png = IndexPng.Encode(16, 16, new byte[16 * 16]);

        var error = Assert.Throws<InvalidDataException>(() => IndexPng.Decode(png.AsSpan(0, png.Length - 12)));

        Assert.Contains("no IEND chunk", error.Message);
    }

    private static byte[] PalettePng(int width, int height, byte[][] rows, byte[] filters, byte bitDepth = 8, byte colorType = 3) =>
        RawPng.Encode(width, height, bitDepth, colorType,
            Enumerable.Range(0, height).Select(y => (filters[y], Filter(filters[y], rows[y], y > 0 ? rows[y - 1] : new byte[width]))),
            palette: [0, 0, 0, 255, 0, 0, 0, 255, 0]);

    private static byte[] Filter(byte filter, byte[] row, byte[] previous) => filter switch
    {
        0 => row,
        1 => row.Select((v, x) => (byte)(v - (x > 0 ? row[x - 1] : 0))).ToArray(),
        2 => row.Select((v, x) => (byte)(v - previous[x])).ToArray(),
        _ => throw new ArgumentOutOfRangeException(nameof(filter)),
    };
}

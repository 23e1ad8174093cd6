using System.IO.Compression;
using LSeg.MLNet.Imaging;
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

    private static byte[] PalettePng(int width, int height, byte[][] rows, byte[] filters, byte bitDepth = 8, byte colorType = 3)
    {
        using var stream = new MemoryStream();
        stream.Write([137, 80, 78, 71, 13, 10, 26, 10]);
        var header = new byte[13];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(header, width);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = bitDepth;
        header[9] = colorType;
        Chunk(stream, "IHDR", header);
        Chunk(stream, "PLTE", [0, 0, 0, 255, 0, 0, 0, 255, 0]);
        using var raw = new MemoryStream();
        using (var z = new ZLibStream(raw, CompressionLevel.Fastest, leaveOpen: true))
        {
            for (int y = 0; y < height; y++)
            {
                z.WriteByte(filters[y]);
                z.Write(Filter(filters[y], rows[y], y > 0 ? rows[y - 1] : new byte[width]));
            }
        }
        Chunk(stream, "IDAT", raw.ToArray());
        Chunk(stream, "IEND", []);
        return stream.ToArray();
    }

    private static byte[] Filter(byte filter, byte[] row, byte[] previous) => filter switch
    {
        0 => row,
        1 => row.Select((v, x) => (byte)(v - (x > 0 ? row[x - 1] : 0))).ToArray(),
        2 => row.Select((v, x) => (byte)(v - previous[x])).ToArray(),
        _ => throw new ArgumentOutOfRangeException(nameof(filter)),
    };

    // The reader does not check CRCs, so zeros are written.
    private static void Chunk(Stream stream, string type, byte[] data)
    {
        var length = new byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(length, data.Length);
        stream.Write(length);
        stream.Write(System.Text.Encoding.ASCII.GetBytes(type));
        stream.Write(data);
        stream.Write(new byte[4]);
    }
}

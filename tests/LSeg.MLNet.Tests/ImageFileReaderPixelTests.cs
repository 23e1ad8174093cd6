using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using LSeg.MLNet.Imaging;
using Microsoft.ML.Data;

namespace LSeg.MLNet.Tests;

/// <summary>
/// <see cref="ImageFileReader.Read"/> (used by <c>lseg segment</c> and the low-level API) and ML.NET's
/// <see cref="MLImage.CreateFromFile"/> (used by <c>LoadImages</c>, the server and <c>lseg batch</c>) must hand the model
/// the same pixels, or one image gives different masks on different paths.
/// </summary>
public sealed class ImageFileReaderPixelTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("lseg-reader-pixels-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void An_RGBA_png_with_varying_alpha_reads_as_the_same_pixels_as_MLImage_CreateFromFile()
    {
        const int width = 16, height = 16;
        var rgba = new byte[width * height * 4];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                int i = (y * width + x) * 4;
                rgba[i] = (byte)(x * 16 + 7);
                rgba[i + 1] = (byte)(255 - y * 13);
                rgba[i + 2] = (byte)((x * y * 5) % 256);
                rgba[i + 3] = (byte)((x + y * width) % 256); // every alpha from 0 to 255
            }
        string path = Path.Combine(_folder, "rgba.png");
        File.WriteAllBytes(path, Png(width, height, bitDepth: 8, colourType: 6, rgba));

        var (reader, mlImage) = BothReaders(path);

        Assert.Equal(mlImage, reader);
        // not vacuous: a half-transparent pixel is not its stored colour (ML.NET composites over black)
        Assert.NotEqual(rgba[..(width * 4)], RowOf(mlImage, 0, width));
    }

    [Fact]
    public void A_16_bit_RGB_png_reads_as_the_same_pixels_as_MLImage_CreateFromFile()
    {
        const int width = 320, height = 240;
        var rgb16 = new byte[width * height * 6];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                var sample = rgb16.AsSpan((y * width + x) * 6);
                BinaryPrimitives.WriteUInt16BigEndian(sample, (ushort)(x * 200 % 65536));
                BinaryPrimitives.WriteUInt16BigEndian(sample[2..], (ushort)(y * 270 % 65536));
                BinaryPrimitives.WriteUInt16BigEndian(sample[4..], 30000);
            }
        string path = Path.Combine(_folder, "rgb16.png");
        File.WriteAllBytes(path, Png(width, height, bitDepth: 16, colourType: 2, rgb16));

        var (reader, mlImage) = BothReaders(path);

        Assert.Equal(mlImage, reader);
    }

    /// <summary>Each reader's pixels as RGBA bytes, whatever channel order the MLImage holds.</summary>
    private static (byte[] Reader, byte[] MLImage) BothReaders(string path)
    {
        using var read = ImageFileReader.Read(path);
        using var created = MLImage.CreateFromFile(path);
        Assert.Equal((created.Width, created.Height), (read.Width, read.Height));
        return (AsRgba(read), AsRgba(created));
    }

    private static byte[] AsRgba(MLImage image)
    {
        var pixels = image.Pixels.ToArray();
        if (image.PixelFormat == MLPixelFormat.Bgra32)
            for (int i = 0; i < pixels.Length; i += 4)
                (pixels[i], pixels[i + 2]) = (pixels[i + 2], pixels[i]);
        return pixels;
    }

    private static byte[] RowOf(byte[] rgba, int y, int width) => rgba[(y * width * 4)..((y + 1) * width * 4)];

    /// <summary>A minimal PNG (no filtering, one IDAT), written here so the test does not depend on an encoder under test.</summary>
    private static byte[] Png(int width, int height, byte bitDepth, byte colourType, byte[] samples)
    {
        int rowBytes = samples.Length / height;
        var raw = new MemoryStream();
        for (int y = 0; y < height; y++)
        {
            raw.WriteByte(0); // filter: none
            raw.Write(samples, y * rowBytes, rowBytes);
        }
        var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
            raw.WriteTo(zlib);

        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = bitDepth;
        header[9] = colourType;
        var png = new MemoryStream();
        png.Write([137, 80, 78, 71, 13, 10, 26, 10]);
        Chunk(png, "IHDR", header);
        Chunk(png, "IDAT", compressed.ToArray());
        Chunk(png, "IEND", []);
        return png.ToArray();
    }

    private static void Chunk(Stream png, string type, byte[] data)
    {
        var typeAndData = Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
        var number = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(number, data.Length);
        png.Write(number);
        png.Write(typeAndData);
        BinaryPrimitives.WriteUInt32BigEndian(number, Crc32(typeAndData));
        png.Write(number);
    }

    private static uint Crc32(byte[] bytes)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in bytes)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++)
                crc = (crc & 1) != 0 ? 0xEDB88320 ^ (crc >> 1) : crc >> 1;
        }
        return ~crc;
    }
}

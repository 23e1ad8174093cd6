using System.Buffers.Binary;
using LSeg.MLNet.Imaging;
using LSeg.Tests.Shared;
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
        File.WriteAllBytes(path, RawPng.Encode(width, height, bitDepth: 8, colourType: 6, rgba));

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
        File.WriteAllBytes(path, RawPng.Encode(width, height, bitDepth: 16, colourType: 2, rgb16));

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
}

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
    public void A_png_whose_header_claims_more_pixels_than_LSeg_reads_is_refused_before_it_is_decoded()
    {
        // 30000×20000 grey (600 MP) in a few hundred bytes: decoding would allocate 2.4 GB before any size check, and
        // the byte count (width × height × 4) overflows an int.
        string path = Path.Combine(_folder, "huge.png");
        File.WriteAllBytes(path, RawPng.Encode(30000, 20000, bitDepth: 8, colourType: 0, [((byte)0, new byte[30000])]));

        var error = Assert.Throws<InvalidDataException>(() => ImageFileReader.Read(path));

        Assert.Contains("30000×20000 (600,000,000 pixels); LSeg reads at most 500,000,000", error.Message);
    }

    [Fact]
    public void A_png_larger_than_the_callers_bound_is_refused_on_its_header_and_one_within_it_is_read()
    {
        // 20000×10000 grey (200 MP, 800 MB once decoded to 32-bit colour) in a few hundred bytes: under LSeg's own
        // 500 MP, over a service's 40 MP bound, which is checked before any pixel is decoded.
        string path = Path.Combine(_folder, "large.png");
        File.WriteAllBytes(path, RawPng.Encode(20000, 10000, bitDepth: 8, colourType: 0, [((byte)0, new byte[20000])]));
        string small = Path.Combine(_folder, "small.png");
        File.WriteAllBytes(small, RawPng.Encode(4, 2, bitDepth: 8, colourType: 0, [((byte)0, new byte[4]), ((byte)0, new byte[4])]));

        var error = Assert.Throws<InvalidDataException>(() => ImageFileReader.Read(path, LanguageSegmentationModelOptions.Defaults.MaxImagePixels));
        using var read = ImageFileReader.Read(small, maxPixels: 8);

        Assert.Contains("20000×10000 (200,000,000 pixels), more than the 40,000,000 allowed (maxPixels)", error.Message);
        Assert.Equal((4, 2), (read.Width, read.Height));
        Assert.Throws<InvalidDataException>(() => ImageFileReader.Read(small, maxPixels: 7));
        Assert.Throws<ArgumentOutOfRangeException>(() => ImageFileReader.Read(small, maxPixels: 0));
    }

    [Fact]
    public void An_in_memory_image_is_checked_against_the_file_its_tag_names_only_when_that_file_has_its_size()
    {
        // A PNG cut short: 16 rows declared, 2 written.
        string truncated = Path.Combine(_folder, "truncated.png");
        File.WriteAllBytes(truncated, RawPng.Encode(16, 16, bitDepth: 8, colourType: 0, Enumerable.Range(0, 2).Select(_ => ((byte)0, new byte[16]))));
        using var sameSize = MLImage.CreateFromPixels(16, 16, MLPixelFormat.Bgra32, new byte[16 * 16 * 4]);
        using var otherSize = MLImage.CreateFromPixels(8, 8, MLPixelFormat.Bgra32, new byte[8 * 8 * 4]);
        sameSize.Tag = truncated;
        otherSize.Tag = truncated; // an application's own note, not where these pixels came from

        Assert.Throws<InvalidDataException>(() => Runtime.ImageDecoder.RequireCompleteSource(sameSize));
        Runtime.ImageDecoder.RequireCompleteSource(otherSize);
    }

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

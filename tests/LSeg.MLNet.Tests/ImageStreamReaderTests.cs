using LSeg.MLNet.Imaging;
using LSeg.MLNet.Tests.Packages;
using LSeg.Tests.Shared;
using Microsoft.ML.Data;

namespace LSeg.MLNet.Tests;

/// <summary>
/// <see cref="ImageFileReader.Read(Stream, long)"/>: an image held in memory (an upload) is read with the checks a file
/// gets, where <see cref="MLImage.CreateFromStream"/> accepts it cut short.
/// </summary>
public sealed class ImageStreamReaderTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("lseg-reader-stream-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string SaveBlocks(string name)
    {
        using var image = TestImages.ColourBlocks(150, 70, seed: 7);
        string path = Path.Combine(_folder, name);
        image.Save(path);
        return path;
    }

    [Fact]
    public void An_image_read_from_a_stream_has_the_pixels_of_the_same_file_read_from_its_path()
    {
        string path = SaveBlocks("blocks.png");

        using var fromPath = ImageFileReader.Read(path);
        using var stream = File.OpenRead(path);
        using var fromStream = ImageFileReader.Read(stream);

        Assert.Equal((fromPath.Width, fromPath.Height, fromPath.PixelFormat), (fromStream.Width, fromStream.Height, fromStream.PixelFormat));
        Assert.Equal(fromPath.Pixels.ToArray(), fromStream.Pixels.ToArray());
    }

    [Fact]
    public void An_image_cut_short_in_a_stream_is_refused_while_MLImage_CreateFromStream_accepts_it()
    {
        byte[] png = File.ReadAllBytes(SaveBlocks("whole.png"));
        byte[] half = png[..(png.Length / 2)];

        var error = Assert.Throws<InvalidDataException>(() => ImageFileReader.Read(new MemoryStream(half)));
        using var silentlyGrey = MLImage.CreateFromStream(new MemoryStream(half)); // what the check is for

        Assert.StartsWith($"The image ({half.Length:N0} bytes) is incomplete or corrupt", error.Message);
    }

    [Fact]
    public void An_image_in_a_stream_larger_than_the_callers_bound_is_refused_on_its_header()
    {
        // 20000×10000 grey in a few hundred bytes: refused before 800 MB are decoded.
        byte[] png = RawPng.Encode(20000, 10000, bitDepth: 8, colourType: 0, [((byte)0, new byte[20000])]);

        var error = Assert.Throws<InvalidDataException>(() => ImageFileReader.Read(new MemoryStream(png), LanguageSegmentationModelOptions.Defaults.MaxImagePixels));

        Assert.Contains("is 20000×10000 (200,000,000 pixels), more than the 40,000,000 allowed (maxPixels)", error.Message);
    }

    [Fact]
    public void An_empty_stream_and_bytes_of_no_image_format_are_refused_saying_so()
    {
        var empty = Assert.Throws<InvalidDataException>(() => ImageFileReader.Read(new MemoryStream()));
        var text = Assert.Throws<InvalidDataException>(() => ImageFileReader.Read(new MemoryStream("not an image at all"u8.ToArray())));

        Assert.Equal("The image is empty (0 bytes).", empty.Message);
        Assert.StartsWith("The image (19 bytes) is not an image LSeg can read (PNG, JPEG, BMP, GIF or WebP)", text.Message);
    }
}

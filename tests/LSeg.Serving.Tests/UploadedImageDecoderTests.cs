using LSeg.Serving.Api;
using Microsoft.ML.Data;
using SkiaSharp;

namespace LSeg.Serving.Tests;

/// <summary>The upload decoder gives exactly the pixels ML.NET's <see cref="MLImage.CreateFromStream"/> gives.</summary>
public sealed class UploadedImageDecoderTests
{
    public static TheoryData<string> Files => new()
    {
        "rgb.png", "rgb.jpg", "grey.png", "alpha.png", "chelsea.png",
    };

    [Theory]
    [MemberData(nameof(Files))]
    public void Pixels_equal_those_of_MLImage(string name)
    {
        byte[] bytes = Sample(name);

        using var expected = MLImage.CreateFromStream(new MemoryStream(bytes));
        using var decoded = UploadedImageDecoder.Decode(bytes, long.MaxValue, 1);

        Assert.Equal((expected.Width, expected.Height, expected.PixelFormat), (decoded.Width, decoded.Height, decoded.PixelFormat));
        Assert.True(expected.Pixels.SequenceEqual(decoded.Pixels), $"{name}: pixels differ from MLImage's");
    }

    [Fact]
    public void The_samples_cover_a_colour_type_that_must_be_converted_to_32_bits()
    {
        using var codec = SKCodec.Create(SKData.CreateCopy(Sample("grey.png")));

        Assert.Equal(SKColorType.Gray8, codec.Info.ColorType);
    }

    private static byte[] Sample(string name)
    {
        return name switch
        {
            "rgb.png" => Pictures.Noise(33, 21, seed: 11),
            "rgb.jpg" => Pictures.Encode(33, 21, (x, y) => ((byte)(x * 7), (byte)(y * 11), 90), SKEncodedImageFormat.Jpeg),
            "grey.png" => Encode(new SKImageInfo(17, 9, SKColorType.Gray8, SKAlphaType.Opaque), (x, y) => new SKColor((byte)(x * 13), (byte)(x * 13), (byte)(x * 13))),
            "alpha.png" => Encode(new SKImageInfo(17, 9, SKColorType.Rgba8888, SKAlphaType.Unpremul), (x, y) => new SKColor(200, (byte)(y * 20), 50, (byte)(x * 15))),
            "chelsea.png" => Pictures.Example("chelsea.png"),
            _ => throw new ArgumentOutOfRangeException(nameof(name)),
        };
    }

    private static byte[] Encode(SKImageInfo info, Func<int, int, SKColor> colourAt)
    {
        using var bitmap = new SKBitmap(info);
        for (int y = 0; y < info.Height; y++)
            for (int x = 0; x < info.Width; x++)
                bitmap.SetPixel(x, y, colourAt(x, y));
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }
}

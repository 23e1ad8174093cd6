using LSeg.MLNet.Tests.Packages;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace LSeg.MLNet.Tests.MLNet;

/// <summary>One row of the image table: the file name of an image.</summary>
public sealed class ImageFileRow
{
    public string ImagePath { get; set; } = "";
}

/// <summary>A row with its own labels.</summary>
public sealed class ImageFileWithLabelsRow
{
    public string ImagePath { get; set; } = "";

    public string[] Labels { get; set; } = [];
}

/// <summary>The colour package loaded once, and a folder of PNG images with known content.</summary>
public sealed class PipelineFixture : IDisposable
{
    private readonly TemporaryDirectory _temp = new();

    public PipelineFixture()
    {
        PackagePath = ColourModelPackage.Write(_temp.Path);
        Model = LanguageSegmentationModel.Load(PackagePath);
        ImageFolder = Path.Combine(_temp.Path, "images");
        Directory.CreateDirectory(ImageFolder);
        Save("red-blue-100x60.png", TestImages.RedLeftBlueRight(100, 60));
        Save("green-yellow-90x150.png", TestImages.GreenTopYellowBottom(90, 150));
        Save("red-blue-64x64.png", TestImages.RedLeftBlueRight(64, 64));
        Save("tiny-1x1.png", TestImages.Paint(1, 1, (_, _) => (255, 0, 0)));
        Save("blocks-150x70.png", TestImages.ColourBlocks(150, 70, seed: 5));
        byte[] photo = File.ReadAllBytes(Path.Combine(ImageFolder, "blocks-150x70.png"));
        File.WriteAllBytes(Path.Combine(ImageFolder, "cut-in-half.png"), photo[..(photo.Length / 2)]);
        File.WriteAllText(Path.Combine(ImageFolder, "broken.png"), "this is not a PNG file");
    }

    public string PackagePath { get; }

    public LanguageSegmentationModel Model { get; }

    public string ImageFolder { get; }

    public string TempPath => _temp.Path;

    public static readonly string[] GoodImages = ["red-blue-100x60.png", "green-yellow-90x150.png", "red-blue-64x64.png"];

    private void Save(string name, MLImage image)
    {
        using (image)
            image.Save(Path.Combine(ImageFolder, name));
    }

    /// <summary>A data view of images loaded from the folder, in the column "Image".</summary>
    public IDataView LoadImages(MLContext context, params string[] files)
    {
        var table = context.Data.LoadFromEnumerable(files.Select(f => new ImageFileRow { ImagePath = f }));
        return context.Transforms.LoadImages("Image", ImageFolder, nameof(ImageFileRow.ImagePath)).Fit(table).Transform(table);
    }

    public void Dispose()
    {
        Model.Dispose();
        _temp.Dispose();
    }
}

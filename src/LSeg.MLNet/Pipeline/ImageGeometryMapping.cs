using System.ComponentModel;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms;

namespace LSeg.MLNet.Pipeline;

/// <summary>Input of <see cref="ImageGeometryMapping"/>: the image column copied to a fixed name.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class ImageGeometryInput
{
    static ImageGeometryInput() => ImageTypeRegistration.EnsureRegistered();

    /// <summary>The image to segment.</summary>
    [ColumnName(PipelineColumns.Image)]
    public MLImage? Image { get; set; }
}

/// <summary>Output of <see cref="ImageGeometryMapping"/>.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class ImageGeometryOutput
{
    /// <summary>Width of the original image.</summary>
    [ColumnName(PipelineColumns.OriginalWidth)]
    public int Width { get; set; }

    /// <summary>Height of the original image.</summary>
    [ColumnName(PipelineColumns.OriginalHeight)]
    public int Height { get; set; }

    /// <summary>
    /// A private copy of the image for ResizeImages: when an image already has the target size, ResizeImages passes
    /// it through and disposes it at the next row, which would dispose the caller's image (e.g. a PredictionEngine input).
    /// </summary>
    [ColumnName(PipelineColumns.ImageCopy)]
    public MLImage? Image { get; set; }

    /// <summary>Always 1: the key that a value mapping turns into the constant label embeddings of the row.</summary>
    [ColumnName(PipelineColumns.Constant)]
    public uint Constant { get; set; }
}

/// <summary>
/// Records each image's original size (so the label map can be mapped back to it) and checks it. Stateless, saved
/// by its contract name, so a saved pipeline reloads it in a new process.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
[CustomMappingFactoryAttribute(ContractName)]
public sealed class ImageGeometryMapping : CustomMappingFactory<ImageGeometryInput, ImageGeometryOutput>
{
    /// <summary>The contract name stored in saved models.</summary>
    public const string ContractName = "LSeg.ImageGeometry";

    static ImageGeometryMapping() => ImageTypeRegistration.EnsureRegistered();

    /// <summary>Fills <paramref name="output"/> from <paramref name="input"/>.</summary>
    /// <exception cref="ArgumentException">The image is missing, too small or too large.</exception>
    public static void Map(ImageGeometryInput input, ImageGeometryOutput output)
    {
        var image = input.Image ?? throw new ArgumentException("The image column holds no image (was the file readable?).", nameof(input));
        int width = image.Width, height = image.Height;
        if (width < LanguageSegmentationModelOptions.Defaults.MinImageSide || height < LanguageSegmentationModelOptions.Defaults.MinImageSide)
            throw new ArgumentException($"An image is {width}×{height} pixels; LSeg needs at least {LanguageSegmentationModelOptions.Defaults.MinImageSide} pixels on each side.", nameof(input));
        if ((long)width * height > LanguageSegmentationModelOptions.Defaults.MaxImagePixels)
            throw new ArgumentException($"An image is {width}×{height} = {(long)width * height:N0} pixels; the limit is {LanguageSegmentationModelOptions.Defaults.MaxImagePixels:N0}. Downscale it first.", nameof(input));
        var (pixels, bgra) = Runtime.ImagePixelAccess.Read(image);
        output.Image = MLImage.CreateFromPixels(width, height, bgra ? MLPixelFormat.Bgra32 : MLPixelFormat.Rgba32, pixels);
        output.Width = width;
        output.Height = height;
        output.Constant = 1;
    }

    /// <inheritdoc/>
    public override Action<ImageGeometryInput, ImageGeometryOutput> GetMapping() => Map;
}

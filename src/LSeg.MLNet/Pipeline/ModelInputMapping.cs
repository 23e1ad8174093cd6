using System.ComponentModel;
using LSeg.MLNet.Runtime;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms;

namespace LSeg.MLNet.Pipeline;

/// <summary>Input of the model-input mappings: the image and the pipeline settings.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class ModelInputInput
{
    static ModelInputInput() => ImageTypeRegistration.EnsureRegistered();

    /// <summary>The image to segment.</summary>
    [ColumnName(PipelineColumns.Image)]
    public MLImage? Image { get; set; }

    /// <summary>The pipeline settings (<see cref="PipelineSettings"/>).</summary>
    [ColumnName(PipelineColumns.Settings)]
    public double[] Settings { get; set; } = [];
}

/// <summary>Output of the model-input mappings; the pixel vector's fixed size is set by each capacity class.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public abstract class ModelInputOutput
{
    /// <summary>Width of the original image.</summary>
    [ColumnName(PipelineColumns.OriginalWidth)]
    public int Width { get; set; }

    /// <summary>Height of the original image.</summary>
    [ColumnName(PipelineColumns.OriginalHeight)]
    public int Height { get; set; }

    /// <summary>[1, 3, H, W]: the shape of the pixels at the start of <see cref="Pixels"/>.</summary>
    [ColumnName(PipelineColumns.PixelShape)]
    [VectorType(4)]
    public long[] PixelShape { get; set; } = [];

    /// <summary>Planar RGB 0–255 at the model input size, zero-padded to the capacity.</summary>
    public abstract float[] Pixels { get; set; }
}

/// <summary>Model input of up to 512 × 512 pixels.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class ModelInputOutput512 : ModelInputOutput
{
    /// <inheritdoc/>
    [ColumnName(PipelineColumns.Pixels)]
    [VectorType(3 * 512 * 512)]
    public override float[] Pixels { get; set; } = [];
}

/// <summary>Model input of up to 1024 × 1024 pixels.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class ModelInputOutput1024 : ModelInputOutput
{
    /// <inheritdoc/>
    [ColumnName(PipelineColumns.Pixels)]
    [VectorType(3 * 1024 * 1024)]
    public override float[] Pixels { get; set; } = [];
}

/// <summary>Model input of up to 2048 × 2048 pixels.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class ModelInputOutput2048 : ModelInputOutput
{
    /// <inheritdoc/>
    [ColumnName(PipelineColumns.Pixels)]
    [VectorType(3 * 2048 * 2048)]
    public override float[] Pixels { get; set; } = [];
}

/// <summary>
/// Turns an image into the image encoder's input exactly as <see cref="LanguageSegmentationModel.EncodeImage"/> does
/// (same size checks, same aspect-preserving input size, same bilinear pixels), so the pipeline and the low-level API
/// give the same mask. ML.NET's ApplyOnnxModel takes fixed-size vectors only, so the pixels travel zero-padded in a
/// vector of a fixed capacity with their shape beside them, and the graph slices them back out. Stateless, saved by
/// contract name (one per capacity).
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public abstract class ModelInputMapping<TOutput> : CustomMappingFactory<ModelInputInput, TOutput>
    where TOutput : ModelInputOutput, new()
{
    // Model.Load creates the factory before ML.NET reflects on ModelInputInput's MLImage member: register the type first.
    static ModelInputMapping() => ImageTypeRegistration.EnsureRegistered();

    /// <summary>Largest model input side the capacity holds.</summary>
    protected abstract int MaxSide { get; }

    /// <inheritdoc/>
    public override Action<ModelInputInput, TOutput> GetMapping() => (input, output) => ModelInputMappings.Fill(input, output, MaxSide);
}

/// <summary>The mapping for model inputs of up to 512 × 512.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
[CustomMappingFactoryAttribute(ContractName)]
public sealed class ModelInputMapping512 : ModelInputMapping<ModelInputOutput512>
{
    /// <summary>The contract name stored in saved models.</summary>
    public const string ContractName = "LSeg.ModelInput512";

    /// <inheritdoc/>
    protected override int MaxSide => 512;
}

/// <summary>The mapping for model inputs of up to 1024 × 1024.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
[CustomMappingFactoryAttribute(ContractName)]
public sealed class ModelInputMapping1024 : ModelInputMapping<ModelInputOutput1024>
{
    /// <summary>The contract name stored in saved models.</summary>
    public const string ContractName = "LSeg.ModelInput1024";

    /// <inheritdoc/>
    protected override int MaxSide => 1024;
}

/// <summary>The mapping for model inputs of up to 2048 × 2048.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
[CustomMappingFactoryAttribute(ContractName)]
public sealed class ModelInputMapping2048 : ModelInputMapping<ModelInputOutput2048>
{
    /// <summary>The contract name stored in saved models.</summary>
    public const string ContractName = "LSeg.ModelInput2048";

    /// <inheritdoc/>
    protected override int MaxSide => 2048;
}

/// <summary>The shared body of the model-input mappings and the choice of capacity.</summary>
internal static class ModelInputMappings
{
    /// <summary>The capacities, smallest first.</summary>
    public static readonly int[] MaxSides = [512, 1024, 2048];

    /// <summary>The smallest capacity that holds a <paramref name="side"/> × <paramref name="side"/> input.</summary>
    public static int MaxSideFor(int side) => MaxSides.FirstOrDefault(s => s >= side) is int found and > 0
        ? found
        : throw new ArgumentOutOfRangeException(nameof(side), side, $"The model input size may be at most {MaxSides[^1]}.");

    public static void Fill(ModelInputInput input, ModelInputOutput output, int maxSide)
    {
        var image = input.Image ?? throw new ArgumentException("The image column holds no image (was the file readable?).", nameof(input));
        var settings = PipelineSettings.FromVector(input.Settings);
        settings.SizeLimits.Check(image.Width, image.Height, nameof(input));
        ImageDecoder.RequireCompleteSource(image);
        var (width, height) = ModelInputSize.For(image.Width, image.Height, settings.InputSize, settings.InputSizeMultiple);
        if (width > maxSide || height > maxSide)
            throw new InvalidOperationException($"The model input {width}×{height} does not fit this pipeline's {maxSide}×{maxSide} capacity.");
        var pixels = new float[3 * maxSide * maxSide];
        ImagePixels.ToPlanarRgb(image, width, height, pixels);
        output.Pixels = pixels;
        output.PixelShape = [1, 3, height, width];
        output.Width = image.Width;
        output.Height = image.Height;
    }
}

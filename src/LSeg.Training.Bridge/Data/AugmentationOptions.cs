namespace LSeg.Training.Bridge.Data;

/// <summary>Random flip, scale and crop-with-padding applied to each training image.</summary>
public sealed class AugmentationOptions
{
    /// <summary>Crop height in pixels (a multiple of 32 for the network).</summary>
    public int CropHeight { get; set; } = 224;

    /// <summary>Crop width in pixels (a multiple of 32 for the network).</summary>
    public int CropWidth { get; set; } = 320;

    /// <summary>Smallest random scale factor applied before cropping.</summary>
    public double ScaleMin { get; set; } = 0.75;

    /// <summary>Largest random scale factor applied before cropping.</summary>
    public double ScaleMax { get; set; } = 1.5;

    /// <summary>Probability of a horizontal flip.</summary>
    public double FlipProbability { get; set; } = 0.5;

    /// <summary>The longest crop side accepted, as for <c>validationLongSide</c>.</summary>
    public const int MaxCropSide = 2048;

    /// <summary>Checks the values, naming the first one out of range.</summary>
    public void Validate()
    {
        if (CropHeight <= 0 || CropWidth <= 0 || CropHeight % Network.LSegNet.InputSizeMultiple != 0 || CropWidth % Network.LSegNet.InputSizeMultiple != 0)
            throw new ArgumentException($"Crop size must be positive multiples of {Network.LSegNet.InputSizeMultiple}; got {CropHeight}×{CropWidth} (cropHeight × cropWidth).");
        // As validationLongSide: a crop of 100000 rows passed, and the first batch then took all the machine's memory.
        if (CropHeight > MaxCropSide || CropWidth > MaxCropSide)
            throw new ArgumentException($"Crop size {CropHeight}×{CropWidth} (cropHeight × cropWidth) is over {MaxCropSide} pixels on a side; crops are the network's training input, 224×320 by default.");
        if (ScaleMin <= 0 || ScaleMax < ScaleMin)
            throw new ArgumentException($"Scale range must satisfy 0 < scaleMin ≤ scaleMax; got [{ScaleMin}, {ScaleMax}].");
        if (FlipProbability is < 0 or > 1)
            throw new ArgumentException($"flipProbability must be in [0, 1]; got {FlipProbability}.");
    }
}

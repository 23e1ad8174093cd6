namespace LSeg.Training.Bridge.Data;

/// <summary>One image of a dataset with its ground-truth label map (same size).</summary>
/// <param name="Name">The image's base name (file name without extension).</param>
/// <param name="Image">The RGB image.</param>
/// <param name="Labels">Class indices of the dataset's <see cref="ClassList"/>, one per pixel.</param>
public sealed record SegmentationSample(string Name, RgbImage Image, LabelMap Labels);

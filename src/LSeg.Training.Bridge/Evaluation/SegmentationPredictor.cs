using LSeg.Training.Bridge.Data;

namespace LSeg.Training.Bridge.Evaluation;

/// <summary>
/// Segments an image with a label set: returns, for every pixel of <paramref name="image"/> (row-major, at the image's
/// own size), the index of the winning label in <paramref name="labels"/>. Both the TorchSharp network and an exported
/// model package (through <c>LanguageSegmentationModel</c>, the ONNX path users get) are evaluated through this.
/// </summary>
public delegate int[] SegmentationPredictor(RgbImage image, IReadOnlyList<string> labels);

using LSeg.Training.Bridge.Export;
using static TorchSharp.torch;

namespace LSeg.Training.Bridge.Network.ImageEncoders;

/// <summary>
/// An image backbone of LSeg's image encoder (paper Figure 2): it turns RGB pixels (0–255, planar) into four feature
/// maps at strides 4, 8, 16 and 32 that the DPT decoder fuses. It normalises the pixels itself (channel order, mean,
/// std), so every backbone takes the same input.
/// </summary>
/// <remarks>
/// Implementations are TorchSharp modules deriving from <c>nn.Module&lt;Tensor, BackboneFeatures&gt;</c>; the network
/// registers the backbone under the name <c>pretrained</c>, so its state-dict keys read <c>pretrained.…</c> as in the
/// official checkpoint. Any H and W that are multiples of 32 must work.
/// </remarks>
public interface IImageBackbone
{
    /// <summary>Channel counts of the four feature maps, at strides 4, 8, 16 and 32 in that order.</summary>
    IReadOnlyList<int> FeatureChannels { get; }

    /// <summary>The pixel normalisation the backbone applies to its RGB 0–255 input.</summary>
    PixelNormalization PixelNormalization { get; }

    /// <summary>Computes the four feature maps of <paramref name="pixels"/> ([B,3,H,W], RGB, 0–255).</summary>
    BackboneFeatures forward(Tensor pixels);

    /// <summary>
    /// Writes the backbone's forward pass (normalisation included) into <paramref name="graph"/>, reading the value
    /// named <paramref name="pixels"/>, and returns the names of the four feature-map values. Initializers are named
    /// <paramref name="scope"/> + "." + the state-dict key below the backbone.
    /// </summary>
    internal BackboneFeatureNames ExportOnnx(OnnxGraphBuilder graph, string pixels, string scope);
}

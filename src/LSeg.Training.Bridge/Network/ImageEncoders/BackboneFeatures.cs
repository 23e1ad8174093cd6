using static TorchSharp.torch;

namespace LSeg.Training.Bridge.Network.ImageEncoders;

/// <summary>The four feature maps of an <see cref="IImageBackbone"/>, at strides 4, 8, 16 and 32 of the input.</summary>
/// <param name="Layer1">Stride 4: [B, FeatureChannels[0], H/4, W/4].</param>
/// <param name="Layer2">Stride 8: [B, FeatureChannels[1], H/8, W/8].</param>
/// <param name="Layer3">Stride 16: [B, FeatureChannels[2], H/16, W/16].</param>
/// <param name="Layer4">Stride 32: [B, FeatureChannels[3], H/32, W/32].</param>
public sealed record BackboneFeatures(Tensor Layer1, Tensor Layer2, Tensor Layer3, Tensor Layer4) : IDisposable
{
    /// <summary>Moves the four tensors to the dispose scope that encloses the current one (call before leaving a forward).</summary>
    public BackboneFeatures MoveToOuterDisposeScope()
    {
        Layer1.MoveToOuterDisposeScope();
        Layer2.MoveToOuterDisposeScope();
        Layer3.MoveToOuterDisposeScope();
        Layer4.MoveToOuterDisposeScope();
        return this;
    }

    /// <summary>Disposes the four tensors.</summary>
    public void Dispose()
    {
        Layer1.Dispose();
        Layer2.Dispose();
        Layer3.Dispose();
        Layer4.Dispose();
    }
}

/// <summary>Names of the four feature-map values of a backbone written into an ONNX graph (strides 4, 8, 16, 32).</summary>
internal readonly record struct BackboneFeatureNames(string Layer1, string Layer2, string Layer3, string Layer4);

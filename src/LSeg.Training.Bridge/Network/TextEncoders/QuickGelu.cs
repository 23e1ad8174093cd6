using TorchSharp;
using static TorchSharp.torch;

namespace LSeg.Training.Bridge.Network.TextEncoders;

/// <summary>CLIP's activation: x · σ(1.702 x), a fast approximation of GELU that the released weights were trained with.</summary>
internal sealed class QuickGelu : nn.Module<Tensor, Tensor>
{
    /// <summary>The constant 1.702 of CLIP's QuickGELU.</summary>
    internal const float Slope = 1.702f;

    public QuickGelu() : base(nameof(QuickGelu)) { }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return (x * torch.sigmoid(x * Slope)).MoveToOuterDisposeScope();
    }
}

using LSeg.MLNet.Package;
using TorchSharp.Modules;

namespace LSeg.Training.Bridge.Export;

/// <summary>Export of the standard TorchSharp layers: weights named <c>scope.weight</c>, <c>scope.bias</c>, … as in the state dict.</summary>
internal sealed partial class OnnxGraphBuilder
{
    /// <summary>A TorchSharp <see cref="Conv2d"/> (zero padding as configured on the module).</summary>
    public string Conv2d(string x, Conv2d conv, string scope)
    {
        if (conv.padding_mode != TorchSharp.PaddingModes.Zeros)
            throw new NotSupportedException($"Conv2d '{scope}' uses padding mode {conv.padding_mode}; the exporter supports zero padding only.");
        long[] padding = conv.padding
            ?? throw new NotSupportedException($"Conv2d '{scope}' uses symbolic padding ({conv.padding_type}); the exporter needs explicit padding.");
        string weight = Weight(scope + ".weight", conv.weight!);
        string? bias = conv.bias is null ? null : Weight(scope + ".bias", conv.bias);
        return Conv(x, weight, bias, conv.kernel_size, conv.stride, [padding[0], padding[1], padding[0], padding[1]], conv.dilation, conv.groups);
    }

    /// <summary>A TorchSharp <see cref="ConvTranspose2d"/> (weight [in, out/group, kH, kW] as in the state dict).</summary>
    public string ConvTranspose2d(string x, ConvTranspose2d conv, string scope)
    {
        long[] padding = conv.padding
            ?? throw new NotSupportedException($"ConvTranspose2d '{scope}' uses symbolic padding; the exporter needs explicit padding.");
        string weight = Weight(scope + ".weight", conv.weight!);
        string? bias = conv.bias is null ? null : Weight(scope + ".bias", conv.bias);
        long[] outputPadding = conv.output_padding ?? [0, 0];
        return ConvTranspose(x, weight, bias, conv.kernel_size, conv.stride, [padding[0], padding[1], padding[0], padding[1]],
            conv.dilation, outputPadding, conv.groups);
    }

    /// <summary>A TorchSharp <see cref="BatchNorm2d"/> in inference mode (running statistics).</summary>
    public string BatchNorm2d(string x, BatchNorm2d norm, string scope)
    {
        if (norm.running_mean is null || norm.running_var is null || norm.weight is null || norm.bias is null)
            throw new NotSupportedException($"BatchNorm2d '{scope}' must be affine and track running statistics to be exported.");
        return BatchNormalization(x,
            Weight(scope + ".weight", norm.weight), Weight(scope + ".bias", norm.bias),
            Weight(scope + ".running_mean", norm.running_mean), Weight(scope + ".running_var", norm.running_var),
            norm.eps);
    }

    /// <summary>A TorchSharp <see cref="Linear"/> over the last axis: x · Wᵀ + b (the weight is transposed for MatMul).</summary>
    public string Linear(string x, Linear linear, string scope)
    {
        using var transposed = linear.weight!.detach().t();
        string product = MatMul(x, Weight(scope + ".weight", transposed));
        return linear.bias is null ? product : Add(product, Weight(scope + ".bias", linear.bias));
    }

    /// <summary>A TorchSharp <see cref="LayerNorm"/> over the trailing axes (LayerNormalization, opset 17).</summary>
    public string LayerNorm(string x, LayerNorm norm, string scope)
    {
        if (norm.weight is null || norm.bias is null)
            throw new NotSupportedException($"LayerNorm '{scope}' must have an elementwise affine to be exported.");
        return Node("LayerNormalization", [x, Weight(scope + ".weight", norm.weight), Weight(scope + ".bias", norm.bias)],
            OnnxProtos.Attribute("axis", (long)-norm.normalized_shape.Length), OnnxProtos.Attribute("epsilon", (float)norm.eps));
    }
}

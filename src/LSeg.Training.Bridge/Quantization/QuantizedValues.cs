using LSeg.MLNet.Package;
using Onnx;

namespace LSeg.Training.Bridge.Quantization;

/// <summary>
/// The arithmetic of int8 quantization as ONNX Runtime's kernels expect it: weights 8-bit and symmetric (stored as
/// uint8 around 128, see SymmetricUint8), one scale per output channel; activations uint8, asymmetric, one scale and
/// zero point per tensor, the range widened to contain 0 so that 0 (padding, ReLU) is exact.
/// </summary>
internal static class QuantizedValues
{
    /// <summary>
    /// Symmetric int8 of <paramref name="values"/> with one scale per slice along the axis: <paramref name="channels"/>
    /// slices, each either contiguous (<paramref name="channelsFirst"/>, a Conv weight [M, …]) or strided (a MatMul
    /// weight [K, N], one scale per column N).
    /// </summary>
    public static (sbyte[] Values, float[] Scales) SymmetricInt8(float[] values, int channels, bool channelsFirst)
    {
        int perChannel = values.Length / channels;
        var scales = new float[channels];
        for (int i = 0; i < values.Length; i++)
        {
            int c = channelsFirst ? i / perChannel : i % channels;
            scales[c] = Math.Max(scales[c], Math.Abs(values[i]));
        }
        for (int c = 0; c < channels; c++)
            scales[c] = scales[c] > 0 ? scales[c] / 127f : 1f;
        var quantized = new sbyte[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            int c = channelsFirst ? i / perChannel : i % channels;
            quantized[i] = (sbyte)Math.Clamp(MathF.Round(values[i] / scales[c]), -127, 127);
        }
        return (quantized, scales);
    }

    /// <summary>The zero point of <see cref="SymmetricUint8"/>'s values.</summary>
    public const byte Uint8WeightZeroPoint = 128;

    /// <summary>The zero points of <paramref name="channels"/> channels of <see cref="SymmetricUint8"/> weights, as an initializer.</summary>
    public static TensorProto Uint8WeightZeroPoints(string name, int channels) =>
        OnnxTensors.UInt8(name, Enumerable.Repeat(Uint8WeightZeroPoint, channels).ToArray(), channels);

    /// <summary>
    /// <see cref="SymmetricInt8"/>'s values stored as uint8 around a zero point of 128 (the same 255 levels and scales).
    /// Weights go to ONNX Runtime so because with int8 weights it multiplies with its u8·s8 kernels, which on x86
    /// CPUs without VNNI (AVX2, AVX-512F without VNNI) add pairs of products in saturating 16-bit lanes (2 · 255 · 127 >
    /// 32767): outputs there came out wrong (15% off in a product of eight values) and right on CPUs with VNNI. Its u8·u8
    /// kernels widen to 16 bits before multiplying and never saturate.
    /// </summary>
    public static (byte[] Values, float[] Scales) SymmetricUint8(float[] values, int channels, bool channelsFirst)
    {
        var (signed, scales) = SymmetricInt8(values, channels, channelsFirst);
        var shifted = new byte[signed.Length];
        for (int i = 0; i < signed.Length; i++)
            shifted[i] = (byte)(signed[i] + Uint8WeightZeroPoint);
        return (shifted, scales);
    }

    /// <summary>A bias as int32 with the scale input scale × weight scale of its channel (what QLinearConv adds).</summary>
    public static int[] BiasInt32(float[] bias, float inputScale, float[] weightScales)
    {
        var quantized = new int[bias.Length];
        for (int c = 0; c < bias.Length; c++)
            quantized[c] = (int)Math.Clamp(Math.Round((double)bias[c] / ((double)inputScale * weightScales[c])), int.MinValue, int.MaxValue);
        return quantized;
    }

    /// <summary>uint8 scale and zero point covering [min, max] widened to contain 0.</summary>
    public static (float Scale, byte ZeroPoint) Uint8(float min, float max)
    {
        min = Math.Min(min, 0);
        max = Math.Max(max, 0);
        float scale = max > min ? (max - min) / 255f : 1f;
        return (scale, (byte)Math.Clamp(MathF.Round(-min / scale), 0, 255));
    }
}

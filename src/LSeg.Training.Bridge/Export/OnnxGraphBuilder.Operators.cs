using LSeg.MLNet.Package;
using Onnx;

namespace LSeg.Training.Bridge.Export;

/// <summary>Typed helpers for the ONNX operators (opset 17) that the LSeg graphs use.</summary>
internal sealed partial class OnnxGraphBuilder
{
    /// <summary>Conv with explicit pads [top, left, bottom, right] (asymmetric allowed).</summary>
    public string Conv(string x, string weight, string? bias, long[] kernel, long[] strides, long[] pads, long[] dilations, long group = 1)
        => Node("Conv", bias is null ? [x, weight] : [x, weight, bias],
            OnnxProtos.Attribute("kernel_shape", kernel), OnnxProtos.Attribute("strides", strides), OnnxProtos.Attribute("pads", pads), OnnxProtos.Attribute("dilations", dilations), OnnxProtos.Attribute("group", group));

    /// <summary>ConvTranspose with explicit pads [top, left, bottom, right]; weight [in, out/group, kH, kW].</summary>
    public string ConvTranspose(string x, string weight, string? bias, long[] kernel, long[] strides, long[] pads, long[] dilations, long[] outputPadding, long group = 1)
        => Node("ConvTranspose", bias is null ? [x, weight] : [x, weight, bias],
            OnnxProtos.Attribute("kernel_shape", kernel), OnnxProtos.Attribute("strides", strides), OnnxProtos.Attribute("pads", pads), OnnxProtos.Attribute("dilations", dilations),
            OnnxProtos.Attribute("output_padding", outputPadding), OnnxProtos.Attribute("group", group));

    /// <summary>BatchNormalization in inference mode (running statistics).</summary>
    public string BatchNormalization(string x, string scale, string bias, string mean, string variance, double epsilon)
        => Node("BatchNormalization", [x, scale, bias, mean, variance], OnnxProtos.Attribute("epsilon", (float)epsilon));

    /// <summary>MaxPool with explicit pads [top, left, bottom, right].</summary>
    public string MaxPool(string x, long[] kernel, long[] strides, long[] pads)
        => Node("MaxPool", [x], OnnxProtos.Attribute("kernel_shape", kernel), OnnxProtos.Attribute("strides", strides), OnnxProtos.Attribute("pads", pads));

    /// <summary>Relu.</summary>
    public string Relu(string x) => Node("Relu", [x]);

    /// <summary>LeakyRelu with the given negative slope.</summary>
    public string LeakyRelu(string x, double alpha) => Node("LeakyRelu", [x], OnnxProtos.Attribute("alpha", (float)alpha));

    /// <summary>Tanh.</summary>
    public string Tanh(string x) => Node("Tanh", [x]);

    /// <summary>Sigmoid.</summary>
    public string Sigmoid(string x) => Node("Sigmoid", [x]);

    /// <summary>Erf.</summary>
    public string Erf(string x) => Node("Erf", [x]);

    /// <summary>Sqrt.</summary>
    public string Sqrt(string x) => Node("Sqrt", [x]);

    /// <summary>Elementwise a + b (broadcasting).</summary>
    public string Add(string a, string b) => Node("Add", [a, b]);

    /// <summary>Elementwise a − b (broadcasting).</summary>
    public string Sub(string a, string b) => Node("Sub", [a, b]);

    /// <summary>Elementwise a × b (broadcasting).</summary>
    public string Mul(string a, string b) => Node("Mul", [a, b]);

    /// <summary>Elementwise a ÷ b (broadcasting).</summary>
    public string Div(string a, string b) => Node("Div", [a, b]);

    /// <summary>Elementwise max(a, b) (broadcasting).</summary>
    public string Max(string a, string b) => Node("Max", [a, b]);

    /// <summary>Matrix product with numpy broadcasting.</summary>
    public string MatMul(string a, string b) => Node("MatMul", [a, b]);

    /// <summary>Transpose with the given permutation.</summary>
    public string Transpose(string x, params long[] perm) => Node("Transpose", [x], OnnxProtos.Attribute("perm", perm));

    /// <summary>Reshape to a shape held by a value (0 copies the input dimension, −1 infers one).</summary>
    public string Reshape(string x, string shape) => Node("Reshape", [x, shape]);

    /// <summary>Reshape to a constant shape (0 copies the input dimension, −1 infers one).</summary>
    public string Reshape(string x, params long[] shape) => Reshape(x, ConstantInt64("shape", shape));

    /// <summary>Concat along <paramref name="axis"/>.</summary>
    public string Concat(long axis, params string[] inputs) => Node("Concat", inputs, OnnxProtos.Attribute("axis", axis));

    /// <summary>An end far beyond any axis length: Slice clamps it, so it reads "to the end of the axis".</summary>
    public const long SliceToEnd = long.MaxValue;

    /// <summary>Slice with constant starts, ends and axes (steps 1).</summary>
    public string Slice(string x, long[] starts, long[] ends, long[] axes)
        => Node("Slice", [x, ConstantInt64("starts", starts), ConstantInt64("ends", ends), ConstantInt64("axes", axes)]);

    /// <summary>Shape of a value (INT64 1-D).</summary>
    public string Shape(string x) => Node("Shape", [x]);

    /// <summary>Shape of a value, dimensions [start, end) only.</summary>
    public string Shape(string x, long start, long end) => Node("Shape", [x], OnnxProtos.Attribute("start", start), OnnxProtos.Attribute("end", end));

    /// <summary>Gather along <paramref name="axis"/>.</summary>
    public string Gather(string x, string indices, long axis = 0) => Node("Gather", [x, indices], OnnxProtos.Attribute("axis", axis));

    /// <summary>Cast to <paramref name="to"/>.</summary>
    public string Cast(string x, TensorProto.Types.DataType to) => Node("Cast", [x], OnnxProtos.Attribute("to", (long)to));

    /// <summary>Unsqueeze at constant axes.</summary>
    public string Unsqueeze(string x, params long[] axes) => Node("Unsqueeze", [x, ConstantInt64("axes", axes)]);

    /// <summary>Squeeze at constant axes.</summary>
    public string Squeeze(string x, params long[] axes) => Node("Squeeze", [x, ConstantInt64("axes", axes)]);

    /// <summary>ReduceL2 over constant axes (opset 17: axes as an attribute).</summary>
    public string ReduceL2(string x, long[] axes, bool keepDims) => Node("ReduceL2", [x], OnnxProtos.Attribute("axes", axes), OnnxProtos.Attribute("keepdims", keepDims ? 1L : 0L));

    /// <summary>ReduceMax over constant axes (opset 17: axes as an attribute).</summary>
    public string ReduceMax(string x, long[] axes, bool keepDims) => Node("ReduceMax", [x], OnnxProtos.Attribute("axes", axes), OnnxProtos.Attribute("keepdims", keepDims ? 1L : 0L));

    /// <summary>ArgMax along <paramref name="axis"/> (INT64, first index on ties).</summary>
    public string ArgMax(string x, long axis, bool keepDims) => Node("ArgMax", [x], OnnxProtos.Attribute("axis", axis), OnnxProtos.Attribute("keepdims", keepDims ? 1L : 0L), OnnxProtos.Attribute("select_last_index", 0L));

    /// <summary>Softmax along <paramref name="axis"/>.</summary>
    public string Softmax(string x, long axis) => Node("Softmax", [x], OnnxProtos.Attribute("axis", axis));

    /// <summary>
    /// x / max(‖x‖₂, eps) along <paramref name="axis"/>: torch's <c>F.normalize(x, dim=axis, eps=eps)</c>.
    /// </summary>
    public string L2Normalize(string x, long axis, float eps = 1e-12f)
    {
        string norm = ReduceL2(x, [axis], keepDims: true);
        return Div(x, Max(norm, ScalarFloat("l2_eps", eps)));
    }

    /// <summary>Exact GELU, 0.5 · x · (1 + erf(x / √2)) (the Gelu operator exists only from opset 20).</summary>
    public string Gelu(string x)
    {
        string erf = Erf(Div(x, ScalarFloat("sqrt2", MathF.Sqrt(2f))));
        return Mul(Mul(x, Add(erf, ScalarFloat("one", 1f))), ScalarFloat("half", 0.5f));
    }

    /// <summary>
    /// Bilinear Resize of an NCHW value to <paramref name="sizes"/> (INT64 [4]); <paramref name="alignCorners"/> picks
    /// the coordinate mode that matches torch's <c>align_corners</c> (True → align_corners, False → half_pixel).
    /// </summary>
    /// <remarks>
    /// Not pytorch_half_pixel: that mode samples coordinate 0 for an output length of 1, where libtorch (and so
    /// TorchSharp and the official PyTorch code) samples the middle, (0 + 0.5) × in / 1 − 0.5; for every other length the
    /// two modes are the same formula. A ViT-B/32 position grid one patch high (a 32-pixel input side) hit the difference.
    /// </remarks>
    public string ResizeBilinear(string x, string sizes, bool alignCorners)
        => Node("Resize", [x, "", "", sizes],
            OnnxProtos.Attribute("mode", "linear"),
            OnnxProtos.Attribute("coordinate_transformation_mode", alignCorners ? "align_corners" : "half_pixel"));

    /// <summary>
    /// Bilinear ×<paramref name="factor"/> upsampling of an NCHW value, output size computed from the input's shape
    /// (never <c>scales</c>, which round differently at odd sizes).
    /// </summary>
    public string UpsampleBilinear(string x, long factor, bool alignCorners)
    {
        string batchAndChannels = Shape(x, 0, 2);
        string spatial = Mul(Shape(x, 2, 4), ConstantInt64("factor", factor, factor));
        return ResizeBilinear(x, Concat(0, batchAndChannels, spatial), alignCorners);
    }
}

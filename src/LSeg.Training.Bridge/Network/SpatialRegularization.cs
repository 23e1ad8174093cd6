using LSeg.Training.Bridge.Export;
using static TorchSharp.torch;

namespace LSeg.Training.Bridge.Network;

/// <summary>
/// Spatial regularisation of the logits at H/2 (paper section 3): ONE block, with one shared 3×3 kernel, applied
/// <see cref="Depth"/> times; every application but the last is followed by the activation.
/// DepthwiseBlock: conv(x). BottleneckBlock: conv(x) + max over labels of x (per pixel). The official
/// <c>scratch.head_block</c>; its conv is <c>depthwise.depthwise</c>.
/// </summary>
public sealed class SpatialRegularization : nn.Module<Tensor, Tensor>
{
    /// <summary>Negative slope of the LeakyReLU activation (torch's default).</summary>
    public const double LeakyReluSlope = 0.01;

#pragma warning disable IDE1006 // state-dict key names
    private readonly SharedLabelConv depthwise;
#pragma warning restore IDE1006

    /// <summary>Builds the block.</summary>
    /// <param name="block">Depthwise or Bottleneck.</param>
    /// <param name="depth">How many times the block is applied, 1 to 4.</param>
    /// <param name="activation">Activation between applications.</param>
    public SpatialRegularization(SpatialBlock block, int depth, SpatialActivation activation) : base(nameof(SpatialRegularization))
    {
        if (block == SpatialBlock.None)
            throw new ArgumentException("A spatial regularisation needs a block (Depthwise or Bottleneck); got None.", nameof(block));
        if (depth is < 1 or > 4)
            throw new ArgumentOutOfRangeException(nameof(depth), depth, "The spatial block is applied 1 to 4 times.");
        Block = block;
        Depth = depth;
        Activation = activation;
        depthwise = new SharedLabelConv();
        RegisterComponents();
    }

    /// <summary>The block kind.</summary>
    public SpatialBlock Block { get; }

    /// <summary>How many times the block is applied.</summary>
    public int Depth { get; }

    /// <summary>The activation between applications.</summary>
    public SpatialActivation Activation { get; }

    /// <summary>Regularises logits [B,N,h,w]; returns the same shape.</summary>
    public override Tensor forward(Tensor logits)
    {
        using var scope = NewDisposeScope();
        var x = logits;
        for (int i = 0; i < Depth; i++)
        {
            var y = depthwise.forward(x);
            if (Block == SpatialBlock.Bottleneck)
                y = y + x.max(1, keepdim: true).values;
            x = i < Depth - 1 ? Activate(y) : y;
        }
        return x.MoveToOuterDisposeScope();
    }

    /// <summary>Writes <see cref="forward"/> into <paramref name="graph"/>.</summary>
    internal string ExportOnnx(OnnxGraphBuilder graph, string logits, string scope)
    {
        string x = logits;
        for (int i = 0; i < Depth; i++)
        {
            string y = depthwise.ExportOnnx(graph, x, scope + ".depthwise");
            if (Block == SpatialBlock.Bottleneck)
                y = graph.Add(y, graph.ReduceMax(x, [1], keepDims: true));
            x = i < Depth - 1 ? ExportActivation(graph, y) : y;
        }
        return x;
    }

    private Tensor Activate(Tensor x) => Activation switch
    {
        SpatialActivation.LeakyRelu => nn.functional.leaky_relu(x, LeakyReluSlope),
        SpatialActivation.Relu => x.relu(),
        SpatialActivation.Tanh => x.tanh(),
        _ => throw new InvalidOperationException($"Unknown activation {Activation}."),
    };

    private string ExportActivation(OnnxGraphBuilder graph, string x) => Activation switch
    {
        SpatialActivation.LeakyRelu => graph.LeakyRelu(x, LeakyReluSlope),
        SpatialActivation.Relu => graph.Relu(x),
        SpatialActivation.Tanh => graph.Tanh(x),
        _ => throw new InvalidOperationException($"Unknown activation {Activation}."),
    };
}

using LSeg.MLNet.Package;
using Onnx;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LSeg.Training.Bridge.Network.ImageEncoders;

/// <summary>
/// Reads the weights of the CNTK ResNet18 ONNX graph into a <see cref="ResNet18Backbone"/>. The graph names its
/// tensors <c>ParameterNN</c>/<c>ConstantNN</c>, so the mapping follows the graph's structure: each Conv feeds one
/// BatchNormalization; 1×1 convs are the shortcuts; every Add closes one basic block, and a block whose first conv
/// has stride 2 opens a new stage. The stage sizes read from the graph must equal <see cref="ResNet18Backbone.BlocksPerStage"/>.
/// </summary>
internal static class ResNet18OnnxWeights
{
    private sealed record ConvNorm(NodeProto Conv, NodeProto Norm)
    {
        public bool IsShortcut => KernelSize(Conv) == 1;
    }

    public static void LoadInto(ResNet18Backbone backbone, string onnxPath)
    {
        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(onnxPath));
        var initializers = model.Graph.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
        var nodes = model.Graph.Node;

        var pairs = new List<ConvNorm>();
        foreach (var conv in nodes.Where(n => n.OpType == "Conv"))
        {
            var norm = nodes.SingleOrDefault(n => n.OpType == "BatchNormalization" && n.Input[0] == conv.Output[0])
                ?? throw Invalid(onnxPath, $"Conv '{conv.Name}' is not followed by a BatchNormalization");
            pairs.Add(new ConvNorm(conv, norm));
        }
        var main = pairs.Where(p => !p.IsShortcut).ToList();
        var shortcuts = pairs.Where(p => p.IsShortcut).ToList();

        var stages = StagesOf(main.Skip(1).Where((_, i) => i % 2 == 0).Select(p => Stride(p.Conv)).ToList());
        if (!stages.SequenceEqual(ResNet18Backbone.BlocksPerStage) || nodes.Count(n => n.OpType == "Add") != stages.Sum())
            throw Invalid(onnxPath, $"expected stages of [{string.Join(", ", ResNet18Backbone.BlocksPerStage)}] basic blocks, found [{string.Join(", ", stages)}]");

        using var noGrad = no_grad();
        Copy(main[0], backbone.Conv1, backbone.Bn1, initializers, onnxPath);
        int nextShortcut = 0;
        var blocks = backbone.Blocks;
        for (int b = 0; b < blocks.Count; b++)
        {
            Copy(main[1 + 2 * b], blocks[b].Conv1, blocks[b].Bn1, initializers, onnxPath);
            Copy(main[2 + 2 * b], blocks[b].Conv2, blocks[b].Bn2, initializers, onnxPath);
            if (blocks[b].Downsample is { } down)
            {
                if (nextShortcut >= shortcuts.Count)
                    throw Invalid(onnxPath, "fewer 1×1 shortcut convolutions than downsampling blocks");
                Copy(shortcuts[nextShortcut++], down.Conv, down.Norm, initializers, onnxPath);
            }
        }
        if (nextShortcut != shortcuts.Count || main.Count != 1 + 2 * blocks.Count)
            throw Invalid(onnxPath, $"{main.Count} 3×3/7×7 and {shortcuts.Count} 1×1 convolutions do not match {blocks.Count} basic blocks");
    }

    /// <summary>Groups blocks into stages: a block whose first conv has stride 2 starts a new stage.</summary>
    private static List<int> StagesOf(List<long> firstConvStrides)
    {
        var stages = new List<int>();
        foreach (long stride in firstConvStrides)
        {
            if (stages.Count == 0 || stride == 2)
                stages.Add(0);
            stages[^1]++;
        }
        return stages;
    }

    private static void Copy(ConvNorm pair, Conv2d conv, BatchNorm2d norm, Dictionary<string, TensorProto> initializers, string path)
    {
        if (pair.Conv.Input.Count != 2)
            throw Invalid(path, $"Conv '{pair.Conv.Name}' has a bias; ResNet18's convolutions have none");
        Set(conv.weight!, initializers, pair.Conv.Input[1], path);
        Set(norm.weight!, initializers, pair.Norm.Input[1], path);
        Set(norm.bias!, initializers, pair.Norm.Input[2], path);
        Set(norm.running_mean!, initializers, pair.Norm.Input[3], path);
        Set(norm.running_var!, initializers, pair.Norm.Input[4], path);
    }

    private static void Set(Tensor target, Dictionary<string, TensorProto> initializers, string name, string path)
    {
        if (!initializers.TryGetValue(name, out var proto))
            throw Invalid(path, $"initializer '{name}' is missing");
        if (!proto.Dims.SequenceEqual(target.shape))
            throw Invalid(path, $"initializer '{name}' has shape [{string.Join(",", proto.Dims)}]; the module expects [{string.Join(",", target.shape)}]");
        if (proto.DataType != (int)TensorProto.Types.DataType.Float)
            throw Invalid(path, $"initializer '{name}' has ONNX data type {proto.DataType}; expected FLOAT (1)");
        float[] values = OnnxTensors.ReadFloats(proto);
        using var source = tensor(values, target.shape);
        target.copy_(source);
    }

    private static long KernelSize(NodeProto conv) => conv.Attribute.Single(a => a.Name == "kernel_shape").Ints[0];

    private static long Stride(NodeProto conv) => conv.Attribute.Single(a => a.Name == "strides").Ints[0];

    private static InvalidDataException Invalid(string path, string problem)
        => new($"'{path}' is not the CNTK ImageNet ResNet18 this backbone reads: {problem}.");
}

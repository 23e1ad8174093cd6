using LSeg.Training.Bridge.Export;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LSeg.Training.Bridge.Network.ImageEncoders;

/// <summary>
/// One torchvision ResNet stage (<c>layer1</c>…<c>layer4</c>): bottleneck blocks registered as "0", "1", …;
/// the first one carries the stride and the shortcut projection.
/// </summary>
internal sealed class ResNet101Stage : nn.Module<Tensor, Tensor>
{
    public ResNet101Stage(string name, int inChannels, int width, int blocks, int stride) : base(name)
    {
        var list = new List<ResNet101Bottleneck>();
        for (int i = 0; i < blocks; i++)
        {
            var block = new ResNet101Bottleneck(i == 0 ? inChannels : width * ResNet101Options.Expansion, width, i == 0 ? stride : 1);
            register_module(i.ToString(System.Globalization.CultureInfo.InvariantCulture), block);
            list.Add(block);
        }
        _bottlenecks = [.. list];
    }

    // An array, not Module-typed fields: the blocks are registered above under their indices only.
    private readonly ResNet101Bottleneck[] _bottlenecks;

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var y = x;
        foreach (var block in _bottlenecks)
            y = block.forward(y);
        return y.MoveToOuterDisposeScope();
    }

    /// <summary>Writes <see cref="forward"/> into <paramref name="graph"/>: the bottlenecks in order, scoped <c>{scope}.{i}</c>.</summary>
    internal string ExportOnnx(OnnxGraphBuilder graph, string x, string scope)
    {
        for (int i = 0; i < _bottlenecks.Length; i++)
            x = _bottlenecks[i].ExportOnnx(graph, x, $"{scope}.{i}");
        return x;
    }
}

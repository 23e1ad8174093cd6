using LSeg.Training.Bridge.Network.ImageEncoders;

namespace LSeg.Training.Bridge.Export;

/// <summary>
/// Writes <see cref="ResNet101Backbone"/>'s forward pass (inference mode: BatchNorm with running statistics) into an
/// ONNX graph, with initializers named by their state-dict keys.
/// </summary>
internal static class ResNet101OnnxExport
{
    /// <summary>ImageNet normalisation, stem, then the four stages; returns the stage outputs (strides 4, 8, 16, 32).</summary>
    public static BackboneFeatureNames Backbone(OnnxGraphBuilder g, ResNet101Backbone backbone, string pixels, string scope)
    {
        var norm = backbone.PixelNormalization;
        string x = g.NormalizeChannels(pixels, norm.Mean, norm.Std);
        var stem = backbone.StemStage;
        x = g.Relu(g.BatchNorm2d(g.Conv2d(x, stem.Conv, scope + ".layer1.0"), stem.Norm, scope + ".layer1.1"));
        x = g.MaxPool(x, [3, 3], [2, 2], [1, 1, 1, 1]);
        string layer1 = Stage(g, stem.Stage, x, scope + ".layer1.4");
        var later = backbone.LaterStages;
        string layer2 = Stage(g, later[0], layer1, scope + ".layer2");
        string layer3 = Stage(g, later[1], layer2, scope + ".layer3");
        string layer4 = Stage(g, later[2], layer3, scope + ".layer4");
        return new BackboneFeatureNames(layer1, layer2, layer3, layer4);
    }

    /// <summary>The stage's bottlenecks in order.</summary>
    public static string Stage(OnnxGraphBuilder g, ResNet101Stage stage, string x, string scope)
    {
        var blocks = stage.Blocks;
        for (int i = 0; i < blocks.Count; i++)
            x = Bottleneck(g, blocks[i], x, $"{scope}.{i}");
        return x;
    }

    /// <summary>relu(bn3(conv3(relu(bn2(conv2(relu(bn1(conv1(x)))))))) + shortcut(x)).</summary>
    public static string Bottleneck(OnnxGraphBuilder g, ResNet101Bottleneck block, string x, string scope)
    {
        string y = x;
        var path = block.MainPath;
        for (int i = 0; i < path.Length; i++)
        {
            y = g.BatchNorm2d(g.Conv2d(y, path[i].Conv, $"{scope}.conv{i + 1}"), path[i].Norm, $"{scope}.bn{i + 1}");
            if (i < path.Length - 1)
                y = g.Relu(y);
        }
        string shortcut = block.ShortcutConv is null
            ? x
            : g.BatchNorm2d(g.Conv2d(x, block.ShortcutConv, scope + ".downsample.0"), block.ShortcutNorm!, scope + ".downsample.1");
        return g.Relu(g.Add(y, shortcut));
    }
}

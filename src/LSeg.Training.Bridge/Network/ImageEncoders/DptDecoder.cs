using LSeg.Training.Bridge.Export;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LSeg.Training.Bridge.Network.ImageEncoders;

/// <summary>
/// The DPT decoder of LSeg's image encoder (the official <c>scratch</c> module): a 3×3 projection without bias of each
/// backbone level to the decoder width (<c>layer{1..4}_rn</c>), four fusion blocks from the coarsest level up
/// (<c>refinenet4</c> … <c>refinenet1</c>), and the 1×1 conv <c>head1</c> to the embedding size C. Output at stride 2.
/// </summary>
/// <remarks>
/// The official network keeps the spatial regularisation block in this module too (<c>scratch.head_block</c>); it is
/// held here only so the state-dict keys match the checkpoint one to one. The decoder's forward never uses it.
/// </remarks>
public sealed class DptDecoder : nn.Module<BackboneFeatures, Tensor>
{
#pragma warning disable IDE1006 // state-dict key names
    private readonly Conv2d layer1_rn;
    private readonly Conv2d layer2_rn;
    private readonly Conv2d layer3_rn;
    private readonly Conv2d layer4_rn;
    private readonly FusionBlock refinenet1;
    private readonly FusionBlock refinenet2;
    private readonly FusionBlock refinenet3;
    private readonly FusionBlock refinenet4;
    private readonly Conv2d head1;
    private readonly SpatialRegularization? head_block;
#pragma warning restore IDE1006

    /// <summary>Builds the decoder.</summary>
    /// <param name="inChannels">The backbone's four channel counts (strides 4, 8, 16, 32).</param>
    /// <param name="features">The decoder width (256 in the paper).</param>
    /// <param name="embeddingSize">The embedding size C of <c>head1</c>'s output.</param>
    /// <param name="headBlock">The spatial regularisation of the head, stored here for the official key names; or null.</param>
    public DptDecoder(IReadOnlyList<int> inChannels, int features, int embeddingSize, SpatialRegularization? headBlock = null)
        : base(nameof(DptDecoder))
    {
        if (inChannels.Count != 4)
            throw new ArgumentException($"A DPT decoder takes four backbone levels; got {inChannels.Count} channel counts.", nameof(inChannels));
        layer1_rn = nn.Conv2d(inChannels[0], features, 3, padding: 1, bias: false);
        layer2_rn = nn.Conv2d(inChannels[1], features, 3, padding: 1, bias: false);
        layer3_rn = nn.Conv2d(inChannels[2], features, 3, padding: 1, bias: false);
        layer4_rn = nn.Conv2d(inChannels[3], features, 3, padding: 1, bias: false);
        refinenet1 = new FusionBlock(features);
        refinenet2 = new FusionBlock(features);
        refinenet3 = new FusionBlock(features);
        refinenet4 = new FusionBlock(features);
        head1 = nn.Conv2d(features, embeddingSize, 1, bias: true);
        head_block = headBlock;
        RegisterComponents();
    }

    /// <summary>The head's spatial regularisation stored under <c>head_block</c>, or null.</summary>
    public SpatialRegularization? HeadBlock => head_block;

    /// <summary>Fuses the four backbone levels into pixel embeddings [B, C, H/2, W/2].</summary>
    public override Tensor forward(BackboneFeatures features)
    {
        using var scope = NewDisposeScope();
        var path4 = refinenet4.forward(layer4_rn.forward(features.Layer4), null);
        var path3 = refinenet3.forward(path4, layer3_rn.forward(features.Layer3));
        var path2 = refinenet2.forward(path3, layer2_rn.forward(features.Layer2));
        var path1 = refinenet1.forward(path2, layer1_rn.forward(features.Layer1));
        return head1.forward(path1).MoveToOuterDisposeScope();
    }

    /// <summary>Writes the fusion of the four backbone levels: the decoder features [B, F, H/2, W/2] that <c>head1</c> projects.</summary>
    internal string ExportFeaturesOnnx(OnnxGraphBuilder graph, BackboneFeatureNames features, string scope)
    {
        string path4 = refinenet4.ExportOnnx(graph, graph.Conv2d(features.Layer4, layer4_rn, scope + ".layer4_rn"), null, scope + ".refinenet4");
        string path3 = refinenet3.ExportOnnx(graph, path4, graph.Conv2d(features.Layer3, layer3_rn, scope + ".layer3_rn"), scope + ".refinenet3");
        string path2 = refinenet2.ExportOnnx(graph, path3, graph.Conv2d(features.Layer2, layer2_rn, scope + ".layer2_rn"), scope + ".refinenet2");
        return refinenet1.ExportOnnx(graph, path2, graph.Conv2d(features.Layer1, layer1_rn, scope + ".layer1_rn"), scope + ".refinenet1");
    }

    /// <summary>Writes <c>head1</c>, the 1×1 projection of the decoder features to the embedding size C.</summary>
    /// <param name="graph">The graph being written.</param>
    /// <param name="decoderFeatures">The decoder features.</param>
    /// <param name="name">Name of the convolution, which prefixes its initializers' names.</param>
    internal string ExportProjectionOnnx(OnnxGraphBuilder graph, string decoderFeatures, string name) =>
        graph.Conv2d(decoderFeatures, head1, name);

    /// <summary>The decoder width F (the channels <c>head1</c> projects from).</summary>
    internal long FeatureChannels => head1.weight!.shape[1];
}

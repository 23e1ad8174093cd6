using LSeg.Training.Bridge.Network;
using LSeg.Training.Bridge.Network.ImageEncoders;
using TorchSharp;
using static TorchSharp.torch;

namespace LSeg.Training.Bridge.Tests.Backbones;

/// <summary>What the ViT DPT backbone computes, checked against hand-computed values and against torch's own kernels.</summary>
public sealed class VitDptBackboneBehaviourTests
{
    private static VitDptOptions Tiny(int pretrainedGrid) => VitDptOptions.VitL16_384.Reduced(width: 8, depth: 4, heads: 2, pretrainedGrid);

    [Fact]
    public void PositionEmbeddingIsResizedHalfPixelBilinearWithTheClsPositionKept()
    {
        // Stored 2×2 grid; channel 0 holds 1, 2 / 3, 4 in row-major token order, channel 1 holds 10× that; cls holds 7.
        using var vit = new VitTransformer(Tiny(pretrainedGrid: 2));
        using (no_grad())
        {
            vit.PositionEmbedding.zero_();
            vit.PositionEmbedding[0, 0, 0] = 7f;
            float[] grid = [1, 2, 3, 4];
            for (int t = 0; t < 4; t++)
            {
                vit.PositionEmbedding[0, 1 + t, 0] = grid[t];
                vit.PositionEmbedding[0, 1 + t, 1] = 10 * grid[t];
            }
        }

        // 2 × 4: rows keep their values; along a row, half-pixel sampling of [a, b] at 4 points gives
        // a, ¾a + ¼b, ¼a + ¾b, b (source x = −0.25 clamped to 0, 0.25, 0.75, 1.25 clamped to the last pixel).
        using var wide = vit.ResizedPositionEmbedding(2, 4);
        Assert.Equal([1, 1 + 8, 8], wide.shape);
        Assert.Equal(7f, wide[0, 0, 0].item<float>());
        float[] expectedWide = [1, 1.25f, 1.75f, 2, 3, 3.25f, 3.75f, 4];
        for (int t = 0; t < 8; t++)
        {
            Assert.Equal(expectedWide[t], wide[0, 1 + t, 0].item<float>(), 5);
            Assert.Equal(10 * expectedWide[t], wide[0, 1 + t, 1].item<float>(), 4);
        }

        // 4 × 2: the same along columns (tokens row-major: (0,0), (0,1), (1,0), …).
        using var tall = vit.ResizedPositionEmbedding(4, 2);
        float[] expectedTall = [1, 2, 1.5f, 2.5f, 2.5f, 3.5f, 3, 4];
        for (int t = 0; t < 8; t++)
            Assert.Equal(expectedTall[t], tall[0, 1 + t, 0].item<float>(), 5);
    }

    [Fact]
    public void PositionEmbeddingAtTheStoredGridSizeIsTheStoredOne()
    {
        using var vit = new VitTransformer(Tiny(pretrainedGrid: 6));
        using var resized = vit.ResizedPositionEmbedding(6, 6);
        Assert.True(resized.allclose(vit.PositionEmbedding, rtol: 0, atol: 1e-7));
    }

    [Fact]
    public void AttentionEqualsTorchScaledDotProductAttention()
    {
        torch.manual_seed(3);
        using var attention = new VitAttention(width: 32, heads: 4);
        using var scope = NewDisposeScope();
        var x = randn(2, 11, 32);
        var actual = attention.forward(x);

        // Independent path: split the qkv projection per head and let torch's fused kernel attend.
        var qkv = nn.functional.linear(x, attention.Qkv.weight!, attention.Qkv.bias).reshape(2, 11, 3, 4, 8).permute(2, 0, 3, 1, 4);
        var attended = nn.functional.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2]);
        var expected = nn.functional.linear(attended.transpose(1, 2).reshape(2, 11, 32), attention.Proj.weight!, attention.Proj.bias);
        Assert.True(actual.allclose(expected, rtol: 1e-5, atol: 1e-6), $"max |Δ| {(actual - expected).abs().max().item<float>():E2}");
    }

    [Fact]
    public void FeatureMapsHaveTheStageChannelsAndStrides()
    {
        foreach (var options in new[] { VitDptOptions.VitL16_384.Reduced(32, 4, 2), VitDptOptions.VitB32_384.Reduced(32, 4, 2) })
        {
            using var backbone = new VitDptBackbone(options);
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var features = backbone.forward(zeros(2, 3, 96, 160));
            Tensor[] maps = [features.Layer1, features.Layer2, features.Layer3, features.Layer4];
            int[] strides = [4, 8, 16, 32];
            for (int i = 0; i < 4; i++)
                Assert.Equal([2, options.FeatureChannels[i], 96 / strides[i], 160 / strides[i]], maps[i].shape);
        }
    }

    public static TheoryData<long[], string[]> UnsupportedInputs => new()
    {
        { [1, 3, 100, 160], ["multiples of 32", "100×160"] },
        { [1, 3, 48, 64], ["multiples of 32", "48×64"] }, // a whole number of 16-pixel patches, but not of the 32-pixel stride
        { [1, 4, 96, 160], ["3 channels", "got 4"] },
        { [1, 1, 96, 160], ["3 channels", "got 1"] },
        { [3, 96, 160], ["4-D", "[3, 96, 160]"] },
    };

    [Theory]
    [MemberData(nameof(UnsupportedInputs))]
    public void UnsupportedInputIsRejectedNamingWhatIsWrongAndWhatIsAllowed(long[] shape, string[] messageParts)
    {
        using var backbone = new VitDptBackbone(VitDptOptions.VitL16_384.Reduced(16, 4, 2));
        using var pixels = zeros(shape);
        var error = Assert.Throws<ArgumentException>(() => backbone.forward(pixels));
        foreach (string part in messageParts)
            Assert.Contains(part, error.Message);

        using var net = LSegNet.Create(
            new LSegNetConfig { Backbone = "vit-b32-384", ReducedBackbone = new BackboneSizeOverride { Width = 16, Layers = 4, Heads = 2 }, EmbeddingSize = 8, DecoderFeatures = 8 },
            pretrainedBackbone: false);
        using var labels = zeros(2, 8);
        var netError = Assert.Throws<ArgumentException>(() => net.forward(pixels, labels));
        foreach (string part in messageParts)
            Assert.Contains(part, netError.Message);
    }
}

using LSeg.Training.Bridge.Network.TextEncoders;
using TorchSharp;
using static TorchSharp.torch;

namespace LSeg.Training.Bridge.Tests.TextEncoders;

/// <summary>The CLIP text transformer's structure: what it reads of the ids, and the state-dict names it exposes.</summary>
public class ClipTextTransformerTests
{
    private static readonly ClipTextConfig Small = new(Width: 32, Layers: 2, Heads: 4, VocabularySize: ClipTextConfig.ClipVocabularySize, ContextLength: 77, EmbeddingSize: 24);

    private static ClipTextTransformer NewModel(ClipTextConfig config, int seed)
    {
        torch.manual_seed(seed);
        var model = new ClipTextTransformer(config);
        model.eval();
        return model;
    }

    [Fact]
    public void Tokens_after_the_end_of_text_token_do_not_change_the_embedding()
    {
        using var model = NewModel(Small, 1);
        var ids = ClipTokenIds.Random(4, 77, seed: 2);
        var changed = (long[,])ids.Clone();
        for (int r = 0; r < 4; r++)
            for (int i = ClipTokenIds.EndPosition(ids, r) + 1; i < 77; i++)
                changed[r, i] = 1000 + i; // smaller than the end token, so the argmax stays put

        using var _ = torch.no_grad();
        using var original = model.forward(ClipTokenIds.ToTensor(ids));
        using var modified = model.forward(ClipTokenIds.ToTensor(changed));
        Assert.Equal(0.0, (original - modified).abs().max().item<float>(), 6);
    }

    [Fact]
    public void A_token_before_the_end_of_text_token_changes_the_embedding()
    {
        using var model = NewModel(Small, 1);
        var ids = ClipTokenIds.Random(1, 77, seed: 3);
        ids[0, 5] = ClipTokenIds.EndOfText; // end token at 5: position 2 is before it
        for (int i = 6; i < 77; i++) ids[0, i] = 0;
        var changed = (long[,])ids.Clone();
        changed[0, 2] = ids[0, 2] == 7 ? 8 : 7;

        using var _ = torch.no_grad();
        using var original = model.forward(ClipTokenIds.ToTensor(ids));
        using var modified = model.forward(ClipTokenIds.ToTensor(changed));
        Assert.True((original - modified).abs().max().item<float>() > 1e-4f);
    }

    [Fact]
    public void With_no_blocks_the_embedding_is_the_normalised_end_token_state_times_the_projection()
    {
        // Zero layers make the transformer the identity, so the expected output can be computed by hand from the
        // weights: LayerNorm(token_embedding[eot id] + positional_embedding[eot position]) · text_projection.
        var config = Small with { Layers = 0 };
        using var model = NewModel(config, 4);
        var ids = ClipTokenIds.Random(3, 77, seed: 5);
        using var _ = torch.no_grad();
        using var actual = model.forward(ClipTokenIds.ToTensor(ids));

        var state = model.state_dict();
        for (int r = 0; r < 3; r++)
        {
            int end = ClipTokenIds.EndPosition(ids, r);
            float[] token = state["token_embedding.weight"][ClipTokenIds.EndOfText].data<float>().ToArray();
            float[] position = state["positional_embedding"][end].data<float>().ToArray();
            float[] gamma = state["ln_final.weight"].data<float>().ToArray();
            float[] beta = state["ln_final.bias"].data<float>().ToArray();
            float[,] projection = ToMatrix(state["text_projection"]);

            double[] sum = token.Zip(position, (a, b) => (double)a + b).ToArray();
            double mean = sum.Average();
            double variance = sum.Select(v => (v - mean) * (v - mean)).Average();
            double[] normalised = sum.Select((v, i) => (v - mean) / Math.Sqrt(variance + 1e-5) * gamma[i] + beta[i]).ToArray();
            for (int c = 0; c < config.EmbeddingSize; c++)
            {
                double expected = 0;
                for (int w = 0; w < config.Width; w++) expected += normalised[w] * projection[w, c];
                Assert.Equal(expected, actual[r, c].item<float>(), 4);
            }
        }
    }

    [Fact]
    public void Each_row_is_encoded_independently_of_the_others_in_the_batch()
    {
        using var model = NewModel(Small, 6);
        var ids = ClipTokenIds.Random(5, 77, seed: 7);
        using var _ = torch.no_grad();
        using var batch = model.forward(ClipTokenIds.ToTensor(ids));
        for (int r = 0; r < 5; r++)
        {
            using var single = model.forward(ClipTokenIds.ToTensor(ids)[r..(r + 1)]);
            Assert.True((batch[r] - single[0]).abs().max().item<float>() < 1e-5f);
        }
    }

    [Fact]
    public void The_parameter_names_are_the_keys_of_a_CLIP_state_dict()
    {
        using var model = NewModel(Small with { Layers = 1 }, 8);
        var keys = model.state_dict().Keys.ToHashSet();
        string[] expected =
        [
            "token_embedding.weight", "positional_embedding", "ln_final.weight", "ln_final.bias", "text_projection",
            "transformer.resblocks.0.ln_1.weight", "transformer.resblocks.0.ln_1.bias",
            "transformer.resblocks.0.attn.in_proj_weight", "transformer.resblocks.0.attn.in_proj_bias",
            "transformer.resblocks.0.attn.out_proj.weight", "transformer.resblocks.0.attn.out_proj.bias",
            "transformer.resblocks.0.ln_2.weight", "transformer.resblocks.0.ln_2.bias",
            "transformer.resblocks.0.mlp.c_fc.weight", "transformer.resblocks.0.mlp.c_fc.bias",
            "transformer.resblocks.0.mlp.c_proj.weight", "transformer.resblocks.0.mlp.c_proj.bias",
        ];
        Assert.Equal(expected.Order(), keys.Order());
    }

    [Fact]
    public void The_ViT_B32_configuration_has_the_parameter_count_of_CLIPs_text_tower()
    {
        // Counted by hand from CLIP's ViT-B/32 text tower: token embedding 49408·512, positions 77·512, 12 blocks of
        // (2 LayerNorms 2·1024, in_proj 3·512·512 + 1536, out_proj 512·512 + 512, c_fc 512·2048 + 2048,
        // c_proj 2048·512 + 512), ln_final 1024, text_projection 512·512.
        long block = 2 * 1024 + (3 * 512 * 512 + 1536) + (512 * 512 + 512) + (512 * 2048 + 2048) + (2048 * 512 + 512);
        long expected = 49408L * 512 + 77 * 512 + 12 * block + 1024 + 512 * 512;
        using var model = new ClipTextTransformer(ClipTextConfig.ViTB32);
        Assert.Equal(expected, model.parameters().Sum(p => p.numel()));
    }

    [Theory]
    [InlineData(new long[] { 2, 76 })]
    [InlineData(new long[] { 0, 77 })]
    [InlineData(new long[] { 77 })]
    public void Ids_of_the_wrong_shape_are_refused_with_the_expected_shape(long[] shape)
    {
        using var model = NewModel(Small, 9);
        using var ids = torch.zeros(shape, ScalarType.Int64);
        var error = Assert.Throws<ArgumentException>(() => model.forward(ids));
        Assert.Contains("[N, 77]", error.Message);
    }

    private static float[,] ToMatrix(Tensor t)
    {
        var result = new float[t.shape[0], t.shape[1]];
        float[] flat = t.contiguous().data<float>().ToArray();
        Buffer.BlockCopy(flat, 0, result, 0, flat.Length * sizeof(float));
        return result;
    }
}

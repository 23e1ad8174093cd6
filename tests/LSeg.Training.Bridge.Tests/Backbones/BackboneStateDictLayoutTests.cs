using LSeg.Training.Bridge.Network.ImageEncoders;
using TorchSharp;
using static TorchSharp.torch;

namespace LSeg.Training.Bridge.Tests.Backbones;

/// <summary>
/// The backbones' state dicts carry the official lang-seg keys (below <c>pretrained.</c>) and shapes, so a
/// checkpoint maps onto them one to one. The expected keys are spelled out here from the official module tree
/// (timm VisionTransformer, DPT <c>act_postprocess</c> Sequentials, torchvision ResNet), not read from the code under test.
/// </summary>
public sealed class BackboneStateDictLayoutTests
{
    private static Dictionary<string, long[]> Shapes(nn.Module module) =>
        module.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.shape);

    private static void AssertSameLayout(IReadOnlyDictionary<string, long[]> expected, IReadOnlyDictionary<string, long[]> actual)
    {
        var missing = expected.Keys.Except(actual.Keys).Order().ToArray();
        var extra = actual.Keys.Except(expected.Keys).Order().ToArray();
        Assert.True(missing.Length == 0 && extra.Length == 0,
            $"missing keys: [{string.Join(", ", missing.Take(10))}]; unexpected keys: [{string.Join(", ", extra.Take(10))}]");
        foreach (var (key, shape) in expected)
            Assert.True(shape.SequenceEqual(actual[key]), $"{key}: expected [{string.Join(",", shape)}], got [{string.Join(",", actual[key])}]");
    }

    private static IEnumerable<(string Key, long[] Shape)> ExpectedVitKeys(int width, int depth, int mlp, int patch, int grid, int[] channels)
    {
        yield return ("model.cls_token", [1, 1, width]);
        yield return ("model.pos_embed", [1, 1 + grid * grid, width]);
        yield return ("model.patch_embed.proj.weight", [width, 3, patch, patch]);
        yield return ("model.patch_embed.proj.bias", [width]);
        for (int i = 0; i < depth; i++)
        {
            string b = $"model.blocks.{i}";
            yield return ($"{b}.norm1.weight", [width]);
            yield return ($"{b}.norm1.bias", [width]);
            yield return ($"{b}.attn.qkv.weight", [3 * width, width]);
            yield return ($"{b}.attn.qkv.bias", [3 * width]);
            yield return ($"{b}.attn.proj.weight", [width, width]);
            yield return ($"{b}.attn.proj.bias", [width]);
            yield return ($"{b}.norm2.weight", [width]);
            yield return ($"{b}.norm2.bias", [width]);
            yield return ($"{b}.mlp.fc1.weight", [mlp, width]);
            yield return ($"{b}.mlp.fc1.bias", [mlp]);
            yield return ($"{b}.mlp.fc2.weight", [width, mlp]);
            yield return ($"{b}.mlp.fc2.bias", [width]);
        }
        // Official resampling per stage: patch 16 → ConvT k4, ConvT k2, none, Conv 3×3 s2; patch 32 → ConvT k8, k4, k2, none.
        int?[] upsample = patch == 16 ? [4, 2, null, null] : [8, 4, 2, null];
        for (int s = 0; s < 4; s++)
        {
            string p = $"act_postprocess{s + 1}";
            yield return ($"{p}.0.project.0.weight", [width, 2 * width]);
            yield return ($"{p}.0.project.0.bias", [width]);
            yield return ($"{p}.3.weight", [channels[s], width, 1, 1]);
            yield return ($"{p}.3.bias", [channels[s]]);
            if (upsample[s] is int k)
            {
                yield return ($"{p}.4.weight", [channels[s], channels[s], k, k]); // ConvTranspose: [in, out, kH, kW]
                yield return ($"{p}.4.bias", [channels[s]]);
            }
            else if (patch == 16 && s == 3)
            {
                yield return ($"{p}.4.weight", [channels[s], channels[s], 3, 3]);
                yield return ($"{p}.4.bias", [channels[s]]);
            }
        }
    }

    [Fact]
    public void VitB32HasTheOfficialKeysAndShapes()
    {
        using var backbone = new VitDptBackbone(VitDptOptions.VitB32_384);
        var expected = ExpectedVitKeys(768, 12, 3072, 32, 12, [96, 192, 384, 768]).ToDictionary(e => e.Key, e => e.Shape);
        var actual = Shapes(backbone);
        AssertSameLayout(expected, actual);
    }

    [Fact]
    public void VitL16StructureHasTheOfficialKeysAndShapes()
    {
        // Full width and depth would allocate 300 M parameters; the key pattern and every shape rule are the same at
        // reduced size except the counts, which the B/32 test checks at full size.
        var options = VitDptOptions.VitL16_384.Reduced(width: 64, depth: 8, heads: 4);
        using var backbone = new VitDptBackbone(options);
        var expected = ExpectedVitKeys(64, 8, 256, 16, 24, options.FeatureChannels.ToArray()).ToDictionary(e => e.Key, e => e.Shape);
        var actual = Shapes(backbone);
        AssertSameLayout(expected, actual);
    }

    [Fact]
    public void VitPresetsAreTheOfficialSizes()
    {
        var l16 = VitDptOptions.VitL16_384;
        Assert.Equal((16, 1024, 24, 16, 4096, 24), (l16.PatchSize, l16.Width, l16.Depth, l16.Heads, l16.MlpWidth, l16.PretrainedGrid));
        Assert.Equal([5, 11, 17, 23], l16.Hooks);
        Assert.Equal([256, 512, 1024, 1024], l16.FeatureChannels);
        var b32 = VitDptOptions.VitB32_384;
        Assert.Equal((32, 768, 12, 12, 3072, 12), (b32.PatchSize, b32.Width, b32.Depth, b32.Heads, b32.MlpWidth, b32.PretrainedGrid));
        Assert.Equal([2, 5, 8, 11], b32.Hooks);
        Assert.Equal([96, 192, 384, 768], b32.FeatureChannels);
    }

    [Fact]
    public void ResNet101HasTorchvisionKeysUnderTheOfficialLayer1Wrapping()
    {
        using var backbone = new ResNet101Backbone(ResNet101Options.ResNet101);
        var actual = Shapes(backbone);
        var expected = new Dictionary<string, long[]>();
        void BatchNorm(string p, long c)
        {
            expected[$"{p}.weight"] = [c];
            expected[$"{p}.bias"] = [c];
            expected[$"{p}.running_mean"] = [c];
            expected[$"{p}.running_var"] = [c];
            expected[$"{p}.num_batches_tracked"] = [];
        }
        expected["layer1.0.weight"] = [64, 3, 7, 7];
        BatchNorm("layer1.1", 64);
        int[] blocks = [3, 4, 23, 3];
        long inChannels = 64;
        for (int s = 0; s < 4; s++)
        {
            long w = 64L << s;
            string stage = s == 0 ? "layer1.4" : $"layer{s + 1}";
            for (int b = 0; b < blocks[s]; b++)
            {
                string p = $"{stage}.{b}";
                long cin = b == 0 ? inChannels : 4 * w;
                expected[$"{p}.conv1.weight"] = [w, cin, 1, 1];
                BatchNorm($"{p}.bn1", w);
                expected[$"{p}.conv2.weight"] = [w, w, 3, 3];
                BatchNorm($"{p}.bn2", w);
                expected[$"{p}.conv3.weight"] = [4 * w, w, 1, 1];
                BatchNorm($"{p}.bn3", 4 * w);
                if (b == 0)
                {
                    expected[$"{p}.downsample.0.weight"] = [4 * w, cin, 1, 1];
                    BatchNorm($"{p}.downsample.1", 4 * w);
                }
            }
            inChannels = 4 * w;
        }
        AssertSameLayout(expected, actual);
        Assert.Equal([256, 512, 1024, 2048], backbone.FeatureChannels);
    }
}
